"""The TLS probe against real servers on 127.0.0.1 (and hostile peers), and its wire codec."""

from __future__ import annotations

import socket
import ssl
import struct
import time

import pytest

from gemcheck.collect import CollectOptions
from gemcheck.collect.tls import collect_tls, site_endpoints
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.evidence.tls import TlsEvidence
from gemcheck.site import build_site
from gemcheck.tls import wire
from gemcheck.tls.catalog import openssl_tls12_suites, weaknesses
from gemcheck.tls.endpoint import parse_endpoint
from gemcheck.tls.probe import probe
from tests.conftest import REPO
from tests.tlsserver import (
    CLIENT_CA,
    FD_NIST,
    GCM_ECDHE,
    KONNEKTOR_ECC,
    KONNEKTOR_RSA,
    TLS13_GCM,
    Handler,
    TlsServer,
    canned,
    compliant_context,
    garbage,
    hang,
    legacy_tls_available,
    reset,
    server_context,
)

TIMEOUT = 2.0


def run(ctx: ssl.SSLContext, timeout: float = TIMEOUT) -> TlsEvidence:
    with TlsServer(ctx) as server:
        return probe(server.address, role="konnektor", timeout=timeout)


def names(ev: TlsEvidence) -> list[str]:
    return [s.name for s in ev.tls12_suites]


# -- real servers --------------------------------------------------------------------------------


def test_compliant_server_is_seen_exactly() -> None:
    ev = run(compliant_context())
    assert ev.error is None, ev.error
    assert ev.versions == ("TLSv1.2", "TLSv1.3")
    assert sorted(s.hex for s in ev.tls12_suites) == ["0xC02B", "0xC02C", "0xC02F", "0xC030"]
    assert ev.tls12_suites_tried == len(openssl_tls12_suites()) > 100
    assert [s.name for s in ev.tls13_suites] == list(TLS13_GCM.split(":"))
    assert set(ev.groups) == {"secp256r1", "brainpoolP256r1"}
    assert ev.secure_renegotiation is True
    assert ev.client_auth_requested is False
    assert ev.weak_signature is None and ev.signatures_tested
    assert len(ev.chains) == 2 and all(len(c) == 2 for c in ev.chains)  # RSA and ECC, with CA
    assert ev.handshake.startswith("TLSv1.3") and ev.handshake_error is None
    assert not ev.probe_errors


def test_brainpool_only_konnektor_is_reached() -> None:
    ctx = server_context(KONNEKTOR_ECC, groups="brainpoolP256r1", tls13=False, ciphers=GCM_ECDHE)
    with TlsServer(ctx) as server:
        default = ssl.create_default_context()
        default.check_hostname, default.verify_mode = False, ssl.CERT_NONE
        with (
            pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"),
            socket.create_connection(server.hostport, TIMEOUT) as raw,
            default.wrap_socket(raw),
        ):
            pass  # Python's default client offers no brainpool group: the server refuses it
        ev = probe(server.address, timeout=TIMEOUT)
    assert ev.versions == ("TLSv1.2",)
    assert names(ev) == [
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ]
    assert ev.groups == ("brainpoolP256r1",)
    assert ev.handshake == "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384 with brainpoolP256r1"


def test_client_certificate_required_does_not_hide_the_configuration() -> None:
    ctx = server_context(
        KONNEKTOR_ECC,
        groups="brainpoolP256r1",
        tls13=False,
        ciphers=GCM_ECDHE,
        client_ca=[CLIENT_CA],
    )
    ev = run(ctx)
    assert ev.client_auth_requested is True
    assert ev.versions == ("TLSv1.2",) and len(ev.tls12_suites) == 2
    assert ev.handshake_error and "handshake" in ev.handshake_error
    assert ev.chains, "the chain is read from the plaintext TLS 1.2 flight"


def test_legacy_versions_and_weak_suites_are_found() -> None:
    if not legacy_tls_available():
        pytest.skip("this machine's OpenSSL refuses TLS 1.0 even at @SECLEVEL=0")
    ev = run(server_context(KONNEKTOR_RSA, min_version=ssl.TLSVersion.TLSv1, ciphers="ALL"))
    assert {"TLSv1.0", "TLSv1.1", "TLSv1.2"} <= set(ev.versions)
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in names(ev)
    assert "x25519" in ev.groups
    assert ev.weak_signature is not None  # @SECLEVEL=0 signs with whatever the client offers


