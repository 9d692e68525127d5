"""The ti-tls rules: each passes and fails on evidence, and end to end against real servers."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from gemcheck.engine import evaluate
from gemcheck.evidence import EvidenceSet
from gemcheck.evidence.tls import TlsEvidence
from gemcheck.model import Location, Result
from gemcheck.profile import load
from gemcheck.registry import Context, load_registry
from gemcheck.schemas import schema
from gemcheck.tls.catalog import suite
from tests.conftest import AS_OF, CERTS, CliResult
from tests.tlsserver import (
    FD_ECC,
    FD_NIST,
    GCM_ECDHE,
    KONNEKTOR_ECC,
    KONNEKTOR_RSA,
    TLS13_GCM,
    TlsServer,
    compliant_context,
    legacy_tls_available,
    server_context,
)

Cli = Callable[..., CliResult]


def der(name: str) -> bytes:
    cert = x509.load_pem_x509_certificate((CERTS / name).read_bytes())
    return cert.public_bytes(Encoding.DER)


AK_ECC, AK_RSA, SMCB = (
    der("ecc/konnektor-ak-aut.pem"),
    der("rsa/konnektor-ak-aut.pem"),
    der("ecc/smcb-aut.pem"),
)

GOOD = TlsEvidence(
    subject="konnektor.praxis.local:443",
    location=Location(uri="konnektor.praxis.local:443"),
    endpoint="konnektor.praxis.local:443",
    role="konnektor",
    versions=("TLSv1.2", "TLSv1.3"),
    tls12_suites=tuple(suite(c) for c in (0xC02B, 0xC02C, 0xC02F, 0xC030)),
    tls12_suites_tried=155,
    tls13_suites=(suite(0x1301), suite(0x1302)),
    groups=("secp256r1", "brainpoolP256r1"),
    tls13_groups=("secp256r1",),
    secure_renegotiation=True,
    client_auth_requested=True,
    signatures_tested=True,
    chains=((AK_ECC,), (AK_RSA,)),
    handshake="TLSv1.3 TLS_AES_128_GCM_SHA256",
)


def judge(ev: TlsEvidence, tailoring: Mapping[str, Any] | None = None) -> dict[str, Result]:
    """Every ti-tls rule's one result on this evidence."""
    _, rules = load(["ti-tls"], load_registry(), tailoring=tailoring or {})
    results = evaluate(rules, EvidenceSet([ev]), Context(as_of=AS_OF, evidence=EvidenceSet([ev])))
    out: dict[str, Result] = {}
    for r in results:
        assert r.rule not in out, f"{r.rule} gave two results"
        out[r.rule] = r
    return out


def statuses(ev: TlsEvidence) -> dict[str, str]:
    return {rule: r.status.value for rule, r in judge(ev).items()}


def test_a_compliant_endpoint_passes_every_rule() -> None:
    assert set(statuses(GOOD).values()) == {"pass"}


@pytest.mark.parametrize(
    ("change", "rule", "message"),
    [
        ({"versions": ("TLSv1.0", "TLSv1.2")}, "TLS-VER-001", "accepts TLSv1.0 (must be refused)"),
        ({"versions": ("SSLv3", "TLSv1.2")}, "TLS-VER-001", "accepts SSLv3"),
        ({"versions": ("TLSv1.3",)}, "TLS-VER-002", "does not accept TLSv1.2 (required)"),
        (
            {"tls12_suites": (*GOOD.tls12_suites, suite(0x002F))},
            "TLS-SUITE-001",
            "TLS_RSA_WITH_AES_128_CBC_SHA (0x002F: RSA key exchange (no forward secrecy), "
            "CBC mode, SHA-1 MAC)",
        ),
        (
            {"tls12_suites": (*GOOD.tls12_suites, suite(0x009E))},
            "TLS-SUITE-001",
            "DHE-RSA key exchange",
        ),
        (
            {"tls12_suites": GOOD.tls12_suites[:2]},
            "TLS-SUITE-002",
            "does not accept TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            {"tls12_suites": GOOD.tls12_suites[2:]},
            "TLS-SUITE-003",
            "does not accept TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            {"tls13_suites": (suite(0x1302), suite(0x1303))},
            "TLS-SUITE-004",
            "accepts TLS_CHACHA20_POLY1305_SHA256 (not allowed); does not accept "
            "TLS_AES_128_GCM_SHA256",
        ),
        ({"groups": ("secp256r1", "x25519")}, "TLS-GRP-001", "x25519 (not allowed)"),
        ({"secure_renegotiation": False}, "TLS-RENEG-001", "no renegotiation_info"),
        ({"weak_signature": "rsa_pkcs1_sha1"}, "TLS-SIG-001", "with rsa_pkcs1_sha1"),
        ({"chains": ((SMCB,),)}, "TLS-CERT-001", "presents C.HCI.AUT, not C.AK.AUT"),
        ({"chains": ()}, "TLS-CERT-001", "presents no certificate"),
    ],
)
def test_each_rule_fails_for_its_defect(change: dict[str, object], rule: str, message: str) -> None:
    result = judge(replace(GOOD, **change))[rule]  # type: ignore[arg-type]
    assert result.status.value == "fail", result.message
    assert message in result.message


