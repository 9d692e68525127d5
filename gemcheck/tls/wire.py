"""The TLS wire format, as far as a probe needs it: write a ClientHello, read the server's answer.

A probe sends one ClientHello and reads the server's first flight, which is
plaintext up to ``ServerHelloDone`` in TLS <= 1.2 and up to the ``ServerHello``
(or ``HelloRetryRequest``) in TLS 1.3. That is enough to learn the version and
cipher suite the server selects, the renegotiation_info extension (RFC 5746), the
certificate chain and the ECDHE group and handshake signature of TLS 1.2, and
whether it asks for a client certificate. No key is ever derived: the probe hangs
up after the server's first flight. Pure code, no I/O.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from gemcheck.tls.catalog import SUITE_NAMES, key_exchange

# record types
CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
# handshake messages
SERVER_HELLO, CERTIFICATE, SERVER_KEY_EXCHANGE = 2, 11, 12
CERTIFICATE_REQUEST, SERVER_HELLO_DONE = 13, 14
# extensions
EXT_SERVER_NAME, EXT_SUPPORTED_GROUPS, EXT_EC_POINT_FORMATS = 0, 10, 11
EXT_SIGNATURE_ALGORITHMS, EXT_EXTENDED_MASTER_SECRET = 13, 23
EXT_SUPPORTED_VERSIONS, EXT_KEY_SHARE, EXT_RENEGOTIATION_INFO = 43, 51, 0xFF01
TLS13 = 0x0304

HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()
"""The ServerHello.random that marks a HelloRetryRequest (RFC 8446 4.1.3)."""

MAX_FLIGHT = 512 * 1024
"""Bytes of server flight read at most; a larger first flight is treated as garbage."""

ALERTS: dict[int, str] = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    47: "illegal_parameter",
    48: "unknown_ca",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    116: "certificate_required",
    120: "no_application_protocol",
}


# -- ClientHello -----------------------------------------------------------------------------------


def client_hello(
    *,
    version: int,
    suites: Sequence[int],
    groups: Sequence[int] = (),
    signatures: Sequence[int] = (),
    server_name: str | None = None,
    key_shares: Sequence[tuple[int, bytes]] = (),
    extensions: bool = True,
) -> bytes:
    """One ClientHello record.

    ``version`` TLS13 offers TLS 1.3 only (``supported_versions``, ``key_shares``
    as given, possibly none to ask for a HelloRetryRequest); lower versions go in
    ``client_version``. ``extensions=False`` writes an SSLv3-style hello that
    signals secure renegotiation with the SCSV instead of the extension.
    """
    legacy = min(version, 0x0303)
    offered = list(suites) if extensions else [*suites, 0x00FF]
    session_id = os.urandom(32) if version == TLS13 else b""
    body = (
        struct.pack("!H", legacy)
        + os.urandom(32)
        + _vec8(session_id)
        + _vec16(b"".join(struct.pack("!H", s) for s in offered))
        + b"\x01\x00"
    )
    if extensions:
        body += _vec16(b"".join(_extensions(version, groups, signatures, server_name, key_shares)))
    handshake = bytes([1]) + len(body).to_bytes(3, "big") + body
    return bytes([HANDSHAKE]) + struct.pack("!HH", min(version, 0x0301), len(handshake)) + handshake


def _extensions(
    version: int,
    groups: Sequence[int],
    signatures: Sequence[int],
    server_name: str | None,
    key_shares: Sequence[tuple[int, bytes]],
) -> Iterable[bytes]:
    if server_name:
        name = server_name.encode("idna")
        yield _ext(EXT_SERVER_NAME, _vec16(b"\x00" + _vec16(name)))
    if groups:
        yield _ext(EXT_SUPPORTED_GROUPS, _vec16(b"".join(struct.pack("!H", g) for g in groups)))
        yield _ext(EXT_EC_POINT_FORMATS, _vec8(b"\x00"))
    if signatures:
        yield _ext(
            EXT_SIGNATURE_ALGORITHMS, _vec16(b"".join(struct.pack("!H", s) for s in signatures))
        )
    yield _ext(EXT_EXTENDED_MASTER_SECRET, b"")
    if version == TLS13:
        yield _ext(EXT_SUPPORTED_VERSIONS, _vec8(struct.pack("!H", TLS13)))
        shares = b"".join(struct.pack("!H", g) + _vec16(key) for g, key in key_shares)
        yield _ext(EXT_KEY_SHARE, _vec16(shares))
    else:
        yield _ext(EXT_RENEGOTIATION_INFO, _vec8(b""))


def _ext(code: int, data: bytes) -> bytes:
    return struct.pack("!HH", code, len(data)) + data


def _vec8(data: bytes) -> bytes:
    return bytes([len(data)]) + data


def _vec16(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


# -- the server's first flight ---------------------------------------------------------------------


class Malformed(ValueError):
    """The peer's bytes are not a TLS server flight."""


