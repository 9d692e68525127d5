"""Probe one TLS endpoint: versions, every TLS 1.2 suite, groups, renegotiation, certificates.

How (see docs/tls.md for the why):

- Each question is one short connection with a ClientHello written here
  (:mod:`gemcheck.tls.wire`): one protocol version, or one cipher suite, or one
  group per handshake. The server's ServerHello says what it selected; the probe
  hangs up after the server's first flight. So a server that insists on a client
  certificate, or a brainpool-only Konnektor that Python's default client cannot
  reach, is judged exactly like any other, and SSLv3, x25519 or a single TLS 1.3
  suite can be offered although Python's ``ssl`` cannot offer them.
- The TLS 1.2 suites tried are every suite the local OpenSSL can offer
  (``ALL:COMPLEMENTOFALL:@SECLEVEL=0``), one per ClientHello, with every group and
  signature scheme offered, so the answer does not depend on the server's order.
- Probes run concurrently (``concurrency`` connections at most), each with its own
  deadline (``timeout`` for connect, send and the whole answer).
- Finally one real handshake with Python's ``ssl`` (OpenSSL) shows that an ordinary
  client completes it; for a brainpool-only server it uses a TLS 1.2 context with
  ``set_ecdh_curve`` on the group the server accepted.

An endpoint that refuses the connection, never answers, resets, or answers
something that is not TLS gives one evidence with ``error`` set, after at most
``timeout`` seconds.
"""

from __future__ import annotations

import functools
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gemcheck.evidence.tls import PROBE_AREAS, TlsEvidence
from gemcheck.model import Location
from gemcheck.tls.catalog import (
    GROUPS,
    OPENSSL_GROUP_NAMES,
    STRONG_SIGNATURES,
    TLS12_GROUPS,
    TLS13_GROUPS,
    TLS13_SUITES,
    VERSIONS,
    WEAK_SIGNATURES,
    Suite,
    key_exchange,
    openssl_tls12_suites,
    signature_name,
    suite,
)
from gemcheck.tls.endpoint import Endpoint, parse_endpoint
from gemcheck.tls.wire import TLS13, Flight, FlightReader, Malformed, client_hello

TLS12 = VERSIONS["TLSv1.2"]

OPENSSL_DEFAULT_GROUPS = frozenset({"x25519", "secp256r1", "x448", "secp521r1", "secp384r1"})
"""The groups an OpenSSL 3 client offers by default: a server accepting none needs another."""

ALL_SIGNATURES = (*STRONG_SIGNATURES, *WEAK_SIGNATURES)
"""Signature schemes offered: SHA-1 listed last is tolerated by A_21275-01 and lets old servers
answer, so their other faults are seen too."""

GIVE_UP_AFTER = 8
"""Probes that time out before the rest of an endpoint's probes are given up (at least)."""

GROUP_PREFERENCE = ("brainpoolP256r1", "secp256r1", "brainpoolP384r1", "secp384r1")
"""Which accepted group the final OpenSSL handshake picks first (the TI's own curves)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One exchange: the flight read, and the transport problem that ended it, if any."""

    flight: Flight
    problem: str | None = None
    inconclusive: bool = False
    timed_out: bool = False

    def describe(self) -> str:
        """Why the exchange did not accept: an alert, a closed connection, a timeout ..."""
        if self.flight.alert is not None:
            return f"alert {self.flight.alert_name}"
        return self.problem or "no ServerHello"


@dataclass(frozen=True, slots=True)
class _Job:
    area: str
    label: str
    hello: bytes
    accepted: Callable[[Flight], bool]


def probe(
    target: str,
    *,
    role: str | None = None,
    timeout: float = 5.0,
    concurrency: int = 8,
) -> TlsEvidence:
    """Probe one endpoint (``host:port`` or ``https://host[:port]``); never raises for bad input."""
    location = Location(uri=target)
    base = TlsEvidence(subject=target, location=location, role=role)
    try:
        ep = parse_endpoint(target)
        peer = _Peer(ep, timeout, give_up_after=max(GIVE_UP_AFTER, concurrency))
    except ValueError as exc:
        return replace(base, error=f"bad endpoint: {exc}")
    except OSError as exc:
        return replace(base, error=f"cannot resolve {target}: {exc.strerror or exc}")
    base = replace(base, endpoint=str(ep))
    tls12 = openssl_tls12_suites()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        hellos = [_version_hello(v, tls12, peer.sni) for v in VERSIONS]
        answers = dict(zip(VERSIONS, pool.map(peer.exchange, hellos), strict=True))
        if not any(a.flight.tls_seen for a in answers.values()):
            return replace(base, error=f"no TLS answer from {ep}: {answers['TLSv1.2'].describe()}")
        versions = tuple(v for v, a in answers.items() if _accepts_version(VERSIONS[v], a.flight))
        jobs = _jobs(versions, tls12, peer.sni)
        done = list(zip(jobs, pool.map(lambda j: peer.exchange(j.hello), jobs), strict=True))
    tried = len(tls12) if "TLSv1.2" in versions else 0
    return _conclude(
        replace(base, versions=versions, tls12_suites_tried=tried), peer, answers, done
    )


