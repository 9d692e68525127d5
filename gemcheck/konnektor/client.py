"""A live Konnektor audit: fetch connector.sds, call two SOAP operations, probe access.

1. ``GET <endpoint>/connector.sds`` over HTTPS with the client system's
   certificate (PKCS#12) or HTTP Basic, trying the client TLS settings of
   :mod:`gemcheck.konnektor.tlsclient` until one connects.
2. EventService ``GetResourceInformation`` and CertificateService
   ``CheckCertificateExpiration`` (Crypt=ECC) at the service paths connector.sds
   names. The host and port are always the configured endpoint's: a service
   directory cannot send gemcheck (and its credentials) elsewhere.
3. The same GetResourceInformation without any credentials (is client
   authentication enforced?), and connector.sds and every SOAP path over plain
   HTTP on the ports connector.sds advertises plus ``http_ports``.

Every failure becomes error evidence naming the URL and what happened; nothing
here raises. Passwords are read from environment variables and sent only in
the ``Authorization`` header of HTTPS requests; no message contains them.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from gemcheck.evidence import Evidence
from gemcheck.evidence.konnektor import (
    CertificateExpirationEvidence,
    HttpProbe,
    KonnektorAccessEvidence,
    OperatingStateEvidence,
    ServiceDirectoryEvidence,
    ServiceVersion,
)
from gemcheck.konnektor import soap, tlsclient
from gemcheck.konnektor.operating import read_certificate_expiration, read_resource_information
from gemcheck.konnektor.sds import read_sds
from gemcheck.konnektor.tlsclient import ClientIdentity, CredentialError
from gemcheck.model import Location

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
SDS_PATH = "/connector.sds"
MAX_PLAIN_PROBES = 64


@dataclass(frozen=True, slots=True)
class LiveTarget:
    """Where and how to reach the Konnektor (passwords only as environment variable names)."""

    endpoint: str
    context: soap.CallContext | None
    client_p12: Path | None = None
    p12_password_env: str | None = None
    basic_user: str | None = None
    basic_password_env: str | None = None
    ca: tuple[Path, ...] = ()
    http_ports: tuple[int, ...] = (80,)
    timeout: float = 5.0


_NO_CONTEXT = (
    "konnektor.context (--context MANDANT/CLIENTSYSTEM/WORKPLACE) is not set: the SOAP calls "
    "need the client system's call context"
)
_PROBE_CONTEXT = soap.CallContext("gemcheck", "gemcheck", "gemcheck")
"""The context of the call without credentials when the site names none."""


class _Failed(Exception):
    """A step failed; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class _Connection:
    session: requests.Session
    profile: tlsclient.TlsProfile | None
    auth: tuple[str, str] | None = field(repr=False)


def collect_live(target: LiveTarget) -> list[Evidence]:
    """Evidence of a live audit: sds, state, certificate expiry and access (errors included)."""
    base = _origin(target.endpoint)
    sds_url = base + SDS_PATH
    if not base.startswith("https://"):
        return _all_failed(
            target,
            sds_url,
            "the live audit needs an https:// endpoint; gemcheck "
            "sends no credentials over plain HTTP (it checks plain HTTP itself)",
        )
    try:
        identity, auth = _credentials(target)
        conn, body = _connect(target, identity, auth, sds_url)
    except (_Failed, CredentialError) as exc:
        return _all_failed(target, sds_url, str(exc))
    now = dt.datetime.now(dt.UTC)
    sds = read_sds(body, sds_url, Location(uri=sds_url), observed_at=now)
    out: list[Evidence] = [sds]
    services = sds.services if sds.error is None else ()
    event = _service_path(services, "EventService")
    cert_service = _service_path(services, "CertificateService", minimum=(6, 0, 1))
    grq = soap.get_resource_information(target.context or _PROBE_CONTEXT)
    problem = sds.error or (None if target.context else _NO_CONTEXT)
    out.append(_state(target, conn, base, event, grq, problem))
    out.append(_expiration(target, conn, base, cert_service, problem))
    out.append(
        KonnektorAccessEvidence(
            subject=base,
            location=Location(uri=base),
            endpoint=base,
            auth="certificate" if identity else "basic" if auth else "none",
            unauthenticated=_unauthenticated(target, conn, base, event, grq),
            plain_http=tuple(_plain_http(target, services, event, grq)),
            tls_profile=conn.profile.name if conn.profile else "",
            server_verified=bool(target.ca),
        )
    )
    conn.session.close()
    return out


def _credentials(target: LiveTarget) -> tuple[ClientIdentity | None, tuple[str, str] | None]:
    identity = (
        tlsclient.load_identity(target.client_p12, target.p12_password_env)
        if target.client_p12
        else None
    )
    auth = None
    if target.basic_user:
        if not target.ca:
            raise CredentialError(
                "HTTP Basic needs konnektor.ca (--konnektor-ca) to verify the "
                "Konnektor first: the password would go to whoever answers"
            )
        env = target.basic_password_env
        password = None if env is None else os.environ.get(env)
        if password is None:
            raise CredentialError(
                f"environment variable {env or '(none named)'} is not set (it "
                "must hold the HTTP Basic password)"
            )
        auth = (target.basic_user, password)
    return identity, auth


