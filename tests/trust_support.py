"""Test helpers for trust: a TSL writer/signer, OCSP responders on 127.0.0.1, certificate makers.

Used by ``tests/test_trust_*.py`` and ``benchmarks/bench_ocsp.py``. Everything
listens on 127.0.0.1 only and is stopped by its context manager.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import http.server
import shutil
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[1]
CERTS = REPO / "certs"
TSL_NS = "http://uri.etsi.org/02231/v2#"
PKC = "http://uri.etsi.org/TrstSvc/Svctype/CA/PKC"
OCSP_SVC = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/OCSP"
INACCORD = "http://uri.etsi.org/TrstSvc/Svcstatus/inaccord"
REVOKED = "http://uri.etsi.org/TrstSvc/Svcstatus/revoked"
UTC = dt.UTC


def cert(name: str) -> x509.Certificate:
    """A certificate of the synthetic PKI, e.g. ``ecc/smcb-aut.pem``."""
    return x509.load_pem_x509_certificate((CERTS / name).read_bytes())


def key(name: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    """A private key of the synthetic PKI, e.g. ``smcb-ca1`` (``certs/keys/smcb-ca1.key.pem``)."""
    loaded = serialization.load_pem_private_key(
        (CERTS / "keys" / f"{name}.key.pem").read_bytes(), None
    )
    assert isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return loaded


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


# -- TSL -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """One TSPService of a generated TSL."""

    certificate: x509.Certificate
    type_id: str = PKC
    status: str = INACCORD
    since: dt.datetime = dt.datetime(2024, 1, 1, tzinfo=UTC)
    supply_points: tuple[str, ...] = ("http://127.0.0.1:1/ocsp",)
    extension_oids: tuple[str, ...] = ("1.2.276.0.76.4.124",)
    history: tuple[tuple[str, dt.datetime], ...] = ()


def tsl_xml(
    services: Sequence[Service],
    *,
    issued: dt.datetime = dt.datetime(2026, 5, 20, tzinfo=UTC),
    next_update: dt.datetime = dt.datetime(2026, 6, 19, tzinfo=UTC),
    sequence: int = 10001,
) -> ET.Element:
    """An unsigned TSL (ETSI TS 102 231 v3 structure as gematik fills it)."""
    ET.register_namespace("", TSL_NS)

    def q(tag: str) -> str:
        return f"{{{TSL_NS}}}{tag}"

    def sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        node = ET.SubElement(parent, q(tag))
        if text is not None:
            node.text = text
        return node

    def when(moment: dt.datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    root = ET.Element(q("TrustServiceStatusList"), {"Id": f"ID3{sequence}{issued:%Y%m%d%H%M%S}Z"})
    info = sub(root, "SchemeInformation")
    sub(info, "TSLVersionIdentifier", "3")
    sub(info, "TSLSequenceNumber", str(sequence))
    sub(info, "TSLType", "http://uri.etsi.org/TrstSvc/TSLtype/generic")
    sub(sub(info, "SchemeOperatorName"), "Name", "TEST-ONLY gemcheck TSL Scheme")
    sub(info, "ListIssueDateTime", when(issued))
    sub(sub(info, "NextUpdate"), "dateTime", when(next_update))
    tsp = sub(sub(root, "TrustServiceProviderList"), "TrustServiceProvider")
    sub(sub(sub(tsp, "TSPInformation"), "TSPName"), "Name", "gemcheck Test-TSP NOT-VALID")
    services_node = sub(tsp, "TSPServices")
    for svc in services:
        node = sub(services_node, "TSPService")
        si = sub(node, "ServiceInformation")
        sub(si, "ServiceTypeIdentifier", svc.type_id)
        sub(sub(si, "ServiceName"), "Name", svc.certificate.subject.rfc4514_string())
        der = svc.certificate.public_bytes(serialization.Encoding.DER)
        sub(
            sub(sub(si, "ServiceDigitalIdentity"), "DigitalId"),
            "X509Certificate",
            base64.b64encode(der).decode(),
        )
        sub(si, "ServiceStatus", svc.status)
        sub(si, "StatusStartingTime", when(svc.since))
        ssp = sub(si, "ServiceSupplyPoints")
        for url in svc.supply_points:
            sub(ssp, "ServiceSupplyPoint", url)
        exts = sub(si, "ServiceInformationExtensions")
        for oid in svc.extension_oids:
            ext = sub(exts, "Extension")
            ext.set("Critical", "false")
            sub(ext, "ExtensionOID", oid)
            sub(ext, "ExtensionValue", "oid_test")
        if svc.history:
            hist = sub(node, "ServiceHistory")
            for status, since in svc.history:
                inst = sub(hist, "ServiceHistoryInstance")
                sub(inst, "ServiceTypeIdentifier", svc.type_id)
                sub(inst, "ServiceStatus", status)
                sub(inst, "StatusStartingTime", when(since))
    return root


def sign_tsl(
    root: ET.Element,
    signer_key: str = "tsl-signer",
    signer_cert: str = "ecc/tsl-signer.pem",
) -> bytes:
    """Sign a TSL with an enveloped ECDSA (or RSA) XML signature using ``signxml``."""
    from lxml import etree
    from signxml.algorithms import SignatureMethod
    from signxml.signer import XMLSigner

    doc = etree.fromstring(ET.tostring(root))
    private = key(signer_key)
    method = (
        SignatureMethod.ECDSA_SHA256
        if isinstance(private, ec.EllipticCurvePrivateKey)
        else SignatureMethod.RSA_SHA256
    )
    signer = XMLSigner(
        signature_algorithm=method,
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    signed = signer.sign(
        doc,
        key=private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert=[pem(cert(signer_cert)).decode()],
    )
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def synthetic_services(**overrides: Service) -> list[Service]:
    """The synthetic PKI's issuing CAs as TSL entries, each authorised for its usual types."""
    services = {
        "smcb-ca1": Service(cert("ca/smcb-ca1.pem"), extension_oids=_oids(76, 77, 78)),
        "smcb-ca2": Service(cert("ca/smcb-ca2.pem"), extension_oids=_oids(76, 77, 78)),
        "hba-ca1": Service(cert("ca/hba-ca1.pem"), extension_oids=_oids(74, 75)),
        "komp-ca1": Service(cert("ca/komp-ca1.pem"), extension_oids=_oids(79, 80, 168, 169)),
        "komp-ca2": Service(cert("ca/komp-ca2.pem"), extension_oids=_oids(79, 80, 168, 169)),
        "komp-ca3": Service(cert("ca/komp-ca3.pem"), extension_oids=_oids(79, 80, 168, 169)),
        "tsl-ca1": Service(cert("ca/tsl-ca1.pem"), extension_oids=_oids(124)),
    }
    services.update(overrides)
    return list(services.values())


