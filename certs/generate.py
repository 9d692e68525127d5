#!/usr/bin/env python3
"""Generate the synthetic, TEST-ONLY TI test PKI that lives in ``certs/``.

Everything here is fake: the CAs are not gematik CAs, the keys are derived from public seeds, and
every subject DN carries ``TEST-ONLY``. The profiles follow ``reference/ti-pki.md`` (§1.2, §1.3,
§1.3a, §2) and ``reference/ti-spec-tables.md`` (§1-§3) so that the "valid" leaves conform to the
gematik certificate profiles, while every file in ``broken/`` carries exactly one named defect.

Determinism: validity dates and serial numbers are fixed; EC keys are derived from a seed, RSA keys
from a seeded prime search, ECDSA signatures are deterministic (RFC 6979) and RSA PKCS#1 v1.5
signatures are deterministic by construction. All PEM files and ``MANIFEST.md`` are therefore
byte-identical on every run; only the PKCS#12 files change (random salts/IVs).

Usage: ``python certs/generate.py [--out DIR]`` (default: the folder of this script).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
ExtensionList = list[tuple[x509.ExtensionType, bool]]

CERTS_DIR = Path(__file__).resolve().parent
#: Sub-folders owned by this script; ``*.pem``/``*.p12`` in them are replaced on every run.
OUTPUT_FOLDERS = ("ca", "ecc", "rsa", "nist", "broken", "keys")
SEED_PREFIX = "gemcheck-test-pki-v1"

OCSP_PORT = 18080
OCSP_URL = f"http://127.0.0.1:{OCSP_PORT}/ocsp"
P12_PASSWORD = "00"
#: Reference date at which the "valid" verdicts in MANIFEST.md hold (use ``--as-of 2026-06-01``).
AS_OF = "2026-06-01"


def _utc(year: int, month: int, day: int) -> dt.datetime:
    """Return midnight UTC of the given day."""
    return dt.datetime(year, month, day, tzinfo=dt.UTC)


Validity = tuple[dt.datetime, dt.datetime]
ROOT_VALIDITY: Validity = (_utc(2024, 1, 1), _utc(2034, 1, 1))  # root CA <= 10 years (GS-A_4350)
CA_VALIDITY: Validity = (_utc(2024, 1, 1), _utc(2032, 1, 1))  # issuing CA <= 8 years (GS-A_4351)
LEAF_VALIDITY: Validity = (_utc(2025, 1, 1), _utc(2030, 1, 1))  # end entity <= 5 years (GS-A_4352)

# --- OIDs (reference/ti-pki.md §1.2-§1.4, reference/ti-spec-tables.md §5) ------------------------
GEM_CP = "1.2.276.0.76.4.163"  # oid_policy_gem_or_cp
HBA_CP = "1.2.276.0.76.4.145"  # oid_policy_hba_cp
TSL_SIGNER_CP = "1.2.276.0.76.4.176"  # oid_policy_gem_tsl_signer
ADMISSION_OID = x509.ObjectIdentifier("1.3.36.8.3.3")
TSL_SIGNING_EKU = x509.ObjectIdentifier("0.4.0.2231.3.0")  # id-tsl-kp-tslSigning
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION
OCSP_SIGNING = ExtendedKeyUsageOID.OCSP_SIGNING

# Key-usage names are the keyword arguments of ``x509.KeyUsage``.
DS, NR, KE, DE, KA = (
    "digital_signature",
    "content_commitment",  # = nonRepudiation
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
)
CA_KEY_USAGE = ("key_cert_sign", "crl_sign")
_ALL_KEY_USAGES = (DS, NR, KE, DE, KA, *CA_KEY_USAGE, "encipher_only", "decipher_only")

# sha256WithRSAEncryption / sha1WithRSAEncryption AlgorithmIdentifier (with NULL parameters).
_SHA256_RSA_ALG_ID = bytes.fromhex("300d06092a864886f70d01010b0500")
_SHA1_RSA_ALG_ID = bytes.fromhex("300d06092a864886f70d0101050500")


# --- key algorithms and deterministic keys -------------------------------------------------------
@dataclass(frozen=True)
class KeyAlg:
    """A key algorithm: an EC curve or an RSA modulus size."""

    label: str
    curve: ec.EllipticCurve | None = None
    rsa_bits: int = 0

    @property
    def is_rsa(self) -> bool:
        """True for RSA keys."""
        return self.curve is None


KEY_ALGS: dict[str, KeyAlg] = {
    "bp256": KeyAlg("brainpoolP256r1", curve=ec.BrainpoolP256R1()),
    "p256": KeyAlg("NIST P-256 (secp256r1)", curve=ec.SECP256R1()),
    "p384": KeyAlg("NIST P-384 (secp384r1)", curve=ec.SECP384R1()),
    "rsa2048": KeyAlg("RSA-2048", rsa_bits=2048),
    "rsa1024": KeyAlg("RSA-1024", rsa_bits=1024),
}


class _SeedStream:
    """SHA-512 counter-mode byte stream: deterministic key material for TEST keys only."""

    def __init__(self, seed: str) -> None:
        self._seed = seed.encode()
        self._counter = 0

    def integer(self, bits: int) -> int:
        """Return the next ``bits``-bit non-negative integer of the stream."""
        out = b""
        while len(out) * 8 < bits:
            out += hashlib.sha512(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        return int.from_bytes(out, "big") >> (len(out) * 8 - bits)


_SMALL_PRIMES = tuple(
    n for n in range(3, 2000, 2) if all(n % d for d in range(3, math.isqrt(n) + 1, 2))
)


def _is_probable_prime(n: int, stream: _SeedStream, rounds: int = 8) -> bool:
    """Miller-Rabin test with bases drawn from ``stream`` after trial division.

    8 rounds exceed FIPS 186-5 (Table B.1) for random 512/1024-bit candidates; OpenSSL checks the
    primes once more when the key is loaded (``RSAPrivateNumbers.private_key``).
    """
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(stream.integer(n.bit_length()) % (n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, stream: _SeedStream, e: int) -> int:
    """Return the first prime from ``stream`` with the two top bits set and gcd(e, p-1) = 1."""
    while True:
        candidate = stream.integer(bits) | (3 << (bits - 2)) | 1
        if math.gcd(e, candidate - 1) == 1 and _is_probable_prime(candidate, stream):
            return candidate


def _rsa_key(bits: int, seed: str) -> rsa.RSAPrivateKey:
    """Derive an RSA key of exactly ``bits`` bits from ``seed`` (OpenSSL validates it on load)."""
    stream, e = _SeedStream(seed), 65537
    p = _prime(bits // 2, stream, e)
    q = _prime(bits // 2, stream, e)
    while q == p:
        q = _prime(bits // 2, stream, e)
    d = pow(e, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


def derive_key(alg: KeyAlg, name: str) -> PrivateKey:
    """Derive the private key ``name`` for ``alg`` from the public seed (TEST keys only)."""
    seed = f"{SEED_PREFIX}/{name}/{alg.label}"
    if alg.curve is None:
        return _rsa_key(alg.rsa_bits, seed)
    # A scalar of (key_size - 1) bits is always below the group order of the supported curves.
    scalar = _SeedStream(seed).integer(alg.curve.key_size - 1) | 1
    return ec.derive_private_key(scalar, alg.curve)


# --- specification tables ------------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """What a conforming certificate of one type carries (ti-spec-tables.md §2.1/§3)."""

    ti_type: str
    ku_rsa: tuple[str, ...]
    ku_ecc: tuple[str, ...]
    eku: tuple[x509.ObjectIdentifier, ...]
    policies: tuple[str, ...]  # complete CertificatePolicies content, type OID included
    aia: bool = True
    ocsp_nocheck: bool = False

    def key_usage(self, alg: KeyAlg) -> tuple[str, ...]:
        """Return the exact KeyUsage set of this profile for ``alg``."""
        return self.ku_rsa if alg.is_rsa else self.ku_ecc


def _type(oid_suffix: int) -> str:
    """Return the gematik OID ``1.2.276.0.76.4.<oid_suffix>``."""
    return f"1.2.276.0.76.4.{oid_suffix}"


CLIENTSYSTEM = "client system (no TI type)"
PROFILES: dict[str, Profile] = {
    p.ti_type: p
    for p in (
        Profile("C.HCI.AUT", (DS, KE), (DS,), (CLIENT_AUTH,), (GEM_CP, _type(77))),
        Profile("C.HCI.ENC", (KE, DE), (KA,), (), (GEM_CP, _type(76))),
        Profile("C.HCI.OSIG", (NR,), (NR,), (), (GEM_CP, _type(78))),
        Profile(
            "C.HP.AUT", (DS, KE), (DS, KA), (CLIENT_AUTH, EMAIL_PROTECTION), (HBA_CP, _type(75))
        ),
        Profile("C.AK.AUT", (DS, KE), (DS,), (CLIENT_AUTH, SERVER_AUTH), (GEM_CP, _type(79))),
        Profile("C.FD.TLS-S", (DS, KE), (DS,), (SERVER_AUTH,), (GEM_CP, _type(169))),
        Profile("C.GEM.OCSP", (NR,), (NR,), (OCSP_SIGNING,), (GEM_CP,), False, True),
        Profile("C.TSL.SIG", (NR,), (NR,), (TSL_SIGNING_EKU,), (TSL_SIGNER_CP,)),
        Profile(CLIENTSYSTEM, (DS, KE), (DS,), (CLIENT_AUTH,), (), aia=False),
    )
}

NameAttrs = tuple[tuple[x509.ObjectIdentifier, str], ...]
TSP_ORG = "gemcheck Test-TSP NOT-VALID"


@dataclass(frozen=True)
class CaSpec:
    """One CA certificate (ti-spec-tables.md §3); written to ``ca/<ca_id>.pem``."""

    ca_id: str
    cn: str
    ou: str | None
    alg: str
    issuer: str | None  # None = self-signed
    serial: int
    policies: tuple[str, ...] = (GEM_CP,)
    validity: Validity = CA_VALIDITY
    path_length: int | None = 0
    org: str = TSP_ORG
    aia: bool = True
    kind: str = "CA (issuing)"

    @property
    def path(self) -> str:
        """Output path relative to ``certs/``."""
        return f"ca/{self.ca_id}.pem"

    @property
    def subject(self) -> NameAttrs:
        """Subject DN attributes, C first (GS-A_4706)."""
        ou = ((NameOID.ORGANIZATIONAL_UNIT_NAME, self.ou),) if self.ou else ()
        return (
            (NameOID.COUNTRY_NAME, "DE"),
            (NameOID.ORGANIZATION_NAME, self.org),
            *ou,
            (NameOID.COMMON_NAME, self.cn),
        )


def _root(ca_id: str, cn: str, alg: str, serial: int) -> CaSpec:
    """A self-signed gematik-style root CA (Tab_PKI_211: no pathLength, no AKI)."""
    return CaSpec(
        ca_id,
        cn,
        "Zentrale Root-CA der Telematikinfrastruktur",
        alg,
        None,
        serial,
        validity=ROOT_VALIDITY,
        path_length=None,
        kind="CA (root)",
    )


_KOMP_OU = "Komponenten-CA der Telematikinfrastruktur"
_HBA_OU = "Heilberufsausweis-CA der Telematikinfrastruktur"
_SMCB_OU = "Institution des Gesundheitswesens-CA der Telematikinfrastruktur"
CAS: tuple[CaSpec, ...] = (
    _root("rca1", "GEMCHECK.RCA1 TEST-ONLY", "bp256", 1001),
    CaSpec("komp-ca1", "GEMCHECK.KOMP-CA1 TEST-ONLY", _KOMP_OU, "bp256", "rca1", 1002),
    CaSpec("smcb-ca1", "GEMCHECK.SMCB-CA1 TEST-ONLY", _SMCB_OU, "bp256", "rca1", 1003),
    CaSpec(
        "hba-ca1", "GEMCHECK.HBA-CA1 TEST-ONLY", _HBA_OU, "bp256", "rca1", 1004, policies=(HBA_CP,)
    ),
    CaSpec(
        "tsl-ca1",
        "GEMCHECK.TSL-CA1 TEST-ONLY",
        "TSL-Signer-CA der Telematikinfrastruktur",
        "bp256",
        "rca1",
        1005,
    ),
    CaSpec("komp-ca3", "GEMCHECK.KOMP-CA3 TEST-ONLY", _KOMP_OU, "p256", "rca1", 1006),
    _root("rca2", "GEMCHECK.RCA2 TEST-ONLY", "rsa2048", 1011),
    CaSpec("komp-ca2", "GEMCHECK.KOMP-CA2 TEST-ONLY", _KOMP_OU, "rsa2048", "rca2", 1012),
    CaSpec("smcb-ca2", "GEMCHECK.SMCB-CA2 TEST-ONLY", _SMCB_OU, "rsa2048", "rca2", 1013),
    CaSpec(
        "cs-ca1",
        "Konnektor Clientsystem-CA TEST-ONLY",
        None,
        "bp256",
        None,
        1021,
        policies=(),
        validity=ROOT_VALIDITY,
        path_length=None,
        org="gemcheck Konnektor TEST-ONLY - NOT-VALID",
        aia=False,
        kind="CA (Konnektor-internal, not TI)",
    ),
)
CA_BY_ID = {ca.ca_id: ca for ca in CAS}


@dataclass(frozen=True)
class Role:
    """Admission content (1.3.36.8.3.3): one professionInfo (ti-spec-tables.md §1 X9, §2.2)."""

    item: str
    oid: str
    registration_number: str | None = None  # Telematik-ID
    authority_org: str | None = None


ROLE_PRAXIS_ARZT = Role("Betriebsstätte Arzt", _type(50), "1-2-ARZT-GEMCHECK-01")
ROLE_ARZT = Role("Ärztin/Arzt", _type(30), "1-HBA-GEMCHECK-0001", "Ärztekammer Test NOT-VALID")
ROLE_AK = Role("Anwendungskonnektor", _type(103))
ROLE_NK = Role("Netzkonnektor", _type(104))
ROLE_UFS = Role("Update Flag Service", _type(101))


@dataclass(frozen=True)
class LeafSpec:
    """One end-entity certificate; the optional overrides exist to inject single defects."""

    path: str
    profile: str
    issuer: str
    alg: str
    key_name: str
    serial: int
    subject: NameAttrs
    role: Role | None = None
    san: tuple[str, ...] = ()
    validity: Validity = LEAF_VALIDITY
    save_key: bool = False
    defect: str | None = None
    defect_text: str = ""
    key_usage: tuple[str, ...] | None = None
    policies: tuple[str, ...] | None = None
    critical_eku: bool = False
    raw_admission: bytes | None = None
    sign_hash: Literal["sha256", "sha1"] = "sha256"


def _dn(org: str, cn: str, *middle: tuple[x509.ObjectIdentifier, str]) -> NameAttrs:
    """Build ``C=DE, O=<org>, <middle...>, CN=<cn>``."""
    return (
        (NameOID.COUNTRY_NAME, "DE"),
        (NameOID.ORGANIZATION_NAME, org),
        *middle,
        (NameOID.COMMON_NAME, cn),
    )


SMCB_DN = _dn("999999901 NOT-VALID", "Praxis Dr. Gemcheck TEST-ONLY")
HBA_DN: NameAttrs = (
    (NameOID.COUNTRY_NAME, "DE"),
    (NameOID.SERIAL_NUMBER, "80276883110000099001"),
    (NameOID.SURNAME, "Gemcheck"),
    (NameOID.GIVEN_NAME, "Erika"),
    (NameOID.COMMON_NAME, "Erika Gemcheck TEST-ONLY"),
)
KONNEKTOR_DN = _dn("gemcheck Konnektor TEST-ONLY - NOT-VALID", "80276883110000000042-20250101")
FD_ORG = "gemcheck Fachdienst TEST-ONLY - NOT-VALID"
FD_HOST = "ufs.gemcheck.telematik-test"
FD_NIST_HOST = "ufs-nist.gemcheck.telematik-test"
KONNEKTOR_HOST = "konnektor.konlan"
"""The one dNSName of every C.AK.AUT, whatever address the Konnektor has (Tab_PKI_243)."""

SMCB_AUT = LeafSpec(
    path="ecc/smcb-aut.pem",
    profile="C.HCI.AUT",
    issuer="smcb-ca1",
    alg="bp256",
    key_name="smcb-aut",
    serial=2001,
    subject=SMCB_DN,
    role=ROLE_PRAXIS_ARZT,
)
KONNEKTOR = LeafSpec(
    path="ecc/konnektor-ak-aut.pem",
    profile="C.AK.AUT",
    issuer="komp-ca1",
    alg="bp256",
    key_name="konnektor-ak-aut-ecc",
    serial=2005,
    subject=KONNEKTOR_DN,
    role=ROLE_AK,
    san=(KONNEKTOR_HOST,),
    save_key=True,
)
FD_TLS_S = LeafSpec(
    path="ecc/fd-tls-s.pem",
    profile="C.FD.TLS-S",
    issuer="komp-ca1",
    alg="bp256",
    key_name="fd-tls-s-ecc",
    serial=2006,
    subject=_dn(FD_ORG, FD_HOST),
    role=ROLE_UFS,
    san=(FD_HOST,),
    save_key=True,
)
VALID_LEAVES: tuple[LeafSpec, ...] = (
    SMCB_AUT,
    replace(
        SMCB_AUT, path="ecc/smcb-enc.pem", profile="C.HCI.ENC", key_name="smcb-enc", serial=2002
    ),
    replace(
        SMCB_AUT, path="ecc/smcb-osig.pem", profile="C.HCI.OSIG", key_name="smcb-osig", serial=2003
    ),
    LeafSpec(
        path="ecc/hba-aut.pem",
        profile="C.HP.AUT",
        issuer="hba-ca1",
        alg="bp256",
        key_name="hba-aut",
        serial=2004,
        subject=HBA_DN,
        role=ROLE_ARZT,
    ),
    KONNEKTOR,
    FD_TLS_S,
    LeafSpec(
        path="ecc/clientsystem.pem",
        profile=CLIENTSYSTEM,
        issuer="cs-ca1",
        alg="bp256",
        key_name="clientsystem",
        serial=2007,
        subject=_dn("Praxis Dr. Gemcheck TEST-ONLY - NOT-VALID", "Primaersystem CS1 TEST-ONLY"),
        save_key=True,
    ),
    LeafSpec(
        path="ecc/tsl-signer.pem",
        profile="C.TSL.SIG",
        issuer="tsl-ca1",
        alg="bp256",
        key_name="tsl-signer",
        serial=3001,
        subject=_dn(TSP_ORG, "TSL Signing Unit 1 TEST-ONLY"),
        save_key=True,
    ),
    replace(
        SMCB_AUT,
        path="rsa/smcb-aut.pem",
        issuer="smcb-ca2",
        alg="rsa2048",
        key_name="smcb-aut-rsa",
        serial=2101,
    ),
    replace(
        KONNEKTOR,
        path="rsa/konnektor-ak-aut.pem",
        issuer="komp-ca2",
        alg="rsa2048",
        key_name="konnektor-ak-aut-rsa",
        serial=2102,
    ),
    replace(
        FD_TLS_S,
        path="nist/fd-tls-s.pem",
        issuer="komp-ca3",
        alg="p256",
        key_name="fd-tls-s-nist",
        serial=2201,
        subject=_dn(FD_ORG, FD_NIST_HOST),
        san=(FD_NIST_HOST,),
    ),
)

_FOLDER_BY_ALG = {"bp256": "ecc", "p256": "nist", "rsa2048": "rsa"}
OCSP_SIGNER_CAS = ("komp-ca1", "smcb-ca1", "hba-ca1", "tsl-ca1", "komp-ca2", "smcb-ca2", "komp-ca3")


def _ocsp_signer(serial: int, ca_id: str) -> LeafSpec:
    """Delegated OCSP responder certificate issued directly by ``ca_id`` (A_23142)."""
    ca = CA_BY_ID[ca_id]
    return LeafSpec(
        path=f"{_FOLDER_BY_ALG[ca.alg]}/ocsp-{ca_id}.pem",
        profile="C.GEM.OCSP",
        issuer=ca_id,
        alg=ca.alg,
        key_name=f"ocsp-{ca_id}",
        serial=serial,
        subject=_dn(TSP_ORG, f"GEMCHECK OCSP-Signer {ca_id.upper()} TEST-ONLY"),
        save_key=True,
    )


OCSP_SIGNERS = tuple(_ocsp_signer(3101 + i, ca) for i, ca in enumerate(OCSP_SIGNER_CAS))
LEAF_BY_PATH = {leaf.path: leaf for leaf in VALID_LEAVES}

# Valid DER, but a SEQUENCE{UTF8String "bad"} is no AdmissionSyntax (contentsOfAdmissions missing).
MALFORMED_ADMISSION = bytes.fromhex("3005") + bytes.fromhex("0c03") + b"bad"

Override = Callable[[LeafSpec], LeafSpec]

#: (defect id, base leaf, description, override) - each override changes exactly one property.
_BROKEN_TABLE: tuple[tuple[str, str, str, Override], ...] = (
    (
        "short-key",
        "rsa/smcb-aut.pem",
        "RSA-1024 key (< 2048 bit, Tab_KRYPT_002)",
        lambda s: replace(s, alg="rsa1024"),
    ),
    (
        "sha1-signature",
        "rsa/smcb-aut.pem",
        "signed with sha1WithRSAEncryption",
        lambda s: replace(s, sign_hash="sha1"),
    ),
    (
        "expired",
        "ecc/smcb-aut.pem",
        "notAfter 2024-12-31 (in the past)",
        lambda s: replace(s, validity=(_utc(2024, 2, 1), _utc(2024, 12, 31))),
    ),
    (
        "not-yet-valid",
        "ecc/smcb-aut.pem",
        "notBefore 2031-01-01 (in the future)",
        lambda s: replace(s, validity=(_utc(2031, 1, 1), _utc(2031, 12, 31))),
    ),
    (
        "wrong-curve",
        "ecc/smcb-aut.pem",
        "key on secp384r1 instead of brainpoolP256r1",
        lambda s: replace(s, alg="p384"),
    ),
    (
        "wrong-keyusage",
        "ecc/smcb-aut.pem",
        "KeyUsage nonRepudiation instead of digitalSignature",
        lambda s: replace(s, key_usage=(NR,)),
    ),
    (
        "missing-type-policy",
        "ecc/smcb-aut.pem",
        "CertificatePolicies without 1.2.276.0.76.4.77",
        lambda s: replace(s, policies=(GEM_CP,)),
    ),
    (
        "extra-critical-extension",
        "ecc/smcb-aut.pem",
        "ExtendedKeyUsage marked critical (critical set {BC, KU, EKU})",
        lambda s: replace(s, critical_eku=True),
    ),
    (
        "malformed-admission",
        "ecc/smcb-aut.pem",
        "Admission extension value is SEQUENCE{UTF8String} (not an AdmissionSyntax)",
        lambda s: replace(s, raw_admission=MALFORMED_ADMISSION),
    ),
    (
        "wrong-profession-oid",
        "ecc/konnektor-ak-aut.pem",
        "C.AK.AUT with professionOID 1.2.276.0.76.4.104 (oid_nk) instead of .103 (oid_ak)",
        lambda s: replace(s, role=ROLE_NK),
    ),
)


def _broken_leaves() -> tuple[LeafSpec, ...]:
    """Derive the ``broken/`` leaves from their valid base leaf plus one override each.

    Broken leaves of the same key algorithm share one key (``keys/broken-<alg>.key.pem``).
    """
    leaves = []
    for index, (defect, base, text, override) in enumerate(_BROKEN_TABLE):
        leaf = override(
            replace(
                LEAF_BY_PATH[base],
                path=f"broken/{defect}.pem",
                serial=9001 + index,
                save_key=True,
                defect=defect,
                defect_text=text,
            )
        )
        leaves.append(replace(leaf, key_name=f"broken-{leaf.alg}"))
    return tuple(leaves)


BROKEN_LEAVES = _broken_leaves()
LEAVES: tuple[LeafSpec, ...] = VALID_LEAVES + OCSP_SIGNERS + BROKEN_LEAVES


@dataclass(frozen=True)
class P12Spec:
    """A PKCS#12 container with a leaf key, its certificate and the CA chain."""

    path: str
    leaf: str
    legacy: bool = False


