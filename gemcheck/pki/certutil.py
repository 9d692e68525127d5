"""Small certificate helpers shared by the trust modules: issuer checks and display names."""

from __future__ import annotations

import functools

from cryptography import x509


@functools.lru_cache(maxsize=4096)
def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer`` is named as ``cert``'s issuer and its key verifies the signature.

    Cached: an OCSP signer or CA is checked against its issuer once, not once per response.
    """
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm
        return False
    return True


def label(name: x509.Name) -> str:
    """A name as messages show it: its common name, or the whole DN when it has none."""
    try:
        cns = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    except ValueError:
        cns = []
    return str(cns[0].value) if cns else name.rfc4514_string()
