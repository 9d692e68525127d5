"""The ti-pki certificate-profile rules: one passing and one failing case each, every type
family with real gematik and synthetic certificates, dated rules, loading, hostile inputs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gemcheck.checks.pki import latest_end, telematik_id_problem
from gemcheck.engine import evaluate
from gemcheck.evidence import EvidenceSet
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.model import Status
from gemcheck.registry import Context

from .conftest import AS_OF, CERTS
from .pki_support import (
    PKI_DATA,
    TI,
    TYPE_RULES,
    admission,
    bound_rules,
    ca_cert,
    evidence_of,
    judge,
    make_cert,
    private_key,
)

CliRun = Callable[..., tuple[int, str, str]]
GLP = "ref-GemLibPki/certificates/"
BEYER = GLP + "GEM.SMCB-CA57/"
PKITS = "app-PkiTestsuite/testDataTemplates/certificates/ecc/"
IDP = "ref-idp-server/idp-testsuite/src/test/resources/certs/"
ERP = "erp-e2e-testsuite/smartcard/src/main/resources/smartcards/"

EGK_SUBJECT = [
    (NameOID.COUNTRY_NAME, "DE"),
    (NameOID.ORGANIZATION_NAME, "gemcheck Testkasse NOT-VALID"),
    (NameOID.ORGANIZATIONAL_UNIT_NAME, "109500969"),
    (NameOID.ORGANIZATIONAL_UNIT_NAME, "X110000001"),
    (NameOID.SURNAME, "Gemcheck"),
    (NameOID.GIVEN_NAME, "Erika"),
    (NameOID.COMMON_NAME, "Erika Gemcheck TEST-ONLY"),
]


def _real(rel: str, password: str | None = None, role: str | None = None) -> CertificateEvidence:
    if password is not None:
        os.environ["GEMCHECK_TEST_P12"] = password
    env = "GEMCHECK_TEST_P12" if password is not None else None
    ev = evidence_of(PKI_DATA / rel, role=role, password_env=env)[0]
    assert ev.certificate is not None, ev.error
    return ev


def _inside(ev: CertificateEvidence) -> dt.date:
    """2025-07-24 (before every RSA end date) when inside the validity, else its middle."""
    assert ev.certificate is not None
    nb, na = ev.certificate.not_valid_before_utc.date(), ev.certificate.not_valid_after_utc.date()
    reference = dt.date(2025, 7, 24)
    return reference if nb < reference < na else nb + (na - nb) / 2


def _egk(tmp_path: Path, name: str = "egk", **kwargs: object) -> Path:
    spec: dict[str, object] = {
        "types": ("70",),
        "eku": None,
        "adm": admission([TI + "49"], None, ("Versicherte/-r",)),
        "subject": EGK_SUBJECT,
    }
    spec.update(kwargs)
    return make_cert(tmp_path / f"{name}.pem", **spec)  # type: ignore[arg-type]


# -- every type family conforms: synthetic and real ------------------------------------------------


SYNTHETIC_FAMILIES = [
    ("SMC-B", "ecc/smcb-aut.pem"),
    ("SMC-B", "ecc/smcb-enc.pem"),
    ("SMC-B", "ecc/smcb-osig.pem"),
    ("SMC-B", "rsa/smcb-aut.pem"),
    ("HBA", "ecc/hba-aut.pem"),
    ("Konnektor", "ecc/konnektor-ak-aut.pem"),
    ("Fachdienst", "ecc/fd-tls-s.pem"),
    ("Fachdienst", "nist/fd-tls-s.pem"),
    ("TSL signer", "ecc/tsl-signer.pem"),
    ("OCSP signer", "ecc/ocsp-smcb-ca1.pem"),
    ("OCSP signer", "nist/ocsp-komp-ca3.pem"),
    ("CA", "ca/rca1.pem"),
    ("CA", "ca/komp-ca2.pem"),
]


@pytest.mark.parametrize(("family", "rel"), SYNTHETIC_FAMILIES)
def test_synthetic_certificates_of_every_family_conform(family: str, rel: str) -> None:
    results = {rid: judge(CERTS / rel, rid) for rid in TYPE_RULES}
    bad = {
        rid: r.message for rid, r in results.items() if r.status not in (Status.PASS, Status.SKIP)
    }
    assert not bad, family
    assert results["PKI-TYPE-001"].status is Status.PASS


def test_synthetic_egk_conforms(tmp_path: Path) -> None:
    path = _egk(tmp_path)
    results = {rid: judge(path, rid) for rid in TYPE_RULES}
    assert {rid: r.status for rid, r in results.items()} == {
        "PKI-TYPE-001": Status.PASS,
        "PKI-KU-001": Status.PASS,
        "PKI-EKU-001": Status.PASS,
        "PKI-CRIT-001": Status.PASS,
        "PKI-ADM-001": Status.PASS,
        "PKI-TID-001": Status.SKIP,
        "PKI-ALG-001": Status.PASS,
        "PKI-RSA-001": Status.SKIP,
        "PKI-LIFE-001": Status.PASS,
        "PKI-SAN-001": Status.PASS,
        "PKI-AIA-001": Status.PASS,
        "PKI-DN-001": Status.PASS,
    }
    assert "C.CH.AUT" in results["PKI-TYPE-001"].message


REAL_FAMILIES = [
    ("SMC-B", BEYER + "valid/PraxisBabetteBeyer.pem", None),
    ("SMC-B", GLP + "GEM.SMCB-CA41-RSA/Aschoffsche_Apotheke-AUT-RSA.pem", None),
    ("HBA", GLP + "GEM.HBA-CA57/BabetteBeyer.pem", None),
    ("HBA", ERP + "hba/80276883110000095767/80276883110000095767-C_HP_QES_PSS_R2048.p12", "00"),
    ("eGK", GLP + "GEM.EGK-CA51/LetitiaBeutelsbacher.pem", None),
    (
        "eGK",
        "app-PkiTestsuite/testDataTemplates/certificates/rsa/egkClient/ee_default-rsa.p12",
        "00",
    ),
    ("Konnektor", GLP + "GEM.KOMP-CA57/80276883110000000001-20250721_ecc.crt", None),
    ("Konnektor", PKITS + "netzkonnektorClient/valid/ee_default.p12", "00"),
    ("Fachdienst", GLP + "GEM.KOMP-CA41/tp-fqdn-test-rsa.pem", None),
    ("Fachdienst", GLP + "GEM.KOMP-CA61/ee_komp_nist_test.pem", None),
    ("TSL signer", GLP + "GEM.TSL-CA51/TSL-Signing-Unit-51-TEST-ONLY.p12", "00"),
    ("TSL signer", GLP + "GEM.TSL-CA40/TSL-Signer40.p12", "00"),
]


@pytest.mark.parametrize(("family", "rel", "password"), REAL_FAMILIES)
def test_real_certificates_of_every_family_conform(
    shared: Path, family: str, rel: str, password: str | None
) -> None:
    ev = _real(rel, password)
    day = _inside(ev)
    bad = {
        rid: judge(ev, rid, as_of=day).message
        for rid in TYPE_RULES
        if judge(ev, rid, as_of=day).status not in (Status.PASS, Status.SKIP)
    }
    assert not bad, family


# -- PKI-TYPE-001 ----------------------------------------------------------------------------------


def test_type_missing_fails_with_se_1033(shared: Path) -> None:
    for source in (
        CERTS / "broken/missing-type-policy.pem",
        _real(BEYER + "invalid/BabetteBeyer-missing-policyId.pem"),
    ):
        result = judge(source, "PKI-TYPE-001")
        assert result.status is Status.FAIL and "SE_1033" in result.message


def test_type_must_fit_the_site_role(shared: Path) -> None:
    assert judge(CERTS / "ecc/hba-aut.pem", "PKI-TYPE-001", role="hba").status is Status.PASS
    wrong = judge(CERTS / "ecc/hba-aut.pem", "PKI-TYPE-001", role="smcb")
    assert wrong.status is Status.FAIL and "SE_1018_CERT_TYPE_MISMATCH" in wrong.message
    real = _real(BEYER + "invalid/BabetteBeyer-invalid-certificate-type.pem", role="C.HCI.AUT")
    result = judge(real, "PKI-TYPE-001")
    assert result.status is Status.FAIL and "type C.HP.AUT" in result.message


def test_a_pkcs12_with_its_ca_chain_fits_the_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("P12PW", "00")
    evidence = evidence_of(CERTS / "ecc/smcb-aut.p12", role="smcb", password_env="P12PW")
    assert len(evidence) == 3
    assert {judge(ev, "PKI-TYPE-001").status for ev in evidence} == {Status.PASS}


def test_clientsystem_role_is_not_judged_as_ti() -> None:
    ev = evidence_of(CERTS / "ecc/clientsystem.pem", role="clientsystem")[0]
    assert {judge(ev, rid).status for rid in TYPE_RULES} == {Status.SKIP}
    assert judge(CERTS / "ecc/clientsystem.pem", "PKI-TYPE-001").status is Status.FAIL


def test_two_type_oids_fail(tmp_path: Path) -> None:
    result = judge(make_cert(tmp_path / "two.pem", types=("77", "76")), "PKI-TYPE-001")
    assert result.status is Status.FAIL and "exactly one" in result.message


# -- PKI-KU-001 ------------------------------------------------------------------------------------


def test_key_usage_fails_for_the_wrong_bits(shared: Path) -> None:
    result = judge(CERTS / "broken/wrong-keyusage.pem", "PKI-KU-001")
    assert result.status is Status.FAIL and "lacks digitalSignature" in result.message
    for rel in (
        "invalid/BabetteBeyer-invalid-keyusage.pem",
        "invalid/BabetteBeyer-missing-keyUsage.pem",
    ):
        assert judge(_real(BEYER + rel), "PKI-KU-001").status is Status.FAIL
    signer = _real(GLP + "GEM.TSL-CA51/TSL-Signing-Unit-51_invalid-keyusage.p12", "00")
    assert "keyCertSign" in judge(signer, "PKI-KU-001").message


def test_key_usage_sets_differ_for_rsa_and_ecc(tmp_path: Path) -> None:
    rsa_like_ecc = make_cert(tmp_path / "rsa.pem", key="rsa", issuer="smcb-ca2")
    result = judge(rsa_like_ecc, "PKI-KU-001")
    assert result.status is Status.FAIL and "lacks keyEncipherment" in result.message
    ecc_like_rsa = make_cert(tmp_path / "ecc.pem", ku=("digital_signature", "key_encipherment"))
    result = judge(ecc_like_rsa, "PKI-KU-001")
    assert result.status is Status.FAIL and "must not have keyEncipherment" in result.message


def test_key_usage_contains_mode_and_malformed_extension(tmp_path: Path) -> None:
    extra = make_cert(tmp_path / "extra.pem", ku=("digital_signature", "content_commitment"))
    rule = bound_rules()["PKI-KU-001"]
    lenient = dataclasses.replace(rule, params=dataclasses.replace(rule.params, mode="contains"))
    ev = evidence_of(extra)[0]
    evidence = EvidenceSet([ev])
    [result] = evaluate([lenient], evidence, Context(as_of=AS_OF, evidence=evidence))
    assert result.status is Status.PASS
    assert judge(extra, "PKI-KU-001").status is Status.FAIL
    broken = make_cert(
        tmp_path / "bad.pem", ku=None, raw_extensions=[("2.5.29.15", b"\x04\x01\x00", True)]
    )
    result = judge(broken, "PKI-KU-001")
    assert result.status is Status.FAIL and "malformed" in result.message


# -- PKI-EKU-001 -----------------------------------------------------------------------------------


def test_extended_key_usage_fails_wrong_or_missing(shared: Path) -> None:
    for rel in (
        "invalid/BabetteBeyer-invalid-ext-keyusage.pem",
        "invalid/BabetteBeyer-missing-extKeyUsage.pem",
    ):
        result = judge(_real(BEYER + rel), "PKI-EKU-001")
        assert result.status is Status.FAIL and "SE_1017" in result.message
    signer = _real(GLP + "GEM.TSL-CA51/TSL-Signing-Unit-51_invalid-ext-keyusage.p12", "00")
    assert "lacks tslSigning" in judge(signer, "PKI-EKU-001").message


def test_extended_key_usage_none_optional_and_both(tmp_path: Path) -> None:
    enc_with_eku = make_cert(tmp_path / "enc.pem", types=("76",), ku=("key_agreement",))
    assert "allows none" in judge(enc_with_eku, "PKI-EKU-001").message
    assert judge(_egk(tmp_path), "PKI-EKU-001").status is Status.PASS  # clientAuth 0-1
    with_eku = _egk(tmp_path, "egk2", eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    assert judge(with_eku, "PKI-EKU-001").status is Status.PASS
    hba = make_cert(
        tmp_path / "hba.pem",
        types=("75",),
        issuer="hba-ca1",
        ku=("digital_signature", "key_agreement"),
    )
    assert "lacks emailProtection" in judge(hba, "PKI-EKU-001").message
    assert judge(CERTS / "ecc/hba-aut.pem", "PKI-EKU-001").status is Status.PASS


# -- PKI-CRIT-001 ----------------------------------------------------------------------------------


def test_critical_extensions_exactly_bc_and_ku(shared: Path) -> None:
    result = judge(CERTS / "broken/extra-critical-extension.pem", "PKI-CRIT-001")
    assert result.status is Status.FAIL and "extKeyUsage must not be critical" in result.message
    result = judge(_real(BEYER + "invalid/BabetteBeyer-invalid-extension-crit.pem"), "PKI-CRIT-001")
    assert result.status is Status.FAIL and "qcStatements must not be critical" in result.message
    tolerated = _real(BEYER + "valid/BabetteBeyer-invalid-extension-not-crit.pem")
    assert judge(tolerated, "PKI-CRIT-001").status is Status.PASS


def test_missing_key_usage_is_a_missing_critical_extension(tmp_path: Path) -> None:
    result = judge(make_cert(tmp_path / "noku.pem", ku=None), "PKI-CRIT-001")
    assert (
        result.status is Status.FAIL and "keyUsage must be present and critical" in result.message
    )


# -- PKI-ADM-001 -----------------------------------------------------------------------------------


def test_admission_profession_oid_must_fit_the_type(shared: Path) -> None:
    result = judge(CERTS / "broken/wrong-profession-oid.pem", "PKI-ADM-001")
    assert result.status is Status.FAIL and "oid_nk (Netzkonnektor)" in result.message
    result = judge(_real(IDP + "invalid/egk-idp-profid-invoid1-ecc-2.p12", "00"), "PKI-ADM-001")
    assert result.status is Status.FAIL and "1.2.276.0.76.1" in result.message
    result = judge(_real(IDP + "invalid/egk-idp-profid-null-ecc-2.p12", "00"), "PKI-ADM-001")
    assert result.status is Status.FAIL and "no Admission extension" in result.message
    passed = judge(CERTS / "ecc/smcb-aut.pem", "PKI-ADM-001")
    assert passed.status is Status.PASS and "oid_praxis_arzt" in passed.message


def test_malformed_admission_is_a_finding_on_that_certificate() -> None:
    result = judge(CERTS / "broken/malformed-admission.pem", "PKI-ADM-001")
    assert result.status is Status.FAIL and "malformed" in result.message
    assert result.location.file is not None and result.location.file.endswith(
        "malformed-admission.pem"
    )
    tid = judge(CERTS / "broken/malformed-admission.pem", "PKI-TID-001")
    assert tid.status is Status.FAIL


def test_admission_elements_and_ca_without_admission(tmp_path: Path) -> None:
    info = x509.ProfessionInfo(None, ["Arzt"], [x509.ObjectIdentifier(TI + "50")], "1-2-X", None)
    two = x509.Admissions(
        None, [x509.Admission(None, None, [info]), x509.Admission(None, None, [info])]
    )
    result = judge(make_cert(tmp_path / "two.pem", adm=two), "PKI-ADM-001")
    assert result.status is Status.FAIL and "2 Admissions elements" in result.message
    assert judge(CERTS / "ca/smcb-ca1.pem", "PKI-ADM-001").status is Status.SKIP


# -- PKI-TID-001 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tid", "problem"),
    [
        ("6-2-RESERVED", "prefix '6'"),
        ("ARZT01", "not of the form"),
        ("1-" + "X" * 127, "129 characters"),
    ],
)
def test_telematik_id_must_be_well_formed(tmp_path: Path, tid: str, problem: str) -> None:
    path = make_cert(tmp_path / "tid.pem", adm=admission([TI + "50"], tid))
    result = judge(path, "PKI-TID-001")
    assert result.status is Status.FAIL and problem in result.message


def test_telematik_id_charset_is_printable_string() -> None:
    # cryptography refuses to write such a registrationNumber; the rule still says why
    problem = telematik_id_problem("1-2_x", ("1",), 128)
    assert problem is not None and "PrintableString" in problem
    assert telematik_id_problem("10-2.30.1.16.TestOnly", ("10",), 128) is None


def test_telematik_id_required_on_smcb_optional_on_qes(tmp_path: Path) -> None:
    assert judge(CERTS / "ecc/smcb-aut.pem", "PKI-TID-001").status is Status.PASS
    missing = make_cert(tmp_path / "none.pem", adm=admission([TI + "50"], None))
    assert judge(missing, "PKI-TID-001").status is Status.FAIL
    qes = make_cert(
        tmp_path / "qes.pem",
        types=("72",),
        issuer="hba-ca1",
        ku=("content_commitment",),
        eku=None,
        adm=admission([TI + "30"], None),
    )
    assert judge(qes, "PKI-TID-001").status is Status.PASS


# -- PKI-ALG-001 -----------------------------------------------------------------------------------


def test_algorithm_curve_and_size_per_type(tmp_path: Path) -> None:
    assert "secp384r1 not allowed" in judge(CERTS / "broken/wrong-curve.pem", "PKI-ALG-001").message
    assert "shorter than 2048" in judge(CERTS / "broken/short-key.pem", "PKI-ALG-001").message
    nist_smcb = make_cert(tmp_path / "nist.pem", key="p256", issuer="komp-ca3")
    assert judge(nist_smcb, "PKI-ALG-001").status is Status.FAIL  # P-256 not for C.HCI.AUT
    assert judge(CERTS / "nist/fd-tls-s.pem", "PKI-ALG-001").status is Status.PASS


def test_algorithm_same_key_generation_gs_a_5513(tmp_path: Path, shared: Path) -> None:
    cross = make_cert(tmp_path / "cross.pem", issuer="smcb-ca2")  # ECC key, RSA CA signs
    result = judge(cross, "PKI-ALG-001")
    assert result.status is Status.FAIL and "GS-A_5513" in result.message
    dsa = judge(_real(GLP + "ocsp/dsaCert.p12", "00"), "PKI-ALG-001")
    assert dsa.status is Status.FAIL and "dsa keys are not used" in dsa.message


# -- PKI-RSA-001 (dated) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "last_day"),
    [
        ("rsa/smcb-aut.pem", dt.date(2026, 6, 30)),
        ("rsa/konnektor-ak-aut.pem", dt.date(2025, 12, 31)),
    ],
)
def test_rsa_end_date_per_type(rel: str, last_day: dt.date) -> None:
    ok = judge(CERTS / rel, "PKI-RSA-001", as_of=last_day)
    assert ok.status is Status.PASS and str(last_day) in ok.message
    late = judge(CERTS / rel, "PKI-RSA-001", as_of=last_day + dt.timedelta(days=1))
    assert late.status is Status.FAIL and "[SECONDARY]" in late.message
    assert judge(CERTS / "ecc/smcb-aut.pem", "PKI-RSA-001").status is Status.SKIP


def test_as_of_answers_what_fails_then(cli: CliRun) -> None:
    def failing(as_of: str) -> set[str]:
        _, out, _ = cli(
            "audit",
            "--profile",
            "ti-pki",
            "--cert",
            CERTS / "rsa/smcb-aut.pem",
            "--offline",
            "--as-of",
            as_of,
            "--format",
            "json",
        )
        return {r["rule"] for r in json.loads(out)["results"] if r["status"] == "fail"}

    assert "PKI-RSA-001" not in failing("2026-06-01")
    assert "PKI-RSA-001" in failing("2026-07-01")


# -- PKI-LIFE-001 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ca", "not_after", "status"),
    [
        (False, dt.date(2030, 1, 15), Status.PASS),  # 5 years to the day
        (False, dt.date(2030, 1, 31), Status.PASS),  # on to the end of that month (GS-A_4352)
        (False, dt.date(2030, 2, 1), Status.FAIL),
        (True, dt.date(2033, 1, 15), Status.PASS),  # an intermediate CA: 8 years
        (True, dt.date(2033, 1, 16), Status.FAIL),  # ... and no month-end allowance
    ],
)
def test_lifetime_maximum_per_kind(
    tmp_path: Path, ca: bool, not_after: dt.date, status: Status
) -> None:
    path = make_cert(
        tmp_path / "c.pem",
        types=() if ca else ("77",),
        ca=ca,
        ku=("key_cert_sign", "crl_sign") if ca else ("digital_signature",),
        eku=None if ca else (ExtendedKeyUsageOID.CLIENT_AUTH,),
        not_before=dt.date(2025, 1, 15),
        not_after=not_after,
    )
    result = judge(path, "PKI-LIFE-001")
    assert result.status is status, result.message
    assert f"{8 if ca else 5} years" in result.message
    if status is Status.FAIL:
        assert "longer than the" in result.message and "notAfter at most" in result.message
        assert result.evidence["max_years"] == (8 if ca else 5)


def test_lifetime_of_a_root_ca(tmp_path: Path) -> None:
    assert judge(CERTS / "ca/rca1.pem", "PKI-LIFE-001").status is Status.PASS  # exactly 10 years
    rca1 = ca_cert("rca1")
    start = dt.datetime(2020, 3, 1, tzinfo=dt.UTC)
    eleven = (
        x509.CertificateBuilder()
        .subject_name(rca1.subject)
        .issuer_name(rca1.subject)
        .public_key(rca1.public_key())
        .serial_number(7)
        .not_valid_before(start)
        .not_valid_after(start.replace(year=2031))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private_key("rca1"), hashes.SHA256())
    )
    path = tmp_path / "root.pem"
    path.write_bytes(eleven.public_bytes(serialization.Encoding.PEM))
    result = judge(path, "PKI-LIFE-001")
    assert result.status is Status.FAIL and result.message.startswith("root CA")


def test_lifetime_skips_types_without_a_maximum(tmp_path: Path) -> None:
    qes = make_cert(tmp_path / "qes.pem", types=("72",), not_after=dt.date(2035, 1, 1))
    result = judge(qes, "PKI-LIFE-001")
    assert result.status is Status.SKIP and "C.HP.QES" in result.message


def test_latest_end_of_a_leap_day() -> None:
    leap = dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC)
    assert latest_end(leap, 5, to_month_end=False) == dt.datetime(2029, 2, 28, 12, tzinfo=dt.UTC)
    month_end = latest_end(leap, 5, to_month_end=True)
    assert month_end == dt.datetime(2029, 2, 28, 23, 59, 59, tzinfo=dt.UTC)
    december = latest_end(dt.datetime(2025, 12, 3, tzinfo=dt.UTC), 5, to_month_end=True)
    assert december == dt.datetime(2030, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


# -- PKI-SAN-001 -----------------------------------------------------------------------------------

AK_AUT = dict(types=("79",), issuer="komp-ca1", eku=None)
FD_TLS_S = dict(types=("169",), issuer="komp-ca1", eku=(ExtendedKeyUsageOID.SERVER_AUTH,))


@pytest.mark.parametrize(
    ("kwargs", "names", "status", "why"),
    [
        (AK_AUT, [x509.DNSName("Konnektor.KonLAN")], Status.PASS, "dNSName"),
        (AK_AUT, [x509.DNSName("konnektor.praxis.local")], Status.FAIL, "no dNSName konnektor"),
        (AK_AUT, [], Status.FAIL, "no dNSName konnektor.konlan"),
        (FD_TLS_S, [x509.DNSName("ufs.example.telematik-test")], Status.PASS, "dNSName"),
        (FD_TLS_S, [x509.RFC822Name("a@b.de")], Status.FAIL, "no dNSName with the host name"),
        ({}, [], Status.PASS, "no SubjectAltName, none required"),
        ({}, [x509.RFC822Name("praxis@example.de")], Status.PASS, "rfc822Name"),
        (
            {},
            [x509.IPAddress(ipaddress.ip_address("10.0.0.1")), x509.DNSName("praxis.example")],
            Status.FAIL,
            "iPAddress is not allowed",
        ),
        ({"types": ("72",)}, [x509.RFC822Name("a@b.de")], Status.FAIL, "carries no SubjectAlt"),
    ],
)
def test_subject_alt_name(
    tmp_path: Path, kwargs: dict[str, Any], names: list[x509.GeneralName], status: Status, why: str
) -> None:
    result = judge(make_cert(tmp_path / "c.pem", san=names, **kwargs), "PKI-SAN-001")
    assert result.status is status and why in result.message, result.message


def test_subject_alt_name_malformed(tmp_path: Path) -> None:
    bad = make_cert(
        tmp_path / "bad.pem", raw_extensions=[("2.5.29.17", b"\x30\x03\x82\x05", False)]
    )
    result = judge(bad, "PKI-SAN-001")
    assert result.status is Status.FAIL and "malformed" in result.message


# -- PKI-AIA-001 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "status", "why"),
    [
        ({}, Status.PASS, "OCSP responder http://127.0.0.1:18080/ocsp"),
        ({"ocsp": None}, Status.FAIL, "no OCSP responder URL in AuthorityInfoAccess"),
        ({"types": ("175",), "ocsp": None}, Status.PASS, "none required"),  # C.CM.TLS-CS: 0-1
        ({"types": ("82",), "ocsp": None}, Status.PASS, "none required"),  # gSMC-KT: none
        ({"types": ("82",)}, Status.FAIL, "carries AuthorityInfoAccess"),
        ({"types": ("82",), "ocsp": None, "crl": "http://127.0.0.1/c.crl"}, Status.FAIL, "CRLD"),
        ({"types": ("81",)}, Status.FAIL, "no CRLDistributionPoints"),  # C.VPNK.VPN: CRLDP 1
        ({"types": ("81",), "crl": "http://127.0.0.1/vpnk.crl"}, Status.PASS, "OCSP responder"),
    ],
)
def test_status_pointers(tmp_path: Path, kwargs: dict[str, Any], status: Status, why: str) -> None:
    result = judge(make_cert(tmp_path / "c.pem", **kwargs), "PKI-AIA-001")
    assert result.status is status and why in result.message, result.message


def test_status_pointers_malformed(tmp_path: Path) -> None:
    bad = make_cert(
        tmp_path / "bad.pem", ocsp=None, raw_extensions=[("1.3.6.1.5.5.7.1.1", b"\x30\x05", False)]
    )
    result = judge(bad, "PKI-AIA-001")
    assert result.status is Status.FAIL and "malformed" in result.message


# -- PKI-DN-001 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "problem"),
    [
        ("invalid/egk-idp-famname-toolong-ecc-2.p12", "SN has 65 characters"),
        ("invalid/egk-idp-idnum-invalididnum2-ecc-2.p12", "no OU matching [A-Z][0-9]{9}"),
        ("invalid/egk-idp-idnum-null-ecc-2.p12", "no OU matching [A-Z][0-9]{9}"),
        ("invalid/egk-idp-orgname-null-ecc-2.p12", "no O"),
    ],
)
def test_egk_subject_defects(shared: Path, rel: str, problem: str) -> None:
    result = judge(_real(IDP + rel, "00"), "PKI-DN-001")
    assert result.status is Status.FAIL and problem in result.message


def test_subject_passes_at_the_length_limit(shared: Path, tmp_path: Path) -> None:
    longest = _real(PKITS + "egkClient/valid/ee_max_commonName.p12", "00")  # CN 64 chars, 65 bytes
    assert judge(longest, "PKI-DN-001").status is Status.PASS
    no_kvnr = _egk(tmp_path, "nokvnr", subject=[a for a in EGK_SUBJECT if a[1] != "X110000001"])
    assert judge(no_kvnr, "PKI-DN-001").status is Status.FAIL


# -- loading, the CLI and hostile inputs -----------------------------------------------------------


def test_legacy_pkcs12_and_password_from_the_environment(
    cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMCB_P12", "00")
    _, out, err = cli(
        "audit",
        "--profile",
        "ti-pki",
        "--cert",
        CERTS / "ecc/smcb-aut-legacy.p12",
        "--p12-password-env",
        "SMCB_P12",
        "--offline",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
    )
    report = json.loads(out)
    typed = sorted(
        (r for r in report["results"] if r["rule"] == "PKI-TYPE-001"),
        key=lambda r: r["location"]["index"],
    )
    assert [(r["location"]["index"], r["status"]) for r in typed] == [
        (0, "pass"),
        (1, "pass"),
        (2, "pass"),
    ]
    assert "00" not in err


def test_wrong_password_is_a_clear_error_without_the_secret(
    cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMCB_P12", "s3cr3t-Passw0rt")
    code, out, err = cli(
        "audit",
        "--profile",
        "ti-pki",
        "--cert",
        CERTS / "ecc/smcb-aut.p12",
        "--p12-password-env",
        "SMCB_P12",
        "--offline",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
    )
    assert code == 1
    messages = {r["message"] for r in json.loads(out)["results"] if r["status"] == "error"}
    assert any("wrong password (the password in $SMCB_P12 does not open it)" in m for m in messages)
    assert "s3cr3t" not in out + err


def test_missing_password_says_how_to_give_one(cli: CliRun) -> None:
    code, out, _ = cli(
        "audit",
        "--profile",
        "ti-pki",
        "--cert",
        CERTS / "ecc/smcb-aut.p12",
        "--offline",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
    )
    assert code == 1 and "--p12-password-env NAME" in out


def test_site_file_roles_and_password_env(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRAXIS_P12", "00")
    site = tmp_path / "gemcheck.yaml"
    site.write_text(
        "site: Praxis\n"
        "certificates:\n"
        f"  - {{path: {CERTS / 'ecc/smcb-aut.p12'}, role: smcb, password_env: PRAXIS_P12}}\n"
        f"  - {{path: {CERTS / 'ecc/hba-aut.pem'}, role: smcb}}\n",
        encoding="utf-8",
    )
    _, out, _ = cli(
        "audit",
        site,
        "--profile",
        "ti-pki",
        "--offline",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
    )
    typed = {
        (Path(r["location"]["file"]).name, r["location"]["index"]): r["status"]
        for r in json.loads(out)["results"]
        if r["rule"] == "PKI-TYPE-001"
    }
    assert typed == {
        ("smcb-aut.p12", 0): "pass",
        ("smcb-aut.p12", 1): "pass",
        ("smcb-aut.p12", 2): "pass",
        ("hba-aut.pem", 0): "fail",
    }


def _hostile() -> dict[str, bytes]:
    cert = x509.load_pem_x509_certificate((CERTS / "ecc/hba-aut.pem").read_bytes())
    der = cert.public_bytes(Encoding.DER)
    return {
        "malformed-admission.pem": (CERTS / "broken/malformed-admission.pem").read_bytes(),
        "wrong-password.p12": (CERTS / "ecc/smcb-aut.p12").read_bytes(),
        "truncated.der": der[: len(der) // 2],
        "random.bin.der": random.Random(7).randbytes(3000),
        "keystore.jks": b"\xfe\xed\xfe\xed" + bytes(60),
    }


def test_hostile_inputs_give_clear_results_fast_and_keep_the_rest(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "good.pem").write_bytes((CERTS / "ecc/smcb-aut.pem").read_bytes())
    (folder / "only-a-key.pem").write_bytes((CERTS / "keys/rca1.key.pem").read_bytes())
    expected = {
        "malformed-admission.pem": "Admission extension is malformed",
        "wrong-password.p12": "wrong password",
        "truncated.der": "malformed DER certificate",
        "random.bin.der": "neither PEM nor DER",
        "keystore.jks": "Java KeyStore",
    }
    monkeypatch.setenv("SITE_P12", "not-the-password")
    for name, data in _hostile().items():
        path = folder / name
        path.write_bytes(data)
        start = time.perf_counter()
        evidence = evidence_of(path, password_env="SITE_P12")
        judged = [judge(ev, rid) for ev in evidence if ev.error is None for rid in TYPE_RULES]
        assert all(r.status is not Status.ERROR for r in judged), name
        assert time.perf_counter() - start < 1.0, name
    code, out, err = cli(
        "audit",
        "--profile",
        "ti-pki",
        "--cert",
        folder,
        "--p12-password-env",
        "SITE_P12",
        "--offline",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
    )
    assert code == 1 and err == ""
    results = json.loads(out)["results"]
    by_file: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_file.setdefault(Path(r["location"].get("file", "-")).name, []).append(r)
    assert "only-a-key.pem" not in by_file  # a key beside a certificate is no error
    good = {r["rule"]: r["status"] for r in by_file["good.pem"] if r["rule"] in TYPE_RULES}
    assert set(good.values()) <= {"pass", "skip"} and good["PKI-TYPE-001"] == "pass"
    for name, text in expected.items():
        assert any(text in str(r["message"]) for r in by_file[name]), (
            name,
            by_file[name][0]["message"],
        )