P12S = (
    P12Spec("ecc/smcb-aut.p12", "ecc/smcb-aut.pem"),
    P12Spec("ecc/smcb-aut-legacy.p12", "ecc/smcb-aut.pem", legacy=True),
    P12Spec("ecc/clientsystem.p12", "ecc/clientsystem.pem"),
)


# --- certificate building ------------------------------------------------------------------------
@dataclass(frozen=True)
class Issued:
    """A generated certificate with its private key."""

    cert: x509.Certificate
    key: PrivateKey


def _name(attrs: NameAttrs) -> x509.Name:
    """Turn ``(oid, value)`` pairs into an ``x509.Name`` (one attribute per RDN)."""
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs])


def _key_usage(names: Iterable[str]) -> x509.KeyUsage:
    """Build a KeyUsage with exactly the given bits set."""
    wanted = set(names)
    unknown = wanted.difference(_ALL_KEY_USAGES)
    if unknown:
        raise ValueError(f"unknown key usage {sorted(unknown)}")
    return x509.KeyUsage(**{name: name in wanted for name in _ALL_KEY_USAGES})


def _policies(oids: Iterable[str]) -> x509.CertificatePolicies:
    """CertificatePolicies without qualifiers (a qualifier would name a foreign host)."""
    return x509.CertificatePolicies(
        [x509.PolicyInformation(x509.ObjectIdentifier(oid), None) for oid in oids]
    )


