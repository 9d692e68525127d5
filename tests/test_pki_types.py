"""TI certificate-type identification, the Admission decoder and malformed-extension salvage."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from cryptography import x509

from gemcheck.engine import matches
from gemcheck.pki.admission import admission_of, outline
from gemcheck.pki.extensions import extension_view
from gemcheck.pki.oids import ADMISSION, CERT_TYPES, ROLES, TYPE_OIDS, role_label
from gemcheck.pki.types import identify, key_family

from .conftest import CERTS
from .pki_support import PKI_DATA, TI, admission, evidence_of, make_cert


def _first(path: Path, password: str | None = None) -> x509.Certificate:
    if password is not None:
        os.environ["GEMCHECK_TEST_P12"] = password
    ev = evidence_of(path, password_env="GEMCHECK_TEST_P12" if password is not None else None)
    assert ev[0].certificate is not None, ev[0].error
    return ev[0].certificate


def _synthetic_manifest() -> list[tuple[str, str | None]]:
    """(path, expected type) of every certificate file in certs/MANIFEST.md."""
    rows: list[tuple[str, str | None]] = []
    for line in (CERTS / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `([^`]+)` \| ([^|]+) \|", line)
        if not m or m.group(1).startswith("keys/"):
            continue
        if "missing-type-policy" in line:  # the column names the type it should have had
            rows.append((m.group(1), None))
            continue
        described = m.group(2).strip()
        inner = re.match(r"PKCS#12 of \S+ \((.*)\) \+", described)
        described = inner.group(1) if inner else described
        if described.startswith("CA"):
            expected: str | None = "CA"
        elif described.startswith("client system"):
            expected = None
        else:
            expected = described
        rows.append((m.group(1), expected))
    return rows


@pytest.mark.parametrize(("rel", "expected"), _synthetic_manifest())
def test_every_synthetic_certificate_has_the_manifest_type(rel: str, expected: str | None) -> None:
    cert = _first(CERTS / rel, "00" if rel.endswith(".p12") else None)
    assert identify(cert).name == expected


GLP = "ref-GemLibPki/certificates/"
ERP = "erp-e2e-testsuite/smartcard/src/main/resources/smartcards/"
PKITS = "app-PkiTestsuite/testDataTemplates/certificates/ecc/"

REAL = [
    # (family, file under pki-data, password, expected type)
    ("SMC-B", GLP + "GEM.SMCB-CA57/valid/PraxisBabetteBeyer.der", None, "C.HCI.AUT"),
    ("SMC-B", GLP + "GEM.SMCB-CA58/Beyer-Zahnarzt.pem", None, "C.HCI.ENC"),
    (
        "SMC-B",
        GLP + "GEM.SMCB-CA41-RSA/80276001011699901340-C_SMCB_OSIG_R2048_X509.pem",
        None,
        "C.HCI.OSIG",
    ),
    ("HBA", GLP + "GEM.HBA-CA57/BabetteBeyer.pem", None, "C.HP.AUT"),
    (
        "HBA",
        ERP + "hba/80276883110000095767/80276883110000095767-C_HP_QES_E256.p12",
        "00",
        "C.HP.QES",
    ),
    ("eGK", GLP + "GEM.EGK-CA51/LetitiaBeutelsbacher.pem", None, "C.CH.AUT"),
    (
        "eGK",
        ERP + "egk/80276883110000108142/80276883110000108142_EF.C.CH.AUT_ALVI.E256.p12",
        "00",
        "C.CH.AUT_ALT",
    ),
    ("Konnektor", GLP + "GEM.KOMP-CA57/80276883110000000001-20250721_ecc.crt", None, "C.AK.AUT"),
    ("Konnektor", PKITS + "netzkonnektorClient/valid/ee_default.p12", "00", "C.NK.VPN"),
    ("Fachdienst", GLP + "GEM.KOMP-CA41/tp-fqdn-test-rsa.pem", None, "C.FD.TLS-S"),
    ("Fachdienst", GLP + "GEM.KOMP-CA61/ee_komp_nist_test.pem", None, "C.FD.TLS-C"),
    ("Fachdienst", GLP + "GEM.KOMP-CA51/fdsig_erezept.pem", None, "C.FD.SIG"),
    ("TSL signer", GLP + "GEM.TSL-CA51/TSL-Signing-Unit-51-TEST-ONLY.p12", "00", "C.TSL.SIG"),
    ("OCSP signer", GLP + "ocsp/eccOcspSigner.p12", "00", "C.GEM.OCSP"),
    ("CA", GLP + "GEM.TSL-CA51/GEM.TSL-CA51-TEST-ONLY.der", None, "CA"),
]


@pytest.mark.parametrize(("family", "rel", "password", "expected"), REAL)
def test_real_gematik_certificates_are_typed(
    shared: Path, family: str, rel: str, password: str | None, expected: str
) -> None:
    info = identify(_first(PKI_DATA / rel, password))
    assert (info.name, info.problem) == (expected, None), family
    if expected in TYPE_OIDS:
        assert info.oid == TYPE_OIDS[expected]


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("BabetteBeyer-missing-certificate-type.pem", "hold no known TI certificate-type OID"),
        ("BabetteBeyer-missing-policyId.pem", "no CertificatePolicies extension"),
    ],
)
def test_missing_type_is_a_reason_not_a_crash(shared: Path, rel: str, reason: str) -> None:
    path = PKI_DATA / GLP / "GEM.SMCB-CA57/invalid" / rel
    info = identify(_first(path))
    assert info.name is None
    assert info.problem is not None and reason in info.problem and "SE_1033" in info.problem


def test_two_type_oids_and_ca_flag_are_problems(tmp_path: Path) -> None:
    two = identify(_first(make_cert(tmp_path / "two.pem", types=("77", "75"))))
    assert two.name == "C.HCI.AUT"
    assert two.problem is not None and "2 certificate-type OIDs" in two.problem
    ca_leaf = identify(_first(make_cert(tmp_path / "ca.pem", ca=True)))
    assert ca_leaf.problem is not None and "cA=TRUE" in ca_leaf.problem


def test_non_ti_policy_says_not_a_ti_certificate(tmp_path: Path) -> None:
    cert = _first(make_cert(tmp_path / "other.pem", types=()))
    info = identify(cert)
    assert info.name is None and info.problem is not None
    assert "hold no known TI certificate-type OID" in info.problem  # gemCP is TI, no type


def test_type_facet_selects_rules(tmp_path: Path) -> None:
    ev = evidence_of(make_cert(tmp_path / "hba.pem", types=("75",)))[0]
    assert ev.facets()["type"] == "C.HP.AUT"
    assert matches(ev, {"type": ("C.HP.AUT", "C.HP.ENC")})
    assert not matches(ev, {"type": ("C.HCI.AUT",)})
    broken = evidence_of(tmp_path / "missing.pem")[0]
    assert broken.facets()["type"] is None


def test_key_family_without_building_the_key(shared: Path) -> None:
    assert key_family(_first(CERTS / "ecc/smcb-aut.pem")) == "ec"
    assert key_family(_first(CERTS / "rsa/smcb-aut.pem")) == "rsa"
    dsa = _first(PKI_DATA / GLP / "ocsp/dsaCert.p12", "00")
    assert key_family(dsa) == "dsa"


def test_oid_tables_are_consistent() -> None:
    assert len(CERT_TYPES) == len(TYPE_OIDS) == 31
    assert all(oid.startswith(TI) for oid in CERT_TYPES)
    assert len(ROLES) == 135
    assert role_label(TI + "50") == "oid_praxis_arzt (Betriebsstätte Arzt)"
    assert role_label("1.2.3") == "1.2.3"


# -- extensions and Admission ----------------------------------------------------------------------


def test_malformed_admission_keeps_the_other_extensions_readable() -> None:
    cert = _first(CERTS / "broken/malformed-admission.pem")
    with pytest.raises(ValueError):
        _ = cert.extensions  # cryptography refuses all of them
    view = extension_view(cert)
    assert [m.oid for m in view.malformed] == [ADMISSION]
    assert view.get(x509.oid.ExtensionOID.KEY_USAGE) is not None
    assert identify(cert, view).name == "C.HCI.AUT"
    adm = admission_of(view)
    assert adm.present and adm.problem is not None
    assert "found SEQUENCE { UTF8String }" in adm.problem


def test_malformed_key_usage_is_salvaged_with_its_critical_flag(tmp_path: Path) -> None:
    path = make_cert(
        tmp_path / "badku.pem", ku=None, raw_extensions=[("2.5.29.15", b"\x04\x01\x00", True)]
    )
    view = extension_view(_first(path))
    assert [(m.name, m.critical) for m in view.malformed] == [("keyUsage", True)]
    assert "2.5.29.15" in set(view.critical_oids())
    assert view.get(x509.oid.ExtensionOID.CERTIFICATE_POLICIES) is not None


def test_admission_with_two_profession_infos_reads_both(shared: Path) -> None:
    path = (
        PKI_DATA
        / "ref-idp-server/idp-crypto/src/test/resources/Psychotherapeut_zwei_prof_E256_expired.pem"
    )
    adm = admission_of(extension_view(_first(path)))
    assert adm.profession_oids == (TI + "46", TI + "47")
    assert adm.admissions == 1 and adm.problem is None
    assert adm.registration_numbers == ("4-2123456789",)


def test_ber_encoded_admission_is_reported_not_der(tmp_path: Path) -> None:
    good = admission([TI + "50"], "1-2-TEST-01").public_bytes()
    # same content, outer length in the non-minimal long form: valid BER, not DER
    ber = b"\x30\x81" + bytes([good[1]]) + good[2:]
    cert = _first(
        make_cert(
            tmp_path / "ber.pem",
            adm=x509.UnrecognizedExtension(x509.ObjectIdentifier(ADMISSION), ber),
        )
    )
    adm = admission_of(extension_view(cert))
    assert adm.problem == "the Admission is not DER-encoded (BER)"
    assert adm.profession_oids == (TI + "50",)  # recovered by pyasn1


def test_empty_admission_has_no_roles(tmp_path: Path) -> None:
    cert = _first(make_cert(tmp_path / "empty.pem", adm=x509.Admissions(None, [])))
    adm = admission_of(extension_view(cert))
    assert adm.present and adm.admissions == 0 and adm.profession_oids == ()


def test_outline_of_garbage() -> None:
    assert outline(b"\x30\x03\x02\x01\x05") == "SEQUENCE { Integer }"
    assert outline(b"\xff\xff").startswith("undecodable bytes")