def _connect(
    target: LiveTarget, identity: ClientIdentity | None, auth: tuple[str, str] | None, url: str
) -> tuple[_Connection, bytes]:
    """The first client TLS setting that completes a handshake, and connector.sds through it."""
    last = ""
    for profile in tlsclient.PROFILES:
        try:
            context = tlsclient.client_context(profile, identity, target.ca)
        except (OSError, ValueError) as exc:
            raise _Failed(f"cannot set up TLS: {exc}") from None
        conn = _Connection(tlsclient.session(context, target.ca), profile, auth)
        try:
            status, body = _request(conn, "GET", url, target.timeout)
        except requests.RequestException as exc:
            conn.session.close()
            if tlsclient.is_handshake_failure(exc):
                last = _reason(exc)
                continue
            raise _Failed(f"{url}: {_reason(exc)}") from None
        if status != 200:
            conn.session.close()
            raise _Failed(
                f"{url}: HTTP {status}" + (" (credentials refused)" if status in (401, 403) else "")
            )
        return conn, body
    raise _Failed(
        f"{url}: TLS handshake failed with every client setting "
        f"({', '.join(p.name for p in tlsclient.PROFILES)}): {last}"
    )


def _request(
    conn: _Connection,
    method: str,
    url: str,
    timeout: float,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    with conn.session.request(
        method,
        url,
        data=data,
        headers=headers,
        auth=conn.auth,
        timeout=(timeout, timeout),
        stream=True,
        allow_redirects=False,
    ) as response:
        body = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
        if len(body) > MAX_RESPONSE_BYTES:
            raise requests.exceptions.ContentDecodingError(
                f"response larger than {MAX_RESPONSE_BYTES} bytes"
            )
        return response.status_code, body


def _reason(exc: BaseException) -> str:
    """A short, credential-free description of a failed request."""
    if isinstance(exc, requests.Timeout):
        return "no answer within the timeout"
    for cause in tlsclient.causes(exc):
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the peer"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, (socket.timeout, TimeoutError)):
            return "no answer within the timeout"
    for cause in tlsclient.causes(exc):
        if isinstance(cause, OSError) and cause.__class__.__module__ == "ssl":
            return f"TLS error: {cause}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _service_path(
    services: Iterable[ServiceVersion], name: str, minimum: tuple[int, int, int] = (0, 0, 0)
) -> str | None:
    """The path of the newest version of a service (at least ``minimum``) in connector.sds."""
    best: tuple[tuple[int, ...], str] | None = None
    for s in services:
        if s.service != name or not s.endpoint_tls:
            continue
        version = tuple(int(p) for p in s.version.split(".") if p.isdigit())
        if version >= minimum and (best is None or version > best[0]):
            parts = urlsplit(s.endpoint_tls)
            best = (version, parts.path + (f"?{parts.query}" if parts.query else ""))
    return best[1] if best else None


def _state(
    target: LiveTarget,
    conn: _Connection,
    base: str,
    path: str | None,
    request: bytes,
    problem: str | None,
) -> OperatingStateEvidence:
    url = base + (path or "/")
    loc = Location(uri=url)
    if path is None or problem:
        return OperatingStateEvidence(
            subject=url,
            location=loc,
            source="resource-information",
            error=problem or "connector.sds lists no EventService EndpointTLS",
        )
    answer = _call(conn, url, "GetResourceInformation", request, target.timeout)
    if isinstance(answer, str):
        return OperatingStateEvidence(
            subject=url, location=loc, source="resource-information", error=answer
        )
    status, body = answer
    evidence = read_resource_information(body, url, loc, observed_at=dt.datetime.now(dt.UTC))
    if status != 200:
        return OperatingStateEvidence(
            subject=url,
            location=loc,
            source="resource-information",
            error=_http_error(url, status, evidence.error),
        )
    return evidence


def _expiration(
    target: LiveTarget, conn: _Connection, base: str, path: str | None, problem: str | None
) -> CertificateExpirationEvidence:
    url = base + (path or "/")
    loc = Location(uri=url)
    if path is None or problem or target.context is None:
        return CertificateExpirationEvidence(
            subject=url,
            location=loc,
            source="certificate-expiration",
            error=problem
            or "connector.sds lists no CertificateService 6.0.1 or later (needed for Crypt=ECC)",
        )
    request = soap.check_certificate_expiration(target.context, "ECC")
    answer = _call(conn, url, "CheckCertificateExpiration", request, target.timeout)
    if isinstance(answer, str):
        return CertificateExpirationEvidence(
            subject=url, location=loc, source="certificate-expiration", error=answer
        )
    status, body = answer
    evidence = read_certificate_expiration(
        body, url, loc, crypt="ECC", observed_at=dt.datetime.now(dt.UTC)
    )
    if status != 200:
        return CertificateExpirationEvidence(
            subject=url,
            location=loc,
            source="certificate-expiration",
            error=_http_error(url, status, evidence.error),
        )
    return evidence