def _ocsp_aia() -> x509.AuthorityInformationAccess:
    """AuthorityInformationAccess pointing at the local test OCSP responder."""
    return x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(OCSP_URL)
            )
        ]
    )


def _admission(role: Role) -> x509.Admissions:
    """One Admissions element with one ProfessionInfo (Tab_PKI_226, GS-A_4717-02)."""
    authority = None
    if role.authority_org:  # admissionAuthority {O=<registration authority>, C=DE}
        authority = x509.DirectoryName(
            _name(((NameOID.COUNTRY_NAME, "DE"), (NameOID.ORGANIZATION_NAME, role.authority_org)))
        )
    info = x509.ProfessionInfo(
        naming_authority=None,
        profession_items=[role.item],
        profession_oids=[x509.ObjectIdentifier(role.oid)],
        registration_number=role.registration_number,
        add_profession_info=None,
    )
    return x509.Admissions(authority, [x509.Admission(None, None, [info])])


def _key_ids(
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, issuer: Issued | None
) -> ExtensionList:
    """SubjectKeyIdentifier, plus AuthorityKeyIdentifier unless self-signed."""
    exts: ExtensionList = [(x509.SubjectKeyIdentifier.from_public_key(public_key), False)]
    if issuer is not None:
        ski = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        exts.append((x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False))
    return exts


