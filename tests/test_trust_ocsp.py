"""OCSP against real responders on 127.0.0.1: ``openssl ocsp`` and a crafted Python responder."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from gemcheck.pki.ocsp import decode_cert_hash
from tests.conftest import CERTS
from tests.trust_support import (
    Answer,
    Responder,
    Service,
    cert,
    cert_hash_value,
    key,
    make_cert,
    openssl_responder,
    pem,
    python_responder,
    results,
    sign_tsl,
    silent_server,
    statuses,
    synthetic_services,
    tsl_xml,
)

UTC = dt.UTC
AUT, ENC, OSIG = "ecc/smcb-aut.pem", "ecc/smcb-enc.pem", "ecc/smcb-osig.pem"
CA = CERTS / "ca" / "smcb-ca1.pem"

Cli = Callable[..., tuple[int, str, str]]


def audit(cli: Cli, url: str, *args: object) -> dict[str, Any]:
    code, out, err = cli(
        "audit",
        "--profile",
        "ti-pki-trust",
        "--format",
        "json",
        "--trust-anchor",
        CA,
        "--ocsp-responder",
        url,
        "--as-of",
        "2026-06-01",
        *args,
    )
    assert code in (0, 1), err
    report: dict[str, Any] = json.loads(out)
    return report


def ocsp_of(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [
        r
        for r in results(report, "PKI-OCSP-001")
        if str(r["location"].get("file", "")).endswith(name)
    ]
    return found


def delegated(**answers: Answer) -> Responder:
    """A responder signing with GEMCHECK's delegated OCSP signer of SMCB-CA1."""
    by_serial = {cert(name).serial_number: answer for name, answer in answers.items()}
    return Responder(
        cert("ca/smcb-ca1.pem"), cert("ecc/ocsp-smcb-ca1.pem"), key("ocsp-smcb-ca1"), by_serial
    )


# -- openssl ocsp ----------------------------------------------------------------------------------


def test_openssl_good_revoked_unknown(tmp_path: Path, cli: Cli) -> None:
    with openssl_responder(
        tmp_path,
        ca="ca/smcb-ca1.pem",
        signer="ecc/ocsp-smcb-ca1.pem",
        signer_key="ocsp-smcb-ca1",
        good=[cert(AUT)],
        revoked=[(cert(ENC), "250601000000Z")],
    ) as url:
        report = audit(
            cli, url, "--cert", CERTS / AUT, "--cert", CERTS / ENC, "--cert", CERTS / OSIG
        )
    good, revoked, unknown = ocsp_of(report, AUT), ocsp_of(report, ENC), ocsp_of(report, OSIG)
    assert good["status"] == "pass", good["message"]
    assert good["evidence"]["status"] == "good"
    assert good["evidence"]["cert_id_hash"] == "sha256"
    assert revoked["status"] == "fail" and revoked["evidence"]["status"] == "revoked"
    assert "2025-06-01" in str(revoked["message"]) and "SW_1047" in str(revoked["message"])
    assert unknown["status"] == "fail" and unknown["evidence"]["status"] == "unknown"
    assert "TW_1044" in str(unknown["message"])
    assert statuses(report, "PKI-CHAIN-001") == ["pass"] * 3


def test_openssl_wrong_signer_fails(tmp_path: Path, cli: Cli) -> None:
    with openssl_responder(
        tmp_path,
        ca="ca/smcb-ca1.pem",
        signer="ecc/ocsp-komp-ca1.pem",
        signer_key="ocsp-komp-ca1",
        good=[cert(AUT)],
    ) as url:
        report = audit(cli, url, "--cert", CERTS / AUT)
    (result,) = results(report, "PKI-OCSP-001")
    assert result["status"] == "fail"
    assert "OCSP-Signer KOMP-CA1" in str(result["message"])
    assert "SE_1030_OCSP_CERT_MISSING" in str(result["message"])


# -- crafted responses -----------------------------------------------------------------------------


def test_stale_response_fails(cli: Cli) -> None:
    stale = Answer(age=dt.timedelta(hours=2), validity=dt.timedelta(hours=1))
    with python_responder(delegated(**{AUT: stale})) as url:
        report = audit(cli, url, "--cert", CERTS / AUT)
    (result,) = results(report, "PKI-OCSP-001")
    assert result["status"] == "fail"
    assert "stale" in str(result["message"]) and "37.5 s" in str(result["message"])


def test_response_within_the_tolerance_passes(cli: Cli) -> None:
    recent = Answer(age=dt.timedelta(seconds=20))
    with python_responder(delegated(**{AUT: recent})) as url:
        report = audit(cli, url, "--cert", CERTS / AUT)
    assert statuses(report, "PKI-OCSP-001") == ["pass"]