def _call(
    conn: _Connection, url: str, operation: str, request: bytes, timeout: float
) -> tuple[int, bytes] | str:
    """(status, body) of a SOAP call, or what went wrong."""
    try:
        return _request(conn, "POST", url, timeout, request, soap.headers(operation))
    except requests.RequestException as exc:
        return f"{url}: {_reason(exc)}"


def _http_error(url: str, status: int, problem: str | None) -> str:
    return f"{url}: HTTP {status}" + (f": {problem}" if problem else "")


def _unauthenticated(
    target: LiveTarget, reached: _Connection, base: str, path: str | None, request: bytes
) -> HttpProbe | None:
    """GetResourceInformation with neither client certificate nor password."""
    if path is None:
        return None
    url = base + path
    if reached.profile is None:
        return None
    context = tlsclient.client_context(reached.profile, None, target.ca)
    conn = _Connection(tlsclient.session(context, target.ca), reached.profile, None)
    try:
        status, _ = _request(
            conn, "POST", url, target.timeout, request, soap.headers("GetResourceInformation")
        )
    except requests.RequestException as exc:
        if tlsclient.is_handshake_failure(exc) or _reason(exc) == "connection reset by the peer":
            return HttpProbe(url, "soap", "refused", detail=f"TLS refused: {_reason(exc)}")
        return HttpProbe(url, "soap", "error", detail=_reason(exc))
    finally:
        conn.session.close()
    if 200 <= status < 300:
        return HttpProbe(url, "soap", "answered", status)
    if status in (401, 403):
        return HttpProbe(url, "soap", "refused", status, detail=f"HTTP {status}")
    return HttpProbe(url, "soap", "error", status, detail=f"HTTP {status}: could not tell")


def _plain_http(
    target: LiveTarget, services: Iterable[ServiceVersion], event: str | None, request: bytes
) -> list[HttpProbe]:
    """connector.sds and every SOAP path over plain HTTP, on each candidate port."""
    host = urlsplit(target.endpoint).hostname or ""
    ports = list(dict.fromkeys([*target.http_ports, *_advertised_ports(services)]))
    paths = sorted({urlsplit(s.endpoint_tls).path for s in services if s.endpoint_tls})
    probes: list[HttpProbe] = []
    session = requests.Session()
    session.trust_env = False
    for port in ports:
        root = f"http://{_host(host)}:{port}"
        if not _port_open(host, port, target.timeout):
            probes += [
                HttpProbe(root + SDS_PATH, "sds", "closed", detail="port closed"),
                HttpProbe(root + (event or "/"), "soap", "closed", detail="port closed"),
            ]
            continue
        probes.append(_plain(session, root + SDS_PATH, "sds", target.timeout))
        for path in paths[:MAX_PLAIN_PROBES]:
            probes.append(_plain(session, root + path, "soap", target.timeout, request))
    session.close()
    return probes


def _plain(
    session: requests.Session, url: str, purpose: str, timeout: float, request: bytes | None = None
) -> HttpProbe:
    conn = _Connection(session, None, None)
    try:
        if request is None:
            status, body = _request(conn, "GET", url, timeout)
        else:
            status, body = _request(
                conn, "POST", url, timeout, request, soap.headers("GetResourceInformation")
            )
    except requests.RequestException as exc:
        return HttpProbe(url, purpose, "error", detail=_reason(exc))
    answered = 200 <= status < 300 or status == 401 or (status >= 500 and b"Envelope" in body)
    if purpose == "sds":
        answered = status == 200 and b"ConnectorServices" in body
    return HttpProbe(
        url, purpose, "answered" if answered else "refused", status, detail=f"HTTP {status}"
    )


def _advertised_ports(services: Iterable[ServiceVersion]) -> list[int]:
    ports: list[int] = []
    for s in services:
        for url in (s.endpoint, s.wsdl):
            if url and url.lower().startswith("http:"):
                try:
                    ports.append(urlsplit(url).port or 80)
                except ValueError:
                    continue
    return ports


def _port_open(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _origin(endpoint: str) -> str:
    """``https://host:port`` of the endpoint: connector.sds and the services live at its root."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _all_failed(target: LiveTarget, url: str, message: str) -> list[Evidence]:
    base = _origin(target.endpoint)
    loc = Location(uri=url)
    return [
        ServiceDirectoryEvidence(subject=url, location=loc, source="sds", error=message),
        OperatingStateEvidence(
            subject=url, location=loc, source="resource-information", error=message
        ),
        CertificateExpirationEvidence(
            subject=url, location=loc, source="certificate-expiration", error=message
        ),
        KonnektorAccessEvidence(
            subject=base, location=Location(uri=base), endpoint=base, error=message
        ),
    ]
