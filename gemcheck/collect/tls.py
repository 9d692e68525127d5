"""Collect TLS evidence: probe every endpoint of the site, and hand on the certificates presented.

Endpoints come from the site's ``endpoints`` (``url`` and optional ``role``) and
from ``konnektor.endpoint`` (role ``konnektor``); the same host and port named
twice is probed once, keeping the role given. Each presented leaf certificate is
also yielded as :class:`CertificateEvidence` (location: the endpoint), so the
certificate and PKI rules judge it like a certificate file.
"""

from __future__ import annotations

from collections.abc import Iterator

from cryptography import x509

from gemcheck.collect import CollectOptions
from gemcheck.collect.certs import subject_name
from gemcheck.evidence import Evidence
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.evidence.tls import TlsEvidence
from gemcheck.model import Location
from gemcheck.site import Site
from gemcheck.tls.endpoint import parse_endpoint
from gemcheck.tls.probe import probe


def collect_tls(site: Site, options: CollectOptions) -> Iterator[Evidence]:
    """Probe each endpoint (or, offline, say it was not probed)."""
    for target, role in site_endpoints(site):
        if options.offline:
            yield TlsEvidence(
                subject=target,
                location=Location(uri=target),
                role=role,
                skipped="not probed (--offline)",
            )
            continue
        evidence = probe(
            target, role=role, timeout=options.timeout, concurrency=options.concurrency
        )
        yield evidence
        yield from presented_certificates(evidence)


def site_endpoints(site: Site) -> list[tuple[str, str | None]]:
    """(endpoint as written, role) for every distinct endpoint of the site, in order."""
    named: list[tuple[str, str | None]] = [
        (str(e["url"]), str(e["role"]) if e.get("role") else None) for e in site.endpoints
    ]
    konnektor = site.konnektor.get("endpoint")
    if konnektor:
        named.append((str(konnektor), "konnektor"))
    out: dict[str, tuple[str, str | None]] = {}
    for target, role in named:
        try:
            key = str(parse_endpoint(target))
        except ValueError:
            key = target  # probed anyway: the probe reports the bad endpoint
        known = out.get(key)
        if known is None or (known[1] is None and role is not None):
            out[key] = (known[0] if known else target, role)
    return list(out.values())


def presented_certificates(evidence: TlsEvidence) -> Iterator[CertificateEvidence]:
    """The leaf certificate of each chain the endpoint presented."""
    for index, chain in enumerate(evidence.chains):
        location = Location(uri=evidence.subject, index=index)
        try:
            cert = x509.load_der_x509_certificate(chain[0])
        except ValueError as exc:
            yield CertificateEvidence(
                subject=evidence.subject,
                location=location,
                role=evidence.role,
                error=f"the certificate presented by {evidence.subject} cannot be parsed: {exc}",
            )
            continue
        yield CertificateEvidence(
            subject=subject_name(cert),
            location=location,
            certificate=cert,
            source_format="tls",
            role=evidence.role,
        )