def test_rsa_pair_not_required_of_an_ecc_only_endpoint() -> None:
    ecc_only = replace(GOOD, chains=((AK_ECC,),), tls12_suites=GOOD.tls12_suites[:2])
    results = judge(ecc_only)
    assert results["TLS-SUITE-002"].status.value == "skip"
    assert results["TLS-SUITE-003"].status.value == "pass"


def test_documented_imported_identity_passes() -> None:
    imported = replace(GOOD, chains=((SMCB,),))
    fp = x509.load_der_x509_certificate(SMCB).fingerprint(hashes.SHA256()).hex(":")
    tailoring = {"TLS-CERT-001": {"params": {"documented_identities": [fp.upper()]}}}
    assert judge(imported, tailoring)["TLS-CERT-001"].status.value == "pass"


def test_roles_without_a_required_type_pass_with_any_certificate() -> None:
    result = judge(replace(GOOD, role="fachdienst", chains=((SMCB,),)))["TLS-CERT-001"]
    assert result.status.value == "pass" and "no type is required for role fachdienst" in (
        result.message
    )


def test_undecided_probes_are_errors_not_passes() -> None:
    undecided = replace(
        GOOD,
        probe_errors=MappingProxyType(
            {
                "versions": MappingProxyType({"TLSv1.0": "no answer within 5 s"}),
                "tls12_suites": MappingProxyType({"C013": "no answer within 5 s"}),
                "groups": MappingProxyType({"x25519": "no answer within 5 s"}),
                "signatures": MappingProxyType({"MD5/SHA-1/SHA-224 only": "no answer"}),
                "tls13_suites": MappingProxyType({"1303": "no answer within 5 s"}),
            }
        ),
    )
    got = statuses(undecided)
    for rule in ("TLS-VER-001", "TLS-SUITE-001", "TLS-GRP-001", "TLS-SIG-001", "TLS-SUITE-004"):
        assert got[rule] == "error", rule
    assert got["TLS-VER-002"] == "pass"  # TLS 1.2 itself was answered


def test_unreachable_and_offline_endpoints() -> None:
    down = TlsEvidence(subject="x:1", error="no TLS answer from x:1: Connection refused")
    assert set(statuses(down).values()) == {"error"}
    offline = TlsEvidence(subject="x:1", skipped="not probed (--offline)")
    assert set(statuses(offline).values()) == {"skip"}


def test_tls13_only_and_legacy_only_endpoints_skip_what_does_not_apply() -> None:
    only13 = replace(
        GOOD,
        versions=("TLSv1.3",),
        tls12_suites=(),
        groups=(),
        chains=((AK_ECC,),),
        secure_renegotiation=None,
        signatures_tested=False,
    )
    got = statuses(only13)
    assert got["TLS-VER-002"] == "fail"
    for rule in ("TLS-SUITE-001", "TLS-SUITE-002", "TLS-GRP-001", "TLS-RENEG-001", "TLS-SIG-001"):
        assert got[rule] == "skip", rule
    no13 = replace(GOOD, versions=("TLSv1.2",), tls13_suites=())
    assert statuses(no13)["TLS-SUITE-004"] == "pass"


# -- end to end: the CLI against real servers ------------------------------------------------------


def audit(
    cli: Cli, ctx: ssl.SSLContext, *extra: str, role: str = "konnektor"
) -> dict[str, dict[str, Any]]:
    with TlsServer(ctx) as server:
        code, out, err = cli(
            "audit",
            "--profile",
            "ti-tls",
            "--endpoint",
            f"{role}={server.address}",
            "--as-of",
            AS_OF.isoformat(),
            "--timeout",
            "2",
            "--format",
            "json",
            *extra,
        )
    assert code in (0, 1), err
    report = json.loads(out)
    jsonschema.Draft202012Validator(schema("report-1")).validate(report)
    return {r["rule"]: r for r in report["results"]}


def test_cli_compliant_konnektor_passes(cli: Cli) -> None:
    results = audit(cli, compliant_context())
    assert {r["status"] for r in results.values()} == {"pass"}, {
        k: r["message"] for k, r in results.items() if r["status"] != "pass"
    }
    assert results["TLS-VER-002"]["evidence"]["accepted"] == ["TLSv1.2", "TLSv1.3"]


