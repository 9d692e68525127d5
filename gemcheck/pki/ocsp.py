"""OCSP (gemSpec_PKI TUC_PKI_006): build requests, ask responders, and judge their answers.

Asking (:class:`OcspClient`) is the only I/O here: one HTTP POST per
certificate (``application/ocsp-request``), over pooled keep-alive connections
(one ``requests.Session`` per worker thread), with a bounded number of workers
and a timeout per connection and per read. The CertID uses SHA-256; when the
responder rejects the request or does not know the certificate, the request is
repeated once with a SHA-1 CertID (gematik's responders default to SHA-1).

Judging (:func:`judge_response`) is pure and runs in the check, in this order:
the response is signed by an authorised signer (the issuing CA itself, a
delegated signer that the CA issued with EKU OCSPSigning, or an OCSP signer
listed in the TSL), it answers about exactly this certificate (CertID), its
certHash extension (1.3.36.8.3.13) matches the certificate, it was fresh when
fetched (gematik's tolerance of 37.5 s, GS-A_5215), and finally what it says:
good, revoked or unknown.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from gemcheck.pki.certutil import issued_by, label

CERT_HASH_OID = "1.3.36.8.3.13"
MAX_RESPONSE_BYTES = 1024 * 1024
_HASH_OIDS: dict[str, hashes.HashAlgorithm] = {
    "1.3.14.3.2.26": hashes.SHA1(),
    "2.16.840.1.101.3.4.2.1": hashes.SHA256(),
    "2.16.840.1.101.3.4.2.2": hashes.SHA384(),
    "2.16.840.1.101.3.4.2.3": hashes.SHA512(),
}

SignerSource = Literal["ca", "delegated", "tsl"]
Verdict = Literal["good", "revoked", "unknown", "invalid"]


# -- requests --------------------------------------------------------------------------------------


def build_request(
    cert: x509.Certificate, issuer: x509.Certificate, algorithm: hashes.HashAlgorithm
) -> bytes:
    """A DER OCSP request for one certificate (no nonce: gematik's responders ignore it)."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm)
    return builder.build().public_bytes(Encoding.DER)


def aia_ocsp_url(cert: x509.Certificate) -> str | None:
    """The first OCSP URL of the certificate's AuthorityInformationAccess, if any."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    for desc in aia:
        if desc.access_method == AuthorityInformationAccessOID.OCSP and isinstance(
            desc.access_location, x509.UniformResourceIdentifier
        ):
            return desc.access_location.value
    return None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One certificate's OCSP exchange: the DER response, or why there is none."""

    url: str
    response: bytes = b""
    hash_algorithm: str = ""
    fetched_at: dt.datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """A certificate to ask about, its issuer and the responder to ask."""

    certificate: x509.Certificate
    issuer: x509.Certificate
    url: str


@dataclass
class OcspClient:
    """Asks OCSP responders, with connection reuse, bounded concurrency and timeouts.

    A responder that timed out or refused a connection is not asked again in
    the same audit: the remaining certificates get the same error at once.
    """

    timeout: float = 10.0
    concurrency: int = 8
    _local: threading.local = field(default_factory=threading.local)
    _sessions: list[Any] = field(default_factory=list)
    _dead: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ask_all(self, jobs: Sequence[Job]) -> list[Exchange]:
        """Every job's exchange, in the order of ``jobs``."""
        workers = max(1, min(self.concurrency, len(jobs)))
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocsp") as pool:
                return list(pool.map(self.ask, jobs))
        finally:
            self.close()

    def ask(self, job: Job) -> Exchange:
        """Ask about one certificate: SHA-256 CertID first, SHA-1 if that gets no usable answer.

        Never raises: whatever goes wrong becomes this certificate's error.
        """
        try:
            return self._ask(job)
        except Exception as exc:  # one broken exchange must not lose the others' results
            return Exchange(job.url, error=f"OCSP request failed: {type(exc).__name__}: {exc}")

    def _ask(self, job: Job) -> Exchange:
        first = self._post(job, hashes.SHA256())
        if first.error is None and _usable(first.response):
            return first
        if first.error is not None and job.url in self._dead:
            return first
        second = self._post(job, hashes.SHA1())
        return second if second.error is None and _usable(second.response) else first

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._local = threading.local()

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests
            from requests.adapters import HTTPAdapter

            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=4, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.trust_env = False  # no proxies from the environment: ask the responder named
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _post(self, job: Job, algorithm: hashes.HashAlgorithm) -> Exchange:
        import requests

        name = algorithm.name
        dead = self._dead.get(job.url)
        if dead is not None:
            return Exchange(job.url, hash_algorithm=name, error=dead)
        body = build_request(job.certificate, job.issuer, algorithm)
        headers = {
            "Content-Type": "application/ocsp-request",
            "Accept": "application/ocsp-response",
        }
        try:
            with self._session().post(
                job.url,
                data=body,
                headers=headers,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            ) as reply:
                status = reply.status_code
                data = b""
                for chunk in reply.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > MAX_RESPONSE_BYTES:
                        break
        except requests.Timeout:
            return self._unreachable(job.url, name, f"no answer within {self.timeout:g} s")
        except requests.ConnectionError as exc:
            return self._unreachable(job.url, name, f"connection failed: {_reason(exc)}")
        except requests.RequestException as exc:
            return Exchange(job.url, hash_algorithm=name, error=f"request failed: {_reason(exc)}")
        fetched = dt.datetime.now(dt.UTC)
        if status != 200:
            return Exchange(
                job.url,
                hash_algorithm=name,
                error=f"responder {job.url} answered HTTP {status} "
                "(TE_1029_OCSP_CHECK_REVOCATION_ERROR)",
            )
        if len(data) > MAX_RESPONSE_BYTES:
            return Exchange(
                job.url,
                hash_algorithm=name,
                error=f"response larger than {MAX_RESPONSE_BYTES} bytes",
            )
        return Exchange(job.url, data, name, fetched)

    def _unreachable(self, url: str, algorithm: str, why: str) -> Exchange:
        message = f"OCSP responder {url} unreachable: {why} (TE_1032_OCSP_NOT_AVAILABLE)"
        self._dead[url] = message
        return Exchange(url, hash_algorithm=algorithm, error=message)


def _usable(der: bytes) -> bool:
    """A successful response that knows the certificate (else SHA-1 is worth a try)."""
    try:
        resp = ocsp.load_der_ocsp_response(der)
        return (
            resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
            and resp.certificate_status != ocsp.OCSPCertStatus.UNKNOWN
        )
    except ValueError:
        return False


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "reset"):
        if marker in text:
            return marker.lower()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]