def _oids(*numbers: int) -> tuple[str, ...]:
    return tuple(f"1.2.276.0.76.4.{n}" for n in numbers)


# -- certificates ----------------------------------------------------------------------------------


def make_cert(
    subject: str,
    issuer_cert: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    *,
    serial: int,
    ca: bool = False,
    not_before: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=UTC),
    not_after: dt.datetime = dt.datetime(2030, 1, 1, tzinfo=UTC),
    policies: Sequence[str] = ("1.2.276.0.76.4.163", "1.2.276.0.76.4.77"),
    ocsp_url: str | None = None,
    issuer_name: x509.Name | None = None,
) -> x509.Certificate:
    """A certificate signed with ``issuer_key`` (self-signed when ``issuer_cert`` is None)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer = issuer_name or (issuer_cert.subject if issuer_cert else name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_cert.public_key() if issuer_cert else public_key  # type: ignore[arg-type]
            ),
            critical=False,
        )
        .add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier(p), None) for p in policies]
            ),
            critical=False,
        )
    )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(ocsp_url),
                    )
                ]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- OCSP responders -------------------------------------------------------------------------------


@contextlib.contextmanager
def openssl_responder(
    tmp: Path,
    *,
    ca: str,
    signer: str,
    signer_key: str,
    good: Sequence[x509.Certificate] = (),
    revoked: Sequence[tuple[x509.Certificate, str]] = (),
    minutes: int = 5,
) -> Iterator[str]:
    """``openssl ocsp`` serving an index file written here; yields its URL."""
    if shutil.which("openssl") is None:
        import pytest

        pytest.skip("openssl is not installed")
    lines = []
    for c in good:
        lines.append(f"V\t300101000000Z\t\t{c.serial_number:X}\tunknown\t/CN=x")
    for c, when in revoked:
        lines.append(f"R\t300101000000Z\t{when},keyCompromise\t{c.serial_number:X}\tunknown\t/CN=x")
    index = tmp / f"index-{signer.replace('/', '_')}.txt"
    index.write_text("".join(line + "\n" for line in lines))
    port = free_port()
    log = tmp / f"openssl-ocsp-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                "openssl",
                "ocsp",
                "-index",
                str(index),
                "-port",
                str(port),
                "-CA",
                str(CERTS / ca),
                "-rsigner",
                str(CERTS / signer),
                "-rkey",
                str(CERTS / "keys" / f"{signer_key}.key.pem"),
                "-nmin",
                str(minutes),
            ],
            stdout=sink,
            stderr=sink,
        )
    try:
        _wait_for_text(log, b"waiting for OCSP client connections", proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_text(log: Path, text: bytes, proc: subprocess.Popen[bytes]) -> None:
    """Wait until a server wrote ``text`` to its log (a probe connection would jam
    ``openssl ocsp``, which serves one connection at a time)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if text in log.read_bytes():
            return
        if proc.poll() is not None:
            raise RuntimeError(f"openssl ocsp exited: {log.read_text(errors='replace')}")
        time.sleep(0.02)
    raise TimeoutError(f"openssl ocsp did not start: {log.read_text(errors='replace')}")


