"""Trust: the TSL (signature, freshness, entries), trust anchors, certificate chains and OCSP."""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

from cryptography import x509

from gemcheck.evidence import EvidenceSet
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.evidence.trust import (
    OcspEvidence,
    TrustAnchorEvidence,
    TslEvidence,
    trust_store,
    tsl_ocsp_signers,
)
from gemcheck.model import Finding
from gemcheck.pki.certutil import label
from gemcheck.pki.chain import ChainPolicy, TrustStore, build_chain, is_ca
from gemcheck.pki.ocsp import OcspPolicy, SignerSource, judge_response
from gemcheck.pki.tsl import STATUS_INACCORD, SVC_CA_PKC
from gemcheck.registry import Context, check

_STORES: weakref.WeakKeyDictionary[EvidenceSet, TrustStore] = weakref.WeakKeyDictionary()
_OCSP_SIGNERS: weakref.WeakKeyDictionary[EvidenceSet, tuple[x509.Certificate, ...]] = (
    weakref.WeakKeyDictionary()
)

_NO_TRUST = (
    "no trust material: pass --tsl TSL.xml (with --tsl-signer TSL-CA.pem) or --trust-anchor "
    "CA.pem (repeatable), or set trust.tsl / trust.anchors in the site file"
)


# -- TSL -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TslSignatureParams:
    signer_eku: str = field(
        default="0.4.0.2231.3.0",
        metadata={
            "doc": "ExtendedKeyUsage the TSL signer certificate must carry (id-tsl-kp-tslSigning)"
        },
    )
    signer_key_usage: str = field(
        default="content_commitment",
        metadata={
            "doc": "KeyUsage bit the TSL signer must have (cryptography's name; nonRepudiation)"
        },
    )


@check("tsl.signature", applies_to=TslEvidence, params=TslSignatureParams, domain="cert")
def tsl_signature(ev: TslEvidence, params: TslSignatureParams, ctx: Context) -> Iterator[Finding]:
    """The TSL's XML signature verifies and its signer is trusted through a TSL signer trust anchor.

    gemSpec_PKI TUC_PKI_011/TUC_PKI_012: the enveloped XML signature covers
    the whole list and verifies with the certificate in ``KeyInfo``; that
    signer certificate is a configured trust anchor or was issued by one
    (gematik's TSL-Signer-CA, e.g. GEM.TSL-CA51: ``--tsl-signer``); it is valid
    at the evaluation date and carries KeyUsage nonRepudiation and EKU
    id-tsl-kp-tslSigning. A tampered TSL fails (SE_1013) and is not used as a
    source of trust by ``cert.chain``. Without a configured signer anchor the
    signature cannot be judged: an ``error``.
    """
    verdict = ev.verdict
    if verdict.state == "unverified":
        problems = "; ".join(ev.anchor_problems)
        yield Finding.error(verdict.message + (f" (unreadable: {problems})" if problems else ""))
        return
    if verdict.state != "verified":
        yield Finding.fail(verdict.message)
        return
    assert ev.signature is not None and ev.signature.signer is not None
    signer = ev.signature.signer
    facts = {
        "signer": label(signer.subject),
        "algorithm": ev.signature.algorithm,
        "signer_not_after": _iso(signer.not_valid_after_utc),
    }
    problem = _signer_problem(signer, params, ctx)
    if problem:
        yield Finding.fail(f"TSL signer {facts['signer']}: {problem}", **facts)
    else:
        yield Finding.ok(verdict.message, **facts)


def _signer_problem(
    signer: x509.Certificate, params: TslSignatureParams, ctx: Context
) -> str | None:
    if not signer.not_valid_before_utc <= ctx.moment <= signer.not_valid_after_utc:
        return (
            f"not valid on {ctx.as_of} (valid {_iso(signer.not_valid_before_utc)} to "
            f"{_iso(signer.not_valid_after_utc)}) (SE_1021_CERTIFICATE_NOT_VALID_TIME)"
        )
    try:
        ku = signer.extensions.get_extension_for_class(x509.KeyUsage).value
        has_ku = bool(getattr(ku, params.signer_key_usage))
    except (x509.ExtensionNotFound, ValueError, AttributeError):
        has_ku = False
    if not has_ku:
        return f"KeyUsage lacks {params.signer_key_usage} (SE_1016_WRONG_KEYUSAGE)"
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        has_eku = x509.ObjectIdentifier(params.signer_eku) in eku
    except (x509.ExtensionNotFound, ValueError):
        has_eku = False
    if not has_eku:
        return f"ExtendedKeyUsage lacks {params.signer_eku} (SE_1017_WRONG_EXTENDEDKEYUSAGE)"
    return None


@dataclass(frozen=True, slots=True)
class TslFreshnessParams:
    grace_days: int = field(
        default=0,
        metadata={"doc": "days after NextUpdate that the TSL is still accepted (TSL grace period)"},
    )


