"""Collection: the only place that does I/O (files, TLS, HTTP, OCSP).

Each collector reads one part of the site and yields frozen evidence. Only the
collectors whose evidence some bound rule needs are run, so ``--profile
ti-konnektor`` reads no certificate folder and ``--profile ti-crypto`` calls no
Konnektor (it does probe the site's TLS endpoints: their certificates are
certificate evidence too). A collector that crashes yields
one error evidence naming it: the audit goes on and the affected rules report
``error``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass

from gemcheck.evidence import Evidence, EvidenceSet
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.evidence.konnektor import (
    CertificateExpirationEvidence,
    KonnektorAccessEvidence,
    KonnektorParametersEvidence,
    OperatingStateEvidence,
    ServiceDirectoryEvidence,
)
from gemcheck.evidence.network import NetworkEvidence, ObservedReachabilityEvidence
from gemcheck.evidence.tls import TlsEvidence
from gemcheck.evidence.trust import OcspEvidence, TrustAnchorEvidence, TslEvidence
from gemcheck.site import Site


@dataclass(frozen=True, slots=True)
class CollectOptions:
    """How to collect: network on or off, timeouts, concurrency."""

    offline: bool = False
    timeout: float = 5.0
    concurrency: int = 8


@dataclass(frozen=True, slots=True)
class Collector:
    """One source of evidence: ``target`` names its function as ``module:function``
    (imported on first use, so the CLI starts fast). Every evidence type it produces
    must be constructible from ``subject``, ``location`` and ``error`` alone, so that
    a crash can be reported."""

    name: str
    produces: tuple[type[Evidence], ...]
    target: str
    reads: tuple[type[Evidence], ...] = ()
    """Evidence of earlier collectors this one builds on (passed to it, never collected twice)."""

    def run(
        self, site: Site, options: CollectOptions, collected: EvidenceSet
    ) -> Iterable[Evidence]:
        module, _, function = self.target.partition(":")
        func = getattr(importlib.import_module(module), function)
        if self.reads:
            return func(site, options, collected)  # type: ignore[no-any-return]
        return func(site, options)  # type: ignore[no-any-return]


_KONNEKTOR_FILES = (
    ServiceDirectoryEvidence,
    OperatingStateEvidence,
    CertificateExpirationEvidence,
    KonnektorParametersEvidence,
)

COLLECTORS: tuple[Collector, ...] = (
    Collector(
        "certificates", (CertificateEvidence,), "gemcheck.collect.certs:collect_certificates"
    ),
    Collector("tsl", (TslEvidence,), "gemcheck.collect.trust:collect_tsl"),
    Collector("trust-anchors", (TrustAnchorEvidence,), "gemcheck.collect.trust:collect_anchors"),
    Collector(
        "ocsp",
        (OcspEvidence,),
        "gemcheck.collect.trust:collect_ocsp",
        reads=(CertificateEvidence, TslEvidence, TrustAnchorEvidence),
    ),
    Collector("tls", (TlsEvidence, CertificateEvidence), "gemcheck.collect.tls:collect_tls"),
    Collector(
        "network",
        (NetworkEvidence, ObservedReachabilityEvidence),
        "gemcheck.collect.network:collect_network",
    ),
    Collector("konnektor-files", _KONNEKTOR_FILES, "gemcheck.collect.konnektor:collect_files"),
    Collector(
        "konnektor-live",
        (KonnektorAccessEvidence, *_KONNEKTOR_FILES[:3]),
        "gemcheck.collect.konnektor:collect_live",
    ),
)


def collect(
    site: Site,
    needed: Iterable[type[Evidence]],
    options: CollectOptions = CollectOptions(),
) -> EvidenceSet:
    """Run the collectors that produce evidence some rule needs (and what those collectors
    build on), in the order of ``COLLECTORS``; never raises for bad input."""
    chosen = _chosen(tuple(needed))
    items: list[Evidence] = []
    for collector in COLLECTORS:
        if collector not in chosen:
            continue
        try:
            items.extend(collector.run(site, options, EvidenceSet(items)))
        except Exception as exc:  # fail closed: a crashed collector is evidence of an error
            items.append(
                collector.produces[0](
                    subject=collector.name,
                    error=f"collector {collector.name!r} failed: {type(exc).__name__}: {exc}",
                )
            )
    return EvidenceSet(items)


def _chosen(needed: tuple[type[Evidence], ...]) -> list[Collector]:
    """The collectors producing what is needed, closed over what they read."""
    wanted = set(needed)
    while True:
        chosen = [
            c
            for c in COLLECTORS
            if any(issubclass(p, w) or issubclass(w, p) for p in c.produces for w in wanted)
        ]
        more = {t for c in chosen for t in c.reads} - wanted
        if not more:
            return chosen
        wanted |= more