@dataclass
class Answer:
    """What the Python responder says about one serial number, and how."""

    status: str = "good"  # good | revoked | unknown
    revoked_at: dt.datetime | None = None
    cert_hash: bytes | None = None  # DER of a CertHash extension value, or None
    age: dt.timedelta = dt.timedelta(0)  # producedAt/thisUpdate this long before now
    validity: dt.timedelta | None = dt.timedelta(minutes=5)  # nextUpdate - thisUpdate


@dataclass
class Responder:
    """Build OCSP responses with ``cryptography``, patched with ``pyasn1`` where it cannot help
    (producedAt in the past, a certHash single extension), signed by ``signer``."""

    issuer: x509.Certificate
    signer: x509.Certificate
    signer_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    answers: Mapping[int, Answer] = field(default_factory=dict)
    refuse_sha256: bool = False  # answer malformedRequest to SHA-256 CertIDs (SHA-1 fallback)
    cache: bool = False  # sign once per request body, then replay (benchmark: client cost only)
    served: int = 0
    _signed: dict[bytes, bytes] = field(default_factory=dict)

    def __call__(self, request_der: bytes) -> bytes:
        self.served += 1
        if self.cache:
            if request_der not in self._signed:
                self._signed[request_der] = self._answer(request_der)
            return self._signed[request_der]
        return self._answer(request_der)

    def _answer(self, request_der: bytes) -> bytes:
        req = ocsp.load_der_ocsp_request(request_der)
        if self.refuse_sha256 and req.hash_algorithm.name == "sha256":
            unsuccessful = ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST
            )
            return unsuccessful.public_bytes(serialization.Encoding.DER)
        answer = self.answers.get(req.serial_number, Answer("unknown"))
        now = dt.datetime.now(UTC).replace(microsecond=0)
        this_update = now - answer.age
        status = {
            "good": ocsp.OCSPCertStatus.GOOD,
            "revoked": ocsp.OCSPCertStatus.REVOKED,
            "unknown": ocsp.OCSPCertStatus.UNKNOWN,
        }[answer.status]
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            req.issuer_name_hash,
            req.issuer_key_hash,
            req.serial_number,
            req.hash_algorithm,
            status,
            this_update,
            this_update + answer.validity if answer.validity is not None else None,
            answer.revoked_at if answer.status == "revoked" else None,
            x509.ReasonFlags.key_compromise if answer.status == "revoked" else None,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.signer)
        builder = builder.certificates([self.signer])
        algorithm = hashes.SHA256()
        der = builder.sign(self.signer_key, algorithm).public_bytes(serialization.Encoding.DER)
        if answer.age or answer.cert_hash is not None:
            der = self._patch(der, this_update, answer.cert_hash)
        return der

    def _patch(self, der: bytes, produced: dt.datetime, cert_hash: bytes | None) -> bytes:
        from pyasn1.codec.der import decoder, encoder
        from pyasn1.type import univ, useful
        from pyasn1_alt_modules import rfc5280, rfc6960

        outer, _ = decoder.decode(der, asn1Spec=rfc6960.OCSPResponse())
        basic, _ = decoder.decode(
            bytes(outer["responseBytes"]["response"]), asn1Spec=rfc6960.BasicOCSPResponse()
        )
        tbs = basic["tbsResponseData"]
        tbs["producedAt"] = useful.GeneralizedTime(produced.strftime("%Y%m%d%H%M%SZ"))
        if cert_hash is not None:
            ext = rfc5280.Extension()
            ext["extnID"] = univ.ObjectIdentifier("1.3.36.8.3.13")
            ext["critical"] = False
            ext["extnValue"] = univ.OctetString(cert_hash)
            tbs["responses"][0]["singleExtensions"].append(ext)
        tbs_der = encoder.encode(tbs)
        if isinstance(self.signer_key, ec.EllipticCurvePrivateKey):
            signature = self.signer_key.sign(tbs_der, ec.ECDSA(hashes.SHA256()))
        else:
            signature = self.signer_key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA256())
        basic["signature"] = univ.BitString.fromOctetString(signature)
        outer["responseBytes"]["response"] = univ.OctetString(encoder.encode(basic))
        return bytes(encoder.encode(outer))


