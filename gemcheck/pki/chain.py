"""Certificate chains: find the issuer, verify each link, and judge the trusted CA at issuance.

Follows gemSpec_PKI TUC_PKI_018 as gematik's reference library implements it:
the issuer is a trusted CA whose subject DN equals the certificate's issuer DN
**and** whose SubjectKeyIdentifier equals the certificate's
AuthorityKeyIdentifier; its key verifies the signature; it was valid when it
issued the certificate (the certificate's ``notBefore``); its TSL service
status at that moment was in accord (a CA revoked in the TSL before the
certificate was issued makes it invalid, SE_1036); and the TSL authorises it to
issue the certificate's type (its ServiceInformationExtensions list the type
OID, SE_1061).

Trusted CAs come from a TSL or from trust anchors given directly (roots or
intermediate CAs). Untrusted CA certificates found next to the audited ones
(the chain inside a PKCS#12, say) may link a certificate to a trusted CA; every
link is verified the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gemcheck.pki.certutil import issued_by, label
from gemcheck.pki.oids import CERT_TYPES, TSL_SIGNER
from gemcheck.pki.tsl import STATUS_INACCORD, TslService
from gemcheck.pki.types import identify


@dataclass(frozen=True, slots=True)
class TrustedCa:
    """A CA certificate the audit trusts, where that trust comes from, and its TSL entry if any."""

    certificate: x509.Certificate
    origin: str
    service: TslService | None = None

    @property
    def name(self) -> str:
        return label(self.certificate.subject)


@dataclass(frozen=True, slots=True)
class ChainPolicy:
    """How strictly chains are judged (from the profile's parameters)."""

    accepted_statuses: tuple[str, ...] = (STATUS_INACCORD,)
    require_key_identifiers: bool = True
    check_type_authorisation: bool = True
    max_depth: int = 4


@dataclass(frozen=True, slots=True)
class ChainResult:
    """The outcome for one certificate: trusted or not, why, and the path that was found."""

    ok: bool
    message: str
    code: str | None = None
    path: tuple[str, ...] = ()
    anchor: TrustedCa | None = None
    issuer: x509.Certificate | None = None


class TrustStore:
    """Trusted CAs and untrusted intermediates, indexed by subject DN."""

    def __init__(
        self,
        trusted: Iterable[TrustedCa],
        pool: Iterable[x509.Certificate] = (),
        notes: Iterable[str] = (),
    ) -> None:
        self.trusted: dict[x509.Name, list[TrustedCa]] = {}
        self.pool: dict[x509.Name, list[x509.Certificate]] = {}
        self._by_fingerprint: dict[bytes, TrustedCa] = {}
        self.notes: tuple[str, ...] = tuple(notes)
        for ca in trusted:
            self.trusted.setdefault(ca.certificate.subject, []).append(ca)
            self._by_fingerprint.setdefault(_fingerprint(ca.certificate), ca)
        seen = set(self._by_fingerprint)
        for cert in pool:
            if not is_ca(cert):
                continue  # leaves never issue: no need to hash them
            fingerprint = _fingerprint(cert)
            if fingerprint not in seen:
                seen.add(fingerprint)
                self.pool.setdefault(cert.subject, []).append(cert)

    def __bool__(self) -> bool:
        return bool(self._by_fingerprint)

    def lookup(self, cert: x509.Certificate) -> TrustedCa | None:
        """The trusted entry that is exactly this certificate, if any."""
        return self._by_fingerprint.get(_fingerprint(cert))


def build_chain(
    cert: x509.Certificate, store: TrustStore, policy: ChainPolicy = ChainPolicy()
) -> ChainResult:
    """Chain ``cert`` to a trusted CA, or say exactly why it does not chain."""
    itself = store.lookup(cert)
    if itself is not None:
        return ChainResult(True, f"is itself a trusted CA ({itself.origin})", anchor=itself)
    return _extend(cert, store, policy, depth=0)


def find_issuer(
    cert: x509.Certificate, store: TrustStore
) -> tuple[x509.Certificate, TrustedCa | None] | None:
    """The certificate that issued ``cert`` (trusted CAs first, then intermediates).

    Enough to address an OCSP request (``cert.chain`` verifies the link). The
    trusted entry is returned too when the issuer is a trusted CA (its TSL
    entry names the OCSP responder).
    """
    for ca in store.trusted.get(cert.issuer, []):
        if _may_have_issued(cert, ca.certificate):
            return ca.certificate, ca
    for inter in store.pool.get(cert.issuer, []):
        if _may_have_issued(cert, inter):
            return inter, None
    return None


def _may_have_issued(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Names match and key identifiers match (the signature decides when they are missing)."""
    aki, ski = authority_key_id(cert), subject_key_id(ca)
    if aki is not None and ski is not None:
        return aki == ski
    return issued_by(cert, ca)


def _extend(
    cert: x509.Certificate, store: TrustStore, policy: ChainPolicy, depth: int
) -> ChainResult:
    issuer_dn = cert.issuer
    if issuer_dn == cert.subject and issued_by(cert, cert):
        return _fail("self-signed and not a trusted CA", "TE_1027_CA_CERT_MISSING")
    trusted = store.trusted.get(issuer_dn, [])
    pool = store.pool.get(issuer_dn, []) if depth < policy.max_depth else []
    if not trusted and not pool:
        return _fail(
            f"issuer {issuer_dn.rfc4514_string()} is not in the trust material",
            "TE_1027_CA_CERT_MISSING",
        )
    failures: list[ChainResult] = []
    for ca in trusted:
        broken = _link(cert, ca.certificate, policy)
        result = broken or _judge_trusted(cert, ca, policy)
        if result.ok:
            return result
        failures.append(result)
    for inter in pool:
        broken = _link(cert, inter, policy)
        if broken is not None:
            failures.append(broken)
            continue
        upper = _extend(inter, store, policy, depth + 1)
        if upper.ok:
            name = label(inter.subject)
            return ChainResult(
                True,
                f"chains through {name} to {upper.anchor.name if upper.anchor else '?'}",
                path=(name, *upper.path),
                anchor=upper.anchor,
                issuer=inter,
            )
        failures.append(replace(upper, message=f"through {label(inter.subject)}: {upper.message}"))
    return failures[0]


def _link(cert: x509.Certificate, ca: x509.Certificate, policy: ChainPolicy) -> ChainResult | None:
    """None when ``ca`` may have issued ``cert``; otherwise the failure."""
    name = label(ca.subject)
    aki, ski = authority_key_id(cert), subject_key_id(ca)
    if (aki is not None and ski is not None and aki != ski) or (
        policy.require_key_identifiers and (aki is None or ski is None)
    ):
        return _fail(
            f"AuthorityKeyIdentifier {_hex(aki)} does not match the SubjectKeyIdentifier "
            f"{_hex(ski)} of {name}",
            "SE_1023_AUTHORITYKEYID_DIFFERENT",
        )
    if not issued_by(cert, ca):
        return _fail(
            f"signature does not verify with the key of {name}",
            "SE_1024_CERTIFICATE_NOT_VALID_MATH",
        )
    if not is_ca(ca):
        return _fail(f"{name} is not a CA certificate (basicConstraints cA is not true)", None)
    issued = cert.not_valid_before_utc
    if not ca.not_valid_before_utc <= issued <= ca.not_valid_after_utc:
        return _fail(
            f"{name} was not valid when it issued the certificate ({_day(issued)}; CA valid "
            f"{_day(ca.not_valid_before_utc)} to {_day(ca.not_valid_after_utc)})",
            "SE_1021_CERTIFICATE_NOT_VALID_TIME",
        )
    return None


def _judge_trusted(cert: x509.Certificate, ca: TrustedCa, policy: ChainPolicy) -> ChainResult:
    service = ca.service
    if service is not None:
        issued = cert.not_valid_before_utc
        status = service.status_at(issued)
        if status is not None and status.status not in policy.accepted_statuses:
            since = f" since {_day(status.since)}" if status.since else ""
            return _fail(
                f"issuing CA {ca.name} was {status.short}{since} in the TSL when the certificate "
                f"was issued on {_day(issued)}",
                "SE_1036_CA_CERTIFICATE_REVOKED_IN_TSL",
            )
        denied = _unauthorised(cert, ca, service) if policy.check_type_authorisation else None
        if denied is not None:
            return denied
    return ChainResult(
        True,
        f"issued by {ca.name} ({ca.origin})",
        path=(ca.name,),
        anchor=ca,
        issuer=ca.certificate,
    )


def _unauthorised(cert: x509.Certificate, ca: TrustedCa, service: TslService) -> ChainResult | None:
    """SE_1061 when the TSL does not list the certificate's type OID for the issuing CA."""
    info = identify(cert)
    if info.oid is None or info.name == TSL_SIGNER or info.oid in service.extension_oids:
        return None
    allowed = ", ".join(CERT_TYPES.get(oid, oid) for oid in service.extension_oids)
    return _fail(
        f"issuing CA {ca.name} is not authorised by the TSL to issue {info.name} ({info.oid}); "
        f"it may issue: {allowed or 'nothing'}",
        "SE_1061_CERT_TYPE_CA_NOT_AUTHORIZED",
    )


def is_ca(cert: x509.Certificate) -> bool:
    """True when basicConstraints says ``cA: true``."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def authority_key_id(cert: x509.Certificate) -> bytes | None:
    """The keyIdentifier of the AuthorityKeyIdentifier extension, if present and readable."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except (x509.ExtensionNotFound, ValueError):
        return None
    return ext.value.key_identifier


def subject_key_id(cert: x509.Certificate) -> bytes | None:
    """The SubjectKeyIdentifier, if present and readable."""
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except (x509.ExtensionNotFound, ValueError):
        return None


def _fail(message: str, code: str | None) -> ChainResult:
    return ChainResult(False, f"{message} ({code})" if code else message, code)


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def _hex(value: bytes | None) -> str:
    return value.hex(":").upper() if value is not None else "(missing)"


def _day(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d")
