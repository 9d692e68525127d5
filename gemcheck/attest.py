"""Signed reports: a vendor signs a JSON report, the customer verifies it against a trust anchor.

The signed file is one JSON object (an enveloped signature)::

    {"gemcheck_signed_report": 1,
     "report": { ...the JSON report, unchanged... },
     "signature": {"format": "gemcheck-signature-1", "canonicalization": "RFC8785-JCS",
                   "algorithm": "ECDSA-SHA256" | "Ed25519", "signed_at": "...Z",
                   "report_sha256": "<hex SHA-256 of the canonical report>",
                   "certificates": ["<base64 DER of the signer>", "<intermediates>..."],
                   "value": "<base64 signature>"}}

What is signed: the canonical form (:mod:`gemcheck.jcs`, RFC 8785) of the whole
object with ``signature.value`` left out, so the report, the signing time, the
algorithm and the embedded certificates are all covered. ECDSA signatures
(brainpoolP256r1 or P-256, SHA-256) are DER-encoded; Ed25519 signatures are
the raw 64 bytes.

What ``gemcheck verify`` checks, each failure a non-zero exit:

1. the file is UTF-8 JSON without duplicate member names, of the shape above;
2. the signature verifies with the embedded signer certificate's key, and the
   algorithm matches that key;
3. the file's bytes are exactly the layout gemcheck writes (two-space
   indented JSON): the signature covers the content, this check makes every
   byte of the file count, so even a changed space or line break is refused;
4. the signer certificate chains to a trust anchor given with ``--trust`` (the
   signer certificate itself, or a CA that issued it, directly or through
   certificates embedded in the file), every certificate of the chain being
   valid both at the signing time and at the verification time (now, or the
   end of the ``--as-of`` day, UTC). The signing time is the signer's own
   claim (there is no time-stamping authority), which is why validity is
   checked at verification time too; to check an archived report after the
   certificate expired, verify ``--as-of`` the day it was received.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import pkcs12

from gemcheck.errors import InputError
from gemcheck.jcs import canonicalize
from gemcheck.model import JSONValue

FORMAT = "gemcheck-signature-1"
CANONICALIZATION = "RFC8785-JCS"
ALLOWED_CURVES = frozenset({"brainpoolP256r1", "secp256r1"})
P12_SUFFIXES = frozenset({".p12", ".pfx"})
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_SIGNATURE_KEYS = (
    "format",
    "canonicalization",
    "algorithm",
    "signed_at",
    "report_sha256",
    "certificates",
    "value",
)
_MAX_CHAIN = 8

SigningKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class VerificationError(Exception):
    """The signed report does not verify; the message says why."""


@dataclass(frozen=True, slots=True)
class Signer:
    """A private key and its certificate (signer first, then any intermediates to embed)."""

    key: SigningKey
    chain: tuple[x509.Certificate, ...]

    @property
    def algorithm(self) -> str:
        """The ``algorithm`` member of the signature."""
        return "Ed25519" if isinstance(self.key, ed25519.Ed25519PrivateKey) else "ECDSA-SHA256"

    def envelope(self, report: Mapping[str, JSONValue], signed_at: dt.datetime) -> dict[str, Any]:
        """The signed report object for ``report`` (its JSON form), signed at ``signed_at``."""
        if "signature" in report and "report" in report:
            raise InputError.single("report", "$", "this is a signed report already")
        try:
            digest = hashlib.sha256(canonicalize(report)).hexdigest()
        except ValueError as exc:
            raise InputError.single("report", "$", f"cannot be canonicalized: {exc}") from None
        signature: dict[str, Any] = {
            "format": FORMAT,
            "canonicalization": CANONICALIZATION,
            "algorithm": self.algorithm,
            "signed_at": signed_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "report_sha256": digest,
            "certificates": [
                base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii")
                for c in self.chain
            ],
        }
        doc: dict[str, Any] = {
            "gemcheck_signed_report": 1,
            "report": dict(report),
            "signature": signature,
        }
        signature["value"] = base64.b64encode(self._sign(signed_bytes(doc))).decode("ascii")
        return doc

    def render(self, report: Mapping[str, JSONValue], signed_at: dt.datetime) -> str:
        """The text of the signed report file."""
        return layout(self.envelope(report, signed_at))

    def _sign(self, data: bytes) -> bytes:
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(data)
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def layout(doc: Mapping[str, Any]) -> str:
    """The one layout gemcheck writes signed reports in (and ``verify`` insists on)."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def signed_bytes(doc: Mapping[str, Any]) -> bytes:
    """The bytes the signature covers: the canonical form of ``doc`` without ``signature.value``."""
    signature = {k: v for k, v in doc["signature"].items() if k != "value"}
    return canonicalize({**doc, "signature": signature})