def cert_hash_value(certificate: x509.Certificate, *, wrong: bool = False) -> bytes:
    """DER of ``CertHash ::= SEQUENCE {AlgorithmIdentifier sha256, OCTET STRING}``."""
    digest = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()
    if wrong:
        digest = bytes(32)
    algorithm = bytes.fromhex("300d06096086480165030402010500")
    body = algorithm + b"\x04\x20" + digest
    return b"\x30" + bytes([len(body)]) + body


@contextlib.contextmanager
def python_responder(
    respond: Callable[[bytes], bytes], connections: set[int] | None = None
) -> Iterator[str]:
    """A threaded HTTP/1.1 (keep-alive) OCSP responder on 127.0.0.1; yields its URL.

    ``connections`` collects the client port of every request (one port per TCP connection).
    """

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms ACK wait

        def do_POST(self) -> None:
            if connections is not None:
                connections.add(self.client_address[1])
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = respond(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ocsp"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def silent_server(first: bytes = b"") -> Iterator[str]:
    """Accepts TCP connections on 127.0.0.1, sends ``first`` (default: nothing) and then
    never says more; yields an http URL to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = sock.accept()
                held.append(conn)
                if first:
                    conn.sendall(first)

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/ocsp"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        sock.close()


# -- reports ---------------------------------------------------------------------------------------


def results(report: Mapping[str, Any], rule: str) -> list[dict[str, Any]]:
    """The results of one rule in a JSON report."""
    return [r for r in report["results"] if r["rule"] == rule]


def statuses(report: Mapping[str, Any], rule: str) -> list[str]:
    """The statuses of one rule's results, in report order."""
    return [str(r["status"]) for r in results(report, rule)]