@dataclass(frozen=True, slots=True)
class ServerHello:
    """What the server selected. ``version`` is the negotiated one (supported_versions first)."""

    version: int
    suite: int
    extensions: Mapping[int, bytes]
    retry: bool = False

    @property
    def group(self) -> int | None:
        """The key-share group a TLS 1.3 ServerHello or HelloRetryRequest selected."""
        data = self.extensions.get(EXT_KEY_SHARE)
        return struct.unpack("!H", data[:2])[0] if data and len(data) >= 2 else None

    @property
    def secure_renegotiation(self) -> bool:
        """True when the server sent an (initial, empty) renegotiation_info extension."""
        return self.extensions.get(EXT_RENEGOTIATION_INFO) == b"\x00"


@dataclass(frozen=True, slots=True)
class Flight:
    """The server's answer to one ClientHello, as far as it was read."""

    hello: ServerHello | None = None
    certificates: tuple[bytes, ...] = ()
    kx_group: int | None = None
    kx_signature: int | None = None
    client_auth: bool = False
    alert: int | None = None
    tls_seen: bool = False

    @property
    def alert_name(self) -> str:
        if self.alert is None:
            return ""
        return f"{ALERTS.get(self.alert, 'alert')} ({self.alert})"


class FlightReader:
    """Feed the bytes a server sends; ``done`` once its plaintext first flight is complete."""

    def __init__(self) -> None:
        self._buffer = b""
        self._handshake = b""
        self._seen = 0
        self.done = False
        self.hello: ServerHello | None = None
        self.certificates: tuple[bytes, ...] = ()
        self.kx_group: int | None = None
        self.kx_signature: int | None = None
        self.client_auth = False
        self.alert: int | None = None
        self.tls_seen = False

    def feed(self, data: bytes) -> None:
        """Consume bytes; raises :class:`Malformed` at the first thing that is not TLS."""
        self._seen += len(data)
        if self._seen > MAX_FLIGHT:
            raise Malformed(f"server sent more than {MAX_FLIGHT} bytes without finishing its hello")
        self._buffer += data
        while not self.done and len(self._buffer) >= 5:
            ctype, major, _minor, length = struct.unpack("!BBBH", self._buffer[:5])
            if ctype not in (HANDSHAKE, ALERT, CHANGE_CIPHER_SPEC, APPLICATION_DATA) or major != 3:
                raise Malformed(f"not a TLS record: {_show(self._buffer[:16])}")
            if length > 18432:
                raise Malformed(f"TLS record of {length} bytes is longer than allowed")
            if len(self._buffer) < 5 + length:
                return
            fragment, self._buffer = self._buffer[5 : 5 + length], self._buffer[5 + length :]
            self._record(ctype, fragment)
            self.tls_seen = True

    def _record(self, ctype: int, fragment: bytes) -> None:
        if ctype == ALERT:
            if len(fragment) < 2:
                raise Malformed("truncated alert")
            self.alert = fragment[1]
            self.done = True
        elif ctype == HANDSHAKE:
            self._handshake += fragment
            while not self.done and len(self._handshake) >= 4:
                length = int.from_bytes(self._handshake[1:4], "big")
                if len(self._handshake) < 4 + length:
                    return
                mtype, body = self._handshake[0], self._handshake[4 : 4 + length]
                self._handshake = self._handshake[4 + length :]
                self._message(mtype, body)
        else:  # ChangeCipherSpec or encrypted data: the plaintext part is over
            if self.hello is None:
                raise Malformed("encrypted data before any ServerHello")
            self.done = True

    def _message(self, mtype: int, body: bytes) -> None:
        if self.hello is None and mtype != SERVER_HELLO:
            raise Malformed(f"handshake message {mtype} before the ServerHello")
        if mtype == SERVER_HELLO:
            self.hello = parse_server_hello(body)
            self.done = self.hello.version == TLS13 or self.hello.retry
        elif mtype == CERTIFICATE:
            self.certificates = parse_certificates(body)
        elif mtype == SERVER_KEY_EXCHANGE and self.hello is not None:
            self.kx_group, self.kx_signature = parse_key_exchange(body, self.hello)
        elif mtype == CERTIFICATE_REQUEST:
            self.client_auth = True
        elif mtype == SERVER_HELLO_DONE:
            self.done = True

    def flight(self) -> Flight:
        """What has been read so far."""
        return Flight(
            hello=self.hello,
            certificates=self.certificates,
            kx_group=self.kx_group,
            kx_signature=self.kx_signature,
            client_auth=self.client_auth,
            alert=self.alert,
            tls_seen=self.tls_seen,
        )


