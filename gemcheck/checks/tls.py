"""TLS endpoints against gemSpec_Krypt: versions, cipher suites, groups, renegotiation, identity.

Every check judges one probed endpoint (:class:`TlsEvidence`). A probe that got
no decisive answer for the part a check judges makes that check report
``error``, never ``pass``; an endpoint that was not probed (``--offline``) is
``skip``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gemcheck.evidence.tls import TlsEvidence
from gemcheck.model import Finding
from gemcheck.pki.types import identify, key_family
from gemcheck.registry import Context, check
from gemcheck.tls.catalog import Suite, suite, weaknesses

P = TypeVar("P")
TlsCheck = Callable[[TlsEvidence, P, Context], Iterator[Finding]]

SHOWN = 6
"""How many items a message names before it says "and N more" (the evidence has all)."""


def _probed(func: TlsCheck[P]) -> TlsCheck[P]:
    """Skip an endpoint that was not probed, saying why."""

    @functools.wraps(func)
    def run(ev: TlsEvidence, params: P, ctx: Context) -> Iterator[Finding]:
        if ev.skipped:
            yield Finding.skip(ev.skipped)
            return
        yield from func(ev, params, ctx)

    return run


def _undecided(ev: TlsEvidence, area: str) -> dict[str, str]:
    return dict(ev.probe_errors.get(area, {}))


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


# -- protocol versions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VersionParams:
    refused: tuple[str, ...] = field(
        default=("SSLv3", "TLSv1.0", "TLSv1.1"),
        metadata={"doc": "versions the endpoint must refuse (SSLv3, TLSv1.0, TLSv1.1, ...)"},
    )
    required: tuple[str, ...] = field(
        default=("TLSv1.2",), metadata={"doc": "versions the endpoint must accept"}
    )


@check("tls.protocol_versions", applies_to=TlsEvidence, params=VersionParams)
@_probed
def protocol_versions(ev: TlsEvidence, params: VersionParams, ctx: Context) -> Iterator[Finding]:
    """The endpoint accepts the required TLS versions and refuses the forbidden ones.

    One ClientHello per version (SSLv3, TLS 1.0, 1.1, 1.2, 1.3); a version counts as
    accepted when the server's ServerHello selects it. gemSpec_Krypt forbids SSL
    (GS-A_5035), TLS 1.0 (GS-A_4387) and TLS 1.1 (A_18464) and requires TLS 1.2
    (GS-A_4385); TLS 1.3 is optional (A_18467) and reported.
    """
    accepted = set(ev.versions)
    undecided = _undecided(ev, "versions")
    facts = {
        "accepted": list(ev.versions),
        "handshake": ev.handshake or ev.handshake_error,
        "client_certificate_requested": ev.client_auth_requested,
    }
    bad = [v for v in params.refused if v in accepted]
    missing = [v for v in params.required if v not in accepted and v not in undecided]
    unknown = [v for v in (*params.refused, *params.required) if v in undecided]
    shown = ", ".join(ev.versions) or "no version"
    if bad or missing:
        parts = [f"accepts {', '.join(bad)} (must be refused)"] if bad else []
        parts += [f"does not accept {', '.join(missing)} (required)"] if missing else []
        yield Finding.fail("; ".join(parts) + f"; accepted: {shown}", **facts)
    elif unknown:
        why = "; ".join(f"{v}: {undecided[v]}" for v in unknown)
        yield Finding.error(f"could not decide {', '.join(unknown)} ({why})", **facts)
    else:
        refused = [v for v in params.refused if v not in accepted]
        tail = f"; refuses {', '.join(refused)}" if refused else ""
        yield Finding.ok(f"accepts {shown}{tail}", **facts)


# -- TLS 1.2 cipher suites -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuiteParams:
    allowed: tuple[str, ...] = field(
        default=(
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        ),
        metadata={"doc": "TLS 1.2 cipher suites allowed (IANA names)"},
    )


@check("tls.cipher_suites", applies_to=TlsEvidence, params=SuiteParams)
@_probed
def cipher_suites(ev: TlsEvidence, params: SuiteParams, ctx: Context) -> Iterator[Finding]:
    """The endpoint accepts no TLS 1.2 cipher suite outside the allow-list.

    Every TLS 1.2 suite the local OpenSSL can offer is tried, one per ClientHello.
    Each accepted suite outside the profile's allow-list is named with what is weak
    about it (RSA key exchange, DHE-RSA, CBC mode, SHA-1 MAC, NULL, anonymous ...).
    gemSpec_Krypt GS-A_4384-03 and A_17124-03 name the suites; A_17322 allows only
    those admitted.
    """
    if "TLSv1.2" not in ev.versions:
        yield Finding.skip("TLS 1.2 is not accepted: no TLS 1.2 suites to judge")
        return
    outside = [s for s in ev.tls12_suites if s.name not in params.allowed]
    undecided = _undecided(ev, "tls12_suites")
    facts = {
        "accepted": [str(s) for s in ev.tls12_suites],
        "not_allowed": [{"suite": s.name, "code": s.hex, "why": list(_why(s))} for s in outside],
        "tried": ev.tls12_suites_tried,
    }
    if outside:
        named = [f"{s.name} ({s.hex}: {', '.join(_why(s))})" for s in outside]
        note = f" ({len(undecided)} probes undecided)" if undecided else ""
        yield Finding.fail(
            f"accepts {len(outside)} suite(s) outside the allow-list: {_names(named)}{note}",
            **facts,
        )
    elif undecided:
        yield Finding.error(
            f"{len(undecided)} suite probe(s) got no decisive answer: "
            f"{_names([f'0x{k}: {v}' for k, v in undecided.items()])}",
            **facts,
        )
    else:
        accepted = _names([s.name for s in ev.tls12_suites]) or "none"
        yield Finding.ok(
            f"of {ev.tls12_suites_tried} suites tried, accepts only allowed ones: {accepted}",
            **facts,
        )


def _why(s: Suite) -> tuple[str, ...]:
    return weaknesses(s.name) or ("not in the allow-list",)


@dataclass(frozen=True, slots=True)
class RequiredSuitesParams:
    required: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "rsa": (
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            )
        },
        metadata={
            "doc": "key family of a presented certificate (rsa, ec, or any for every endpoint)"
            " -> TLS 1.2 suites (IANA names) the endpoint must accept"
        },
    )


@check("tls.required_suites", applies_to=TlsEvidence, params=RequiredSuitesParams)
@_probed
def required_suites(
    ev: TlsEvidence, params: RequiredSuitesParams, ctx: Context
) -> Iterator[Finding]:
    """The endpoint accepts the mandatory TLS 1.2 cipher suites for the identities it presents.

    An ECDHE_RSA suite needs an RSA certificate and an ECDHE_ECDSA suite an ECC one,
    so the profile names the mandatory suites per key family of the presented
    certificate(s): GS-A_4384-03 the ECDHE_RSA AES-GCM pair, A_17124-03 the
    ECDHE_ECDSA pair. The family ``any`` applies to every endpoint.
    """
    if "TLSv1.2" not in ev.versions:
        yield Finding.skip("TLS 1.2 is not accepted: see the protocol version rules")
        return
    families = _families(ev)
    applicable = [f for f in params.required if f == "any" or f in families]
    if not families and any(f != "any" for f in params.required) and not applicable:
        yield Finding.error("no certificate was captured, so it is unknown which suites apply")
        return
    if not applicable:
        wanted = ", ".join(params.required)
        yield Finding.skip(f"presents no {wanted} certificate: the requirement does not apply")
        return
    accepted = {s.name for s in ev.tls12_suites}
    needed = list(dict.fromkeys(name for f in applicable for name in params.required[f]))
    undecided = {suite(int(code, 16)).name for code in _undecided(ev, "tls12_suites")}
    missing = [n for n in needed if n not in accepted and n not in undecided]
    unknown = [n for n in needed if n in undecided]
    facts = {"key_families": sorted(families), "required": needed, "missing": missing}
    if missing:
        yield Finding.fail(f"does not accept {', '.join(missing)}", **facts)
    elif unknown:
        yield Finding.error(f"no decisive answer for {', '.join(unknown)}", **facts)
    else:
        yield Finding.ok(f"accepts {', '.join(needed)}", **facts)


def _families(ev: TlsEvidence) -> set[str]:
    out: set[str] = set()
    for chain in ev.chains:
        try:
            out.add(key_family(x509.load_der_x509_certificate(chain[0])))
        except ValueError:
            continue
    return out


# -- TLS 1.3 cipher suites -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tls13SuiteParams:
    allowed: tuple[str, ...] = field(
        default=("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"),
        metadata={"doc": "TLS 1.3 cipher suites allowed (IANA names)"},
    )
    required: tuple[str, ...] = field(
        default=("TLS_AES_128_GCM_SHA256",),
        metadata={"doc": "TLS 1.3 suites an endpoint offering TLS 1.3 must accept"},
    )


@check("tls.tls13_suites", applies_to=TlsEvidence, params=Tls13SuiteParams)
@_probed
def tls13_suites(ev: TlsEvidence, params: Tls13SuiteParams, ctx: Context) -> Iterator[Finding]:
    """If the endpoint offers TLS 1.3, it does so only with the allowed suites.

    TLS 1.3 is optional (gemSpec_Krypt A_18467, KANN) but, when offered, only in
    BSI TR-02102-2 configurations and with at least TLS_AES_128_GCM_SHA256. All five
    TLS 1.3 suites are tried one by one. An endpoint without TLS 1.3 passes.
    """
    if "TLSv1.3" not in ev.versions:
        yield Finding.ok("does not offer TLS 1.3 (optional)")
        return
    accepted = [s.name for s in ev.tls13_suites]
    outside = [n for n in accepted if n not in params.allowed]
    missing = [n for n in params.required if n not in accepted]
    undecided = _undecided(ev, "tls13_suites")
    facts = {"accepted": accepted, "not_allowed": outside, "missing": missing}
    if outside or missing:
        parts = [f"accepts {', '.join(outside)} (not allowed)"] if outside else []
        parts += [f"does not accept {', '.join(missing)} (required)"] if missing else []
        yield Finding.fail("TLS 1.3 " + "; ".join(parts), **facts)
    elif undecided:
        yield Finding.error(
            f"{len(undecided)} TLS 1.3 suite probe(s) got no decisive answer", **facts
        )
    else:
        yield Finding.ok(f"TLS 1.3 with {', '.join(accepted)}", **facts)


# -- groups ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupParams:
    allowed: tuple[str, ...] = field(
        default=("secp256r1", "secp384r1", "brainpoolP256r1", "brainpoolP384r1"),
        metadata={"doc": "groups a TLS 1.2 ECDHE key exchange may use (IANA names)"},
    )


@check("tls.groups", applies_to=TlsEvidence, params=GroupParams)
@_probed
def groups(ev: TlsEvidence, params: GroupParams, ctx: Context) -> Iterator[Finding]:
    """The endpoint's TLS 1.2 ECDHE key exchange uses only the allowed curves.

    Each named group of RFC 8422 (the NIST and brainpool curves, x25519, x448 and the
    legacy binary curves) is offered alone with every ECDHE suite; the group counts
    as accepted when the ServerKeyExchange uses it. GS-A_4384-03 and A_17124-03:
    P-256 and P-384 (MUSS), brainpoolP256r1 and brainpoolP384r1 (SOLL), other curves
    DÜRFEN NICHT. Groups a TLS 1.3 server selects are reported in the evidence.
    """
    if "TLSv1.2" not in ev.versions:
        yield Finding.skip("TLS 1.2 is not accepted: no TLS 1.2 key exchange to judge")
        return
    outside = [g for g in ev.groups if g not in params.allowed]
    undecided = _undecided(ev, "groups")
    facts = {
        "accepted": list(ev.groups),
        "not_allowed": outside,
        "tls13_groups": list(ev.tls13_groups),
    }
    if outside:
        yield Finding.fail(
            f"accepts ECDHE with {', '.join(outside)} (not allowed); "
            f"accepted: {', '.join(ev.groups)}",
            **facts,
        )
    elif undecided:
        yield Finding.error(
            f"group probe(s) got no decisive answer: {_names(list(undecided))}", **facts
        )
    elif ev.groups:
        yield Finding.ok(f"ECDHE only with {', '.join(ev.groups)}", **facts)
    else:
        yield Finding.ok("accepts no ECDHE key exchange in TLS 1.2", **facts)


# -- renegotiation and handshake signatures --------------------------------------------------------


@check("tls.secure_renegotiation", applies_to=TlsEvidence)
@_probed
def secure_renegotiation(ev: TlsEvidence, params: object, ctx: Context) -> Iterator[Finding]:
    """The endpoint supports secure renegotiation (RFC 5746 renegotiation_info).

    Read off the ServerHello of the highest TLS version <= 1.2 the endpoint accepts:
    a server supporting RFC 5746 answers the client's renegotiation_info with its
    own. gemSpec_Krypt GS-A_5526 (SOLL support RFC 5746) and GS-A_5322 (renegotiate
    only per RFC 5746, otherwise refuse). TLS 1.3 has no renegotiation.
    """
    if ev.secure_renegotiation is None:
        yield Finding.skip("no TLS version <= 1.2 accepted: TLS 1.3 has no renegotiation")
    elif ev.secure_renegotiation:
        yield Finding.ok("supports secure renegotiation (RFC 5746)")
    else:
        yield Finding.fail(
            "does not support secure renegotiation: the ServerHello has no "
            "renegotiation_info extension (RFC 5746)"
        )


@check("tls.handshake_signature", applies_to=TlsEvidence)
@_probed
def handshake_signature(ev: TlsEvidence, params: object, ctx: Context) -> Iterator[Finding]:
    """The endpoint does not sign the TLS 1.2 handshake with MD5, SHA-1 or SHA-224.

    A ClientHello that offers only MD5, SHA-1 and SHA-224 signature schemes must be
    refused: gemSpec_Krypt A_21275-01 allows handshake signatures only with SHA-256,
    SHA-384, SHA-512 or SHA-3 (merely listing SHA-1 is tolerated, signing with it is
    not). TLS 1.3 signatures are encrypted and not judged here.
    """
    if not ev.signatures_tested:
        yield Finding.skip("TLS 1.2 is not accepted: no TLS 1.2 handshake signature to judge")
    elif ev.weak_signature:
        yield Finding.fail(
            f"signs the key exchange with {ev.weak_signature} when the client "
            "offers nothing stronger",
            signature=ev.weak_signature,
        )
    elif undecided := _undecided(ev, "signatures"):
        yield Finding.error(
            f"signature probe got no decisive answer: {'; '.join(undecided.values())}"
        )
    else:
        yield Finding.ok("refuses to sign the handshake with MD5, SHA-1 or SHA-224")


# -- the certificate presented ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertificateParams:
    required_types: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"konnektor": ("C.AK.AUT",)},
        metadata={"doc": "endpoint role -> TI certificate types its server certificate may have"},
    )
    documented_identities: tuple[str, ...] = field(
        default=(),
        metadata={
            "doc": "SHA-256 fingerprints (hex, colons optional) of imported server certificates "
            "the site has documented; they pass in place of the required type"
        },
    )


@check("tls.certificate", applies_to=TlsEvidence, params=CertificateParams)
@_probed
def certificate(ev: TlsEvidence, params: CertificateParams, ctx: Context) -> Iterator[Finding]:
    """The endpoint presents a certificate of the TI type its role requires.

    A Konnektor presents its C.AK.AUT identity (policy OID 1.2.276.0.76.4.79,
    gemSpec_PKI GS-A_4610 / Tab_PKI_243; gemSpec_Kon A_21760), or an identity the
    admin imported instead, documented by its SHA-256 fingerprint in the profile or
    the site's tailoring. The presented certificates are also audited by the
    certificate rules (key, signature, validity).
    """
    if not ev.chains:
        if not ev.versions:
            yield Finding.skip("accepts no TLS version: no certificate to judge")
        elif set(ev.versions) <= {"TLSv1.3"}:
            yield Finding.error(
                f"TLS 1.3 only and the full handshake failed, so the "
                f"certificate could not be read ({ev.handshake_error})"
            )
        else:
            yield Finding.fail("presents no certificate (anonymous key exchange)")
        return
    wanted = params.required_types.get(ev.role or "", ())
    documented = {_hex(f) for f in params.documented_identities}
    problems: list[str] = []
    seen: list[str] = []
    for chain in ev.chains:
        try:
            leaf = x509.load_der_x509_certificate(chain[0])
        except ValueError as exc:
            problems.append(f"a presented certificate cannot be parsed ({exc})")
            continue
        kind = identify(leaf).name or "no TI type"
        fingerprint = leaf.fingerprint(hashes.SHA256()).hex()
        note = ", documented imported identity" if fingerprint in documented else ""
        seen.append(f"{kind} ({fingerprint[:16]}...{note})")
        if wanted and kind not in wanted and not note:
            problems.append(
                f"presents {kind}, not {' or '.join(wanted)}, and its SHA-256 "
                f"fingerprint {fingerprint} is not a documented identity"
            )
    facts = {"role": ev.role, "presented": seen, "required": list(wanted)}
    if problems:
        yield Finding.fail("; ".join(problems), **facts)
    elif wanted:
        yield Finding.ok(f"presents {', '.join(seen)} as role {ev.role} requires", **facts)
    else:
        role = ev.role or "(none)"
        yield Finding.ok(
            f"presents {', '.join(seen)}; no type is required for role {role}", **facts
        )


def _hex(fingerprint: str) -> str:
    return fingerprint.replace(":", "").replace(" ", "").lower()
