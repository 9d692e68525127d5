"""Collect trust material and OCSP answers: TSL, trust anchors, one OCSP exchange per certificate.

The site's ``trust`` section (or ``--tsl``, ``--tsl-signer``, ``--trust-anchor``,
``--ocsp-responder``) names the inputs. A TSL is read, parsed and its signature
verified once per file even when several collectors need it. OCSP is asked
only about end-entity certificates whose issuer the trust material knows, so an
audit without trust material never opens a socket; ``--offline`` asks nothing.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from gemcheck.collect import CollectOptions
from gemcheck.collect.certs import display_path, load_file
from gemcheck.evidence import EvidenceSet
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.evidence.trust import OcspEvidence, TrustAnchorEvidence, TslEvidence, trust_store
from gemcheck.model import Location
from gemcheck.site import Site

if TYPE_CHECKING:
    from gemcheck.evidence.trust import OcspOutcome
    from gemcheck.pki.tsl import TrustList
    from gemcheck.pki.tslsig import TslSignature

OCSP_NOCHECK = x509.ObjectIdentifier("1.3.6.1.5.5.7.48.1.5")


def collect_tsl(site: Site, options: CollectOptions) -> Iterator[TslEvidence]:
    """The site's TSL, parsed and signature-checked, with its signer anchors (nothing if none)."""
    name = site.trust.get("tsl")
    if not name:
        return
    anchors: list[x509.Certificate] = []
    problems: list[str] = []
    for ev in _load_certs(site, site.trust.get("tsl_signer", ())):
        if ev.certificate is None:
            problems.append(f"{ev.location}: {ev.error}")
        else:
            anchors.append(ev.certificate)
    yield load_tsl(site.path(str(name)), site.root, tuple(anchors), tuple(problems))


def collect_anchors(site: Site, options: CollectOptions) -> Iterator[TrustAnchorEvidence]:
    """Every certificate of the trust-anchor files (an unreadable file is an error evidence)."""
    for ev in _load_certs(site, site.trust.get("anchors", ())):
        yield TrustAnchorEvidence(
            subject=ev.subject, location=ev.location, error=ev.error, certificate=ev.certificate
        )


def load_tsl(
    path: Path,
    root: Path,
    anchors: tuple[x509.Certificate, ...] = (),
    anchor_problems: tuple[str, ...] = (),
) -> TslEvidence:
    """One TSL file as evidence; a file that is no usable TSL is an error evidence naming why."""
    from gemcheck.pki.tsl import MAX_TSL_BYTES

    shown = display_path(path, root)
    where = Location(file=shown)
    try:
        stat = path.stat()
    except OSError as exc:
        return TslEvidence(shown, where, error=f"cannot read TSL: {exc.strerror or exc}")
    if stat.st_size > MAX_TSL_BYTES:
        return TslEvidence(
            shown, where, error=f"TSL file is {stat.st_size} bytes, more than {MAX_TSL_BYTES}"
        )
    parsed = _parse(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if isinstance(parsed, str):
        return TslEvidence(shown, where, error=parsed)
    tsl, signature, digest = parsed
    return TslEvidence(
        subject=f"TSL {tsl.id}" if tsl.id else shown,
        location=where,
        tsl=tsl,
        signature=signature,
        signer_anchors=anchors,
        anchor_problems=anchor_problems,
        sha256=digest,
    )


@functools.lru_cache(maxsize=4)
def _parse(path: str, mtime_ns: int, size: int) -> tuple[TrustList, TslSignature, str] | str:
    """Parse and verify one TSL file (cached by path, modification time and size)."""
    from gemcheck.pki.tsl import TslError, parse_tsl
    from gemcheck.pki.tslsig import verify_tsl_signature

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"cannot read TSL: {exc.strerror or exc}"
    try:
        tsl = parse_tsl(data)
    except TslError as exc:
        return f"not a usable TSL: {exc} ({exc.code})"
    return tsl, verify_tsl_signature(data, tsl), hashlib.sha256(data).hexdigest()


def collect_ocsp(
    site: Site, options: CollectOptions, collected: EvidenceSet
) -> Iterator[OcspEvidence]:
    """One OCSP exchange per end-entity certificate of the site (the certificates, TSLs and
    trust anchors collected before)."""
    from gemcheck.pki.chain import find_issuer, is_ca
    from gemcheck.pki.ocsp import Job, OcspClient, aia_ocsp_url

    config = dict(site.trust.get("ocsp") or {})
    offline = options.offline or bool(config.get("offline"))
    responder = config.get("responder")
    loaded = collected.of_type(CertificateEvidence)
    certs = [ev for ev in loaded if ev.certificate is not None and not is_ca(ev.certificate)]
    store = None if offline else trust_store(collected)
    jobs: list[tuple[CertificateEvidence, Job]] = []
    for ev in certs:
        cert = ev.certificate
        assert cert is not None
        if _has_nocheck(cert):
            yield _ocsp(ev, outcome="nocheck")
            continue
        if store is None:
            yield _ocsp(ev, outcome="offline")
            continue
        if not store:
            yield _ocsp(
                ev,
                error="OCSP not asked: no trust material to find the issuer (pass --tsl or "
                "--trust-anchor, or set trust.tsl / trust.anchors in the site file)",
            )
            continue
        found = find_issuer(cert, store)
        if found is None:
            yield _ocsp(
                ev,
                error=f"OCSP not asked: issuer {cert.issuer.rfc4514_string()} is not in the trust "
                "material (TE_1027_CA_CERT_MISSING)",
            )
            continue
        issuer, trusted = found
        tsl_urls = trusted.service.ocsp_urls() if trusted and trusted.service else ()
        url = responder or next(iter(tsl_urls), None) or aia_ocsp_url(cert)
        if not url:
            yield _ocsp(
                ev,
                error="OCSP not asked: no responder (no --ocsp-responder, no ServiceSupplyPoint "
                "in the TSL, no OCSP URL in the certificate) (TE_1026_SERVICESUPPLYPOINT_MISSING)",
            )
            continue
        jobs.append((ev, Job(cert, issuer, str(url))))
    timeout = float(config.get("timeout") or options.timeout)
    client = OcspClient(timeout=timeout, concurrency=options.concurrency)
    exchanges = client.ask_all([job for _, job in jobs]) if jobs else []
    for (ev, job), exchange in zip(jobs, exchanges, strict=True):
        yield OcspEvidence(
            subject=ev.subject,
            location=ev.location,
            error=exchange.error,
            url=exchange.url,
            response=exchange.response,
            hash_algorithm=exchange.hash_algorithm,
            fetched_at=exchange.fetched_at,
            certificate=job.certificate,
            issuer=job.issuer,
        )


def _ocsp(
    ev: CertificateEvidence, *, outcome: OcspOutcome = "response", error: str | None = None
) -> OcspEvidence:
    return OcspEvidence(
        subject=ev.subject,
        location=ev.location,
        error=error,
        outcome=outcome,
        certificate=ev.certificate,
    )


def _has_nocheck(cert: x509.Certificate) -> bool:
    try:  # a loop, not get_extension_for_oid: raising ExtensionNotFound for every leaf is slow
        return any(ext.oid == OCSP_NOCHECK for ext in cert.extensions)
    except ValueError:
        return False


def _load_certs(site: Site, names: object) -> Iterator[CertificateEvidence]:
    for name in names if isinstance(names, list | tuple) else ():
        yield from load_file(site.path(str(name)), site.root)
