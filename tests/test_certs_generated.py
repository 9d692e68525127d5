"""Structural checks of the generated TEST-ONLY PKI in ``certs/`` against ``certs/MANIFEST.md``.

The expectations below are written down independently of ``certs/generate.py`` from
``reference/ti-pki.md`` (§1.2-§1.4) and ``reference/ti-spec-tables.md`` (§1-§3). Every certificate
is run through one conformance checker: a "valid" certificate must have no finding and every
``broken/`` certificate exactly the one finding its manifest row names.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, SignatureAlgorithmOID

CERTS = Path(__file__).resolve().parents[1] / "certs"
AS_OF = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
P12_PASSWORD = b"00"
OCSP_URL = re.compile(r"^http://127\.0\.0\.1:\d{1,5}/ocsp$")
ALLOWED_HOST_SUFFIXES = (".telematik-test",)
KONNEKTOR_HOST = "konnektor.konlan"  # Tab_PKI_243: the one dNSName of every C.AK.AUT
#: GS-A_4587: ``<prefix>-<rest>``, at most 128 PrintableString characters.
TELEMATIK_ID = re.compile(r"^\d{1,2}-[A-Za-z0-9 '()+,./:=?-]{1,125}$")
NOT_GENERATED = {"generate.py", "README.md", "MANIFEST.md"}


def _gem(*suffixes: int) -> frozenset[str]:
    """OIDs ``1.2.276.0.76.4.<suffix>``."""
    return frozenset(f"1.2.276.0.76.4.{s}" for s in suffixes)


GEM_CP, HBA_CP, TSL_SIGNER_CP = "1.2.276.0.76.4.163", "1.2.276.0.76.4.145", "1.2.276.0.76.4.176"
INSTITUTIONS = _gem(*range(50, 60), 187, 190, 210, *range(223, 232), *range(242, 258), 273, 292)
PROFESSIONS = _gem(*range(30, 49), 178, *range(232, 242))
TECHNICAL_ROLES = _gem(97, 99, 100, 101, 159, 160, 171, 172, 184, 189, 198, *range(204, 210), 259)
TSL_SIGNING = x509.ObjectIdentifier("0.4.0.2231.3.0")
CLIENT, SERVER = ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH
DS, NR, KE, DE, KA = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
)
CRITICAL = frozenset({ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE})
ADMISSION_OID_DER = bytes.fromhex("06052b24080303")  # 1.3.36.8.3.3
DEFECTS = {
    "short-key",
    "sha1-signature",
    "expired",
    "not-yet-valid",
    "wrong-curve",
    "wrong-keyusage",
    "missing-type-policy",
    "extra-critical-extension",
    "malformed-admission",
    "wrong-profession-oid",
}


@dataclass(frozen=True)
class Expect:
    """What a conforming end-entity certificate of one type carries."""

    type_oid: str | None
    ku_rsa: frozenset[str]
    ku_ecc: frozenset[str]
    eku: frozenset[x509.ObjectIdentifier]
    policies: frozenset[str]
    roles: frozenset[str] | None = None  # allowed professionOIDs; None = no Admission
    registration_number: bool = False
    aia: bool = True
    san: bool = False


def _f(*items: str) -> frozenset[str]:
    """Shorthand for a frozenset of key-usage names."""
    return frozenset(items)


EXPECT: dict[str, Expect] = {
    "C.HCI.AUT": Expect(
        "1.2.276.0.76.4.77",
        _f(DS, KE),
        _f(DS),
        frozenset({CLIENT}),
        frozenset({GEM_CP, "1.2.276.0.76.4.77"}),
        INSTITUTIONS,
        True,
    ),
    "C.HCI.ENC": Expect(
        "1.2.276.0.76.4.76",
        _f(KE, DE),
        _f(KA),
        frozenset(),
        frozenset({GEM_CP, "1.2.276.0.76.4.76"}),
        INSTITUTIONS,
        True,
    ),
    "C.HCI.OSIG": Expect(
        "1.2.276.0.76.4.78",
        _f(NR),
        _f(NR),
        frozenset(),
        frozenset({GEM_CP, "1.2.276.0.76.4.78"}),
        INSTITUTIONS,
        True,
    ),
    "C.HP.AUT": Expect(
        "1.2.276.0.76.4.75",
        _f(DS, KE),
        _f(DS, KA),
        frozenset({CLIENT, ExtendedKeyUsageOID.EMAIL_PROTECTION}),
        frozenset({HBA_CP, "1.2.276.0.76.4.75"}),
        PROFESSIONS,
        True,
    ),
    "C.AK.AUT": Expect(
        "1.2.276.0.76.4.79",
        _f(DS, KE),
        _f(DS),
        frozenset({CLIENT, SERVER}),
        frozenset({GEM_CP, "1.2.276.0.76.4.79"}),
        _gem(103),
        san=True,
    ),
    "C.FD.TLS-S": Expect(
        "1.2.276.0.76.4.169",
        _f(DS, KE),
        _f(DS),
        frozenset({SERVER}),
        frozenset({GEM_CP, "1.2.276.0.76.4.169"}),
        TECHNICAL_ROLES,
        san=True,
    ),
    "C.GEM.OCSP": Expect(
        None,
        _f(NR),
        _f(NR),
        frozenset({ExtendedKeyUsageOID.OCSP_SIGNING}),
        frozenset({GEM_CP}),
        aia=False,
    ),
    "C.TSL.SIG": Expect(None, _f(NR), _f(NR), frozenset({TSL_SIGNING}), frozenset({TSL_SIGNER_CP})),
    "client system (no TI type)": Expect(
        None, _f(DS, KE), _f(DS), frozenset({CLIENT}), frozenset(), aia=False
    ),
}


# --- manifest ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One row of certs/MANIFEST.md."""

    path: str
    ti_type: str
    algorithm: str
    issuer: str
    validity: str
    verdict: str
    password: str

    @property
    def defect(self) -> str | None:
        """Defect id of an "invalid: <id> - ..." verdict."""
        match = re.match(r"invalid: ([a-z0-9-]+) - ", self.verdict)
        return match.group(1) if match else None


