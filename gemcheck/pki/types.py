"""Which TI certificate type a certificate is, read from its CertificatePolicies.

End-entity types carry a certificate-type policy OID (``1.2.276.0.76.4.x``,
gemSpec_PKI Tab_PKI_227: exactly once). Three kinds of certificate have none and
are named here by convention: the TSL signer (policy ``oid_policy_gem_tsl_signer``),
OCSP responders (EKU OCSPSigning) and CAs (basicConstraints cA=TRUE). Anything
else has no type; :attr:`TypeInfo.problem` says why, in gematik's terms
(``SE_1033_CERT_TYPE_INFO_MISSING``). Nothing here raises for a malformed
certificate.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from gemcheck.pki.extensions import ExtensionView, extension_view
from gemcheck.pki.oids import (
    CA,
    CERT_TYPES,
    EKU_OIDS,
    OCSP_SIGNER,
    POLICY_GEM_TSL_SIGNER,
    TI_ARC,
    TSL_SIGNER,
)

_OCSP_SIGNING = x509.ObjectIdentifier(EKU_OIDS["OCSPSigning"])
_POLICIES = ExtensionOID.CERTIFICATE_POLICIES

_KEY_FAMILIES = {
    "1.2.840.10045.2.1": "ec",
    "1.2.840.113549.1.1.1": "rsa",
    "1.2.840.113549.1.1.10": "rsa",
    "1.2.840.10040.4.1": "dsa",
    "1.3.101.112": "ed25519",
    "1.3.101.113": "ed448",
}


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """A certificate's TI type (``name`` None when it has none) and what is wrong with it."""

    name: str | None
    oid: str | None = None
    policies: tuple[str, ...] = ()
    problem: str | None = None


def identify(cert: x509.Certificate, view: ExtensionView | None = None) -> TypeInfo:
    """The TI certificate type of ``cert`` (pass ``view`` when the caller already has it)."""
    view = view or extension_view(cert)
    policies: tuple[str, ...] = ()
    is_ca = ocsp_signing = False
    for ext in view.extensions:  # one pass, exact type tests (ABC isinstance is slow here)
        value = ext.value
        kind = type(value)
        if kind is x509.CertificatePolicies:
            policies = tuple(p.policy_identifier.dotted_string for p in value)
        elif kind is x509.BasicConstraints:
            is_ca = value.ca
        elif kind is x509.ExtendedKeyUsage:
            ocsp_signing = _OCSP_SIGNING in value
    type_oids = [p for p in policies if p in CERT_TYPES]
    if type_oids:
        oid = type_oids[0]
        return TypeInfo(CERT_TYPES[oid], oid, policies, _type_problem(type_oids, is_ca))
    if is_ca:
        return TypeInfo(CA, None, policies)
    if POLICY_GEM_TSL_SIGNER in policies:
        return TypeInfo(TSL_SIGNER, POLICY_GEM_TSL_SIGNER, policies)
    if ocsp_signing:
        return TypeInfo(OCSP_SIGNER, None, policies)
    bad = view.broken(_POLICIES)
    if bad is not None:
        return TypeInfo(None, None, (), f"CertificatePolicies extension is malformed: {bad.error}")
    return TypeInfo(None, None, policies, _untyped(policies))


def key_family(cert: x509.Certificate) -> str:
    """``ec``, ``rsa``, ``dsa`` ... from the subjectPublicKeyInfo OID (no key object is built)."""
    return _KEY_FAMILIES.get(cert.public_key_algorithm_oid.dotted_string, "other")


def _type_problem(type_oids: list[str], is_ca: bool) -> str | None:
    if len(type_oids) > 1:
        names = ", ".join(f"{CERT_TYPES[o]} ({o})" for o in type_oids)
        return (
            f"{len(type_oids)} certificate-type OIDs ({names}); gemSpec_PKI Tab_PKI_227 "
            "allows exactly one"
        )
    if is_ca:
        return "basicConstraints cA=TRUE on an end-entity type (gemSpec_PKI: cA=FALSE)"
    return None


def _untyped(policies: tuple[str, ...]) -> str:
    if not policies:
        return "no CertificatePolicies extension, so no certificate-type OID (SE_1033)"
    ti = [p for p in policies if p.startswith(TI_ARC)]
    held = ", ".join(policies)
    if ti:
        return f"CertificatePolicies ({held}) hold no known TI certificate-type OID (SE_1033)"
    return f"CertificatePolicies ({held}) hold no TI certificate-type OID: not a TI certificate"