def _conclude(
    ev: TlsEvidence, peer: _Peer, answers: Mapping[str, Answer], done: Sequence[tuple[_Job, Answer]]
) -> TlsEvidence:
    """The evidence from every answer, plus the final OpenSSL handshake."""
    errors: dict[str, dict[str, str]] = {area: {} for area in PROBE_AREAS}
    errors["versions"] = {v: a.describe() for v, a in answers.items() if a.inconclusive}
    accepted: dict[str, list[str]] = {area: [] for area in PROBE_AREAS}
    for job, answer in done:
        if answer.inconclusive:
            errors[job.area][job.label] = answer.describe()
        elif job.accepted(answer.flight):
            accepted[job.area].append(job.label)
    # flights of the accepted versions below TLS 1.3, highest first: renegotiation, client auth
    below13 = [
        answers[v].flight for v in ("TLSv1.2", "TLSv1.1", "TLSv1.0", "SSLv3") if v in ev.versions
    ]
    chains = _chains([*below13, *(a.flight for _, a in done)])
    signed = [a.flight for j, a in done if j.area == "signatures"]
    groups = tuple(accepted["groups"])
    summary, handshake_error, leaf = _openssl_handshake(peer, ev.versions, groups)
    hello = below13[0].hello if below13 else None
    return replace(
        ev,
        tls12_suites=tuple(suite(int(code, 16)) for code in accepted["tls12_suites"]),
        tls13_suites=tuple(_suite13(label) for label in accepted["tls13_suites"]),
        groups=groups,
        tls13_groups=tuple(accepted["tls13_groups"]),
        secure_renegotiation=hello.secure_renegotiation if hello else None,
        client_auth_requested=below13[0].client_auth if below13 else None,
        weak_signature=_weak_signature(signed[0]) if signed else None,
        signatures_tested="TLSv1.2" in ev.versions,
        chains=chains or (((leaf,),) if leaf else ()),
        handshake=summary,
        handshake_error=handshake_error,
        probe_errors=MappingProxyType({k: MappingProxyType(v) for k, v in errors.items() if v}),
    )


# -- what to ask ----------------------------------------------------------------------------------


def _hello12(
    version: int,
    suites: Sequence[int],
    sni: str | None,
    *,
    groups: Sequence[int] = TLS12_GROUPS,
    signatures: Sequence[int] = ALL_SIGNATURES,
) -> bytes:
    return client_hello(
        version=version, suites=suites, groups=groups, signatures=signatures, server_name=sni
    )


def _hello13(
    suites: Sequence[int], sni: str | None, *, groups: Sequence[int] = TLS13_GROUPS
) -> bytes:
    """A TLS 1.3 hello; with one group offered, no key share (the server asks for it)."""
    shares = _key_shares() if len(groups) > 1 else ()
    return client_hello(
        version=TLS13,
        suites=suites,
        groups=groups,
        signatures=ALL_SIGNATURES,
        server_name=sni,
        key_shares=shares,
    )


def _version_hello(version: str, tls12: Sequence[int], sni: str | None) -> bytes:
    code = VERSIONS[version]
    if code == TLS13:
        return _hello13(list(TLS13_SUITES), sni)
    if version == "SSLv3":
        return client_hello(version=code, suites=tls12, extensions=False)
    return _hello12(code, tls12, sni)


def _jobs(versions: Sequence[str], tls12: Sequence[int], sni: str | None) -> list[_Job]:
    jobs: list[_Job] = []
    if "TLSv1.2" in versions:
        for code in tls12:
            accepted = _selects(TLS12, suite=code)
            jobs.append(_Job("tls12_suites", f"{code:04X}", _hello12(TLS12, [code], sni), accepted))
        ecdhe = [c for c in tls12 if key_exchange(suite(c).name).startswith("ECDHE")]
        for group in TLS12_GROUPS:
            hello = _hello12(TLS12, ecdhe, sni, groups=[group])
            jobs.append(_Job("groups", GROUPS[group], hello, _selects(TLS12, kx_group=group)))
        signed = [c for c in tls12 if key_exchange(suite(c).name).startswith(("ECDHE", "DHE"))]
        hello = _hello12(TLS12, signed, sni, signatures=WEAK_SIGNATURES)
        jobs.append(_Job("signatures", "MD5/SHA-1/SHA-224 only", hello, _selects(TLS12)))
    if "TLSv1.3" in versions:
        for code in TLS13_SUITES:
            accepted = _selects(TLS13, suite=code)
            jobs.append(_Job("tls13_suites", f"{code:04X}", _hello13([code], sni), accepted))
        for group in TLS13_GROUPS:
            hello = _hello13(list(TLS13_SUITES), sni, groups=[group])
            accepted = _selects(TLS13, hello_group=group)
            jobs.append(_Job("tls13_groups", GROUPS[group], hello, accepted))
    return jobs


