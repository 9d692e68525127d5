"""A loopback TLS (or plain TCP) server for tests, and helpers to configure its TLS.

Use::

    from tests.tlsserver import KONNEKTOR_ECC, TlsServer, server_context

    ctx = server_context(KONNEKTOR_ECC, groups="brainpoolP256r1", tls13=False)
    with TlsServer(ctx) as server:          # 127.0.0.1, a free port, one thread per connection
        probe(server.address)               # "127.0.0.1:PORT"; server.url is "https://127.0.0.1:PORT"

``TlsServer(None, handler)`` is a plain TCP server: the handler gets the raw socket
(``hang``, ``reset`` and ``garbage`` below are ready-made hostile peers). With a
context, the handler gets the ``ssl.SSLSocket`` after a completed handshake; the
default handler just closes it. Handshakes that fail on the server side are
counted in ``failures`` (their messages), completed ones in ``handshakes``.

What the helpers can and cannot set, with Python 3.11's ``ssl`` on OpenSSL 3.0:

- versions: ``min_version``/``max_version``. OpenSSL 3's default security level 2
  refuses TLS 1.0/1.1 (their handshake signatures use SHA-1/MD5), so whenever
  ``min_version`` is below TLS 1.2 the cipher string gets ``@SECLEVEL=0``. A system
  OpenSSL configuration (``MinProtocol`` in ``openssl.cnf``) may still refuse the
  old versions: ``legacy_tls_available()`` says whether they work on this machine,
  and tests that need them skip when they do not.
- TLS 1.2 suites: ``ciphers`` is an OpenSSL cipher string; ``tls13=False`` turns TLS
  1.3 off.
- groups: ``ssl`` sets exactly one group (``set_ecdh_curve``; OpenSSL names such as
  ``brainpoolP256r1``, ``prime256v1``, ``secp384r1``, ``X25519``). For several groups,
  for TLS 1.3 suites and for handshake signature schemes, which ``ssl`` cannot set,
  the helpers call OpenSSL (``SSL_CTX_set1_groups_list``, ``SSL_CTX_set_ciphersuites``,
  ``SSL_CTX_set1_sigalgs_list``) through ``ctypes`` on the context's ``SSL_CTX``
  (found behind the Python object and verified by comparing ``SSL_CTX_get_options``
  with ``ctx.options``; a mismatch raises instead of guessing). Test code only.
- OpenSSL 3.0 has no brainpool signature schemes for TLS 1.3: a server whose only
  certificate is brainpool cannot do TLS 1.3. Load an RSA or NIST identity as well
  (``identities=(KONNEKTOR_ECC, KONNEKTOR_RSA)``) when a test needs TLS 1.3.
- client certificates: ``client_ca`` (CA files) makes the server require one.
"""

from __future__ import annotations

import contextlib
import ctypes
import socket
import ssl
import struct
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

CERTS = Path(__file__).resolve().parents[1] / "certs"

Handler = Callable[[socket.socket], None]


@dataclass(frozen=True, slots=True)
class Identity:
    """A server certificate, its private key and the CA certificates sent with it."""

    cert: Path
    key: Path
    chain: tuple[Path, ...] = ()


KONNEKTOR_ECC = Identity(
    CERTS / "ecc/konnektor-ak-aut.pem",
    CERTS / "keys/konnektor-ak-aut-ecc.key.pem",
    (CERTS / "ca/komp-ca1.pem",),
)
"""C.AK.AUT on brainpoolP256r1 (what an ECC Konnektor presents)."""

KONNEKTOR_RSA = Identity(
    CERTS / "rsa/konnektor-ak-aut.pem",
    CERTS / "keys/konnektor-ak-aut-rsa.key.pem",
    (CERTS / "ca/komp-ca2.pem",),
)
"""C.AK.AUT on RSA-2048."""

FD_NIST = Identity(
    CERTS / "nist/fd-tls-s.pem", CERTS / "keys/fd-tls-s-nist.key.pem", (CERTS / "ca/komp-ca3.pem",)
)
"""C.FD.TLS-S on NIST P-256 (a Fachdienst; TLS 1.3 capable with OpenSSL 3.0)."""

FD_ECC = Identity(
    CERTS / "ecc/fd-tls-s.pem", CERTS / "keys/fd-tls-s-ecc.key.pem", (CERTS / "ca/komp-ca1.pem",)
)
"""C.FD.TLS-S on brainpoolP256r1."""

