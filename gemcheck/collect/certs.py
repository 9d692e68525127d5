"""Load certificates from PEM (single or bundle), DER and PKCS#12 files, and from folders of them.

Every certificate keeps its source file and its index inside that file. A file
that cannot be read or parsed becomes one piece of evidence with ``error`` set,
naming the file and what is wrong; the other files are still loaded. Private
keys inside PEM or PKCS#12 files are never kept.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.model import Location
from gemcheck.site import CertSource

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Larger files are refused: no certificate file in the field comes near this."""

CERT_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der", ".cert", ".p12", ".pfx"})
"""What a folder scan picks up (an explicitly named file is read whatever its suffix)."""

P12_SUFFIXES = frozenset({".p12", ".pfx"})

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)(?:-----END \1-----|\Z)", re.DOTALL)


def load_sources(sources: tuple[CertSource, ...], root: Path) -> Iterator[CertificateEvidence]:
    """Every certificate of the given files and folders, in a stable order."""
    for source in sources:
        for path in _expand(source.path):
            yield from load_file(path, root, role=source.role, password_env=source.password_env)


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CERT_SUFFIXES
        )
    return [path]


def display_path(path: Path, root: Path) -> str:
    """A path as reports show it: relative to the site's folder when inside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def load_file(
    path: Path, root: Path, *, role: str | None = None, password_env: str | None = None
) -> list[CertificateEvidence]:
    """The certificates in one file, or one error evidence saying why there are none."""
    shown = display_path(path, root)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [_error(shown, role, f"file is {size} bytes, more than {MAX_FILE_BYTES}")]
        data = path.read_bytes()
    except OSError as exc:
        return [_error(shown, role, f"cannot read: {exc.strerror or exc}")]
    if not data.strip():
        return [_error(shown, role, "file is empty")]
    if path.suffix.lower() in P12_SUFFIXES:
        return _from_pkcs12(data, shown, role, password_env)
    if b"-----BEGIN" in data:
        return _from_pem(data, shown, role)
    return [_from_der(data, shown, role, index=0, fmt="der")]


def _from_pem(data: bytes, shown: str, role: str | None) -> list[CertificateEvidence]:
    fast = _from_clean_pem(data, shown, role)
    if fast is not None:
        return fast
    out: list[CertificateEvidence] = []
    index = 0
    for match in _PEM_BLOCK.finditer(data):
        label = match.group(1)
        if not match.group(0).rstrip().endswith(b"-----"):
            line = data.count(b"\n", 0, match.start()) + 1
            out.append(
                _error(
                    shown,
                    role,
                    f"truncated PEM block (BEGIN {label.decode()} at line {line} has no END)",
                    index=index,
                )
            )
            index += 1
            continue
        if label not in (b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"):
            continue  # keys, CSRs, parameters: not ours to keep
        try:
            der = base64.b64decode(match.group(2), validate=False)
        except (binascii.Error, ValueError):
            out.append(_error(shown, role, "PEM block is not valid base64", index=index))
        else:
            out.append(_from_der(der, shown, role, index=index, fmt="pem"))
        index += 1
    if not out:
        out.append(_error(shown, role, "PEM file holds no certificate"))
    return out


def _from_clean_pem(data: bytes, shown: str, role: str | None) -> list[CertificateEvidence] | None:
    """Fast path: a well-formed PEM file of certificates parsed in one call.

    None (use the block-by-block path) unless every BEGIN has its END and every
    CERTIFICATE block came back: ``cryptography`` silently drops a truncated last block.
    """
    if data.count(b"-----BEGIN") != data.count(b"-----END"):
        return None
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        return None
    if len(certs) != data.count(b"-----BEGIN CERTIFICATE-----"):
        return None
    return [_evidence(cert, shown, role, i, "pem") for i, cert in enumerate(certs)]


def _from_der(
    der: bytes, shown: str, role: str | None, *, index: int, fmt: str
) -> CertificateEvidence:
    if fmt == "der" and not der.startswith(b"\x30"):
        return _error(shown, role, "not a certificate: neither PEM nor DER", index=index)
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        what = "PEM certificate" if fmt == "pem" else "DER certificate"
        return _error(shown, role, f"malformed {what}: {_short(exc)}", index=index)
    return _evidence(cert, shown, role, index, fmt)


def _from_pkcs12(
    data: bytes, shown: str, role: str | None, password_env: str | None
) -> list[CertificateEvidence]:
    password: bytes | None = None
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            return [
                _error(
                    shown,
                    role,
                    f"environment variable {password_env} is not set "
                    "(it must hold the PKCS#12 password)",
                )
            ]
        password = value.encode()
    try:
        bundle = pkcs12.load_pkcs12(data, password)
    except ValueError:
        hint = "wrong password" if password_env else "no password given (use password_env)"
        return [_error(shown, role, f"cannot open PKCS#12: {hint}, or the file is corrupt")]
    certs = [c.certificate for c in ([bundle.cert] if bundle.cert else [])]
    certs += [c.certificate for c in bundle.additional_certs]
    if not certs:
        return [_error(shown, role, "PKCS#12 holds no certificate")]
    return [_evidence(cert, shown, role, i, "pkcs12") for i, cert in enumerate(certs)]


def _evidence(
    cert: x509.Certificate, shown: str, role: str | None, index: int, fmt: str
) -> CertificateEvidence:
    return CertificateEvidence(
        subject=subject_name(cert),
        location=Location(file=shown, index=index),
        certificate=cert,
        source_format=fmt,
        role=role,
    )


def subject_name(cert: x509.Certificate) -> str:
    """The subject's common name, or the whole RFC 4514 subject when it has none."""
    try:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if cns:
            return str(cns[0].value)
        return cert.subject.rfc4514_string() or "(empty subject)"
    except ValueError:
        return "(undecodable subject)"


def _error(
    shown: str, role: str | None, message: str, index: int | None = None
) -> CertificateEvidence:
    return CertificateEvidence(
        subject=shown, location=Location(file=shown, index=index), error=message, role=role
    )


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