def test_tls13_only_server_certificate_comes_from_the_full_handshake() -> None:
    ev = run(server_context(FD_NIST, min_version=ssl.TLSVersion.TLSv1_3))
    assert ev.versions == ("TLSv1.3",)
    assert ev.tls12_suites == () and ev.secure_renegotiation is None
    assert len(ev.chains) == 1 and len(ev.chains[0]) == 1  # the leaf, from OpenSSL
    assert "x25519" in ev.tls13_groups


# -- hostile and broken peers: a clear error within the timeout ----------------------------------


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (hang, "no answer within 1 s"),
        (reset, "reset the connection"),
        (garbage, "not TLS: not a TLS record: 'HTTP/1.1 400 Bad'"),
        (canned(b"\x16\x03\x03\xff\xff" + b"\x00" * 64), "longer than allowed"),
        (canned(b"\x16\x03\x03\x00\x04\x0b\x00\x00\x00"), "before the ServerHello"),
    ],
    ids=["hang", "reset", "garbage", "huge-record", "no-server-hello"],
)
def test_broken_peer_is_an_error_in_time(handler: Handler, expected: str) -> None:
    with TlsServer(None, handler) as server:
        start = time.monotonic()
        ev = probe(server.address, timeout=1.0)
        elapsed = time.monotonic() - start
    assert ev.error is not None and expected in ev.error
    assert ev.error.startswith(f"no TLS answer from {server.address}")
    assert elapsed < 2.0


def test_closed_port_and_bad_endpoint() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
    ev = probe(f"127.0.0.1:{port}", timeout=1.0)
    assert ev.error and "refused" in ev.error.lower()
    assert probe("ftp://127.0.0.1", timeout=1.0).error == (
        "bad endpoint: unsupported scheme 'ftp' (use https:// or host:port)"
    )


def test_server_that_only_sends_alerts_accepts_nothing() -> None:
    alert = bytes([wire.ALERT, 3, 3, 0, 2, 2, 40])
    with TlsServer(None, canned(alert)) as server:
        ev = probe(server.address, timeout=1.0)
    assert ev.error is None and ev.versions == ()
    assert ev.handshake_error and "neither TLS 1.2 nor TLS 1.3" in ev.handshake_error


def server_hello(version: int, suite: int, extensions: bytes = b"") -> bytes:
    body = struct.pack("!H", version) + b"\x01" * 32 + b"\x00" + struct.pack("!H", suite) + b"\x00"
    if extensions:
        body += struct.pack("!H", len(extensions)) + extensions
    msg = bytes([wire.SERVER_HELLO]) + len(body).to_bytes(3, "big") + body
    return bytes([wire.HANDSHAKE, 3, 3]) + struct.pack("!H", len(msg)) + msg


def test_missing_renegotiation_info_and_sslv3_are_seen() -> None:
    """A scripted server: always a TLS 1.2 ServerHello with suite C02F and no extensions."""
    with TlsServer(None, canned(server_hello(0x0303, 0xC02F))) as server:
        ev = probe(server.address, timeout=1.0)
    assert ev.versions == ("TLSv1.2",)
    assert names(ev) == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
    assert ev.secure_renegotiation is False and ev.chains == ()
    with TlsServer(None, canned(server_hello(0x0300, 0x002F))) as server:
        ev = probe(server.address, timeout=1.0)
    assert ev.versions == ("SSLv3",)


def test_a_peer_that_stops_answering_is_given_up_quickly() -> None:
    """Five good answers (the version probes), then silence: undecided, not one timeout each."""
    answered = iter(range(5))
    hello = canned(server_hello(0x0303, 0xC02F))

    def flaky(conn: socket.socket) -> None:
        (hello if next(answered, None) is not None else hang)(conn)

    with TlsServer(None, flaky) as server:
        start = time.monotonic()
        ev = probe(server.address, timeout=0.5, concurrency=8)
        elapsed = time.monotonic() - start
    assert ev.error is None and ev.versions == ("TLSv1.2",)
    undecided = ev.probe_errors["tls12_suites"]
    assert len(undecided) > 100
    assert any(why.startswith("not tried: 8 earlier probes") for why in undecided.values())
    assert elapsed < 3.0