CLIENT_CA = CERTS / "ca/cs-ca1.pem"
"""The CA of the synthetic client-system certificate (``ecc/clientsystem.pem``)."""


GCM_ECDHE = "ECDHE+AESGCM:!aNULL"
"""OpenSSL cipher string: the four TLS 1.2 suites gemSpec_Krypt names (0xC02B/C/F, 0xC030)."""

TLS13_GCM = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
"""The TLS 1.3 suites the ti-tls profile allows."""

STRONG_SIGALGS = "ECDSA+SHA256:ECDSA+SHA384:RSA-PSS+SHA256:RSA-PSS+SHA384:RSA+SHA256:RSA+SHA384"
"""Handshake signature schemes with SHA-256 or stronger only (A_21275-01)."""


def server_context(
    identities: Identity | Sequence[Identity] = KONNEKTOR_ECC,
    *,
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    max_version: ssl.TLSVersion | None = None,
    tls13: bool = True,
    ciphers: str | None = None,
    groups: str | Sequence[str] | None = None,
    tls13_suites: str | None = None,
    sigalgs: str | None = None,
    client_ca: Sequence[Path] | None = None,
) -> ssl.SSLContext:
    """A server context: identities, versions, TLS 1.2 cipher string, groups, client auth.

    ``max_version`` defaults to TLS 1.3 (TLS 1.2 with ``tls13=False``); ``ciphers`` is
    an OpenSSL cipher string for TLS <= 1.2 (default ``DEFAULT``); ``groups`` one group
    name or several, ``tls13_suites`` and ``sigalgs`` OpenSSL lists (see the module
    docstring); ``client_ca`` requires a client certificate issued by one of these CAs.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1/TLSv1_1 are deprecated names
        ctx.minimum_version = min_version
        if max_version is not None:
            ctx.maximum_version = max_version
        elif not tls13:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    cipher_string = ciphers or "DEFAULT"
    if min_version < ssl.TLSVersion.TLSv1_2 and "@SECLEVEL" not in cipher_string:
        cipher_string += ":@SECLEVEL=0"
    ctx.set_ciphers(cipher_string)
    for identity in [identities] if isinstance(identities, Identity) else identities:
        _load_identity(ctx, identity)
    if groups is not None:
        set_groups(ctx, [groups] if isinstance(groups, str) else list(groups))
    if tls13_suites is not None:
        set_tls13_suites(ctx, tls13_suites)
    if sigalgs is not None:
        set_signature_algorithms(ctx, sigalgs)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        for ca in client_ca:
            ctx.load_verify_locations(cafile=str(ca))
    return ctx


def _load_identity(ctx: ssl.SSLContext, identity: Identity) -> None:
    if not identity.chain:
        ctx.load_cert_chain(str(identity.cert), str(identity.key))
        return
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "chain.pem"
        bundle.write_bytes(b"".join(p.read_bytes() for p in (identity.cert, *identity.chain)))
        ctx.load_cert_chain(str(bundle), str(identity.key))


_SSL_CTRL_SET_GROUPS_LIST = 92
_SSL_CTRL_SET_SIGALGS_LIST = 98


def set_groups(ctx: ssl.SSLContext, groups: Sequence[str]) -> None:
    """Set the context's key-exchange groups (OpenSSL names), one or several."""
    if len(groups) == 1:
        ctx.set_ecdh_curve(groups[0])
    else:
        _ctrl(ctx, _SSL_CTRL_SET_GROUPS_LIST, ":".join(groups), "group list")


def set_signature_algorithms(ctx: ssl.SSLContext, sigalgs: str) -> None:
    """Restrict the handshake signature schemes (OpenSSL list, e.g. ``ECDSA+SHA256:RSA+SHA256``)."""
    _ctrl(ctx, _SSL_CTRL_SET_SIGALGS_LIST, sigalgs, "signature algorithm list")


def set_tls13_suites(ctx: ssl.SSLContext, suites: str) -> None:
    """Restrict the TLS 1.3 cipher suites (``TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384``)."""
    lib, ptr = _ssl_ctx(ctx)
    lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
    lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    if lib.SSL_CTX_set_ciphersuites(ptr, suites.encode()) != 1:
        raise ValueError(f"OpenSSL refused the TLS 1.3 suites {suites!r}")


def _ctrl(ctx: ssl.SSLContext, command: int, value: str, what: str) -> None:
    lib, ptr = _ssl_ctx(ctx)
    lib.SSL_CTX_ctrl.restype = ctypes.c_long
    lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    if lib.SSL_CTX_ctrl(ptr, command, 0, ctypes.c_char_p(value.encode())) != 1:
        raise ValueError(f"OpenSSL refused the {what} {value!r}")


