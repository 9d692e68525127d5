"""The live Konnektor audit against the simulator on 127.0.0.1: secure, insecure, hostile peers."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    load_pem_private_key,
    pkcs12,
)
from cryptography.x509 import load_pem_x509_certificate

from gemcheck.konnektor import tlsclient
from gemcheck.model import Report
from tests.conftest import AS_OF, REPO, CliResult
from tests.konnektor_sim import (
    CA_FILES,
    CCE_4257,
    CLIENT_P12,
    CLIENT_P12_PASSWORD,
    GRI_FATAL,
    NO_CAUT_SDS,
    OPEN_SDS,
    KonnektorSim,
    konnektor_context,
)
from tests.konnektor_support import audit_site, statuses
from tests.tlsserver import (
    KONNEKTOR_RSA,
    TlsServer,
    garbage,
    hang,
    legacy_tls_available,
    reset,
)

PW_ENV = "GEMCHECK_TEST_KONNEKTOR_P12_PW"
LIVE_RULES = (
    "KON-AUTH-001",
    "KON-HTTP-001",
    "KON-SDS-005",
    "KON-SDS-002",
    "KON-SDS-003",
    "KON-OPS-001",
    "KON-VPN-001",
    "KON-ECC-002",
    "KON-CERT-001",
)
CONTEXT = {"mandant": "M1", "client_system": "CS1", "workplace": "AP1"}


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch, shared: Path) -> None:
    monkeypatch.setenv(PW_ENV, CLIENT_P12_PASSWORD)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (for the plain-HTTP probe)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site(endpoint: str, http_ports: list[int], **konnektor: Any) -> dict[str, Any]:
    section = {
        "endpoint": endpoint,
        "client_p12": str(CLIENT_P12),
        "p12_password_env": PW_ENV,
        "ca": [str(p) for p in CA_FILES],
        "context": CONTEXT,
        "http_ports": http_ports,
        **konnektor,
    }
    return {"site": "live test", "konnektor": {k: v for k, v in section.items() if v is not None}}


def audit(data: dict[str, Any], tmp_path: Path, **kwargs: Any) -> Report:
    return audit_site(data, tmp_path, **kwargs)


def by_rule(report: Report) -> dict[str, list[str]]:
    return statuses(report.results)


def access(report: Report) -> dict[str, Any]:
    [result] = [r for r in report.results if r.rule == "KON-AUTH-001"]
    return dict(result.evidence)


# -- secure ---------------------------------------------------------------------------------


def test_secure_konnektor_passes(tmp_path: Path, closed_port: int) -> None:
    with KonnektorSim(konnektor_context()) as sim:
        report = audit(site(sim.url, [closed_port]), tmp_path)
        calls = list(sim.calls)
    result = by_rule(report)
    for rule_id in (
        "KON-AUTH-001",
        "KON-HTTP-001",
        "KON-SDS-005",
        "KON-SDS-002",
        "KON-SDS-003",
        "KON-SDS-004",
        "KON-OPS-001",
        "KON-OPS-002",
        "KON-VPN-001",
        "KON-ECC-001",
        "KON-ECC-002",
    ):
        assert set(result[rule_id]) == {"pass"}, (rule_id, result[rule_id])
    assert report.summary["error"] == 0
    assert report.verdict == "pass"
    ops = [c for c in calls if c.method == "POST" and c.client_cert]
    assert any(b"<CERT:Crypt>ECC</CERT:Crypt>" in c.body for c in ops)
    assert any(b"<CONN:MandantId>M1</CONN:MandantId>" in c.body for c in ops)
    assert all(c.tls for c in calls)


def test_brainpool_konnektor_is_reached_through_the_fallback(
    tmp_path: Path, closed_port: int
) -> None:
    """A default Python client gets handshake failure from a brainpool-only server."""
    with KonnektorSim(konnektor_context()) as sim:
        report = audit(site(sim.url, [closed_port]), tmp_path)
    [sds] = [r for r in report.results if r.rule == "KON-SDS-002"]
    assert sds.status.value == "pass"
    [auth] = [r for r in report.results if r.rule == "KON-AUTH-001"]
    assert auth.status.value == "pass" and "TLS refused" in auth.message


@pytest.mark.parametrize("variant", ["rsa-only", "cbc-suites", "tls10-enabled"])
def test_weak_tls_configurations_are_still_audited(
    tmp_path: Path, closed_port: int, variant: str
) -> None:
    """The Konnektor rules do not depend on the TLS setup (ti-tls judges that)."""
    if variant == "tls10-enabled" and not legacy_tls_available():
        pytest.skip("this OpenSSL refuses TLS 1.0")
    options: dict[str, Any] = {
        "rsa-only": {},
        "cbc-suites": {"ciphers": "ECDHE-RSA-AES128-SHA:AES128-SHA", "tls13": False},
        "tls10-enabled": {"min_version": ssl.TLSVersion.TLSv1, "ciphers": "ALL"},
    }[variant]
    with KonnektorSim(konnektor_context(KONNEKTOR_RSA, **options)) as sim:
        report = audit(site(sim.url, [closed_port]), tmp_path)
    result = by_rule(report)
    assert result["KON-AUTH-001"] == ["pass"] and result["KON-SDS-002"] == ["pass"]
    assert report.summary["error"] == 0
    if variant == "cbc-suites":
        assert access(report)["detail"].startswith("TLS refused")


def test_http_basic_over_verified_tls(
    tmp_path: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMCHECK_TEST_BASIC_PW", "basic-pw")
    ctx = konnektor_context(client_auth=False)
    with KonnektorSim(ctx, basic=("pvs", "basic-pw")) as sim:
        data = site(
            sim.url,
            [closed_port],
            client_p12=None,
            p12_password_env=None,
            basic_user="pvs",
            basic_password_env="GEMCHECK_TEST_BASIC_PW",
        )
        report = audit(data, tmp_path)
        authorized = [c for c in sim.calls if c.authorization]
    result = by_rule(report)
    assert result["KON-AUTH-001"] == ["pass"]  # the call without the login got HTTP 401
    assert access(report)["status"] == 401
    assert authorized and all(c.tls for c in authorized)


def test_http_basic_refuses_to_send_a_password_unverified(
    tmp_path: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMCHECK_TEST_BASIC_PW", "basic-pw")
    with KonnektorSim(konnektor_context(client_auth=False), basic=("pvs", "basic-pw")) as sim:
        data = site(
            sim.url,
            [closed_port],
            client_p12=None,
            p12_password_env=None,
            ca=None,
            basic_user="pvs",
            basic_password_env="GEMCHECK_TEST_BASIC_PW",
        )
        report = audit(data, tmp_path)
        assert sim.calls == []
    assert set(by_rule(report)["KON-AUTH-001"]) == {"error"}
    assert "needs konnektor.ca" in access(report).get("detail", "") or any(
        "needs konnektor.ca" in r.message for r in report.results
    )


# -- insecure -----------------------------------------------------------------------------------


def test_no_client_auth_fails(tmp_path: Path, closed_port: int) -> None:
    with KonnektorSim(konnektor_context(client_auth=False), sds=NO_CAUT_SDS) as sim:
        report = audit(site(sim.url, [closed_port]), tmp_path)
    result = by_rule(report)
    assert result["KON-AUTH-001"] == ["fail"]
    assert result["KON-SDS-003"] == ["fail"]
    assert result["KON-SDS-002"] == ["pass"]


def test_plain_http_open_fails(tmp_path: Path) -> None:
    with KonnektorSim(konnektor_context(), sds=OPEN_SDS, plain_http=True) as sim:
        # no http_ports: the plain port is found among the http endpoints the sds lists
        report = audit(site(sim.url, []), tmp_path)
        plain_calls = [c for c in sim.calls if not c.tls]
    result = by_rule(report)
    assert result["KON-SDS-005"] == ["fail"]
    assert result["KON-HTTP-001"] == ["fail"]
    assert result["KON-SDS-002"] == ["fail"] and result["KON-SDS-003"] == ["fail"]
    assert plain_calls and not any(c.authorization for c in plain_calls)


def test_dvd_open_found_on_a_configured_port(tmp_path: Path) -> None:
    """The sds claims TLS only, yet connector.sds answers on the plain port."""
    with KonnektorSim(konnektor_context(), plain_http=True) as sim:
        assert sim.plain_port is not None
        report = audit(site(sim.url, [sim.plain_port]), tmp_path)
    result = by_rule(report)
    assert result["KON-SDS-005"] == ["fail"] and result["KON-SDS-004"] == ["pass"]


def test_fatal_error_state_fails(tmp_path: Path, closed_port: int) -> None:
    with KonnektorSim(
        konnektor_context(), resource_information=GRI_FATAL, certificate_expiration=CCE_4257
    ) as sim:
        report = audit(site(sim.url, [closed_port]), tmp_path)
    result = by_rule(report)
    assert result["KON-OPS-001"] == ["fail"] and result["KON-OPS-002"] == ["fail"]
    assert result["KON-ECC-002"] == ["fail"]
    assert report.verdict == "fail"


# -- hostile peers: a clear error within the timeout --------------------------------------------


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        (hang, "no answer within the timeout"),
        (reset, "connection reset by the peer"),
        (garbage, "TLS handshake failed"),
    ],
)
def test_hostile_peers_end_in_errors(
    tmp_path: Path, closed_port: int, peer: Callable[[socket.socket], None], expected: str
) -> None:
    with TlsServer(None, peer) as server:
        started = time.monotonic()
        report = audit(site(server.url, [closed_port]), tmp_path, timeout=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 6
    for rule_id in ("KON-AUTH-001", "KON-SDS-002", "KON-OPS-001", "KON-ECC-001"):
        [result] = [r for r in report.results if r.rule == rule_id]
        assert result.status.value == "error", rule_id
        assert server.url in result.message and expected in result.message
    assert report.verdict == "fail"


def test_unreachable_endpoint_is_an_error(tmp_path: Path, closed_port: int) -> None:
    report = audit(site(f"https://127.0.0.1:{closed_port}", [closed_port]), tmp_path, timeout=1.0)
    [result] = [r for r in report.results if r.rule == "KON-SDS-002"]
    assert result.status.value == "error" and "connection refused" in result.message


def test_plain_http_endpoint_gets_no_credentials(tmp_path: Path, closed_port: int) -> None:
    with KonnektorSim(konnektor_context(), plain_http=True) as sim:
        endpoint = f"http://127.0.0.1:{sim.plain_port}"
        report = audit(site(endpoint, [closed_port]), tmp_path)
        assert sim.calls == []
    [result] = [r for r in report.results if r.rule == "KON-SDS-002"]
    assert result.status.value == "error" and "needs an https:// endpoint" in result.message


def test_offline_skips_the_live_audit(tmp_path: Path, closed_port: int) -> None:
    from gemcheck.audit import AuditOptions, plan, run
    from gemcheck.collect import CollectOptions
    from gemcheck.site import build_site

    with KonnektorSim(konnektor_context()) as sim:
        s = build_site(site(sim.url, [closed_port]), tmp_path, "<t>")
        report = run(
            plan(
                s,
                AuditOptions(
                    profiles=("ti-konnektor",), as_of=AS_OF, collect=CollectOptions(offline=True)
                ),
            )
        )
        assert sim.calls == []
    assert by_rule(report)["KON-AUTH-001"] == ["skip"]


# -- CLI and credentials ------------------------------------------------------------------------

SECRET_P12_PASSWORD = "Xq7-P12-unmistakable-4711"
SECRET_BASIC_PASSWORD = "Zz9-Basic-unmistakable-0815"


@pytest.fixture
def secret_p12(tmp_path: Path) -> Path:
    """The client-system identity in a PKCS#12 with an unmistakable password."""
    cert = load_pem_x509_certificate((REPO / "certs/ecc/clientsystem.pem").read_bytes())
    key = load_pem_private_key((REPO / "certs/keys/clientsystem.key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    ca = load_pem_x509_certificate((REPO / "certs/ca/cs-ca1.pem").read_bytes())
    data = pkcs12.serialize_key_and_certificates(
        b"clientsystem",
        key,
        cert,
        [ca],
        BestAvailableEncryption(SECRET_P12_PASSWORD.encode()),
    )
    path = tmp_path / "cs.p12"
    path.write_bytes(data)
    return path


def _formats() -> list[str]:
    from gemcheck.render import FORMATS

    return [f for f, module in FORMATS.items() if importlib.util.find_spec(module) is not None]


def _outputs(cli: Callable[..., CliResult], tmp_path: Path, args: list[str]) -> Iterator[str]:
    reports = [f"--report={fmt}={tmp_path / f'report.{fmt}'}" for fmt in _formats()]
    code, out, err = cli(
        "audit", "--profile", "ti-konnektor", "--as-of", AS_OF, "--timeout", "3", *args, *reports
    )
    assert code in (0, 1), err
    yield out
    yield err
    for fmt in _formats():
        yield (tmp_path / f"report.{fmt}").read_text(encoding="utf-8")


def test_cli_live_audit_with_client_certificate(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    secret_p12: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KON_PW", SECRET_P12_PASSWORD)
    with KonnektorSim(konnektor_context()) as sim:
        code, out, err = cli(
            "audit",
            "--profile",
            "ti-konnektor",
            "--as-of",
            AS_OF,
            "--format",
            "json",
            "--endpoint",
            sim.url,
            "--client-p12",
            secret_p12,
            "--p12-password-env",
            "KON_PW",
            "--context",
            "M1/CS1/AP1",
            *[f"--konnektor-ca={p}" for p in CA_FILES],
        )
    assert code == 0, err
    report = json.loads(out)
    rules = {r["rule"]: r["status"] for r in report["results"]}
    assert rules["KON-AUTH-001"] == "pass" and rules["KON-SDS-002"] == "pass"
    assert SECRET_P12_PASSWORD not in out + err


def test_credentials_never_appear_in_any_output(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    secret_p12: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KON_PW", SECRET_P12_PASSWORD)
    monkeypatch.setenv("KON_BASIC_PW", SECRET_BASIC_PASSWORD)
    seen: list[str] = []
    with KonnektorSim(konnektor_context()) as sim:
        seen += _outputs(
            cli,
            tmp_path,
            [
                "--endpoint",
                sim.url,
                "--client-p12",
                str(secret_p12),
                "--p12-password-env",
                "KON_PW",
                "--context",
                "M1/CS1/AP1",
                f"--konnektor-ca={CA_FILES[0]}",
                f"--konnektor-ca={CA_FILES[1]}",
            ],
        )
    with KonnektorSim(
        konnektor_context(client_auth=False), basic=("pvs", SECRET_BASIC_PASSWORD)
    ) as sim:
        seen += _outputs(
            cli,
            tmp_path,
            [
                "--endpoint",
                sim.url,
                "--basic-user",
                "pvs",
                "--basic-password-env",
                "KON_BASIC_PW",
                "--context",
                "M1/CS1/AP1",
                f"--konnektor-ca={CA_FILES[0]}",
            ],
        )
    # a wrong password, and a failing Konnektor: error paths print messages too
    for password in (SECRET_P12_PASSWORD + "-wrong", SECRET_P12_PASSWORD):
        monkeypatch.setenv("KON_PW", password)
        with TlsServer(None, garbage) as server:
            seen += _outputs(
                cli,
                tmp_path,
                [
                    "--endpoint",
                    server.url,
                    "--client-p12",
                    str(secret_p12),
                    "--p12-password-env",
                    "KON_PW",
                    "--context",
                    "M1/CS1/AP1",
                ],
            )
    text = "\n".join(seen)
    assert "cannot open PKCS#12: wrong password" in text
    assert "TLS handshake failed" in text
    for secret in (SECRET_P12_PASSWORD, SECRET_BASIC_PASSWORD):
        assert secret not in text
    assert "PRIVATE KEY" not in text


def test_key_never_lands_on_disk_in_plaintext(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret_p12: Path
) -> None:
    monkeypatch.setenv("KON_PW", SECRET_P12_PASSWORD)
    identity = tlsclient.load_identity(secret_p12, "KON_PW")
    assert b"ENCRYPTED PRIVATE KEY" in identity.key_pem
    assert "redacted" in repr(identity)
    # without memfd: a 0600 temporary file that is gone afterwards
    monkeypatch.delattr(os, "memfd_create", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with tlsclient._key_file(identity) as path:
        assert Path(path).stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [secret_p12]
    tlsclient.client_context(tlsclient.PROFILES[0], identity, CA_FILES)  # via the fallback


def test_cli_picks_the_konnektor_endpoint_and_checks_the_context(
    cli: Callable[..., CliResult],
) -> None:
    from gemcheck.cli import _site_from_args, build_parser

    def konnektor(*argv: str) -> dict[str, Any]:
        args = build_parser().parse_args(["audit", *argv])
        return dict(_site_from_args(args).konnektor)

    fd, kon = "https://fd.example.invalid", "https://127.0.0.1:8443"
    chosen = konnektor("--endpoint", fd, "--endpoint", f"konnektor={kon}", "--context", "M/C/A")
    assert chosen["endpoint"] == kon
    assert chosen["context"] == {"mandant": "M", "client_system": "C", "workplace": "A"}
    assert konnektor("--endpoint", fd, "--context", "M/C/A/U")["endpoint"] == fd
    assert "endpoint" not in konnektor("--endpoint", fd, "--sds", "x.sds")  # no live audit asked
    code, _, err = cli("audit", "--endpoint", kon, "--context", "M1/CS1")
    assert code == 2 and "expected MANDANT/CLIENTSYSTEM/WORKPLACE" in err
