"""Trust evidence: the trust list (TSL), trust anchors given directly, and OCSP answers.

The chain and OCSP checks apply to certificates and read the trust material
from the other evidence of the audit (:func:`trust_store`). OCSP answers are
fetched by a collector and stored as :class:`OcspEvidence` (the DER response
and when it was fetched), so the OCSP check is pure and a report can be
reproduced from stored evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cryptography import x509

from gemcheck.evidence import Evidence
from gemcheck.evidence.certificate import CertificateEvidence

if TYPE_CHECKING:
    from gemcheck.pki.chain import TrustStore
    from gemcheck.pki.tsl import TrustList
    from gemcheck.pki.tslsig import SignatureVerdict, TslSignature

OcspOutcome = Literal["response", "offline", "nocheck"]


@dataclass(frozen=True, slots=True)
class TslEvidence(Evidence):
    """A TSL file: parsed (``tsl``), its XML signature, and the TSL signer trust anchors configured.

    ``code`` is gematik's error code when the file could not be used at all
    (``TE_1011_TSL_NOT_WELLFORMED`` ...); ``anchor_problems`` names signer
    anchor files that could not be read.
    """

    kind = "tsl"

    tsl: TrustList | None = None
    signature: TslSignature | None = None
    signer_anchors: tuple[x509.Certificate, ...] = ()
    anchor_problems: tuple[str, ...] = ()
    sha256: str = ""
    code: str | None = None

    @property
    def verdict(self) -> SignatureVerdict:
        """The signature judged against the configured TSL signer anchors."""
        from gemcheck.pki.tslsig import judge_signature

        return judge_signature(self.signature, self.signer_anchors)

    def facets(self) -> Mapping[str, str | None]:
        return {"subject": self.subject, "file": self.location.file}


@dataclass(frozen=True, slots=True)
class TrustAnchorEvidence(Evidence):
    """A CA certificate trusted directly (``--trust-anchor``): a root or an intermediate CA."""

    kind = "trust-anchor"

    certificate: x509.Certificate | None = None


@dataclass(frozen=True, slots=True)
class OcspEvidence(Evidence):
    """The OCSP exchange for one certificate.

    ``outcome`` is ``response`` (``response`` holds the DER answer, fetched at
    ``fetched_at`` from ``url`` with a CertID hashed with ``hash_algorithm``),
    ``offline`` (not asked: offline mode) or ``nocheck`` (an OCSP signer
    certificate with id-pkix-ocsp-nocheck, which OCSP does not cover). An
    unreachable responder is an ``error``.
    """

    kind = "ocsp"

    outcome: OcspOutcome = "response"
    url: str = ""
    response: bytes = b""
    hash_algorithm: str = ""
    fetched_at: dt.datetime | None = None
    certificate: x509.Certificate | None = None
    issuer: x509.Certificate | None = None

    def facets(self) -> Mapping[str, str | None]:
        return {"subject": self.subject, "file": self.location.file, "outcome": self.outcome}


def trust_store(items: Iterable[Evidence]) -> TrustStore:
    """The trusted CAs of an audit (TSL CA entries, trust anchors) and its other CA certificates.

    A TSL whose signature is invalid, or whose signer is not trusted by a
    configured TSL signer anchor, is not used: the store's notes say so. A TSL
    whose signature could not be judged for want of an anchor is used.
    """
    from gemcheck.pki.chain import TrustedCa, TrustStore
    from gemcheck.pki.tsl import SVC_CA_PKC

    trusted: list[TrustedCa] = []
    pool: list[x509.Certificate] = []
    notes: list[str] = []
    for item in items:
        where = item.location.file or item.subject
        if isinstance(item, TslEvidence):
            if item.tsl is None:
                notes.append(f"trust list {where} not used: {item.error}")
            elif item.verdict.state in ("invalid", "untrusted-signer"):
                notes.append(f"trust list {where} not used: {item.verdict.message}")
            else:
                trusted += [
                    TrustedCa(cert, f"TSL {where}", service)
                    for service in item.tsl.of_type(SVC_CA_PKC)
                    for cert in service.certificates
                ]
        elif isinstance(item, TrustAnchorEvidence):
            if item.certificate is None:
                notes.append(f"trust anchor {where} not used: {item.error}")
            else:
                trusted.append(TrustedCa(item.certificate, f"trust anchor {where}"))
        elif isinstance(item, CertificateEvidence) and item.certificate is not None:
            pool.append(item.certificate)
    return TrustStore(trusted, pool, notes)


def tsl_ocsp_signers(items: Iterable[Evidence]) -> tuple[x509.Certificate, ...]:
    """The OCSP signer certificates listed in the usable TSLs (``Certstatus/OCSP`` services)."""
    from gemcheck.pki.tsl import SVC_OCSP

    return tuple(
        cert
        for item in items
        if isinstance(item, TslEvidence)
        and item.tsl is not None
        and item.verdict.state in ("verified", "unverified")
        for service in item.tsl.of_type(SVC_OCSP)
        for cert in service.certificates
    )
