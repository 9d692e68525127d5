"""Collection: the only place that does I/O (files, TLS, HTTP, OCSP).

Each collector reads one part of the site and yields frozen evidence. Only the
collectors whose evidence some bound rule needs are run, so ``--profile
ti-pki`` never opens a socket to a Konnektor. A collector that crashes yields
one error evidence naming it: the audit goes on and the affected rules report
``error``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gemcheck.evidence import Evidence, EvidenceSet
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.site import Site


@dataclass(frozen=True, slots=True)
class CollectOptions:
    """How to collect: network on or off, timeouts, concurrency."""

    offline: bool = False
    timeout: float = 5.0
    concurrency: int = 8


@dataclass(frozen=True, slots=True)
class Collector:
    """One source of evidence. Every evidence type it produces must be constructible
    from ``subject``, ``location`` and ``error`` alone (so a crash can be reported)."""

    name: str
    produces: tuple[type[Evidence], ...]
    run: Callable[[Site, CollectOptions], Iterable[Evidence]]


def _certificates(site: Site, options: CollectOptions) -> Iterable[Evidence]:
    from gemcheck.collect.certs import load_sources

    return load_sources(site.certificates, site.root)


COLLECTORS: tuple[Collector, ...] = (
    Collector("certificates", (CertificateEvidence,), _certificates),
)


def collect(
    site: Site,
    needed: Iterable[type[Evidence]],
    options: CollectOptions = CollectOptions(),
) -> EvidenceSet:
    """Run the collectors that produce evidence some rule needs; never raises for bad input."""
    wanted = tuple(needed)
    items: list[Evidence] = []
    for collector in COLLECTORS:
        if not any(issubclass(p, w) or issubclass(w, p) for p in collector.produces for w in wanted):
            continue
        try:
            items.extend(collector.run(site, options))
        except Exception as exc:  # fail closed: a crashed collector is evidence of an error
            items.append(
                collector.produces[0](
                    subject=collector.name,
                    error=f"collector {collector.name!r} failed: {type(exc).__name__}: {exc}",
                )
            )
    return EvidenceSet(items)
