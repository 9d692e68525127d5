"""Load certificates from PEM (single or bundle), DER and PKCS#12 files, and from folders of them.

Every certificate keeps its source file and its index inside that file. A file
that cannot be read or parsed becomes one piece of evidence with ``error`` set,
naming the file and what is wrong; the other files are still loaded. Private
keys inside PEM or PKCS#12 files are never kept, and a PKCS#12 password is read
from the environment variable the site names, never echoed.

The format is recognised by content, not by name: a ``.jks`` that is really
PKCS#12 opens, a ``.crt`` holding PEM is read as PEM. Legacy PKCS#12 containers
(RC2-40 / 3DES bag encryption, SHA-1 MAC) open like modern ones. In a folder
scan, PEM files that hold only private keys or requests are passed over quietly.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.model import Location
from gemcheck.site import CertSource, Site

if TYPE_CHECKING:
    from gemcheck.collect import CollectOptions

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Larger files are refused: no certificate file in the field comes near this."""

CERT_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der", ".cert", ".p12", ".pfx", ".jks"})
"""What a folder scan picks up (an explicitly named file is read whatever its suffix)."""

P12_SUFFIXES = frozenset({".p12", ".pfx"})

_JAVA_KEYSTORE_MAGIC = (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce")

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)(?:-----END \1-----|\Z)", re.DOTALL)


def collect_certificates(site: Site, options: CollectOptions) -> Iterator[CertificateEvidence]:
    """The collector: every certificate the site file names."""
    return load_sources(site.certificates, site.root)


def load_sources(sources: tuple[CertSource, ...], root: Path) -> Iterator[CertificateEvidence]:
    """Every certificate of the given files and folders, in a stable order."""
    for source in sources:
        scanned = source.path.is_dir()
        for path in expand(source.path):
            yield from load_file(
                path, root, role=source.role, password_env=source.password_env, scanned=scanned
            )


def expand(path: Path) -> list[Path]:
    """A folder's certificate files (recursive, sorted), or the path itself."""
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
    path: Path,
    root: Path,
    *,
    role: str | None = None,
    password_env: str | None = None,
    scanned: bool = False,
) -> list[CertificateEvidence]:
    """The certificates in one file, or one error evidence saying why there are none.

    ``scanned`` (found by a folder scan): a PEM file without certificates (a key)
    gives nothing instead of an error.
    """
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
    with warnings.catch_warnings():  # cryptography's warnings are not for the user; findings are
        warnings.simplefilter("ignore")
        return _parse(data, path, shown, role, password_env, scanned)


def _parse(
    data: bytes, path: Path, shown: str, role: str | None, password_env: str | None, scanned: bool
) -> list[CertificateEvidence]:
    if b"-----BEGIN" in data:
        found = _from_pem(data, shown, role)
        return [] if scanned and _only_non_certificates(found) else found
    if data[:4] in _JAVA_KEYSTORE_MAGIC:
        return [
            _error(
                shown,
                role,
                "a Java KeyStore (JKS/JCEKS) is not supported: convert it "
                "with keytool -importkeystore -deststoretype PKCS12",
            )
        ]
    if looks_like_pkcs12(data) or path.suffix.lower() in P12_SUFFIXES:
        return _from_pkcs12(data, shown, role, password_env)
    return [_from_der(data, shown, role, index=0, fmt="der")]


def looks_like_pkcs12(data: bytes) -> bool:
    """True when ``data`` is DER of a PKCS#12 PFX: SEQUENCE { INTEGER 3, SEQUENCE ... }."""
    header = _der_header(data)
    if header is None:
        return False
    start, _ = header
    return data[start : start + 4] == b"\x02\x01\x03\x30"


def _der_header(data: bytes) -> tuple[int, int] | None:
    """(content offset, content length) of a DER SEQUENCE at the start of ``data``, or None."""
    if len(data) < 2 or data[0] != 0x30:
        return None
    first = data[1]
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    if not 1 <= count <= 4 or len(data) < 2 + count:
        return None
    return 2 + count, int.from_bytes(data[2 : 2 + count], "big")


def _only_non_certificates(found: list[CertificateEvidence]) -> bool:
    return len(found) == 1 and found[0].error == _NO_CERTIFICATE


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
        out.append(_error(shown, role, _NO_CERTIFICATE))
    return out


_NO_CERTIFICATE = "PEM file holds no certificate"


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
    bundle = _open_pkcs12(data, password)
    if bundle is None:
        return [_error(shown, role, _pkcs12_problem(data, password_env))]
    certs = [c.certificate for c in ([bundle.cert] if bundle.cert else [])]
    certs += [c.certificate for c in bundle.additional_certs]
    if not certs:
        return [_error(shown, role, "PKCS#12 holds no certificate")]
    return [_evidence(cert, shown, role, i, "pkcs12") for i, cert in enumerate(certs)]


def _open_pkcs12(data: bytes, password: bytes | None) -> pkcs12.PKCS12KeyAndCertificates | None:
    """The container, or None when it does not open (with no password: also the empty one)."""
    for attempt in [password] if password is not None else [None, b""]:
        try:
            return pkcs12.load_pkcs12(data, attempt)  # "falling back to BER" warnings: ignored
        except ValueError:
            continue
    return None


def _pkcs12_problem(data: bytes, password_env: str | None) -> str:
    """Why a PKCS#12 file did not open, as precisely as its structure tells (no secrets)."""
    header = _der_header(data)
    if not looks_like_pkcs12(data) or header is None:
        return "cannot open PKCS#12: not a PKCS#12 file (corrupt, or another format)"
    start, length = header
    if start + length > len(data):
        return f"cannot open PKCS#12: the file is truncated ({len(data)} of {start + length} bytes)"
    if password_env:
        return (
            f"cannot open PKCS#12: wrong password (the password in ${password_env} does not "
            "open it), or the container is damaged"
        )
    return (
        "cannot open PKCS#12: it is password-protected; name the environment variable that "
        "holds the password (--p12-password-env NAME, or password_env in the site file)"
    )


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
        subject = cert.subject  # (length warnings count UTF-8 bytes: PKI-DN-001 judges lengths)
        cns = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if cns:
            return str(cns[0].value)
        return subject.rfc4514_string() or "(empty subject)"
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