def parse_server_hello(body: bytes) -> ServerHello:
    """Decode a ServerHello (or HelloRetryRequest) body."""
    r = _Reader(body)
    legacy = r.u16()
    random = r.take(32)
    r.take(r.u8())  # session id
    suite = r.u16()
    r.u8()  # compression
    extensions: dict[int, bytes] = {}
    if r.left():
        ext = _Reader(r.take(r.u16()))
        while ext.left():
            code = ext.u16()
            extensions[code] = ext.take(ext.u16())
    version = legacy
    chosen = extensions.get(EXT_SUPPORTED_VERSIONS)
    if chosen is not None and len(chosen) == 2:
        version = struct.unpack("!H", chosen)[0]
    return ServerHello(version, suite, MappingProxyType(extensions), retry=random == HRR_RANDOM)


def parse_certificates(body: bytes) -> tuple[bytes, ...]:
    """The DER certificates of a TLS <= 1.2 Certificate message, leaf first."""
    r = _Reader(body)
    chain = _Reader(r.take(r.u24()))
    out: list[bytes] = []
    while chain.left():
        out.append(chain.take(chain.u24()))
    return tuple(out)


def parse_key_exchange(body: bytes, hello: ServerHello) -> tuple[int | None, int | None]:
    """The named group and handshake signature scheme of a TLS <= 1.2 ServerKeyExchange."""
    kx = key_exchange(SUITE_NAMES.get(hello.suite, ""))
    r = _Reader(body)
    group: int | None = None
    if kx.startswith("ECDHE") or kx == "ECDH_anon":
        if r.u8() != 3:  # only named curves are allowed (RFC 8422)
            return None, None
        group = r.u16()
        r.take(r.u8())
    elif kx.startswith("DHE") or kx == "DH_anon":
        for _ in range(3):  # p, g, Ys
            r.take(r.u16())
    else:
        return None, None
    signed = "anon" not in kx and "PSK" not in kx
    signature = r.u16() if signed and hello.version >= 0x0303 and r.left() >= 2 else None
    return group, signature


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def take(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise Malformed("truncated handshake message")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u24(self) -> int:
        return int.from_bytes(self.take(3), "big")

    def left(self) -> int:
        return len(self._data) - self._pos


def _show(data: bytes) -> str:
    text = data.decode("ascii", "replace")
    if text.isprintable():
        return repr(text)
    return data.hex(" ")