def _manifest() -> dict[str, Row]:
    """Parse the manifest table (empty if the manifest is missing)."""
    manifest = CERTS / "MANIFEST.md"
    if not manifest.exists():
        return {}
    rows = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            row = Row(cells[0].strip("`"), *cells[1:])
            rows[row.path] = row
    return rows


ROWS = _manifest()
CERT_ROWS = [r for r in ROWS.values() if r.path.endswith(".pem") and not r.path.startswith("keys/")]
LEAF_ROWS = [r for r in CERT_ROWS if not r.path.startswith("ca/")]
CA_ROWS = [r for r in CERT_ROWS if r.path.startswith("ca/")]


@functools.cache
def _cert(path: str) -> x509.Certificate:
    """Load a generated certificate."""
    return x509.load_pem_x509_certificate((CERTS / path).read_bytes())


# --- DER helpers for the certificate whose Admission cannot be parsed ----------------------------
def _tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """Return ``(tag, value_start, end)`` of the DER TLV at ``pos``."""
    length, start = buf[pos + 1], pos + 2
    if length & 0x80:
        count = length & 0x7F
        length, start = int.from_bytes(buf[start : start + count], "big"), start + count
    return buf[pos], start, start + length


def _children(buf: bytes, start: int, end: int) -> list[bytes]:
    """The complete TLVs inside the constructed value ``buf[start:end]``."""
    out, pos = [], start
    while pos < end:
        _, _, stop = _tlv(buf, pos)
        out.append(buf[pos:stop])
        pos = stop
    return out


def _encode(tag: int, body: bytes) -> bytes:
    """Encode a DER TLV."""
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _without_admission(der: bytes) -> bytes:
    """Drop the Admission extension from a certificate (its signature becomes invalid)."""
    _, start, end = _tlv(der, 0)
    tbs, alg, sig = _children(der, start, end)
    _, tbs_start, tbs_end = _tlv(tbs, 0)
    fields = []
    for field in _children(tbs, tbs_start, tbs_end):
        if field[0] == 0xA3:  # [3] extensions
            _, seq_pos, _ = _tlv(field, 0)
            _, ext_start, ext_end = _tlv(field, seq_pos)
            kept = [
                e for e in _children(field, ext_start, ext_end) if ADMISSION_OID_DER not in e[:12]
            ]
            field = _encode(0xA3, _encode(0x30, b"".join(kept)))
        fields.append(field)
    return _encode(0x30, _encode(0x30, b"".join(fields)) + alg + sig)


def _extensions(cert: x509.Certificate) -> tuple[x509.Extensions, bool]:
    """Return the extensions and whether the Admission extension (if any) parsed."""
    try:
        return cert.extensions, True
    except ValueError:
        der = _without_admission(cert.public_bytes(serialization.Encoding.DER))
        return x509.load_der_x509_certificate(der).extensions, False