@pytest.mark.parametrize(
    ("kwargs", "failing"),
    [
        pytest.param(
            {
                "identities": KONNEKTOR_ECC,
                "min_version": ssl.TLSVersion.TLSv1,
                "tls13": False,
                "groups": "brainpoolP256r1",
                "ciphers": GCM_ECDHE + ":ECDHE-ECDSA-AES128-SHA",
            },
            {"TLS-VER-001", "TLS-SUITE-001"},
            id="tls1.0-enabled",
        ),
        pytest.param(
            {
                "identities": KONNEKTOR_ECC,
                "tls13": False,
                "groups": "brainpoolP256r1",
                "ciphers": GCM_ECDHE + ":ECDHE-ECDSA-AES128-SHA256",
            },
            {"TLS-SUITE-001"},
            id="cbc-suite",
        ),
        pytest.param(
            {
                "identities": KONNEKTOR_RSA,
                "tls13": False,
                "ciphers": "AES128-GCM-SHA256:AES256-GCM-SHA384",
            },
            {"TLS-SUITE-001", "TLS-SUITE-002"},
            id="rsa-key-exchange-only",
        ),
        pytest.param(
            {
                "identities": KONNEKTOR_RSA,
                "tls13": False,
                "groups": ("prime256v1", "X25519"),
                "ciphers": GCM_ECDHE,
            },
            {"TLS-GRP-001"},
            id="wrong-group",
        ),
        pytest.param(
            {
                "identities": FD_NIST,
                "min_version": ssl.TLSVersion.TLSv1_3,
                "tls13_suites": TLS13_GCM,
            },
            {"TLS-VER-002", "TLS-CERT-001"},
            id="no-tls1.2",
        ),
        pytest.param(
            {
                "identities": FD_ECC,
                "tls13": False,
                "groups": "brainpoolP256r1",
                "ciphers": GCM_ECDHE,
            },
            {"TLS-CERT-001"},
            id="not-c.ak.aut",
        ),
    ],
)
def test_cli_insecure_servers_fail_the_right_rules(
    cli: Cli, kwargs: dict[str, object], failing: set[str]
) -> None:
    if kwargs.get("min_version") == ssl.TLSVersion.TLSv1 and not legacy_tls_available():
        pytest.skip("this machine's OpenSSL refuses TLS 1.0 even at @SECLEVEL=0")
    kwargs = {"sigalgs": "ECDSA+SHA256:ECDSA+SHA384:RSA+SHA256:RSA-PSS+SHA256", **kwargs}
    results = audit(cli, server_context(**kwargs))  # type: ignore[arg-type]
    failed = {rule for rule, r in results.items() if r["status"] == "fail"}
    assert failed == failing, {k: results[k]["message"] for k in failed ^ failing}
    assert not [r for r in results.values() if r["status"] == "error"]


def test_cli_openssl_default_server_signs_with_sha224(cli: Cli) -> None:
    """OpenSSL's defaults sign the handshake with SHA-224 when asked to: A_21275-01 forbids it."""
    results = audit(cli, server_context(KONNEKTOR_RSA, tls13=False, ciphers=GCM_ECDHE))
    assert results["TLS-SIG-001"]["status"] == "fail"
    assert "rsa_pkcs1_sha224" in results["TLS-SIG-001"]["message"]


def test_cli_unreachable_endpoint_is_an_error_with_a_clear_message(
    cli: Cli, tmp_path: Path
) -> None:
    code, out, _ = cli(
        "audit",
        "--profile",
        "ti-tls",
        "--endpoint",
        "127.0.0.1:1",
        "--timeout",
        "1",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
    )
    report = json.loads(out)
    assert code == 1
    assert {r["status"] for r in report["results"]} == {"error"}
    assert "no TLS answer from 127.0.0.1:1" in report["results"][0]["message"]


def test_cli_offline_skips_the_probe(cli: Cli) -> None:
    _, out, _ = cli(
        "audit",
        "--profile",
        "ti-tls",
        "--endpoint",
        "127.0.0.1:1",
        "--offline",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
    )
    report = json.loads(out)
    assert {r["status"] for r in report["results"]} == {"skip"}
    assert report["results"][0]["message"] == "not probed (--offline)"


def test_site_file_endpoints_and_tailoring(cli: Cli, tmp_path: Path) -> None:
    """The same audit from a site file: the imported identity is documented in its tailoring."""
    fd = x509.load_pem_x509_certificate(FD_ECC.cert.read_bytes())
    ctx = server_context(FD_ECC, tls13=False, groups="brainpoolP256r1", ciphers=GCM_ECDHE)
    with TlsServer(ctx) as server:
        site = tmp_path / "gemcheck.yaml"
        site.write_text(
            "site: TLS test site\n"
            f"endpoints:\n  - url: {server.url}\n    role: konnektor\n"
            "tailoring:\n  TLS-CERT-001:\n    params:\n      documented_identities:\n"
            f"        - {fd.fingerprint(hashes.SHA256()).hex(':')}\n",
            encoding="utf-8",
        )
        _, out, err = cli(
            "audit", site, "--profile", "ti-tls", "--as-of", AS_OF.isoformat(), "--format", "json"
        )
    results = {r["rule"]: r for r in json.loads(out)["results"]}
    cert = results["TLS-CERT-001"]
    assert cert["status"] == "pass" and "documented imported identity" in cert["message"], err
    assert cert["location"] == {"uri": server.url}