def test_cert_hash_matching_mismatching_and_required(tmp_path: Path, cli: Cli) -> None:
    responder = delegated(
        **{
            AUT: Answer(cert_hash=cert_hash_value(cert(AUT))),
            ENC: Answer(cert_hash=cert_hash_value(cert(ENC), wrong=True)),
            OSIG: Answer(),
        }
    )
    with python_responder(responder) as url:
        report = audit(
            cli, url, "--cert", CERTS / AUT, "--cert", CERTS / ENC, "--cert", CERTS / OSIG
        )
        site = tmp_path / "gemcheck.yaml"
        site.write_text(
            "site: certHash required\n"
            "tailoring:\n  PKI-OCSP-001:\n    params: {require_cert_hash: true}\n"
        )
        strict = audit(cli, url, site, "--cert", CERTS / OSIG)
    assert ocsp_of(report, AUT)["status"] == "pass"
    assert "SE_1041_CERTHASH_MISMATCH" in str(ocsp_of(report, ENC)["message"])
    assert ocsp_of(report, OSIG)["status"] == "pass"
    (missing,) = results(strict, "PKI-OCSP-001")
    assert missing["status"] == "fail" and "SE_1040" in str(missing["message"])


def test_response_signed_by_the_ca_itself_passes(cli: Cli) -> None:
    answers = {cert(AUT).serial_number: Answer()}
    responder = Responder(
        cert("ca/smcb-ca1.pem"), cert("ca/smcb-ca1.pem"), key("smcb-ca1"), answers
    )
    with python_responder(responder) as url:
        report = audit(cli, url, "--cert", CERTS / AUT)
    assert statuses(report, "PKI-OCSP-001") == ["pass"]


def test_revoked_after_the_evaluation_date_was_good_then(cli: Cli) -> None:
    later = Answer("revoked", revoked_at=dt.datetime(2026, 9, 1, tzinfo=UTC))
    with python_responder(delegated(**{AUT: later})) as url:
        report = audit(cli, url, "--cert", CERTS / AUT)
        after = audit(cli, url, "--cert", CERTS / AUT, "--as-of", "2026-10-01")
    (result,) = results(report, "PKI-OCSP-001")
    assert result["status"] == "pass" and "revoked later" in str(result["message"])
    assert statuses(after, "PKI-OCSP-001") == ["fail"]


def test_sha1_cert_id_fallback(cli: Cli) -> None:
    responder = delegated(**{AUT: Answer()})
    responder.refuse_sha256 = True
    with python_responder(responder) as url:
        report = audit(cli, url, "--cert", CERTS / AUT)
    (result,) = results(report, "PKI-OCSP-001")
    assert result["status"] == "pass"
    assert result["evidence"]["cert_id_hash"] == "sha1"
    assert responder.served == 2


def test_signer_listed_in_the_tsl(tmp_path: Path, cli: Cli) -> None:
    signer = Service(
        cert("ecc/ocsp-smcb-ca1.pem"), type_id="http://uri.etsi.org/TrstSvc/Svctype/Certstatus/OCSP"
    )
    tsl = tmp_path / "tsl.xml"
    tsl.write_bytes(sign_tsl(tsl_xml([*synthetic_services(), signer])))
    site = tmp_path / "gemcheck.yaml"
    site.write_text(
        "site: TSL signers only\ntailoring:\n  PKI-OCSP-001:\n    params: {signer_sources: [tsl]}\n"
    )
    tsl_args = ("--tsl", tsl, "--tsl-signer", CERTS / "ca" / "tsl-ca1.pem")
    with python_responder(delegated(**{AUT: Answer()})) as url:
        listed = audit(cli, url, site, "--cert", CERTS / AUT, *tsl_args)
        unlisted = audit(cli, url, site, "--cert", CERTS / AUT)
    (ok,) = results(listed, "PKI-OCSP-001")
    assert ok["status"] == "pass", ok["message"]
    (no,) = results(unlisted, "PKI-OCSP-001")
    assert no["status"] == "fail" and "allowed: tsl" in str(no["message"])


# -- the network misbehaves ------------------------------------------------------------------------


def test_hanging_responder_times_out_and_the_audit_goes_on(cli: Cli) -> None:
    with silent_server() as url:
        started = time.monotonic()
        report = audit(cli, url, "--timeout", "1", "--cert", CERTS / AUT, "--cert", CERTS / ENC)
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert statuses(report, "PKI-OCSP-001") == ["error", "error"]
    (first, _) = results(report, "PKI-OCSP-001")
    assert "TE_1032_OCSP_NOT_AVAILABLE" in str(first["message"]) and "1 s" in str(first["message"])
    assert statuses(report, "PKI-CHAIN-001") == ["pass", "pass"]