def _ext(exts: x509.Extensions, cls: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    """The extension value of type ``cls`` or None."""
    try:
        return exts.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


# --- the conformance checker ---------------------------------------------------------------------
def _key_findings(cert: x509.Certificate) -> set[str]:
    """Key algorithm: RSA >= 2048 bit, EC on brainpoolP256r1 or P-256 (Tab_KRYPT_002/002a)."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return {"short-key"} if key.key_size < 2048 else set()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return set() if key.curve.name in {"brainpoolP256r1", "secp256r1"} else {"wrong-curve"}
    return {"unsupported-key"}


def _signature_ok(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Verify the signature (also for SHA-1, which ``verify_directly_issued_by`` refuses)."""
    key, algorithm = issuer.public_key(), cert.signature_hash_algorithm
    assert algorithm is not None
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        else:
            assert isinstance(key, ec.EllipticCurvePublicKey)
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
    except Exception:
        return False
    return cert.issuer == issuer.subject


def _signature_findings(
    cert: x509.Certificate, issuer: x509.Certificate, exts: x509.Extensions
) -> set[str]:
    """Signature hash SHA-256, signature verifies, AKI = issuer SKI (TUC_PKI_003)."""
    found = set()
    if isinstance(cert.signature_hash_algorithm, hashes.SHA1):
        found.add("sha1-signature")
    elif not isinstance(cert.signature_hash_algorithm, hashes.SHA256):
        found.add("weak-signature")
    if not _signature_ok(cert, issuer):
        found.add("bad-signature")
    aki = _ext(exts, x509.AuthorityKeyIdentifier)
    issuer_ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    if not isinstance(aki, x509.AuthorityKeyIdentifier) or aki.key_identifier != issuer_ski.digest:
        found.add("aki-mismatch")
    return found


def _time_findings(cert: x509.Certificate) -> set[str]:
    """Validity at AS_OF, boundaries invalid (GemLibPki ValidityValidator)."""
    if cert.not_valid_after_utc <= AS_OF:
        return {"expired"}
    return {"not-yet-valid"} if cert.not_valid_before_utc >= AS_OF else set()


def _key_usage_names(exts: x509.Extensions) -> frozenset[str] | None:
    """Set bits of the KeyUsage extension."""
    ku = _ext(exts, x509.KeyUsage)
    if not isinstance(ku, x509.KeyUsage):
        return None
    names = [DS, NR, KE, DE, KA, "key_cert_sign", "crl_sign"]
    return frozenset(n for n in names if getattr(ku, n))


def _common_findings(cert: x509.Certificate, exts: x509.Extensions, ca: bool) -> set[str]:
    """Checks shared by CA and EE certificates: marker, critical set, BC, SKI, hosts, AIA form."""
    found = set()
    if "TEST-ONLY" not in cert.subject.rfc4514_string():
        found.add("missing-test-only-marker")
    if {e.oid for e in exts if e.critical} != CRITICAL:
        found.add("extra-critical-extension")
    bc = _ext(exts, x509.BasicConstraints)
    if not isinstance(bc, x509.BasicConstraints) or bc.ca is not ca:
        found.add("basic-constraints")
    ski = _ext(exts, x509.SubjectKeyIdentifier)
    if ski != x509.SubjectKeyIdentifier.from_public_key(cert.public_key()):
        found.add("missing-ski")
    aia = _ext(exts, x509.AuthorityInformationAccess)
    urls = (
        [d.access_location.value for d in aia]
        if isinstance(aia, x509.AuthorityInformationAccess)
        else []
    )
    if any(not OCSP_URL.match(str(u)) for u in urls):
        found.add("foreign-host")
    san = _ext(exts, x509.SubjectAlternativeName)
    names = (
        san.get_values_for_type(x509.DNSName)
        if isinstance(san, x509.SubjectAlternativeName)
        else []
    )
    if any(n != KONNEKTOR_HOST and not n.endswith(ALLOWED_HOST_SUFFIXES) for n in names):
        found.add("foreign-host")
    return found


def _profile_findings(cert: x509.Certificate, exts: x509.Extensions, expect: Expect) -> set[str]:
    """KeyUsage (exact), EKU, CertificatePolicies, AIA, SAN for one EE type."""
    found = set()
    is_rsa = isinstance(cert.public_key(), rsa.RSAPublicKey)
    if _key_usage_names(exts) != (expect.ku_rsa if is_rsa else expect.ku_ecc):
        found.add("wrong-keyusage")
    eku = _ext(exts, x509.ExtendedKeyUsage)
    if (frozenset(eku) if isinstance(eku, x509.ExtendedKeyUsage) else frozenset()) != expect.eku:
        found.add("wrong-eku")
    cp = _ext(exts, x509.CertificatePolicies)
    policies = (
        [p.policy_identifier.dotted_string for p in cp]
        if isinstance(cp, x509.CertificatePolicies)
        else []
    )
    if expect.type_oid and expect.type_oid not in policies:
        found.add("missing-type-policy")
    elif set(policies) != expect.policies or len(policies) != len(set(policies)):
        found.add("wrong-policies")
    aia = _ext(exts, x509.AuthorityInformationAccess)
    if expect.aia and not isinstance(aia, x509.AuthorityInformationAccess):
        found.add("missing-aia")
    if expect.san and _ext(exts, x509.SubjectAlternativeName) is None:
        found.add("missing-san")
    return found


def _admission_findings(exts: x509.Extensions, expect: Expect) -> set[str]:
    """Admission: one admission, one professionInfo, allowed professionOID, Telematik-ID (X9)."""
    admissions = _ext(exts, x509.Admissions)
    if expect.roles is None:
        return set() if admissions is None else {"unexpected-admission"}
    if not isinstance(admissions, x509.Admissions):
        return {"missing-admission"}
    entries = list(admissions)
    if len(entries) != 1 or len(entries[0].profession_infos) != 1:
        return {"admission-structure"}
    info = entries[0].profession_infos[0]
    found = set()
    oids = {o.dotted_string for o in info.profession_oids or []}
    if not oids or not oids <= expect.roles:
        found.add("wrong-profession-oid")
    if expect.registration_number and not TELEMATIK_ID.match(info.registration_number or ""):
        found.add("bad-telematik-id")
    return found


def leaf_findings(cert: x509.Certificate, issuer: x509.Certificate, ti_type: str) -> set[str]:
    """All findings for an end-entity certificate of ``ti_type`` issued by ``issuer``."""
    expect = EXPECT[ti_type]
    exts, admission_parsed = _extensions(cert)
    found = _key_findings(cert) | _signature_findings(cert, issuer, exts) | _time_findings(cert)
    found |= _common_findings(cert, exts, ca=False) | _profile_findings(cert, exts, expect)
    found |= _admission_findings(exts, expect) if admission_parsed else {"malformed-admission"}
    return found


def ca_findings(cert: x509.Certificate, issuer: x509.Certificate | None, kind: str) -> set[str]:
    """All findings for a CA certificate (Tab_PKI_211/212); ``issuer`` None = self-signed."""
    exts = cert.extensions
    found = _key_findings(cert) | _time_findings(cert) | _common_findings(cert, exts, ca=True)
    if _key_usage_names(exts) != frozenset({"key_cert_sign", "crl_sign"}):
        found.add("wrong-keyusage")
    bc = exts.get_extension_for_class(x509.BasicConstraints).value
    if bc.path_length != (None if issuer is None else 0):
        found.add("path-length")
    if issuer is None:
        found |= {"aki-on-root"} if _ext(exts, x509.AuthorityKeyIdentifier) else set()
        found |= set() if _signature_ok(cert, cert) else {"bad-signature"}
    else:
        found |= _signature_findings(cert, issuer, exts)
    is_ti = "not TI" not in kind
    cp = _ext(exts, x509.CertificatePolicies)
    policies = (
        {p.policy_identifier.dotted_string for p in cp}
        if isinstance(cp, x509.CertificatePolicies)
        else set()
    )
    wanted = (
        ({HBA_CP} if "HBA-CA" in cert.subject.rfc4514_string() else {GEM_CP}) if is_ti else set()
    )
    if policies != wanted:
        found.add("wrong-policies")
    if is_ti and _ext(exts, x509.AuthorityInformationAccess) is None:
        found.add("missing-aia")
    start, years = cert.not_valid_before_utc, 10 if issuer is None else 8
    if cert.not_valid_after_utc > start.replace(year=start.year + years):  # GS-A_4350 / GS-A_4351
        found.add("ca-validity-too-long")
    return found


def _key_label(cert: x509.Certificate) -> str:
    """The key description used in the manifest's algorithm column."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return {"secp256r1": "P-256", "secp384r1": "P-384"}.get(key.curve.name, key.curve.name)


# --- tests ---------------------------------------------------------------------------------------
def test_manifest_lists_exactly_the_generated_files() -> None:
    on_disk = {
        p.relative_to(CERTS).as_posix()
        for p in CERTS.rglob("*")
        if p.is_file() and p.name not in NOT_GENERATED and "__pycache__" not in p.parts
    }
    assert ROWS, "certs/MANIFEST.md missing or empty - run `python certs/generate.py`"
    assert on_disk == set(ROWS)


def test_required_material_is_present() -> None:
    valid = {(r.ti_type, _key_label(_cert(r.path))) for r in LEAF_ROWS if r.verdict == "valid"}
    for needed in [
        ("C.HCI.AUT", "brainpoolP256r1"),
        ("C.HCI.ENC", "brainpoolP256r1"),
        ("C.HCI.OSIG", "brainpoolP256r1"),
        ("C.HP.AUT", "brainpoolP256r1"),
        ("C.AK.AUT", "brainpoolP256r1"),
        ("C.FD.TLS-S", "brainpoolP256r1"),
        ("client system (no TI type)", "brainpoolP256r1"),
        ("C.GEM.OCSP", "brainpoolP256r1"),
        ("C.TSL.SIG", "brainpoolP256r1"),
        ("C.HCI.AUT", "RSA-2048"),
        ("C.AK.AUT", "RSA-2048"),
        ("C.FD.TLS-S", "P-256"),
    ]:
        assert needed in valid
    assert {r.defect for r in LEAF_ROWS if r.defect} == DEFECTS
    assert all(r.path.startswith("broken/") == (r.defect is not None) for r in LEAF_ROWS)


@pytest.mark.parametrize("row", CERT_ROWS, ids=lambda r: r.path)
def test_certificate_matches_manifest(row: Row) -> None:
    cert = _cert(row.path)
    assert _key_label(cert) in row.algorithm
    validity = f"{cert.not_valid_before_utc:%Y-%m-%d}..{cert.not_valid_after_utc:%Y-%m-%d}"
    assert validity == row.validity
    issuer = None if row.issuer == "(self-signed)" else _cert(row.issuer)
    if row.path.startswith("ca/"):
        assert row.verdict == "valid"
        assert ca_findings(cert, issuer, row.ti_type) == set()
    else:
        assert issuer is not None
        expected = {row.defect} if row.defect else set()
        assert leaf_findings(cert, issuer, row.ti_type) == expected


def test_sha1_variant_has_sha1_signature_oid() -> None:
    cert = _cert("broken/sha1-signature.pem")
    assert cert.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA1
    assert all(
        _cert(r.path).signature_algorithm_oid != SignatureAlgorithmOID.RSA_WITH_SHA1
        for r in CERT_ROWS
        if r.path != "broken/sha1-signature.pem"
    )


def test_konnektor_and_fachdienst_names() -> None:
    for path, host in [
        ("ecc/konnektor-ak-aut.pem", KONNEKTOR_HOST),
        ("rsa/konnektor-ak-aut.pem", KONNEKTOR_HOST),
        ("ecc/fd-tls-s.pem", "ufs.gemcheck.telematik-test"),
    ]:
        san = _cert(path).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == [host]


def test_serials_unique_per_issuer() -> None:
    pairs = Counter((_cert(r.path).issuer, _cert(r.path).serial_number) for r in CERT_ROWS)
    assert max(pairs.values()) == 1


P12_ROWS = [r for r in ROWS.values() if r.path.endswith(".p12")]


@pytest.mark.parametrize("row", P12_ROWS, ids=lambda r: r.path)
def test_pkcs12_opens_with_password(row: Row) -> None:
    data = (CERTS / row.path).read_bytes()
    bundle = pkcs12.load_pkcs12(data, P12_PASSWORD)
    leaf_path = re.search(r"PKCS#12 of (\S+)", row.ti_type)
    assert leaf_path and bundle.cert and bundle.key and row.password == "00"
    assert bundle.cert.certificate == _cert(leaf_path.group(1))
    assert bundle.key.public_key() == bundle.cert.certificate.public_key()
    assert _cert(row.issuer) in [c.certificate for c in bundle.additional_certs]
    pbes2, des3 = bytes.fromhex("2a864886f70d01050d"), bytes.fromhex("2a864886f70d010c0103")
    sha1 = bytes.fromhex("06052b0e03021a")
    legacy = "legacy" in row.algorithm
    assert (des3 in data, sha1 in data, pbes2 in data) == (legacy, legacy, not legacy)


KEY_ROWS = [r for r in ROWS.values() if r.path.startswith("keys/")]


@pytest.mark.parametrize("row", KEY_ROWS, ids=lambda r: r.path)
def test_private_key_matches_its_certificates(row: Row) -> None:
    pem = (CERTS / row.path).read_bytes()
    # the generator validated the RSA keys already; skip the slow re-check to keep the test fast
    key = serialization.load_pem_private_key(pem, None, unsafe_skip_rsa_key_validation=True)
    users = row.ti_type.removeprefix("private key of ").split(", ")
    assert users and all(_cert(u).public_key() == key.public_key() for u in users)
