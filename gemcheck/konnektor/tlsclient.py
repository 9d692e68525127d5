"""The HTTPS client side of a live Konnektor audit: TLS settings, client identity, sessions.

- The client system's PKCS#12 is opened in memory (password from an
  environment variable); OpenSSL can only load a key from a path, so the key is
  re-encrypted with a one-time random passphrase and handed over through an
  anonymous in-memory file (``memfd``; elsewhere a 0600 temporary file that is
  deleted at once). No plaintext key ever touches a disk.
- The Konnektor's certificate is verified against the site's ``konnektor.ca``
  files only (never the public CA bundle); its name is not checked, since
  C.AK.AUT names ``konnektor.konlan`` whatever address the Konnektor has.
- A Konnektor with an ECC C.AK.AUT identity accepts only brainpool (or NIST)
  groups that OpenSSL's default client does not offer, so the client tries
  three settings in turn (:data:`PROFILES`) and keeps the first that connects.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import ssl
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter


@dataclass(frozen=True, slots=True)
class TlsProfile:
    """One client TLS setting: oldest and newest version, the one group offered, ciphers."""

    name: str
    oldest: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    newest: ssl.TLSVersion | None = None
    group: str | None = None
    ciphers: str | None = None


_LEGACY = "ALL:@SECLEVEL=0"
PROFILES = (
    TlsProfile("default"),
    TlsProfile("tls12", newest=ssl.TLSVersion.TLSv1_2),
    TlsProfile("brainpool", newest=ssl.TLSVersion.TLSv1_2, group="brainpoolP256r1"),
    TlsProfile("legacy", ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2, ciphers=_LEGACY),
    TlsProfile(
        "legacy-brainpool", ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2, "brainpoolP256r1", _LEGACY
    ),
)
"""Client TLS settings, tried in this order until one completes a handshake.

``default``: TLS 1.2+ as OpenSSL offers it. ``tls12``: TLS 1.2 only (OpenSSL 3.0 cannot sign a
TLS 1.3 CertificateVerify with a brainpool client key). ``brainpool``: TLS 1.2 offering
brainpoolP256r1, the only group of a Konnektor with an ECC C.AK.AUT identity (Python's ``ssl``
sets one group only); it also lets a server accept a brainpool client certificate. ``legacy``
and ``legacy-brainpool``: TLS 1.0-1.2 with every cipher OpenSSL still has, for old
Konnektoren: the TLS rules judge such a setup, the audit must still reach it.
"""


class CredentialError(ValueError):
    """The client credentials cannot be used (message safe to show: never the secret)."""


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """A client certificate chain and key as PEM, the key encrypted with ``passphrase``."""

    chain_pem: bytes
    key_pem: bytes
    passphrase: bytes

    def __repr__(self) -> str:
        return "ClientIdentity(<redacted>)"


def load_identity(p12: Path, password_env: str | None) -> ClientIdentity:
    """The PKCS#12's certificate, chain and key; the password comes from ``password_env``."""
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        Encoding,
        PrivateFormat,
        pkcs12,
    )

    password: bytes | None = None
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise CredentialError(
                f"environment variable {password_env} is not set (it must "
                "hold the PKCS#12 password)"
            )
        password = value.encode()
    try:
        data = p12.read_bytes()
    except OSError as exc:
        raise CredentialError(f"{p12}: cannot read: {exc.strerror or exc}") from None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError:
        hint = "wrong password" if password_env else "no password given (--p12-password-env)"
        raise CredentialError(
            f"{p12}: cannot open PKCS#12: {hint}, or the file is corrupt"
        ) from None
    if key is None or cert is None:
        raise CredentialError(f"{p12}: the PKCS#12 holds no key and certificate pair")
    passphrase = secrets.token_urlsafe(32).encode()
    return ClientIdentity(
        chain_pem=b"".join(c.public_bytes(Encoding.PEM) for c in (cert, *extra)),
        key_pem=key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(passphrase)
        ),
        passphrase=passphrase,
    )


def client_context(
    profile: TlsProfile, identity: ClientIdentity | None, ca: tuple[Path, ...]
) -> ssl.SSLContext:
    """A client context for one of :data:`PROFILES`, with the identity and the CA files."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1 is a deprecated name
        ctx.minimum_version = profile.oldest
        if profile.newest is not None:
            ctx.maximum_version = profile.newest
    if profile.group:
        ctx.set_ecdh_curve(profile.group)
    if profile.ciphers:
        ctx.set_ciphers(profile.ciphers)
    if ca:
        for ca_file in ca:
            ctx.load_verify_locations(cafile=str(ca_file))
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if identity is not None:
        with _key_file(identity) as path:
            ctx.load_cert_chain(path, password=identity.passphrase)
    return ctx


@contextlib.contextmanager
def _key_file(identity: ClientIdentity) -> Iterator[str]:
    """A path OpenSSL can read the (encrypted) identity from, gone when the block ends."""
    content = identity.chain_pem + identity.key_pem
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("gemcheck-client-identity", os.MFD_CLOEXEC)
        try:
            os.write(fd, content)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    handle, path = tempfile.mkstemp(prefix="gemcheck-", suffix=".pem")  # mode 0600
    try:
        os.write(handle, content)
        os.close(handle)
        yield path
    finally:
        os.unlink(path)


class _ContextAdapter(HTTPAdapter):
    """Use one SSLContext for every HTTPS connection, without hostname matching."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(max_retries=0)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(
            connections,
            maxsize,
            block,
            ssl_context=self._context,
            assert_hostname=False,
            **pool_kwargs,
        )


def session(context: ssl.SSLContext, ca: tuple[Path, ...]) -> requests.Session:
    """A session that uses ``context`` for HTTPS and ignores proxies, netrc and CA variables.

    ``verify`` names one of the site's CA files (requests would otherwise add
    certifi's public CAs to the context) or is off when the site gave none.
    """
    s = requests.Session()
    s.trust_env = False
    s.verify = str(ca[0]) if ca else False
    s.mount("https://", _ContextAdapter(context))
    return s


def is_handshake_failure(exc: BaseException) -> bool:
    """True when the TLS handshake itself failed (another client setting may work).

    A certificate that fails verification is not retried: that is the answer.
    """
    chain = list(causes(exc))
    if any(isinstance(c, ssl.SSLCertVerificationError) for c in chain):
        return False
    return any(isinstance(c, ssl.SSLError) for c in chain)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps (``__cause__``, urllib3's ``reason``, exception args)."""
    todo, seen = [exc], set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [
            current.__cause__,
            current.__context__,
            getattr(current, "reason", None),
            *current.args,
        ]
        todo.extend(x for x in linked if isinstance(x, BaseException))