# -- judging ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OcspPolicy:
    """What a response must satisfy (from the profile's parameters)."""

    signer_sources: tuple[SignerSource, ...] = ("ca", "delegated", "tsl")
    require_cert_hash: bool = False
    tolerance: dt.timedelta = dt.timedelta(seconds=37.5)


@dataclass(frozen=True, slots=True)
class OcspVerdict:
    """What one response says about one certificate, and whether it may be believed."""

    verdict: Verdict
    message: str
    facts: dict[str, str] = field(default_factory=dict)


def judge_response(
    der: bytes,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    *,
    fetched_at: dt.datetime,
    moment: dt.datetime,
    tsl_signers: Sequence[x509.Certificate] = (),
    policy: OcspPolicy = OcspPolicy(),
) -> OcspVerdict:
    """Judge a DER OCSP response about ``cert`` fetched at ``fetched_at``, as of ``moment``."""
    try:
        resp = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        return _invalid(f"response is not a readable OCSP response: {exc}")
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return _invalid(
            f"responder answered {resp.response_status.name} (TE_1058_OCSP_STATUS_ERROR)"
        )
    problem = (
        _signer_problem(resp, issuer, tsl_signers, policy)
        or _certid_problem(resp, cert, issuer)
        or _cert_hash_problem(resp, cert, policy)
        or _freshness_problem(resp, fetched_at, policy)
    )
    if problem is not None:
        return _invalid(problem)
    facts = {
        "produced_at": _iso(resp.produced_at_utc),
        "this_update": _iso(resp.this_update_utc),
        "hash_algorithm": resp.hash_algorithm.name,
    }
    if resp.next_update_utc is not None:
        facts["next_update"] = _iso(resp.next_update_utc)
    status = resp.certificate_status
    if status == ocsp.OCSPCertStatus.GOOD:
        return OcspVerdict("good", "good: not revoked", facts)
    if status == ocsp.OCSPCertStatus.UNKNOWN:
        return OcspVerdict(
            "unknown", "the responder does not know the certificate (TW_1044_CERT_UNKNOWN)", facts
        )
    revoked = resp.revocation_time_utc
    reason = resp.revocation_reason.value if resp.revocation_reason else "unspecified"
    facts |= {"revocation_time": _iso(revoked) if revoked else "", "revocation_reason": reason}
    if revoked is not None and revoked > moment:
        return OcspVerdict(
            "good", f"good on {moment:%Y-%m-%d}; revoked later, on {_iso(revoked)}", facts
        )
    when = f" on {_iso(revoked)}" if revoked else ""
    return OcspVerdict("revoked", f"revoked{when}, reason {reason} (SW_1047_CERT_REVOKED)", facts)