def signing_time() -> dt.datetime:
    """Now in UTC (whole seconds), or ``SOURCE_DATE_EPOCH`` when set, like ``generated_at``."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# -- loading the signer -------------------------------------------------------------------------


def load_signer(
    key_path: Path, cert_path: Path | None, password_env: str | None, *, at: dt.datetime
) -> Signer:
    """The key (PEM, or PKCS#12 with its certificates) and the signer certificate, checked for use
    at ``at``. The password, when needed, comes from the environment variable ``password_env``."""
    key_file = str(key_path)
    raw = _read(key_path)
    password = _password(password_env, key_file)
    if key_path.suffix.lower() in P12_SUFFIXES or not raw.lstrip().startswith(b"-----BEGIN"):
        key, chain = _from_pkcs12(raw, password, key_file, password_env)
    else:
        key, chain = _from_pem_key(raw, password, key_file, password_env), ()
    if cert_path is not None:
        chain = _certificates(cert_path)
    if not chain:
        raise InputError.single(key_file, "$", "no signer certificate: give --cert (PEM or DER)")
    _check_signer(key, chain[0], str(cert_path or key_file), at)
    return Signer(key, chain)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError.single(str(path), "$", f"cannot read: {exc.strerror or exc}") from None


def _password(env: str | None, file: str) -> bytes | None:
    if env is None:
        return None
    value = os.environ.get(env)
    if value is None:
        raise InputError.single(
            file, "$", f"environment variable {env} is not set (it must hold the key's password)"
        )
    return value.encode()


def _from_pem_key(raw: bytes, password: bytes | None, file: str, env: str | None) -> Any:
    try:
        return serialization.load_pem_private_key(raw, password)
    except TypeError:
        hint = (
            "the key is encrypted: name the variable holding its password"
            if password is None
            else "the key is not encrypted: drop the password variable"
        )
        raise InputError.single(file, "$", f"cannot load the key: {hint}") from None
    except ValueError:
        hint = f"wrong password in {env}, or" if env else "not"
        raise InputError.single(
            file, "$", f"cannot load the key: {hint} a PEM private key"
        ) from None


def _from_pkcs12(
    raw: bytes, password: bytes | None, file: str, env: str | None
) -> tuple[Any, tuple[x509.Certificate, ...]]:
    try:
        bundle = pkcs12.load_pkcs12(raw, password)
    except ValueError:
        hint = (
            f"wrong password in {env}, or the file is corrupt"
            if env
            else "no password given (name the variable holding it), or not a PKCS#12 file"
        )
        raise InputError.single(file, "$", f"cannot open the key: {hint}") from None
    if bundle.key is None:
        raise InputError.single(file, "$", "the PKCS#12 file holds no private key")
    chain = ([bundle.cert.certificate] if bundle.cert else []) + [
        c.certificate for c in bundle.additional_certs
    ]
    return bundle.key, tuple(chain)


def _certificates(path: Path) -> tuple[x509.Certificate, ...]:
    from gemcheck.collect.certs import load_file

    found = load_file(path, path.parent)
    for ev in found:
        if ev.error is not None:
            raise InputError.single(str(path), f"certificate {ev.location.index or 0}", ev.error)
    return tuple(ev.certificate for ev in found if ev.certificate is not None)


def _check_signer(key: Any, cert: x509.Certificate, file: str, at: dt.datetime) -> None:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in ALLOWED_CURVES:
            raise InputError.single(
                file,
                "$",
                f"key on curve {key.curve.name}: signing needs "
                "brainpoolP256r1, P-256 (secp256r1) or Ed25519",
            )
    elif not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InputError.single(
            file,
            "$",
            f"{type(key).__name__.lstrip('_')} keys cannot sign "
            "reports: use ECDSA (brainpoolP256r1, P-256) or Ed25519",
        )
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise InputError.single(file, "$", "the certificate does not belong to the key")
    problem = _validity_problem(cert, at, "signing")
    if problem:
        raise InputError.single(file, "$", problem)
    problem = _usage_problem(cert)
    if problem:
        raise InputError.single(file, "$", problem)


def _validity_problem(cert: x509.Certificate, at: dt.datetime, when: str) -> str | None:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    name = _name(cert)
    if at < cert.not_valid_before_utc:
        return (
            f"certificate {name} is not yet valid at {when} time {stamp} "
            f"(valid from {cert.not_valid_before_utc:%Y-%m-%d})"
        )
    if at > cert.not_valid_after_utc:
        return (
            f"certificate {name} has expired at {when} time {stamp} "
            f"(valid until {cert.not_valid_after_utc:%Y-%m-%d})"
        )
    return None


def _usage_problem(cert: x509.Certificate) -> str | None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if usage.digital_signature or usage.content_commitment:
        return None
    return f"certificate {_name(cert)} may not sign (KeyUsage lacks digitalSignature)"


def _name(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string() or "(empty subject)"
    except ValueError:
        return "(undecodable subject)"


# -- verification -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verified:
    """A report whose signature, certificate and trust anchor all checked out."""

    report: Mapping[str, Any]
    signer: x509.Certificate
    anchor: x509.Certificate
    signed_at: dt.datetime


def load_trust(paths: Sequence[Path]) -> list[x509.Certificate]:
    """The trust anchors from certificate files (PEM, DER, bundles); input errors name the file."""
    anchors: list[x509.Certificate] = []
    for path in paths:
        anchors.extend(_certificates(path))
    if not anchors:
        raise InputError.single("--trust", "$", "no trust anchor certificate given")
    return anchors


def verify(raw: bytes, anchors: Sequence[x509.Certificate], at: dt.datetime) -> Verified:
    """Verify a signed report file's bytes at time ``at``; raises :class:`VerificationError`."""
    doc = _parse(raw)
    try:
        return _verify(doc, raw, anchors, at)
    except _MALFORMED as exc:  # fail closed on anything the certificates or the text hold
        raise VerificationError(f"malformed signed report: {type(exc).__name__}: {exc}") from None


_MALFORMED = (
    ValueError,  # an impossible date, text JCS cannot carry (lone surrogate), a bad DER field
    TypeError,
    binascii.Error,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    UnsupportedAlgorithm,
)


def _verify(
    doc: dict[str, Any], raw: bytes, anchors: Sequence[x509.Certificate], at: dt.datetime
) -> Verified:
    sig = doc["signature"]
    chain = [
        x509.load_der_x509_certificate(base64.b64decode(c, validate=True))
        for c in sig["certificates"]
    ]
    signed_at = dt.datetime.strptime(sig["signed_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    _check_signature(doc, chain[0])
    if layout(doc).encode("utf-8") != raw:
        raise VerificationError(
            "the signed content is intact, but the file's bytes differ from "
            "the layout it was signed in (whitespace or formatting changed)"
        )
    if hashlib.sha256(canonicalize(doc["report"])).hexdigest() != sig["report_sha256"]:
        raise VerificationError("report_sha256 does not match the report")  # signer-side bug
    if signed_at > at:
        raise VerificationError(
            f"signed at {sig['signed_at']}, after the verification time {at:%Y-%m-%dT%H:%M:%SZ}"
        )
    anchor = _chain_to_anchor(chain, anchors, signed_at, at)
    return Verified(doc["report"], chain[0], anchor, signed_at)


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except UnicodeDecodeError:
        raise VerificationError("not a signed report: the file is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise VerificationError(
            f"not a signed report: invalid JSON ({exc.msg} at line "
            f"{exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:
        raise VerificationError(f"not a signed report: {exc}") from None
    if not isinstance(doc, dict) or set(doc) != {"gemcheck_signed_report", "report", "signature"}:
        raise VerificationError(
            "not a signed gemcheck report (expected the members "
            "gemcheck_signed_report, report and signature)"
        )
    if doc["gemcheck_signed_report"] != 1 or not isinstance(doc["report"], dict):
        raise VerificationError("not a signed gemcheck report of format 1")
    sig = doc["signature"]
    if not isinstance(sig, dict) or set(sig) != set(_SIGNATURE_KEYS):
        raise VerificationError(
            f"the signature must have exactly the members {', '.join(_SIGNATURE_KEYS)}"
        )
    if sig["format"] != FORMAT or sig["canonicalization"] != CANONICALIZATION:
        raise VerificationError(
            f"unsupported signature format {sig['format']!r} / {sig['canonicalization']!r}"
        )
    certs = sig["certificates"]
    if not isinstance(certs, list) or not certs or not all(isinstance(c, str) for c in certs):
        raise VerificationError("the signature embeds no signer certificate")
    if not all(isinstance(sig[k], str) for k in _SIGNATURE_KEYS if k != "certificates"):
        raise VerificationError("malformed signature member (expected strings)")
    if not _TIME.match(sig["signed_at"]):
        raise VerificationError(f"malformed signing time {sig['signed_at']!r}")
    return doc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise ValueError(f"duplicate member name {name!r}")
        out[name] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_signature(doc: dict[str, Any], signer: x509.Certificate) -> None:
    sig = doc["signature"]
    value = base64.b64decode(sig["value"], validate=True)
    if base64.b64encode(value).decode("ascii") != sig["value"]:  # unused bits set: not covered
        raise VerificationError("the signature value is not in canonical base64")
    key = signer.public_key()
    data = signed_bytes(doc)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey) and sig["algorithm"] == "Ed25519":
            key.verify(value, data)
        elif (
            isinstance(key, ec.EllipticCurvePublicKey)
            and key.curve.name in ALLOWED_CURVES
            and sig["algorithm"] == "ECDSA-SHA256"
        ):
            key.verify(value, data, ec.ECDSA(hashes.SHA256()))
        else:
            raise VerificationError(
                f"algorithm {sig['algorithm']!r} does not fit the signer's "
                f"key ({type(key).__name__.lstrip('_')})"
            )
    except InvalidSignature:
        raise VerificationError(
            "the signature does not match: the report was changed after "
            "signing, or signed by another key"
        ) from None


def _chain_to_anchor(
    chain: list[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    signed_at: dt.datetime,
    at: dt.datetime,
) -> x509.Certificate:
    anchor_der = {a.public_bytes(serialization.Encoding.DER): a for a in anchors}
    pool = chain[1:] + list(anchors)
    current = chain[0]
    for _ in range(_MAX_CHAIN):
        for moment, when in ((signed_at, "signing"), (at, "verification")):
            problem = _validity_problem(current, moment, when)
            if problem:
                raise VerificationError(problem)
        trusted = anchor_der.get(current.public_bytes(serialization.Encoding.DER))
        if trusted is not None:
            return trusted
        issuer = next((c for c in pool if c is not current and _issued(current, c)), None)
        if issuer is None:
            raise VerificationError(
                f"certificate {_name(current)} does not chain to a trust anchor given with --trust"
            )
        current = issuer
    raise VerificationError("certificate chain too long")


def _issued(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer`` is a CA certificate that signed ``child``."""
    try:
        bc = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    if not bc.ca:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (*_MALFORMED, InvalidSignature):
        return False
    return True


# -- the commands -------------------------------------------------------------------------------


def attest_file(
    report_path: Path, key_path: Path, cert_path: Path | None, password_env: str | None
) -> str:
    """``gemcheck attest``: the signed report text for a JSON report file."""
    from gemcheck import schemas

    when = signing_time()
    signer = load_signer(key_path, cert_path, password_env, at=when)
    shown = str(report_path)
    try:
        report = json.loads(_read(report_path).decode("utf-8"), object_pairs_hook=_pairs(shown))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError.single(shown, "$", f"not a JSON report: {exc}") from None
    if isinstance(report, dict) and "gemcheck_signed_report" in report:
        raise InputError.single(shown, "$", "this report is signed already")
    schemas.validate(report, "report-1", shown)
    return signer.render(report, when)


def _pairs(file: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        try:
            return _no_duplicates(pairs)
        except ValueError as exc:
            raise InputError.single(file, "$", str(exc)) from None

    return hook


def verify_file(path: Path, trust: Sequence[Path], at: dt.datetime) -> Verified:
    """``gemcheck verify``: raises :class:`VerificationError` (exit 1) or InputError (exit 2)."""
    anchors = load_trust(trust)
    return verify(_read(path), anchors, at)


def describe(v: Verified) -> str:
    """What a successful verification tells the user (report strings made printable)."""
    from gemcheck.render._safe import printable

    report = v.report
    score = report.get("score", {})
    overall = score.get("overall") if isinstance(score, dict) else None
    fingerprint = hashlib.sha256(v.anchor.public_bytes(serialization.Encoding.DER)).hexdigest()
    lines = [
        f"verified: gemcheck report of {report.get('site')!s} as of {report.get('as_of')!s}: "
        f"verdict {report.get('verdict')!s}, score {overall!s}",
        f"signed by: {_name(v.signer)} (valid {v.signer.not_valid_before_utc:%Y-%m-%d} to "
        f"{v.signer.not_valid_after_utc:%Y-%m-%d})",
        f"signed at: {v.signed_at:%Y-%m-%dT%H:%M:%SZ}",
        f"trust anchor: {_name(v.anchor)} (SHA-256 {fingerprint})",
    ]
    return "".join(printable(line) + "\n" for line in lines)
