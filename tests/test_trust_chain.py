"""Certificate chains: issuer, signature, CA validity and TSL status at issuance, authorisation."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import CERTS, SHARED
from tests.trust_support import (
    REVOKED,
    Service,
    cert,
    key,
    make_cert,
    pem,
    results,
    sign_tsl,
    statuses,
    synthetic_services,
    tsl_xml,
)

GEMLIBPKI = SHARED / "pki-data" / "ref-GemLibPki"
ANCHOR51 = GEMLIBPKI / "certificates" / "GEM.TSL-CA51" / "GEM.TSL-CA51-TEST-ONLY.pem"
BEYER_CA57 = GEMLIBPKI / "certificates" / "GEM.SMCB-CA57" / "valid" / "PraxisBabetteBeyer.pem"
BEYER_CA59 = (
    GEMLIBPKI / "certificates" / "GEM.SMCB-CA59" / "80276001011699802021-Beyer-Zahnarzt-SMCB59.crt"
)
SMCB_AUT = CERTS / "ecc" / "smcb-aut.pem"
SMCB_ENC = CERTS / "ecc" / "smcb-enc.pem"
TSL_SIGNER_CA = CERTS / "ca" / "tsl-ca1.pem"
UTC = dt.UTC

Cli = Callable[..., tuple[int, str, str]]


def audit(cli: Cli, *args: object) -> dict[str, Any]:
    code, out, err = cli(
        "audit", "--profile", "ti-pki-trust", "--format", "json", "--offline", *args
    )
    assert code in (0, 1), err
    report: dict[str, Any] = json.loads(out)
    return report


def audit_with_tsl(cli: Cli, tsl: Path, *certs: Path) -> dict[str, Any]:
    """Audit ``certs`` against a synthetic TSL signed under the test TSL-signer CA."""
    cert_args = [arg for c in certs for arg in ("--cert", c)]
    return audit(
        cli, "--tsl", tsl, "--tsl-signer", TSL_SIGNER_CA, "--as-of", "2026-06-01", *cert_args
    )


def tsl_file(tmp_path: Path, services: list[Service]) -> Path:
    path = tmp_path / "tsl.xml"
    path.write_bytes(sign_tsl(tsl_xml(services)))
    return path


def chain_of(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [
        r
        for r in results(report, "PKI-CHAIN-001")
        if str(r["location"].get("file", "")).endswith(name)
    ]
    return found


# -- with a TSL the tests sign ---------------------------------------------------------------------


def test_chains_to_an_authorised_ca_of_the_tsl(tmp_path: Path, cli: Cli) -> None:
    tsl = tsl_file(tmp_path, synthetic_services())
    report = audit_with_tsl(cli, tsl, CERTS / "ecc", CERTS / "rsa", CERTS / "nist")
    ok = chain_of(report, "ecc/smcb-aut.pem")
    assert ok["status"] == "pass"
    assert "GEMCHECK.SMCB-CA1" in str(ok["message"]) and "TSL" in str(ok["message"])
    for name in ("ecc/fd-tls-s.pem", "ecc/hba-aut.pem", "rsa/smcb-aut.pem", "nist/fd-tls-s.pem"):
        assert chain_of(report, name)["status"] == "pass", chain_of(report, name)
    # the client-system certificate comes from a Konnektor-internal CA that no TSL lists
    stranger = chain_of(report, "ecc/clientsystem.pem")
    assert stranger["status"] == "fail" and "TE_1027" in str(stranger["message"])


def test_issuer_missing_from_the_tsl_fails(tmp_path: Path, cli: Cli) -> None:
    services = [s for s in synthetic_services() if "SMCB-CA1" not in str(s.certificate.subject)]
    tsl = tsl_file(tmp_path, services)
    report = audit_with_tsl(cli, tsl, SMCB_AUT)
    assert statuses(report, "PKI-CHAIN-001") == ["fail"]
    assert "TE_1027_CA_CERT_MISSING" in str(results(report, "PKI-CHAIN-001")[0]["message"])


def test_ca_not_authorised_for_the_type_fails(tmp_path: Path, cli: Cli) -> None:
    only_enc = Service(cert("ca/smcb-ca1.pem"), extension_oids=("1.2.276.0.76.4.76",))
    tsl = tsl_file(tmp_path, synthetic_services(**{"smcb-ca1": only_enc}))
    report = audit_with_tsl(cli, tsl, SMCB_AUT, SMCB_ENC)
    denied = chain_of(report, "smcb-aut.pem")
    assert denied["status"] == "fail"
    assert "SE_1061_CERT_TYPE_CA_NOT_AUTHORIZED" in str(denied["message"])
    assert "C.HCI.AUT" in str(denied["message"]) and "C.HCI.ENC" in str(denied["message"])
    assert chain_of(report, "smcb-enc.pem")["status"] == "pass"


@pytest.mark.parametrize(
    ("revoked_on", "expected"),
    [(dt.datetime(2024, 6, 1, tzinfo=UTC), "fail"), (dt.datetime(2026, 1, 1, tzinfo=UTC), "pass")],
    ids=["revoked-before-issuance", "revoked-after-issuance"],
)
def test_ca_revoked_in_the_tsl_counts_at_issuance(
    tmp_path: Path, cli: Cli, revoked_on: dt.datetime, expected: str
) -> None:
    revoked = Service(
        cert("ca/smcb-ca1.pem"),
        status=REVOKED,
        since=revoked_on,
        extension_oids=("1.2.276.0.76.4.77",),
    )
    tsl = tsl_file(tmp_path, synthetic_services(**{"smcb-ca1": revoked}))
    report = audit_with_tsl(cli, tsl, SMCB_AUT)
    assert statuses(report, "PKI-CHAIN-001") == [expected]
    if expected == "fail":
        assert "SE_1036" in str(results(report, "PKI-CHAIN-001")[0]["message"])


def test_tampered_tsl_is_not_a_source_of_trust(tmp_path: Path, cli: Cli) -> None:
    path = tsl_file(tmp_path, synthetic_services())
    path.write_bytes(path.read_bytes().replace(b"TEST-ONLY gemcheck TSL", b"TEST-ONLY evil TSL"))
    report = audit_with_tsl(cli, path, SMCB_AUT)
    assert statuses(report, "TSL-SIG-001") == ["fail"]
    assert statuses(report, "PKI-CHAIN-001") == ["error"]
    assert "not used" in str(results(report, "PKI-CHAIN-001")[0]["message"])


# -- with trust anchors ----------------------------------------------------------------------------


def test_no_trust_material_is_an_error_that_says_what_to_pass(cli: Cli) -> None:
    report = audit(cli, "--cert", SMCB_AUT, "--as-of", "2026-06-01")
    (result,) = results(report, "PKI-CHAIN-001")
    assert result["status"] == "error"
    assert "--tsl" in str(result["message"]) and "--trust-anchor" in str(result["message"])


def test_intermediate_as_anchor_and_root_through_the_audited_ca(cli: Cli) -> None:
    direct = audit(
        cli,
        "--cert",
        SMCB_AUT,
        "--trust-anchor",
        CERTS / "ca" / "smcb-ca1.pem",
        "--as-of",
        "2026-06-01",
    )
    assert statuses(direct, "PKI-CHAIN-001") == ["pass"]
    assert statuses(direct, "PKI-ANCHOR-001") == ["pass"]
    via = audit(
        cli,
        "--cert",
        SMCB_AUT,
        "--cert",
        CERTS / "ca" / "smcb-ca1.pem",
        "--trust-anchor",
        CERTS / "ca" / "rca1.pem",
        "--as-of",
        "2026-06-01",
    )
    leaf = chain_of(via, "smcb-aut.pem")
    assert leaf["status"] == "pass" and "chains through GEMCHECK.SMCB-CA1" in str(leaf["message"])
    root_only = audit(
        cli,
        "--cert",
        SMCB_AUT,
        "--trust-anchor",
        CERTS / "ca" / "rca1.pem",
        "--as-of",
        "2026-06-01",
    )
    assert statuses(root_only, "PKI-CHAIN-001") == ["fail"]


def test_bad_signature_fails(tmp_path: Path, cli: Cli) -> None:
    der = bytearray(cert("ecc/smcb-aut.pem").public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the ECDSA signature value
    forged = tmp_path / "forged.der"
    forged.write_bytes(bytes(der))
    report = audit(
        cli,
        "--cert",
        forged,
        "--trust-anchor",
        CERTS / "ca" / "smcb-ca1.pem",
        "--as-of",
        "2026-06-01",
    )
    assert statuses(report, "PKI-CHAIN-001") == ["fail"]
    assert "SE_1024" in str(results(report, "PKI-CHAIN-001")[0]["message"])


def test_same_name_other_key_is_an_aki_mismatch(tmp_path: Path, cli: Cli) -> None:
    real = cert("ca/smcb-ca1.pem")
    other = ec.generate_private_key(ec.BrainpoolP256R1())
    impostor = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.subject)
        .public_key(other.public_key())
        .serial_number(79)
        .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2032, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(other.public_key()), False)
        .sign(other, hashes.SHA256())
    )
    anchor = tmp_path / "impostor.pem"
    anchor.write_bytes(pem(impostor))
    report = audit(cli, "--cert", SMCB_AUT, "--trust-anchor", anchor, "--as-of", "2026-06-01")
    assert statuses(report, "PKI-CHAIN-001") == ["fail"]
    assert "SE_1023" in str(results(report, "PKI-CHAIN-001")[0]["message"])


def test_ca_not_valid_when_it_issued_the_certificate_fails(tmp_path: Path, cli: Cli) -> None:
    real = cert("ca/smcb-ca1.pem")
    late = (
        x509.CertificateBuilder(extensions=list(real.extensions))
        .subject_name(real.subject)
        .issuer_name(real.issuer)
        .public_key(real.public_key())
        .serial_number(4711)
        .not_valid_before(dt.datetime(2025, 6, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2032, 1, 1, tzinfo=UTC))
        .sign(key("rca1"), hashes.SHA256())
    )
    anchor = tmp_path / "late-ca.pem"
    anchor.write_bytes(pem(late))
    report = audit(cli, "--cert", SMCB_AUT, "--trust-anchor", anchor, "--as-of", "2026-06-01")
    (result,) = results(report, "PKI-CHAIN-001")
    assert result["status"] == "fail"
    assert "was not valid when it issued the certificate" in str(result["message"])


def test_self_signed_certificate_is_not_trusted(tmp_path: Path, cli: Cli) -> None:
    own = ec.generate_private_key(ec.BrainpoolP256R1())
    selfie = tmp_path / "self.pem"
    selfie.write_bytes(pem(make_cert("Self TEST-ONLY", None, own, own.public_key(), serial=5)))
    report = audit(
        cli, "--cert", selfie, "--trust-anchor", CERTS / "ca" / "rca1.pem", "--as-of", "2026-06-01"
    )
    assert statuses(report, "PKI-CHAIN-001") == ["fail"]
    assert "self-signed" in str(results(report, "PKI-CHAIN-001")[0]["message"])


def test_trust_anchor_must_be_a_valid_ca(tmp_path: Path, cli: Cli) -> None:
    report = audit(
        cli,
        "--cert",
        SMCB_AUT,
        "--trust-anchor",
        SMCB_ENC,
        "--trust-anchor",
        CERTS / "ca" / "smcb-ca1.pem",
        "--as-of",
        "2026-06-01",
    )
    assert sorted(statuses(report, "PKI-ANCHOR-001")) == ["fail", "pass"]
    expired = audit(
        cli,
        "--cert",
        SMCB_AUT,
        "--trust-anchor",
        CERTS / "ca" / "smcb-ca1.pem",
        "--as-of",
        "2033-01-01",
    )
    assert statuses(expired, "PKI-ANCHOR-001") == ["fail"]


def test_unreadable_anchor_is_an_error_and_named(tmp_path: Path, cli: Cli) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n")
    report = audit(cli, "--cert", SMCB_AUT, "--trust-anchor", junk, "--as-of", "2026-06-01")
    assert statuses(report, "PKI-ANCHOR-001") == ["error"]
    (result,) = results(report, "PKI-CHAIN-001")
    assert result["status"] == "error" and "junk.pem" in str(result["message"])


# -- gematik's TSLs and certificates ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tsl", "certificate", "expected", "code"),
    [
        ("TSL_default.xml", BEYER_CA57, "pass", None),
        ("TSL_default.xml", BEYER_CA59, "fail", "TE_1027_CA_CERT_MISSING"),
        ("TSL_altCA.xml", BEYER_CA59, "pass", None),
        ("TSL_altCA_revoked.xml", BEYER_CA59, "fail", "SE_1036_CA_CERTIFICATE_REVOKED_IN_TSL"),
        ("TSL_altCA_revokedLater.xml", BEYER_CA59, "pass", None),
    ],
)
def test_gematik_reference_cases(
    shared: Path, cli: Cli, tsl: str, certificate: Path, expected: str, code: str | None
) -> None:
    report = audit(
        cli,
        "--tsl",
        GEMLIBPKI / "tsls" / "ecc" / "valid" / tsl,
        "--tsl-signer",
        ANCHOR51,
        "--cert",
        certificate,
        "--as-of",
        "2025-08-01",
    )
    assert statuses(report, "TSL-SIG-001") == ["pass"]
    (result,) = results(report, "PKI-CHAIN-001")
    assert result["status"] == expected, result["message"]
    if code:
        assert code in str(result["message"])
