"""Signature and key algorithms by OID, named as gemSpec_Krypt and RFC 5280 name them."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa


@dataclass(frozen=True, slots=True)
class SignatureAlgorithm:
    """A certificate signature algorithm: its name, key family and hash."""

    oid: str
    name: str
    family: str
    hash: str


_SIGNATURE_ALGORITHMS = {
    a.oid: a
    for a in (
        SignatureAlgorithm("1.2.840.113549.1.1.4", "md5WithRSAEncryption", "rsa", "md5"),
        SignatureAlgorithm("1.2.840.113549.1.1.5", "sha1WithRSAEncryption", "rsa", "sha1"),
        SignatureAlgorithm("1.2.840.113549.1.1.14", "sha224WithRSAEncryption", "rsa", "sha224"),
        SignatureAlgorithm("1.2.840.113549.1.1.11", "sha256WithRSAEncryption", "rsa", "sha256"),
        SignatureAlgorithm("1.2.840.113549.1.1.12", "sha384WithRSAEncryption", "rsa", "sha384"),
        SignatureAlgorithm("1.2.840.113549.1.1.13", "sha512WithRSAEncryption", "rsa", "sha512"),
        SignatureAlgorithm("1.2.840.113549.1.1.10", "RSASSA-PSS", "rsa-pss", "pss"),
        SignatureAlgorithm("1.2.840.10045.4.1", "ecdsa-with-SHA1", "ec", "sha1"),
        SignatureAlgorithm("1.2.840.10045.4.3.1", "ecdsa-with-SHA224", "ec", "sha224"),
        SignatureAlgorithm("1.2.840.10045.4.3.2", "ecdsa-with-SHA256", "ec", "sha256"),
        SignatureAlgorithm("1.2.840.10045.4.3.3", "ecdsa-with-SHA384", "ec", "sha384"),
        SignatureAlgorithm("1.2.840.10045.4.3.4", "ecdsa-with-SHA512", "ec", "sha512"),
        SignatureAlgorithm("1.2.840.10040.4.3", "dsa-with-SHA1", "dsa", "sha1"),
        SignatureAlgorithm("2.16.840.1.101.3.4.3.2", "dsa-with-SHA256", "dsa", "sha256"),
        SignatureAlgorithm("1.3.101.112", "Ed25519", "ed25519", "intrinsic"),
        SignatureAlgorithm("1.3.101.113", "Ed448", "ed448", "intrinsic"),
    )
}


def signature_algorithm(cert: x509.Certificate) -> SignatureAlgorithm:
    """The certificate's signature algorithm (``unknown`` family for OIDs not listed here).

    For RSASSA-PSS the hash is read from the parameters when ``cryptography`` exposes it.
    """
    oid = cert.signature_algorithm_oid.dotted_string
    known = _SIGNATURE_ALGORITHMS.get(oid)
    if known is None:
        return SignatureAlgorithm(oid, oid, "unknown", "unknown")
    if known.family == "rsa-pss":
        try:
            algo = cert.signature_hash_algorithm
        except Exception:  # unsupported parameters: the hash stays unknown
            algo = None
        return SignatureAlgorithm(oid, known.name, known.family, algo.name if algo else "unknown")
    return known


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A public key as gemSpec_Krypt judges it: family, curve name and size in bits."""

    family: str
    curve: str | None
    bits: int

    def __str__(self) -> str:
        if self.curve:
            return f"{self.family.upper()} {self.curve}"
        return f"{self.family.upper()}-{self.bits}"


def key_info(cert: x509.Certificate) -> KeyInfo:
    """The subject public key's family (``ec``, ``rsa``, ...), curve and size."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return KeyInfo("ec", key.curve.name, key.curve.key_size)
    if isinstance(key, rsa.RSAPublicKey):
        return KeyInfo("rsa", None, key.key_size)
    if isinstance(key, dsa.DSAPublicKey):
        return KeyInfo("dsa", None, key.key_size)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return KeyInfo("ed25519", None, 256)
    if isinstance(key, ed448.Ed448PublicKey):
        return KeyInfo("ed448", None, 456)
    return KeyInfo("other", None, 0)