def _selects(
    version: int,
    *,
    suite: int | None = None,
    kx_group: int | None = None,
    hello_group: int | None = None,
) -> Callable[[Flight], bool]:
    """A predicate: the server's hello selected this version (and suite / group)."""

    def accepted(flight: Flight) -> bool:
        hello = flight.hello
        return (
            hello is not None
            and hello.version == version
            and (suite is None or hello.suite == suite)
            and (kx_group is None or flight.kx_group == kx_group)
            and (hello_group is None or hello.group == hello_group)
        )

    return accepted


def _accepts_version(code: int, flight: Flight) -> bool:
    return flight.hello is not None and flight.hello.version == code


@functools.cache
def _key_shares() -> tuple[tuple[int, bytes], ...]:
    """Real x25519 and secp256r1 shares, so a TLS 1.3 server need not ask again."""
    x = x25519.X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    p = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    return ((29, x), (23, p))


# -- asking ---------------------------------------------------------------------------------------


class _Peer:
    """The endpoint, resolved once: connects, exchanges hellos, and gives up when it hangs.

    After ``give_up_after`` exchanges ran into the timeout, the remaining ones are not
    sent (they are reported as undecided): a peer that stopped answering must not cost
    one timeout per cipher suite.
    """

    def __init__(self, ep: Endpoint, timeout: float, *, give_up_after: int) -> None:
        family, _, _, _, address = socket.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)[0]
        self.family, self.address = family, address
        self.sni = None if ep.is_address else ep.host
        self.timeout = timeout
        self._give_up_after = give_up_after
        self._timeouts = 0
        self._lock = threading.Lock()

    def connect(self) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.address)
        except BaseException:
            sock.close()
            raise
        return sock

    def exchange(self, hello: bytes) -> Answer:
        """Send one ClientHello and read the server's first flight before the deadline."""
        with self._lock:
            if self._timeouts >= self._give_up_after:
                why = f"not tried: {self._timeouts} earlier probes got no answer in time"
                return Answer(Flight(), why, inconclusive=True)
        answer = self._exchange(hello)
        if answer.timed_out:
            with self._lock:
                self._timeouts += 1
        return answer

    def _exchange(self, hello: bytes) -> Answer:
        deadline = time.monotonic() + self.timeout
        reader = FlightReader()
        try:
            with self.connect() as sock:
                sock.sendall(hello)
                while not reader.done:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError
                    sock.settimeout(left)
                    data = sock.recv(65536)
                    if not data:
                        return Answer(reader.flight(), "the server closed the connection")
                    reader.feed(data)
        except TimeoutError:
            why = f"no answer within {self.timeout:g} s"
            return Answer(reader.flight(), why, inconclusive=True, timed_out=True)
        except ConnectionResetError:
            return Answer(reader.flight(), "the server reset the connection")
        except Malformed as exc:
            return Answer(reader.flight(), f"not TLS: {exc}", inconclusive=True)
        except OSError as exc:
            return Answer(reader.flight(), exc.strerror or str(exc), inconclusive=True)
        return Answer(reader.flight())


# -- what the answers mean ----------------------------------------------------------------------


def _chains(flights: Sequence[Flight]) -> tuple[tuple[bytes, ...], ...]:
    seen: dict[tuple[bytes, ...], None] = {}
    for flight in flights:
        if flight.certificates:
            seen.setdefault(flight.certificates, None)
    return tuple(seen)


def _weak_signature(flight: Flight) -> str | None:
    sig = flight.kx_signature
    if flight.hello is None or sig is None or sig not in WEAK_SIGNATURES:
        return None
    return signature_name(sig)


def _suite13(label: str) -> Suite:
    code = int(label, 16)
    return Suite(code, TLS13_SUITES[code])


def _openssl_handshake(
    peer: _Peer, versions: Sequence[str], groups: Sequence[str]
) -> tuple[str, str | None, bytes | None]:
    """One complete handshake with OpenSSL: (summary, error, leaf certificate DER)."""
    if "TLSv1.2" not in versions and "TLSv1.3" not in versions:
        return "", "not attempted: the endpoint accepts neither TLS 1.2 nor TLS 1.3", None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the certificate is judged by the PKI checks, not here
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    curve = ""
    if groups and not OPENSSL_DEFAULT_GROUPS.intersection(groups):
        # e.g. brainpool only: OpenSSL 3.0 has no brainpool in TLS 1.3, so TLS 1.2 with that group
        curve = next((g for g in GROUP_PREFERENCE if g in groups), groups[0])
        ctx.set_ecdh_curve(OPENSSL_GROUP_NAMES.get(curve, curve))
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif "TLSv1.3" not in versions:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        with peer.connect() as raw, ctx.wrap_socket(raw, server_hostname=peer.sni) as tls:
            cipher = tls.cipher()
            leaf = tls.getpeercert(binary_form=True)
            summary = f"{tls.version()} {cipher[0] if cipher else '?'}"
            return (f"{summary} with {curve}" if curve else summary), None, leaf
    except (OSError, ssl.SSLError, ValueError) as exc:
        return "", f"OpenSSL client could not complete a handshake: {exc}", None