def test_responder_stalling_in_the_body_times_out(cli: Cli) -> None:
    headers = b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n"
    with silent_server(headers + b"Content-Length: 500\r\n\r\n0\x82") as url:
        report = audit(cli, url, "--timeout", "1", "--cert", CERTS / AUT)
    (result,) = results(report, "PKI-OCSP-001")
    assert result["status"] == "error" and "TE_1032" in str(result["message"])
    assert statuses(report, "PKI-CHAIN-001") == ["pass"]


def test_refused_connection_is_an_error(cli: Cli) -> None:
    from tests.trust_support import free_port

    report = audit(cli, f"http://127.0.0.1:{free_port()}/", "--cert", CERTS / AUT)
    (result,) = results(report, "PKI-OCSP-001")
    assert result["status"] == "error" and "connection refused" in str(result["message"])


def test_offline_skips_visibly_without_asking(cli: Cli) -> None:
    responder = delegated(**{AUT: Answer()})
    with python_responder(responder) as url:
        report = audit(cli, url, "--offline", "--cert", CERTS / AUT)
    (result,) = results(report, "PKI-OCSP-001")
    assert result["status"] == "skip" and "offline" in str(result["message"])
    assert responder.served == 0


def test_without_trust_material_nothing_is_asked(cli: Cli) -> None:
    responder = delegated(**{AUT: Answer()})
    with python_responder(responder) as url:
        code, out, _ = cli(
            "audit",
            "--profile",
            "ti-pki-trust",
            "--format",
            "json",
            "--ocsp-responder",
            url,
            "--cert",
            CERTS / AUT,
            "--as-of",
            "2026-06-01",
        )
    (result,) = results(json.loads(out), "PKI-OCSP-001")
    assert code == 1 and result["status"] == "error" and "--trust-anchor" in str(result["message"])
    assert responder.served == 0


def test_ocsp_signer_certificates_with_nocheck_are_skipped(cli: Cli) -> None:
    report = audit(cli, "http://127.0.0.1:9/", "--cert", CERTS / "ecc" / "ocsp-smcb-ca1.pem")
    assert statuses(report, "PKI-OCSP-001") == ["skip"]


def test_connections_are_reused_and_concurrency_bounded(tmp_path: Path, cli: Cli) -> None:
    ca, ca_key = cert("ca/smcb-ca1.pem"), key("smcb-ca1")
    leaf_key = ec.generate_private_key(ec.BrainpoolP256R1())
    folder = tmp_path / "leaves"
    folder.mkdir()
    answers = {}
    for serial in range(5000, 5040):
        leaf = make_cert(
            f"Leaf {serial} TEST-ONLY", ca, ca_key, leaf_key.public_key(), serial=serial
        )
        (folder / f"{serial}.pem").write_bytes(pem(leaf))
        answers[serial] = Answer()
    responder = Responder(ca, cert("ecc/ocsp-smcb-ca1.pem"), key("ocsp-smcb-ca1"), answers)
    connections: set[int] = set()
    with python_responder(responder, connections) as url:
        report = audit(cli, url, "--cert", folder)
    assert statuses(report, "PKI-OCSP-001") == ["pass"] * 40
    assert responder.served == 40
    assert len(connections) <= 8  # default concurrency: one kept-alive connection per worker


def test_decode_cert_hash_rejects_garbage() -> None:
    assert decode_cert_hash(b"\x30\x03\x02\x01\x00") is None
    assert decode_cert_hash(b"not der") is None
    decoded = decode_cert_hash(cert_hash_value(cert(AUT)))
    assert decoded is not None and decoded[0].name == "sha256"


def test_response_about_another_certificate_fails(cli: Cli) -> None:
    class Swapped(Responder):
        def __call__(self, request_der: bytes) -> bytes:
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.x509 import ocsp

            other = cert(ENC)
            builder = (
                ocsp.OCSPResponseBuilder()
                .add_response(
                    other,
                    self.issuer,
                    hashes.SHA256(),
                    ocsp.OCSPCertStatus.GOOD,
                    dt.datetime.now(UTC),
                    None,
                    None,
                    None,
                )
                .responder_id(ocsp.OCSPResponderEncoding.HASH, self.signer)
            )
            builder = builder.certificates([self.signer])
            return builder.sign(self.signer_key, hashes.SHA256()).public_bytes(
                serialization.Encoding.DER
            )

    responder = Swapped(
        cert("ca/smcb-ca1.pem"), cert("ecc/ocsp-smcb-ca1.pem"), key("ocsp-smcb-ca1")
    )
    with python_responder(responder) as url:
        report = audit(cli, url, "--cert", CERTS / AUT)
    (result,) = results(report, "PKI-OCSP-001")
    assert result["status"] == "fail" and "CertID" in str(result["message"])