def _ssl_ctx(ctx: ssl.SSLContext) -> tuple[ctypes.CDLL, int]:
    """OpenSSL (as loaded by ``_ssl``) and the ``SSL_CTX *`` behind a Python context."""
    lib = ctypes.CDLL(ssl._ssl.__file__)  # type: ignore[attr-defined]
    lib.SSL_CTX_get_options.restype = ctypes.c_uint64
    lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
    # PySSLContext starts with PyObject_HEAD followed by the SSL_CTX pointer.
    ptr = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
    if not ptr or lib.SSL_CTX_get_options(ptr) != ctx.options:
        raise RuntimeError("cannot locate the SSL_CTX of this ssl.SSLContext")
    return lib, ptr


def compliant_context(client_ca: Sequence[Path] | None = None) -> ssl.SSLContext:
    """A Konnektor as gemSpec_Krypt wants it: RSA and ECC C.AK.AUT, TLS 1.2 + 1.3, AES-GCM
    suites only, brainpoolP256r1 and P-256, SHA-256+ signatures (passes every ti-tls rule)."""
    return server_context(
        (KONNEKTOR_ECC, KONNEKTOR_RSA),
        groups=("brainpoolP256r1", "prime256v1"),
        ciphers=GCM_ECDHE,
        tls13_suites=TLS13_GCM,
        sigalgs=STRONG_SIGALGS,
        client_ca=client_ca,
    )


def legacy_tls_available() -> bool:
    """True when this machine's OpenSSL completes a TLS 1.0 handshake with itself."""
    ctx = server_context(min_version=ssl.TLSVersion.TLSv1, ciphers="ALL")
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client.minimum_version = client.maximum_version = ssl.TLSVersion.TLSv1
    try:
        with (
            TlsServer(ctx) as server,
            socket.create_connection(server.hostport, 5) as raw,
            client.wrap_socket(raw) as tls,
        ):
            return tls.version() == "TLSv1"
    except (OSError, ssl.SSLError):
        return False


# -- hostile peers for TlsServer(None, handler) ---------------------------------------------------


def hang(conn: socket.socket) -> None:
    """Accept and never answer (until the server stops)."""
    with contextlib.suppress(OSError):
        while conn.recv(4096):
            pass


def reset(conn: socket.socket) -> None:
    """Read the ClientHello, then reset the connection (RST, no alert)."""
    with contextlib.suppress(OSError):
        conn.recv(4096)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def garbage(conn: socket.socket) -> None:
    """Answer the ClientHello with something that is not TLS (an HTTP error page)."""
    with contextlib.suppress(OSError):
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


def canned(answer: bytes) -> Handler:
    """A peer that answers the first bytes it receives with ``answer`` and closes."""

    def handler(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.recv(65536)
            conn.sendall(answer)

    return handler


# -- the server ----------------------------------------------------------------------------------


class TlsServer:
    """A threaded server on 127.0.0.1, port chosen by the OS, stopped on leaving the ``with``."""

    def __init__(
        self,
        context: ssl.SSLContext | None,
        handler: Handler | None = None,
        *,
        host: str = "127.0.0.1",
        handshake_timeout: float = 5.0,
    ) -> None:
        self.context = context
        self.handler = handler
        self.handshake_timeout = handshake_timeout
        self.handshakes = 0
        self.failures: list[str] = []
        self._listener = socket.create_server((host, 0), backlog=64)
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="tlsserver", daemon=True)

    @property
    def hostport(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return f"https://{self.address}"

    def start(self) -> TlsServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Close the listener and every open connection; wait (briefly) for the threads."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._acceptor.join(5)
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> TlsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._conns.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with self._tls(conn) as peer:
                if peer is not None:
                    (self.handler or _close)(peer)
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    @contextlib.contextmanager
    def _tls(self, conn: socket.socket) -> Iterator[socket.socket | None]:
        if self.context is None:
            yield conn
            return
        conn.settimeout(self.handshake_timeout)
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            with self._lock:
                self.failures.append(str(exc))
            yield None
            return
        with self._lock:
            self.handshakes += 1
            self._conns.add(tls)
        try:
            yield tls
        finally:
            with self._lock:
                self._conns.discard(tls)
            tls.close()


def _close(conn: socket.socket) -> None:
    """The default handler: nothing to say, close."""