def _der(tag: int, body: bytes) -> bytes:
    """Encode one DER TLV (definite length)."""
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    length = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _resign_sha1(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """Re-sign an RSA certificate with sha1WithRSAEncryption (``cryptography`` refuses SHA-1).

    The two AlgorithmIdentifiers have the same length, so the TBSCertificate is patched in place
    and wrapped into a new Certificate SEQUENCE with the SHA-1 signature.
    """
    tbs = cert.tbs_certificate_bytes
    if tbs.count(_SHA256_RSA_ALG_ID) != 1:
        raise ValueError("expected exactly one sha256WithRSAEncryption identifier in the TBS")
    tbs = tbs.replace(_SHA256_RSA_ALG_ID, _SHA1_RSA_ALG_ID)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())  # the deliberate defect
    der = _der(0x30, tbs + _SHA1_RSA_ALG_ID + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


def _sign(
    builder: x509.CertificateBuilder, issuer_key: PrivateKey, sign_hash: str = "sha256"
) -> x509.Certificate:
    """Sign deterministically: RFC 6979 ECDSA or RSA PKCS#1 v1.5, both with SHA-256."""
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        if sign_hash != "sha256":
            raise ValueError("SHA-1 re-signing is implemented for RSA issuers only")
        return builder.sign(issuer_key, hashes.SHA256(), ecdsa_deterministic=True)
    cert = builder.sign(issuer_key, hashes.SHA256(), rsa_padding=padding.PKCS1v15())
    return cert if sign_hash == "sha256" else _resign_sha1(cert, issuer_key)


def _builder(
    subject: NameAttrs,
    issuer_name: x509.Name,
    key: PrivateKey,
    serial: int,
    validity: Validity,
    extensions: ExtensionList,
) -> x509.CertificateBuilder:
    """A CertificateBuilder with all fields and extensions set."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder


def build_ca(spec: CaSpec, key: PrivateKey, issuer: Issued | None) -> Issued:
    """Build a CA certificate (root if ``issuer`` is None) per Tab_PKI_211/212."""
    exts: ExtensionList = [
        (x509.BasicConstraints(ca=True, path_length=spec.path_length), True),
        (_key_usage(CA_KEY_USAGE), True),
        *_key_ids(key.public_key(), issuer),
    ]
    if spec.policies:
        exts.append((_policies(spec.policies), False))
    if spec.aia:
        exts.append((_ocsp_aia(), False))
    issuer_name = issuer.cert.subject if issuer else _name(spec.subject)
    signer = issuer.key if issuer else key
    builder = _builder(spec.subject, issuer_name, key, spec.serial, spec.validity, exts)
    return Issued(_sign(builder, signer), key)


def leaf_extensions(spec: LeafSpec, key: PrivateKey, issuer: Issued) -> ExtensionList:
    """All extensions of an end-entity certificate, in profile order; only BC and KU critical."""
    profile, alg = PROFILES[spec.profile], KEY_ALGS[spec.alg]
    exts: ExtensionList = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_key_usage(spec.key_usage or profile.key_usage(alg)), True),
        *_key_ids(key.public_key(), issuer),
    ]
    policies = profile.policies if spec.policies is None else spec.policies
    if policies:
        exts.append((_policies(policies), False))
    if profile.eku:
        exts.append((x509.ExtendedKeyUsage(list(profile.eku)), spec.critical_eku))
    if profile.aia:
        exts.append((_ocsp_aia(), False))
    if spec.san:
        exts.append((x509.SubjectAlternativeName([x509.DNSName(n) for n in spec.san]), False))
    if spec.raw_admission is not None:
        exts.append((x509.UnrecognizedExtension(ADMISSION_OID, spec.raw_admission), False))
    elif spec.role is not None:
        exts.append((_admission(spec.role), False))
    if profile.ocsp_nocheck:
        exts.append((x509.OCSPNoCheck(), False))
    return exts


def build_leaf(spec: LeafSpec, key: PrivateKey, issuer: Issued) -> Issued:
    """Build one end-entity certificate from its spec."""
    exts = leaf_extensions(spec, key, issuer)
    builder = _builder(spec.subject, issuer.cert.subject, key, spec.serial, spec.validity, exts)
    return Issued(_sign(builder, issuer.key, spec.sign_hash), key)


# --- serialisation -------------------------------------------------------------------------------
def _cert_pem(cert: x509.Certificate) -> bytes:
    """PEM encoding of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM (TEST-ONLY keys)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _p12(spec: P12Spec, leaf: Issued, chain: list[x509.Certificate]) -> bytes:
    """PKCS#12 with password "00": PBES2/AES-256/SHA-256 or legacy PBES1 3DES + SHA-1 MAC."""
    builder = serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
    if spec.legacy:
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(
            hashes.SHA1()
        )
    else:
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(
            hashes.SHA256()
        )
    name = Path(spec.path).stem.encode()
    encryption = builder.build(P12_PASSWORD.encode())
    return pkcs12.serialize_key_and_certificates(name, leaf.key, leaf.cert, chain, encryption)


# --- manifest ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One MANIFEST.md row."""

    path: str
    ti_type: str
    algorithm: str
    issuer: str
    validity: str
    verdict: str
    password: str = "-"


def _validity_text(validity: Validity) -> str:
    """``YYYY-MM-DD..YYYY-MM-DD``."""
    return f"{validity[0]:%Y-%m-%d}..{validity[1]:%Y-%m-%d}"


def _signature_text(issuer_alg: str, sign_hash: str) -> str:
    """Human-readable signature algorithm of a certificate issued by a key of ``issuer_alg``."""
    if KEY_ALGS[issuer_alg].is_rsa:
        return f"sha{sign_hash[3:]}WithRSAEncryption"
    return "ecdsa-with-SHA256"


def _leaf_row(spec: LeafSpec) -> Row:
    """Manifest row of an end-entity certificate."""
    issuer = CA_BY_ID[spec.issuer]
    verdict = f"invalid: {spec.defect} - {spec.defect_text}" if spec.defect else "valid"
    algorithm = f"{KEY_ALGS[spec.alg].label}, {_signature_text(issuer.alg, spec.sign_hash)}"
    return Row(
        spec.path, spec.profile, algorithm, issuer.path, _validity_text(spec.validity), verdict
    )


def _ca_row(spec: CaSpec) -> Row:
    """Manifest row of a CA certificate."""
    issuer = CA_BY_ID[spec.issuer] if spec.issuer else spec
    algorithm = f"{KEY_ALGS[spec.alg].label}, {_signature_text(issuer.alg, 'sha256')}"
    return Row(
        spec.path,
        spec.kind,
        algorithm,
        "(self-signed)" if spec.issuer is None else issuer.path,
        _validity_text(spec.validity),
        "valid",
    )


def _key_rows(key_users: dict[str, list[str]]) -> Iterator[Row]:
    """Manifest rows of the unencrypted private keys (one per key, listing its certificates)."""
    for key_path, users in key_users.items():
        yield Row(
            key_path,
            "private key of " + ", ".join(users),
            "PKCS#8 PEM, unencrypted",
            "-",
            "-",
            "n/a (TEST-ONLY key)",
            "none",
        )


def _p12_row(spec: P12Spec) -> Row:
    """Manifest row of a PKCS#12 file."""
    leaf = LEAF_BY_PATH[spec.leaf]
    enc = "PBES1 3DES + SHA-1 MAC (legacy)" if spec.legacy else "PBES2 AES-256-CBC + SHA-256 MAC"
    return Row(
        spec.path,
        f"PKCS#12 of {spec.leaf} ({leaf.profile}) + key + CA chain",
        enc,
        CA_BY_ID[leaf.issuer].path,
        _validity_text(leaf.validity),
        "valid",
        P12_PASSWORD,
    )


def render_manifest(rows: list[Row]) -> bytes:
    """Render MANIFEST.md."""
    head = [
        "# certs/ - MANIFEST (generated by `certs/generate.py`, do not edit)",
        "",
        "Synthetic **TEST-ONLY** TI test PKI. Verdicts hold at the reference date "
        f"**{AS_OF}** (`--as-of {AS_OF}`).",
        f"OCSP URL in every AIA: `{OCSP_URL}`. Serial scheme: CAs 1001-1021, valid leaves "
        "2001-2201, TSL/OCSP signers 3001-3107, broken leaves 9001-9010.",
        "",
        "| path | TI type | algorithm (key, signature) | issuer | validity | intended verdict "
        "| password |",
        "|---|---|---|---|---|---|---|",
    ]
    body = [
        f"| `{r.path}` | {r.ti_type} | {r.algorithm} | {r.issuer} | {r.validity} | {r.verdict} "
        f"| {r.password} |"
        for r in sorted(rows, key=lambda r: r.path)
    ]
    return ("\n".join(head + body) + "\n").encode()


# --- orchestration -------------------------------------------------------------------------------
def build_all() -> dict[str, bytes]:
    """Build the whole PKI in memory; return ``{relative path: file content}``."""
    files: dict[str, bytes] = {}
    rows: list[Row] = []
    keys: dict[str, PrivateKey] = {}
    key_users: dict[str, list[str]] = {}

    def key_for(name: str, alg: str, user: str, save: bool) -> PrivateKey:
        """Derive (once) the key ``name``; record it for ``keys/`` if ``save``."""
        if name not in keys:
            keys[name] = derive_key(KEY_ALGS[alg], name)
        if save:
            key_users.setdefault(f"keys/{name}.key.pem", []).append(user)
            files[f"keys/{name}.key.pem"] = _key_pem(keys[name])
        return keys[name]

    cas: dict[str, Issued] = {}
    for ca in CAS:
        key = key_for(ca.ca_id, ca.alg, ca.path, save=True)
        cas[ca.ca_id] = build_ca(ca, key, cas[ca.issuer] if ca.issuer else None)
        files[ca.path] = _cert_pem(cas[ca.ca_id].cert)
        rows.append(_ca_row(ca))

    leaves: dict[str, Issued] = {}
    for leaf in LEAVES:
        key = key_for(leaf.key_name, leaf.alg, leaf.path, leaf.save_key)
        leaves[leaf.path] = build_leaf(leaf, key, cas[leaf.issuer])
        files[leaf.path] = _cert_pem(leaves[leaf.path].cert)
        rows.append(_leaf_row(leaf))

    for p12 in P12S:
        chain = _chain(LEAF_BY_PATH[p12.leaf].issuer, cas)
        files[p12.path] = _p12(p12, leaves[p12.leaf], chain)
        rows.append(_p12_row(p12))

    rows.extend(_key_rows(key_users))
    files["MANIFEST.md"] = render_manifest(rows)
    return files


def _chain(ca_id: str, cas: dict[str, Issued]) -> list[x509.Certificate]:
    """CA certificates from ``ca_id`` up to its root."""
    chain = []
    current: str | None = ca_id
    while current is not None:
        chain.append(cas[current].cert)
        current = CA_BY_ID[current].issuer
    return chain


def write_all(files: dict[str, bytes], out: Path) -> None:
    """Write ``files`` below ``out`` after removing stale generated files (``*.pem``/``*.p12``)."""
    for folder in OUTPUT_FOLDERS:
        for stale in sorted((out / folder).glob("*")):
            if stale.suffix in {".pem", ".p12"} and stale.is_file():
                stale.unlink()
    for rel, content in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=CERTS_DIR, help="output folder (certs/)")
    args = parser.parse_args(argv)
    files = build_all()
    write_all(files, args.out)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
