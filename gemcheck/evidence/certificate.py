"""Certificate evidence: one X.509 certificate and where it was found."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from gemcheck.evidence import Evidence
from gemcheck.pki.types import identify


@dataclass(frozen=True, slots=True)
class CertificateEvidence(Evidence):
    """A certificate from a PEM, DER or PKCS#12 file (no ``certificate`` when ``error`` is set).

    ``role`` says what the site uses it for when the site file says so
    (``smcb``, ``konnektor``, ``clientsystem`` ...).
    """

    kind = "certificate"

    certificate: x509.Certificate | None = None
    source_format: str = ""
    role: str | None = None

    @property
    def der(self) -> bytes:
        """The certificate's exact DER bytes, as read (for DER-level checks)."""
        if self.certificate is None:
            return b""
        return self.certificate.public_bytes(Encoding.DER)

    def facets(self) -> Mapping[str, str | None]:
        return {
            "subject": self.subject,
            "file": self.location.file,
            "role": self.role,
            "key": _key_kind(self.certificate),
            "type": _ti_type(self.certificate),
        }


def _ti_type(cert: x509.Certificate | None) -> str | None:
    """The TI certificate type (``C.HCI.AUT``, ``CA`` ...), or None, for rule ``match``."""
    return identify(cert).name if cert is not None else None


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