@check("tsl.freshness", applies_to=TslEvidence, params=TslFreshnessParams, domain="cert")
def tsl_freshness(ev: TslEvidence, params: TslFreshnessParams, ctx: Context) -> Iterator[Finding]:
    """The TSL is current: its NextUpdate (plus the grace period) has not passed.

    gemSpec_PKI TUC_PKI_019: past NextUpdate the TSL is out of date
    (SW_1008_VALIDITY_WARNING_1); past NextUpdate plus the TSL grace period no
    certificate may be judged valid with it any more (SW_1009, GS-A_5336).
    Judged at ``--as-of``.
    """
    assert ev.tsl is not None
    next_update = ev.tsl.next_update
    if next_update is None:
        yield Finding.fail("the TSL has no NextUpdate date")
        return
    facts = {"next_update": _iso(next_update), "tsl_id": ev.tsl.id}
    deadline = next_update + dt.timedelta(days=params.grace_days)
    if ctx.moment <= next_update:
        yield Finding.ok(f"current until {_iso(next_update)}", **facts)
    elif ctx.moment <= deadline:
        yield Finding.ok(
            f"past NextUpdate {_iso(next_update)}, within the {params.grace_days}-day grace "
            "period (SW_1008_VALIDITY_WARNING_1)",
            **facts,
        )
    else:
        grace = f" plus {params.grace_days} days' grace" if params.grace_days else ""
        code = "SW_1009_VALIDITY_WARNING_2" if params.grace_days else "SW_1008_VALIDITY_WARNING_1"
        yield Finding.fail(
            f"expired: NextUpdate {_iso(next_update)}{grace} has passed on {ctx.as_of}; get "
            f"the current TSL ({code})",
            **facts,
        )


@check("tsl.entries", applies_to=TslEvidence, domain="cert")
def tsl_entries(ev: TslEvidence, params: object, ctx: Context) -> Iterator[Finding]:
    """Every TSL entry is usable: readable certificates, OCSP supply points, one anchor change.

    gemSpec_PKI TUC_PKI_001/TUC_PKI_013 as gematik's reference library checks
    them: a CA certificate that cannot be read (TE_1002), a CA entry without a
    ServiceSupplyPoint (TE_1026), more than one announced trust-anchor change
    (SE_1003).
    """
    assert ev.tsl is not None
    problems = list(ev.tsl.problems) + [
        f"entry {s.index} ({s.name or s.short_type}): {p}"
        for s in ev.tsl.services
        for p in s.problems
    ]
    cas = sum(1 for _ in ev.tsl.of_type(SVC_CA_PKC))
    facts = {"services": len(ev.tsl.services), "ca_services": cas, "problems": len(problems)}
    if problems:
        shown = "; ".join(problems[:3]) + (
            f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        )
        yield Finding.fail(shown, **facts)
    else:
        yield Finding.ok(f"{len(ev.tsl.services)} entries, {cas} CAs, all usable", **facts)


# -- trust anchors ---------------------------------------------------------------------------------


@check("cert.trust_anchor", applies_to=TrustAnchorEvidence)
def trust_anchor(ev: TrustAnchorEvidence, params: object, ctx: Context) -> Iterator[Finding]:
    """A certificate given as trust anchor is a CA certificate, valid at the evaluation date.

    Trust anchors (``--trust-anchor``) stand in for the TSL in test
    environments and PKIs without one: roots or intermediate CAs, trusted as
    given. An end-entity certificate or an expired CA there is a mistake.
    """
    assert ev.certificate is not None
    cert = ev.certificate
    facts = {"not_after": _iso(cert.not_valid_after_utc)}
    if not is_ca(cert):
        yield Finding.fail("not a CA certificate (basicConstraints cA is not true)", **facts)
    elif not cert.not_valid_before_utc <= ctx.moment <= cert.not_valid_after_utc:
        yield Finding.fail(
            f"not valid on {ctx.as_of} (valid {_iso(cert.not_valid_before_utc)} to "
            f"{_iso(cert.not_valid_after_utc)})",
            **facts,
        )
    else:
        yield Finding.ok(f"CA certificate valid until {_iso(cert.not_valid_after_utc)}", **facts)


# -- chain -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainParams:
    accepted_statuses: tuple[str, ...] = field(
        default=(STATUS_INACCORD,),
        metadata={"doc": "TSL service statuses a CA may have had when it issued the certificate"},
    )
    require_key_identifiers: bool = field(
        default=True,
        metadata={"doc": "the certificate's AKI and the CA's SKI must both exist (and match)"},
    )
    check_type_authorisation: bool = field(
        default=True,
        metadata={"doc": "the TSL must list the certificate's type OID for the issuing CA"},
    )
    max_depth: int = field(
        default=4, metadata={"doc": "most untrusted intermediate CAs between certificate and trust"}
    )


