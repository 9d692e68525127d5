"""Cryptographic basics of every certificate: key, signature algorithm, validity, expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.model import Finding
from gemcheck.pki.algorithms import key_info, signature_algorithm
from gemcheck.registry import Context, check


@dataclass(frozen=True, slots=True)
class KeyAlgorithmParams:
    allowed_curves: tuple[str, ...] = field(
        default=("brainpoolP256r1",),
        metadata={
            "doc": "EC curves allowed (cryptography's names, e.g. brainpoolP256r1, secp256r1)"
        },
    )
    min_rsa_bits: int = field(default=2048, metadata={"doc": "smallest RSA modulus allowed"})
    rsa_allowed_until: dt.date | None = field(
        default=None,
        metadata={"doc": "last day RSA keys are accepted (the RSA sunset); none: no end"},
    )
    allow_rsa: bool = field(default=True, metadata={"doc": "whether RSA keys are allowed at all"})


@check("cert.key_algorithm", applies_to=CertificateEvidence, params=KeyAlgorithmParams)
def key_algorithm(
    ev: CertificateEvidence, params: KeyAlgorithmParams, ctx: Context
) -> Iterator[Finding]:
    """The subject key uses an allowed algorithm, curve and size.

    TI identities use ECC on brainpoolP256r1 (gemSpec_Krypt Tab_KRYPT_002a);
    NIST P-256 where gematik allows it; RSA only with at least 2048 bits and
    only until the RSA sunset date the profile gives.
    """
    assert ev.certificate is not None
    key = key_info(ev.certificate)
    facts = {"key": str(key), "bits": key.bits}
    if key.family == "ec":
        if key.curve in params.allowed_curves:
            yield Finding.ok(f"{key} is an allowed curve", **facts)
        else:
            allowed = ", ".join(params.allowed_curves)
            yield Finding.fail(f"curve {key.curve} is not allowed (allowed: {allowed})", **facts)
    elif key.family == "rsa":
        if not params.allow_rsa:
            yield Finding.fail(f"{key}: RSA keys are not allowed by this profile", **facts)
        elif key.bits < params.min_rsa_bits:
            yield Finding.fail(f"{key} is shorter than {params.min_rsa_bits} bits", **facts)
        elif params.rsa_allowed_until is not None and ctx.as_of > params.rsa_allowed_until:
            yield Finding.fail(
                f"{key}: RSA is no longer accepted after {params.rsa_allowed_until} (RSA sunset)",
                **facts,
            )
        else:
            until = f" until {params.rsa_allowed_until}" if params.rsa_allowed_until else ""
            yield Finding.ok(f"{key} is allowed{until}", **facts)
    else:
        yield Finding.fail(f"key algorithm {key.family} is not used in the TI", **facts)


@dataclass(frozen=True, slots=True)
class SignatureAlgorithmParams:
    allowed_hashes: tuple[str, ...] = field(
        default=("sha256", "sha384", "sha512"),
        metadata={"doc": "hashes a certificate signature may use"},
    )
    allowed_families: tuple[str, ...] = field(
        default=("ec", "rsa", "rsa-pss"),
        metadata={"doc": "signature families allowed (ec, rsa, rsa-pss, ed25519 ...)"},
    )


@check("cert.signature_algorithm", applies_to=CertificateEvidence, params=SignatureAlgorithmParams)
def signature_algorithm_check(
    ev: CertificateEvidence, params: SignatureAlgorithmParams, ctx: Context
) -> Iterator[Finding]:
    """The certificate is signed with an allowed algorithm: no SHA-1, no MD5.

    gemSpec_Krypt allows SHA-1 only inside HMAC/PRF constructions, never for
    certificate signatures; TI certificates are signed with ecdsa-with-SHA256
    or sha256WithRSAEncryption (or stronger).
    """
    assert ev.certificate is not None
    algo = signature_algorithm(ev.certificate)
    facts = {"signature_algorithm": algo.name, "oid": algo.oid}
    if algo.family not in params.allowed_families:
        yield Finding.fail(f"signature algorithm {algo.name} is not allowed", **facts)
    elif algo.hash not in params.allowed_hashes and algo.family != "rsa-pss":
        yield Finding.fail(f"{algo.name} uses {algo.hash}, which is not allowed", **facts)
    elif algo.family == "rsa-pss" and algo.hash not in params.allowed_hashes:
        yield Finding.fail(f"RSASSA-PSS with hash {algo.hash} is not allowed", **facts)
    else:
        yield Finding.ok(f"signed with {algo.name}", **facts)


@check("cert.validity", applies_to=CertificateEvidence)
def validity(ev: CertificateEvidence, params: object, ctx: Context) -> Iterator[Finding]:
    """The certificate is inside its validity period at the evaluation date.

    Judged at ``--as-of`` 00:00:00 UTC (default: today), so a past or future
    date answers "was it valid then?" and "will it still be valid?".
    """
    assert ev.certificate is not None
    nb, na = ev.certificate.not_valid_before_utc, ev.certificate.not_valid_after_utc
    facts = {"not_before": _iso(nb), "not_after": _iso(na)}
    if ctx.moment < nb:
        yield Finding.fail(f"not yet valid: valid from {_iso(nb)}", **facts)
    elif ctx.moment > na:
        yield Finding.fail(f"expired on {_iso(na)}", **facts)
    else:
        yield Finding.ok(f"valid until {_iso(na)}", **facts)


@dataclass(frozen=True, slots=True)
class ExpiryHorizonParams:
    warn_days: int = field(
        default=90, metadata={"doc": "fail when fewer days than this remain before notAfter"}
    )


@check("cert.expiry_horizon", applies_to=CertificateEvidence, params=ExpiryHorizonParams)
def expiry_horizon(
    ev: CertificateEvidence, params: ExpiryHorizonParams, ctx: Context
) -> Iterator[Finding]:
    """The certificate stays valid for at least the profile's warning horizon.

    gemSpec_Kon's CERT_EXPIRATION_WARN_DAYS defaults to 90 days: a certificate
    closer than that to its end must be renewed now. A certificate that has
    already expired is the business of ``cert.validity`` and is skipped here.
    """
    assert ev.certificate is not None
    na = ev.certificate.not_valid_after_utc
    if ctx.moment > na:
        yield Finding.skip("already expired (see cert.validity)")
        return
    left = (na - ctx.moment).days
    facts = {"not_after": _iso(na), "days_left": left}
    if left < params.warn_days:
        yield Finding.fail(f"expires in {left} days (horizon {params.warn_days})", **facts)
    else:
        yield Finding.ok(f"{left} days left", **facts)


def _iso(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