def _invalid(message: str) -> OcspVerdict:
    return OcspVerdict("invalid", message)


def _signer_problem(
    resp: ocsp.OCSPResponse,
    issuer: x509.Certificate,
    tsl_signers: Sequence[x509.Certificate],
    policy: OcspPolicy,
) -> str | None:
    candidates = list(_candidates(resp, issuer, tsl_signers))
    signer = next((c for c in candidates if _signed_by(resp, c)), None)
    if signer is None:
        if any(_names_responder(resp, c) for c in candidates):
            return "response signature does not verify (SE_1031_OCSP_SIGNATURE_ERROR)"
        return (
            f"response signer {_responder(resp)} is unknown: not the issuing CA, not in the "
            "response, not in the TSL (SE_1030_OCSP_CERT_MISSING)"
        )
    who = label(signer.subject)
    sources = []
    if "ca" in policy.signer_sources and _same_key(signer, issuer):
        sources.append("the issuing CA")
    if "tsl" in policy.signer_sources and signer in tsl_signers:
        sources.append("an OCSP signer listed in the TSL")
    if "delegated" in policy.signer_sources and _delegated(signer, issuer):
        sources.append("a delegated OCSP signer of the issuing CA")
    if not sources:
        allowed = ", ".join(policy.signer_sources)
        return (
            f"response signed by {who}, which is not an authorised OCSP signer for this "
            f"certificate (allowed: {allowed}) (SE_1030_OCSP_CERT_MISSING)"
        )
    produced = resp.produced_at_utc
    if not _same_key(signer, issuer) and not (
        signer.not_valid_before_utc <= produced <= signer.not_valid_after_utc
    ):
        return f"OCSP signer {who} was not valid when the response was produced ({_iso(produced)})"
    return None


def _candidates(
    resp: ocsp.OCSPResponse, issuer: x509.Certificate, tsl_signers: Sequence[x509.Certificate]
) -> Iterator[x509.Certificate]:
    pool = [*resp.certificates, *tsl_signers, issuer]
    yield from (c for c in pool if _names_responder(resp, c))
    yield from (c for c in pool if not _names_responder(resp, c))