# -- collection ------------------------------------------------------------------------------------


def test_collector_dedupes_endpoints_and_hands_on_certificates() -> None:
    with TlsServer(compliant_context()) as server:
        site = build_site(
            {
                "site": "t",
                "endpoints": [server.address, {"url": "https://127.0.0.1:9", "role": "fachdienst"}],
                "konnektor": {"endpoint": server.url},
            },
            REPO,
            "<test>",
        )
        assert site_endpoints(site) == [
            (server.address, "konnektor"),
            ("https://127.0.0.1:9", "fachdienst"),
        ]
        items = list(collect_tls(site, CollectOptions(timeout=1.0)))
    tls = [i for i in items if isinstance(i, TlsEvidence)]
    certs = [i for i in items if isinstance(i, CertificateEvidence)]
    assert [t.role for t in tls] == ["konnektor", "fachdienst"]
    assert tls[0].error is None and tls[1].error is not None
    assert len(certs) == 2 and {c.role for c in certs} == {"konnektor"}
    assert {c.location.uri for c in certs} == {server.address}
    assert {c.source_format for c in certs} == {"tls"}


def test_offline_probes_nothing() -> None:
    site = build_site({"site": "t", "endpoints": ["127.0.0.1:9"]}, REPO, "<test>")
    (ev,) = collect_tls(site, CollectOptions(offline=True))
    assert isinstance(ev, TlsEvidence) and ev.skipped == "not probed (--offline)"


# -- pure parts ----------------------------------------------------------------------------------


def test_client_hello_is_well_formed() -> None:
    hello = wire.client_hello(
        version=0x0303, suites=[0xC02F], groups=[26], signatures=[0x0403], server_name="kon.local"
    )
    assert hello[0] == wire.HANDSHAKE and struct.unpack("!H", hello[3:5])[0] == len(hello) - 5
    assert int.from_bytes(hello[6:9], "big") == len(hello) - 9
    assert b"\xc0\x2f" in hello and b"kon.local" in hello and b"\xff\x01\x00\x01\x00" in hello
    legacy = wire.client_hello(version=0x0300, suites=[0x002F], extensions=False)
    assert legacy.endswith(b"\x00\x2f\x00\xff\x01\x00")  # suites + SCSV, null compression


def test_reader_parses_a_flight_split_across_reads() -> None:
    reneg = struct.pack("!HH", wire.EXT_RENEGOTIATION_INFO, 1) + b"\x00"
    data = server_hello(0x0303, 0xC02B, reneg)
    done = bytes([wire.HANDSHAKE, 3, 3, 0, 4, wire.SERVER_HELLO_DONE, 0, 0, 0])
    reader = wire.FlightReader()
    for i in range(0, len(data + done), 7):
        reader.feed((data + done)[i : i + 7])
    flight = reader.flight()
    assert reader.done and flight.hello is not None
    assert flight.hello.suite == 0xC02B and flight.hello.secure_renegotiation


def test_reader_refuses_floods() -> None:
    reader = wire.FlightReader()
    record = bytes([wire.HANDSHAKE, 3, 3, 0x40, 0x00]) + b"\x02\xff\xff\xff" + b"\x00" * 0x3FFC
    with pytest.raises(wire.Malformed, match="more than"):
        for _ in range(40):
            reader.feed(record)


def test_endpoint_forms() -> None:
    assert str(parse_endpoint("https://Konnektor.Praxis.local")) == "konnektor.praxis.local:443"
    assert str(parse_endpoint("[::1]:8443")) == "[::1]:8443"
    assert parse_endpoint("127.0.0.1:4433").is_address
    for bad in ("", "https://", "host:99999", "a:b"):
        with pytest.raises(ValueError):
            parse_endpoint(bad)


def test_suite_weaknesses_from_names() -> None:
    assert weaknesses("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") == ()
    assert weaknesses("TLS_RSA_WITH_AES_128_CBC_SHA") == (
        "RSA key exchange (no forward secrecy)",
        "CBC mode",
        "SHA-1 MAC",
    )
    assert weaknesses("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384") == ("DHE-RSA key exchange",)
    assert "anonymous (no server authentication)" in weaknesses("TLS_ECDH_anon_WITH_NULL_SHA")
