"""Helpers for the TI-PKI tests: synthetic certificates signed by the test CAs, and rule runs.

Certificates are built in the test's temporary folder with the keys of the synthetic
TEST-ONLY PKI in ``certs/keys`` (no key generation, so building is fast).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from gemcheck.collect.certs import load_file
from gemcheck.engine import evaluate
from gemcheck.evidence import EvidenceSet
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.model import Result
from gemcheck.profile import BoundRule, load
from gemcheck.registry import Context, load_registry

from .conftest import AS_OF, CERTS, SHARED

PKI_DATA = SHARED / "pki-data"
TI = "1.2.276.0.76.4."
GEM_CP = TI + "163"
OCSP_URL = "http://127.0.0.1:18080/ocsp"

LEAF_KEYS = {
    "ec": "broken-bp256",
    "p256": "fd-tls-s-nist",
    "p384": "broken-p384",
    "rsa": "broken-rsa2048",
}
KU_ARGS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


@functools.cache
def private_key(name: str) -> Any:
    return serialization.load_pem_private_key(
        (CERTS / "keys" / f"{name}.key.pem").read_bytes(), None
    )


@functools.cache
def ca_cert(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((CERTS / "ca" / f"{name}.pem").read_bytes())


def admission(
    oids: Sequence[str], registration: str | None = None, items: Sequence[str] = ("Test",)
) -> x509.Admissions:
    info = x509.ProfessionInfo(
        None, list(items), [x509.ObjectIdentifier(o) for o in oids], registration, None
    )
    return x509.Admissions(None, [x509.Admission(None, None, [info])])


def make_cert(
    path: Path,
    *,
    types: Sequence[str] = ("77",),
    key: str = "ec",
    issuer: str = "smcb-ca1",
    ku: Iterable[str] | None = ("digital_signature",),
    eku: Iterable[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.CLIENT_AUTH,),
    adm: x509.ExtensionType | None = None,
    subject: Sequence[tuple[x509.ObjectIdentifier, str]] | None = None,
    critical_eku: bool = False,
    ca: bool = False,
    raw_extensions: Sequence[tuple[str, bytes, bool]] = (),
    not_before: dt.date = dt.date(2025, 1, 1),
    not_after: dt.date = dt.date(2030, 1, 1),
    signer_key: str | None = None,
    san: Sequence[x509.GeneralName] = (),
    ocsp: str | None = OCSP_URL,
    crl: str | None = None,
) -> Path:
    """Write one PEM certificate with the given TI profile features; returns its path.

    ``types`` are certificate-type OID suffixes (``77`` = C.HCI.AUT) added after the gematik
    CP; ``adm`` defaults to an SMC-B Admission (Betriebsstätte Arzt, Telematik-ID
    1-2-TEST-01); ``raw_extensions`` adds (OID, DER value, critical) as given; ``ku=None`` leaves
    KeyUsage out; ``san`` adds a SubjectAltName with these names; ``ocsp`` is the URL of the
    AuthorityInfoAccess (None: no AIA) and ``crl`` that of CRLDistributionPoints (None: none).
    """
    attrs = subject or [
        (NameOID.COUNTRY_NAME, "DE"),
        (NameOID.ORGANIZATION_NAME, "gemcheck TEST-ONLY - NOT-VALID"),
        (NameOID.COMMON_NAME, f"{path.stem} TEST-ONLY"),
    ]
    issuer_cert = ca_cert(issuer)
    leaf = private_key(LEAF_KEYS[key])
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(o, v) for o, v in attrs]))
        .issuer_name(issuer_cert.subject)
        .public_key(leaf.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.combine(not_before, dt.time(), dt.UTC))
        .not_valid_after(dt.datetime.combine(not_after, dt.time(), dt.UTC))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if ku is not None:
        bits = set(ku)
        builder = builder.add_extension(
            x509.KeyUsage(**{name: name in bits for name in KU_ARGS}), critical=True
        )
    policies = [GEM_CP, *(TI + t for t in types)]
    builder = builder.add_extension(
        x509.CertificatePolicies(
            [x509.PolicyInformation(x509.ObjectIdentifier(p), None) for p in policies]
        ),
        critical=False,
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=critical_eku)
    adm = adm if adm is not None else admission([TI + "50"], "1-2-TEST-01")
    builder = builder.add_extension(adm, critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(san)), critical=False)
    if ocsp is not None:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    if crl is not None:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    for oid, value, critical in raw_extensions:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=critical
        )
    cert = builder.sign(private_key(signer_key or issuer), hashes.SHA256())
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


# -- running rules ---------------------------------------------------------------------------------


@functools.cache
def bound_rules() -> dict[str, BoundRule]:
    """The rules of the bundled ti-pki profile (with everything it extends), by id."""
    _, rules = load(["ti-pki"], load_registry())
    return {r.id: r for r in rules}


def evidence_of(
    path: Path, *, role: str | None = None, password_env: str | None = None
) -> list[CertificateEvidence]:
    return load_file(path, path.parent, role=role, password_env=password_env)


def judge(
    source: Path | CertificateEvidence,
    rule_id: str,
    *,
    as_of: dt.date = AS_OF,
    role: str | None = None,
) -> Result:
    """The one result of ``rule_id`` on the first certificate of ``source``."""
    ev = source if isinstance(source, CertificateEvidence) else evidence_of(source, role=role)[0]
    evidence = EvidenceSet([ev])
    results = evaluate([bound_rules()[rule_id]], evidence, Context(as_of=as_of, evidence=evidence))
    assert len(results) == 1, results
    return results[0]


TYPE_RULES = (
    "PKI-TYPE-001",
    "PKI-KU-001",
    "PKI-EKU-001",
    "PKI-CRIT-001",
    "PKI-ADM-001",
    "PKI-TID-001",
    "PKI-ALG-001",
    "PKI-RSA-001",
    "PKI-LIFE-001",
    "PKI-SAN-001",
    "PKI-AIA-001",
    "PKI-DN-001",
)