def _names_responder(resp: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    if resp.responder_name is not None:
        return bool(resp.responder_name == cert.subject)
    return resp.responder_key_hash == _key_hash(cert)


def _responder(resp: ocsp.OCSPResponse) -> str:
    if resp.responder_name is not None:
        return resp.responder_name.rfc4514_string()
    return f"with key hash {(resp.responder_key_hash or b'').hex()}"


def _signed_by(resp: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    key = cert.public_key()
    try:
        algorithm = resp.signature_hash_algorithm
        if algorithm is None:
            return False
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(resp.signature, resp.tbs_response_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(resp.signature, resp.tbs_response_bytes, padding.PKCS1v15(), algorithm)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def _delegated(signer: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return ExtendedKeyUsageOID.OCSP_SIGNING in eku and issued_by(signer, issuer)


def _same_key(a: x509.Certificate, b: x509.Certificate) -> bool:
    return _key_hash(a) == _key_hash(b)


def _key_hash(cert: x509.Certificate) -> bytes:
    """SHA-1 over the subject public key bits: the KeyHash of a ResponderID."""
    return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest


def _certid_problem(
    resp: ocsp.OCSPResponse, cert: x509.Certificate, issuer: x509.Certificate
) -> str | None:
    singles = list(resp.responses)
    if len(singles) != 1:
        return f"response holds {len(singles)} answers instead of exactly one"
    single = singles[0]
    if single.hash_algorithm.name not in ("sha1", "sha256"):
        return f"CertID uses {single.hash_algorithm.name}; only SHA-1 and SHA-256 are allowed"
    expected = (
        ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, single.hash_algorithm).build()
    )
    if (
        single.serial_number != cert.serial_number
        or single.issuer_name_hash != expected.issuer_name_hash
        or single.issuer_key_hash != expected.issuer_key_hash
    ):
        return (
            "response answers about another certificate (CertID does not match) "
            "(TE_1029_OCSP_CHECK_REVOCATION_ERROR)"
        )
    return None


def _cert_hash_problem(
    resp: ocsp.OCSPResponse, cert: x509.Certificate, policy: OcspPolicy
) -> str | None:
    ext = next((e for e in resp.single_extensions if e.oid.dotted_string == CERT_HASH_OID), None)
    if ext is None:
        if policy.require_cert_hash:
            return "response has no certHash extension (SE_1040_CERTHASH_EXTENSION_MISSING)"
        return None
    raw = ext.value.value if isinstance(ext.value, x509.UnrecognizedExtension) else b""
    decoded = decode_cert_hash(raw)
    if decoded is None:
        return "certHash extension is malformed or uses an unknown hash algorithm"
    algorithm, value = decoded
    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(Encoding.DER))
    if digest.finalize() != value:
        return "certHash does not match the certificate (SE_1041_CERTHASH_MISMATCH)"
    return None


def decode_cert_hash(der: bytes) -> tuple[hashes.HashAlgorithm, bytes] | None:
    """Decode ISIS-MTT ``CertHash ::= SEQUENCE {AlgorithmIdentifier, OCTET STRING}`` (None: bad)."""
    from pyasn1.codec.der.decoder import decode
    from pyasn1.error import PyAsn1Error
    from pyasn1.type import namedtype, univ

    class AlgorithmIdentifier(univ.Sequence):  # type: ignore[misc]
        componentType = namedtype.NamedTypes(
            namedtype.NamedType("algorithm", univ.ObjectIdentifier()),
            namedtype.OptionalNamedType("parameters", univ.Any()),
        )

    class CertHash(univ.Sequence):  # type: ignore[misc]
        componentType = namedtype.NamedTypes(
            namedtype.NamedType("hashAlgorithm", AlgorithmIdentifier()),
            namedtype.NamedType("certificateHash", univ.OctetString()),
        )

    try:
        value, rest = decode(der, asn1Spec=CertHash())
    except PyAsn1Error:
        return None
    algorithm = _HASH_OIDS.get(str(value["hashAlgorithm"]["algorithm"]))
    if rest or algorithm is None:
        return None
    return algorithm, bytes(value["certificateHash"])


def _freshness_problem(
    resp: ocsp.OCSPResponse, fetched_at: dt.datetime, policy: OcspPolicy
) -> str | None:
    t = policy.tolerance
    produced, this_update, next_update = (
        resp.produced_at_utc,
        resp.this_update_utc,
        resp.next_update_utc,
    )
    seconds = f"{t.total_seconds():g} s"
    when = f"fetched {_iso(fetched_at)}"
    if produced < fetched_at - t:
        return (
            f"stale: produced {_iso(produced)}, more than {seconds} before it was {when} "
            "(TE_1029_OCSP_CHECK_REVOCATION_ERROR)"
        )
    if produced > fetched_at + t:
        return f"producedAt {_iso(produced)} lies in the future ({when}; tolerance {seconds})"
    if this_update > fetched_at + t:
        return f"thisUpdate {_iso(this_update)} lies in the future ({when}; tolerance {seconds})"
    if next_update is not None and next_update < fetched_at - t:
        return (
            f"stale: nextUpdate {_iso(next_update)} had passed when it was {when} "
            "(TE_1029_OCSP_CHECK_REVOCATION_ERROR)"
        )
    return None


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
