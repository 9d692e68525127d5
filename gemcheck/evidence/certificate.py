"""Certificate evidence: one X.509 certificate and where it was found."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gemcheck.evidence import Evidence


@dataclass(frozen=True, slots=True)
class CertificateEvidence(Evidence):
    """A certificate from a PEM, DER or PKCS#12 file (``certificate`` is None when ``error`` is set).

    ``role`` says what the site uses it for when the site file says so
    (``smcb``, ``konnektor``, ``clientsystem`` ...); ``der`` keeps the exact
    bytes for DER-level checks.
    """

    kind = "certificate"

    certificate: x509.Certificate | None = None
    der: bytes = b""
    source_format: str = ""
    role: str | None = None

    def facets(self) -> Mapping[str, str | None]:
        return {
            "subject": self.subject,
            "file": self.location.file,
            "role": self.role,
            "key": _key_kind(self.certificate),
        }


def _key_kind(cert: x509.Certificate | None) -> str | None:
    """``ec``, ``rsa`` or ``other``: the key family, for rule ``match``."""
    if cert is None:
        return None
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec"
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    return "other"
