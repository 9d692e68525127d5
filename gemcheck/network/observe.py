"""Observed reachability (``--probe-reachability``): try what the description says is blocked.

From the machine gemcheck runs on, gemcheck opens TCP connections to services of the
description, first to those the analysis says this machine must *not* reach (patient-data
hosts and management interfaces first), then to some it says it may reach, and records
what happened. Probes are bounded in number (``limit``), each has a strict timeout, and at
most ``concurrency`` run at once. Only addresses the description names are contacted; the
source address is found with a connected UDP socket, which sends nothing.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from gemcheck.evidence.network import NetworkEvidence, ObservedReachabilityEvidence, Probe
from gemcheck.model import Location
from gemcheck.network.addrset import AddrSet
from gemcheck.network.reach import Reachability, Reached, port_in, shortest
from gemcheck.network.rules import Address


@dataclass(frozen=True, slots=True)
class Target:
    """A service to probe and what the description declares for it from this machine."""

    node: str
    address: Address
    port: int
    declared: str
    priority: int
    path: tuple[str, ...] = ()


def local_source(towards: Address) -> Address | None:
    """The address this machine would send from to reach ``towards`` (no packet is sent)."""
    family = socket.AF_INET if towards.version == 4 else socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((str(towards), 9))
            return ipaddress.ip_address(s.getsockname()[0])
    except OSError:
        return None


def plan(an: Reachability, source: Address, patient: frozenset[str]) -> list[Target]:
    """Every TCP service of the description, with what the analysis declares from ``source``."""
    zone = an.zone_of(source)
    if zone is None:
        return []
    src = AddrSet.of((ipaddress.ip_network(source),))
    reached: dict[tuple[str, str], list[Reached]] = defaultdict(list)
    for r in an.reached(an.from_zone(zone, src=src)):
        if r.endpoint.address is not None and r.endpoint.proto == "tcp":
            reached[(r.endpoint.node, str(r.endpoint.address))].append(r)
    targets: list[Target] = []
    for node, addr, services in _services(an):
        if addr == source:
            continue
        for port, is_mgmt in services:
            mine = reached.get((node, str(addr)), [])
            hits = [r for r in mine if port_in(port, r.endpoint.ports)]
            winner = shortest(hits)
            declared = "allowed" if winner is not None else "blocked"
            priority = (0 if declared == "blocked" else 2) + (
                0 if node in patient or is_mgmt else 1
            )
            path = winner.witness() if winner is not None else ()
            targets.append(Target(node, addr, port, declared, priority, path))
    targets.sort(key=lambda t: (t.priority, t.node, int(t.address), t.port))
    return targets


def _services(an: Reachability) -> Iterable[tuple[str, Address, list[tuple[int, bool]]]]:
    for h in an.topology.hosts:
        ports = [(s.port, s.management) for s in h.services or () if s.proto == "tcp"]
        for a in h.addresses:
            yield h.id, a, ports
    for g in an.topology.gateways:
        ports = [(s.port, s.management) for s in g.services or () if s.proto == "tcp"]
        for a in g.addresses:
            yield g.id, a, ports


def attempt(address: Address, port: int, timeout: float) -> tuple[str, str]:
    """``(observed, detail)`` of one TCP connection attempt."""
    try:
        with socket.create_connection((str(address), port), timeout=timeout):
            return "open", "connected"
    except ConnectionRefusedError:
        return "refused", "connection refused (the host or a REJECT rule answered)"
    except TimeoutError:
        return "timeout", f"no answer within {timeout:g} s"
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "timeout", f"unreachable: {exc.strerror}"
        return "error", f"{type(exc).__name__}: {exc.strerror or exc}"


def probe(
    ev: NetworkEvidence, *, timeout: float = 1.0, limit: int = 64, concurrency: int = 8
) -> ObservedReachabilityEvidence:
    """Probe the planned targets; an error evidence when no source zone can be found."""
    an, topo = ev.analysis, ev.topology
    loc = Location(file=ev.location.file)
    if an is None or topo is None:
        return ObservedReachabilityEvidence(
            subject="probes", location=loc, error="no network description to probe against"
        )
    first = next((a for h in topo.hosts for a in h.addresses), None)
    source = local_source(first) if first is not None else None
    zone = an.zone_of(source) if source is not None else None
    if source is None or zone is None or an.zones[zone].external:
        where = f"address {source}" if source else "no usable address"
        return ObservedReachabilityEvidence(
            subject="probes",
            location=loc,
            error=f"this machine ({where}) is in no zone of the site's description: "
            "run --probe-reachability from a machine inside the site",
        )
    targets = plan(an, source, ev.patient_hosts)
    chosen = targets[: max(0, limit)]
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, 32))) as pool:
        results = list(pool.map(lambda t: attempt(t.address, t.port, timeout), chosen))
    probes = tuple(
        Probe(t.node, str(t.address), t.port, t.declared, observed, detail, t.path)
        for t, (observed, detail) in zip(chosen, results, strict=True)
    )
    return ObservedReachabilityEvidence(
        subject=f"probes from {source}",
        location=loc,
        source=str(source),
        zone=zone,
        probes=probes,
        skipped=len(targets) - len(chosen),
    )
