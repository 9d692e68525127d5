"""A certificate's extensions: ``cryptography`` decodes them, ``pyasn1`` salvages the rest.

``cryptography`` refuses *all* extensions of a certificate when one of them is
malformed (a broken Admission makes KeyUsage unreadable too). Then the
certificate is split with ``pyasn1``: every extension is tried on its own, the
good ones are decoded by ``cryptography`` as usual and the bad ones are kept as
:class:`Malformed` (OID, critical flag, raw value, why), so each check can judge
what is readable and report precisely what is not.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from gemcheck.pki.oids import EXTENSION_NAMES

_DECODE_ERRORS = (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)


@dataclass(frozen=True, slots=True)
class Malformed:
    """An extension ``cryptography`` cannot decode: OID, critical flag, raw value, the error."""

    oid: str
    critical: bool
    value: bytes
    error: str

    @property
    def name(self) -> str:
        return extension_name(self.oid)


@dataclass(frozen=True, slots=True)
class ExtensionView:
    """The decodable extensions of a certificate plus the ones that are malformed."""

    extensions: x509.Extensions
    malformed: tuple[Malformed, ...] = ()

    def get(self, oid: x509.ObjectIdentifier) -> x509.Extension[x509.ExtensionType] | None:
        """The decoded extension with this OID, or None (absent or malformed)."""
        for ext in self.extensions:
            if ext.oid == oid:
                found: x509.Extension[x509.ExtensionType] = ext
                return found
        return None

    def broken(self, oid: x509.ObjectIdentifier) -> Malformed | None:
        """The malformed extension with this OID, if it is one."""
        dotted = oid.dotted_string
        for bad in self.malformed:
            if bad.oid == dotted:
                return bad
        return None

    def critical_oids(self) -> Iterator[str]:
        """Dotted OIDs of every extension marked critical, malformed ones included."""
        for ext in self.extensions:
            if ext.critical:
                yield ext.oid.dotted_string
        for bad in self.malformed:
            if bad.critical:
                yield bad.oid


GENERAL_NAME_KINDS: Mapping[type[x509.GeneralName], str] = {
    x509.RFC822Name: "rfc822Name",
    x509.DNSName: "dNSName",
    x509.OtherName: "otherName",
    x509.UniformResourceIdentifier: "uniformResourceIdentifier",
    x509.IPAddress: "iPAddress",
    x509.DirectoryName: "directoryName",
    x509.RegisteredID: "registeredID",
}
"""The RFC 5280 name of each kind of GeneralName."""


def alt_names(view: ExtensionView) -> tuple[tuple[str, str], ...]:
    """(kind, value) of every SubjectAltName entry: ``("dNSName", "konnektor.konlan")``;
    an otherName's value is its type-id."""
    ext = view.get(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if ext is None:
        return ()
    assert isinstance(ext.value, x509.SubjectAlternativeName)
    return tuple(
        (
            GENERAL_NAME_KINDS.get(type(name), type(name).__name__),
            name.type_id.dotted_string if isinstance(name, x509.OtherName) else str(name.value),
        )
        for name in ext.value
    )


def ocsp_urls(view: ExtensionView) -> tuple[str, ...]:
    """The OCSP responder URLs of the AuthorityInformationAccess extension, in order."""
    ext = view.get(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    if ext is None:
        return ()
    assert isinstance(ext.value, x509.AuthorityInformationAccess)
    return tuple(
        str(d.access_location.value)
        for d in ext.value
        if d.access_method == AuthorityInformationAccessOID.OCSP
    )


def extension_name(oid: str) -> str:
    """``keyUsage`` for 2.5.29.15; the dotted OID for extensions without a name here."""
    return EXTENSION_NAMES.get(oid, oid)


def extension_view(cert: x509.Certificate) -> ExtensionView:
    """The certificate's extensions; never raises for a malformed extension."""
    try:
        return ExtensionView(cert.extensions)
    except _DECODE_ERRORS as exc:
        return _salvage(cert.public_bytes(Encoding.DER), _short(exc))


@functools.lru_cache(maxsize=256)
def _salvage(der: bytes, whole_error: str) -> ExtensionView:
    """Split the certificate with pyasn1 and keep what ``cryptography`` can decode (rare path)."""
    from pyasn1.codec.der import decoder, encoder
    from pyasn1.error import PyAsn1Error
    from pyasn1_alt_modules import rfc5280

    try:
        cert, _ = decoder.decode(der, asn1Spec=rfc5280.Certificate())
    except PyAsn1Error as exc:
        reason = f"extensions cannot be decoded ({whole_error}; pyasn1: {_short(exc)})"
        return ExtensionView(x509.Extensions([]), (Malformed("", False, b"", reason),))
    tbs = cert["tbsCertificate"]
    raw = list(tbs["extensions"])

    def decoded(items: list[object]) -> x509.Extensions:
        subset = tbs["extensions"].clone()
        for item in items:
            subset.append(item)
        tbs["extensions"] = subset
        return x509.load_der_x509_certificate(encoder.encode(cert)).extensions

    good: list[object] = []
    seen: set[str] = set()
    malformed: list[Malformed] = []
    for item in raw:
        oid = str(item["extnID"])
        bad = Malformed(oid, bool(item["critical"]), bytes(item["extnValue"]), "")
        if oid in seen:
            malformed.append(_with_error(bad, "the extension occurs more than once"))
            continue
        seen.add(oid)
        try:
            decoded([item])
        except _DECODE_ERRORS as exc:
            malformed.append(_with_error(bad, _short(exc)))
        else:
            good.append(item)
    try:
        extensions = decoded(good) if good else x509.Extensions([])
    except _DECODE_ERRORS as exc:  # the good ones do not decode together: give up on all
        reason = f"extensions cannot be decoded together: {_short(exc)}"
        return ExtensionView(x509.Extensions([]), (*malformed, Malformed("", False, b"", reason)))
    return ExtensionView(extensions, tuple(malformed))


def _with_error(bad: Malformed, error: str) -> Malformed:
    return Malformed(bad.oid, bad.critical, bad.value, error)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
