"""A Konnektor simulator for tests: connector.sds and two SOAP operations over HTTPS on loopback.

Use::

    from tests.konnektor_sim import KonnektorSim, konnektor_context

    with KonnektorSim(konnektor_context(), sds=SECURE_SDS) as sim:   # 127.0.0.1, free port
        audit(endpoint=sim.url)                                      # https://127.0.0.1:PORT

The TLS side is whatever ``ssl.SSLContext`` the caller builds (secure, TLS 1.0
enabled, CBC suites only, RSA only, client certificate required or not: see
``tests.tlsserver.server_context``); the simulator only speaks HTTP on top of it,
one thread per connection (``tests.tlsserver.TlsServer``). It serves

- ``GET /connector.sds``: the given service directory, with every ``https://``
  endpoint origin (``Location="..."``) rewritten to the simulator's and every
  ``http://`` one to its plain-HTTP port (left unchanged when there is none);
- ``POST`` anything: the GetResourceInformation or CheckCertificateExpiration
  response file, chosen by the operation named in the request body;
- with ``plain_http=True`` the same on a second, plain-HTTP port;
- with ``basic=(user, password)`` only to requests carrying that HTTP Basic login.

Every request is recorded in ``calls``. The hostile peers (``hang``, ``reset``,
``garbage``) are ``tests.tlsserver``'s, run with ``TlsServer(None, handler)``.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType

from tests.tlsserver import CLIENT_CA, KONNEKTOR_ECC, Identity, TlsServer, server_context

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "konnektor"
SPEC = REPO.parent / "shared" / "spec-data"
EXAMPLE = REPO / "gemcheck" / "examples" / "praxis" / "konnektor"

SECURE_SDS = SPEC / "synthetic" / "connector.sds.secure.synthetic.xml"
OPEN_SDS = SPEC / "samples" / "connector.sds.kocobox-ptv5.cocard.xml"
NO_CAUT_SDS = SPEC / "synthetic" / "connector.sds.tls-no-caut.synthetic.xml"
GRI_OK = EXAMPLE / "resource-information.xml"
GRI_FATAL = DATA / "gri-fatal-firewall.xml"
CCE_OK = DATA / "cce-ok.xml"
CCE_4257 = (
    SPEC / "synthetic" / "check-certificate-expiration.ecc.response-warning-4257.synthetic.xml"
)

CA_FILES = (REPO / "certs/ca/rca1.pem", REPO / "certs/ca/rca2.pem")
"""Roots that verify the synthetic C.AK.AUT identities (ECC and RSA)."""
CLIENT_P12 = REPO / "certs/ecc/clientsystem.p12"
CLIENT_P12_PASSWORD = "00"

_HTTPS_ORIGIN = re.compile(rb'(Location=")https://[^/"]+')
_HTTP_ORIGIN = re.compile(rb'(Location=")http://[^/"]+')


def konnektor_context(
    identity: Identity = KONNEKTOR_ECC, *, client_auth: bool = True, **kwargs: object
) -> ssl.SSLContext:
    """A Konnektor-like server context, a client certificate from the client-system CA required
    (``client_auth``). The ECC C.AK.AUT identity speaks TLS 1.2 with brainpoolP256r1 only; any
    other identity gets OpenSSL's groups plus brainpoolP256r1, which a Konnektor needs to accept
    the (brainpool) client-system certificate (A_21811). ``kwargs`` go to ``server_context``."""
    options: dict[str, object] = (
        {"tls13": False, "groups": "brainpoolP256r1"}
        if identity is KONNEKTOR_ECC
        else {"groups": ["X25519", "prime256v1", "secp384r1", "brainpoolP256r1"]}
    )
    options.update(kwargs)
    return server_context(
        identity,
        client_ca=[CLIENT_CA] if client_auth else None,
        **options,  # type: ignore[arg-type]
    )


@dataclass(frozen=True, slots=True)
class Call:
    """One request the simulator received."""

    method: str
    path: str
    tls: bool
    client_cert: bool
    authorization: bool
    body: bytes


class KonnektorSim:
    """The simulator; ``with KonnektorSim(ctx, ...) as sim`` starts and stops it."""

    def __init__(
        self,
        context: ssl.SSLContext,
        *,
        sds: Path = SECURE_SDS,
        resource_information: Path = GRI_OK,
        certificate_expiration: Path = CCE_OK,
        plain_http: bool = False,
        basic: tuple[str, str] | None = None,
    ) -> None:
        self.sds_template = sds.read_bytes()
        self.responses = {
            b"GetResourceInformation": resource_information.read_bytes(),
            b"CheckCertificateExpiration": certificate_expiration.read_bytes(),
        }
        self.basic = basic
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self.tls = TlsServer(context, self._serve)
        self.plain = TlsServer(None, self._serve) if plain_http else None

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return self.tls.url

    @property
    def plain_port(self) -> int | None:
        return self.plain.port if self.plain else None

    def sds(self) -> bytes:
        """connector.sds with the simulator's own origins."""
        https = f"https://{self.tls.address}".encode()
        body = _HTTPS_ORIGIN.sub(lambda m: m.group(1) + https, self.sds_template)
        if self.plain is not None:
            http = f"http://{self.plain.address}".encode()
            body = _HTTP_ORIGIN.sub(lambda m: m.group(1) + http, body)
        return body

    def start(self) -> KonnektorSim:
        self.tls.start()
        if self.plain is not None:
            self.plain.start()
        return self

    def stop(self) -> None:
        self.tls.stop()
        if self.plain is not None:
            self.plain.stop()

    def __enter__(self) -> KonnektorSim:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            _Handler(conn, ("127.0.0.1", 0), self)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0 on top of whatever socket the TlsServer hands over."""

    server: KonnektorSim  # type: ignore[assignment]
    timeout = 5

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read ``calls``."""

    def do_GET(self) -> None:
        self._record(b"")
        if not self._authorized():
            return
        if self.path.split("?")[0] == "/connector.sds":
            self._send(200, self.server.sds(), "application/xml")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._record(body)
        if not self._authorized():
            return
        for operation, answer in self.server.responses.items():
            if operation in body:
                self._send(200, answer, "text/xml; charset=utf-8")
                return
        self._send(500, _FAULT, "text/xml; charset=utf-8")

    def _authorized(self) -> bool:
        if self.server.basic is None:
            return True
        user, password = self.server.basic
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if self.headers.get("Authorization") == expected:
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="Konnektor"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def _record(self, body: bytes) -> None:
        conn = self.connection
        tls = isinstance(conn, ssl.SSLSocket)
        self.server.record(
            Call(
                method=self.command,
                path=self.path,
                tls=tls,
                client_cert=isinstance(conn, ssl.SSLSocket) and bool(conn.getpeercert()),
                authorization="Authorization" in self.headers,
                body=body,
            )
        )

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


_FAULT = (
    b'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope '
    b'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
    b"<faultcode>soap:Client</faultcode><faultstring>unknown operation</faultstring>"
    b"</soap:Fault></soap:Body></soap:Envelope>"
)