@check(
    "cert.chain",
    applies_to=CertificateEvidence,
    params=ChainParams,
    reads=(TslEvidence, TrustAnchorEvidence),
)
def chain(ev: CertificateEvidence, params: ChainParams, ctx: Context) -> Iterator[Finding]:
    """The certificate chains to a trusted CA that was allowed to issue it.

    gemSpec_PKI TUC_PKI_018: the issuer is found by subject DN and
    AuthorityKeyIdentifier = SubjectKeyIdentifier (TE_1027, SE_1023), its key
    verifies the signature (SE_1024), it was valid when it issued the
    certificate, its TSL status at the certificate's notBefore was in accord
    (SE_1036), and the TSL authorises it for the certificate's type (SE_1061).
    Trust comes from the TSL (``--tsl``) or from trust anchors
    (``--trust-anchor``); CA certificates found among the audited files may
    link a certificate to them. Without any trust material: an ``error`` that
    says what to pass.
    """
    assert ev.certificate is not None
    store = _store(ctx.evidence)
    notes = "; ".join(store.notes)
    if not store:
        yield Finding.error(_NO_TRUST + (f" ({notes})" if notes else ""))
        return
    policy = ChainPolicy(
        accepted_statuses=params.accepted_statuses,
        require_key_identifiers=params.require_key_identifiers,
        check_type_authorisation=params.check_type_authorisation,
        max_depth=params.max_depth,
    )
    result = build_chain(ev.certificate, store, policy)
    facts: dict[str, object] = {"path": list(result.path)}
    if result.code:
        facts["code"] = result.code
    if result.ok:
        yield Finding.ok(result.message, **facts)
    else:
        yield Finding.fail(result.message + (f"; note: {notes}" if notes else ""), **facts)


def _store(evidence: EvidenceSet) -> TrustStore:
    store = _STORES.get(evidence)
    if store is None:
        store = _STORES[evidence] = trust_store(evidence)
    return store


# -- OCSP ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OcspParams:
    signer_sources: tuple[SignerSource, ...] = field(
        default=("ca", "delegated", "tsl"),
        metadata={
            "doc": "who may sign a response: the issuing CA (ca), a signer it issued with EKU "
            "OCSPSigning (delegated), an OCSP signer listed in the TSL (tsl)"
        },
    )
    require_cert_hash: bool = field(
        default=False,
        metadata={"doc": "fail a response without the certHash extension (ENFORCE_CERTHASH_CHECK)"},
    )
    tolerance_seconds: float = field(
        default=37.5,
        metadata={"doc": "clock tolerance for producedAt, thisUpdate and nextUpdate (GS-A_5215)"},
    )


@check("cert.ocsp", applies_to=OcspEvidence, params=OcspParams, reads=(TslEvidence,))
def ocsp_status(ev: OcspEvidence, params: OcspParams, ctx: Context) -> Iterator[Finding]:
    """An authentic, fresh OCSP response says the certificate is good (not revoked, not unknown).

    gemSpec_PKI TUC_PKI_006: the response is signed by the issuing CA, by a
    delegated OCSP signer the CA issued, or by an OCSP signer listed in the TSL
    (SE_1030, SE_1031); it answers about this certificate (CertID); its certHash
    matches the certificate where present (SE_1040, SE_1041); producedAt and
    thisUpdate/nextUpdate were current when it was fetched, with gematik's
    tolerance of 37.5 s (GS-A_5215); and it says ``good`` (revoked:
    SW_1047 with the revocation time judged at ``--as-of``; unknown: TW_1044).
    An unreachable responder is an ``error`` (TE_1032); ``--offline`` skips.
    """
    if ev.outcome == "offline":
        yield Finding.skip("OCSP not asked: offline mode (SW_1039_NO_OCSP_CHECK)")
        return
    if ev.outcome == "nocheck":
        yield Finding.skip("OCSP signer certificate with id-pkix-ocsp-nocheck: not checked by OCSP")
        return
    assert ev.certificate is not None and ev.issuer is not None and ev.fetched_at is not None
    signers = _OCSP_SIGNERS.get(ctx.evidence)
    if signers is None:
        signers = _OCSP_SIGNERS[ctx.evidence] = tsl_ocsp_signers(ctx.evidence)
    policy = OcspPolicy(
        signer_sources=params.signer_sources,
        require_cert_hash=params.require_cert_hash,
        tolerance=dt.timedelta(seconds=params.tolerance_seconds),
    )
    verdict = judge_response(
        ev.response,
        ev.certificate,
        ev.issuer,
        fetched_at=ev.fetched_at,
        moment=ctx.moment,
        tsl_signers=signers,
        policy=policy,
    )
    facts = {"responder": ev.url, "cert_id_hash": ev.hash_algorithm, **verdict.facts}
    if verdict.verdict == "good":
        yield Finding.ok(verdict.message, status="good", **facts)
    elif verdict.verdict == "invalid":
        yield Finding.fail(f"response not acceptable: {verdict.message}", status="invalid", **facts)
    else:
        yield Finding.fail(verdict.message, status=verdict.verdict, **facts)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
