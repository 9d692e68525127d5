"""The isolation questions the checks, the graph and the probe ask of a :class:`Reachability`.

Each function answers one question for the whole site and returns, per subject (a host, a
zone, a management service), every :class:`Reached` that violates the rule; the caller picks
the shortest as the witness with :func:`gemcheck.network.reach.shortest`.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from gemcheck.network.addrset import AddrSet, _merge
from gemcheck.network.reach import (
    ALL_PORTS,
    PROTOCOLS,
    PortRange,
    Reachability,
    Reached,
    has,
    minus,
    port_in,
)
from gemcheck.network.rules import Network
from gemcheck.network.topology import TI_KINDS, Host, Route, Service, Topology, ti_space

CARD_TERMINAL_SERVICES = (
    Service(4742, "tcp", "sicct"),
    Service(443, "tcp", "management", management=True),
)
"""Assumed for a card terminal that declares no services: SICCT and an HTTPS management UI."""


def addresses(hosts: Iterable[Host]) -> AddrSet:
    """The addresses of some hosts as a set."""
    return AddrSet.of(ipaddress.ip_network(a) for h in hosts for a in h.addresses)


def service_ports(services: Iterable[Service]) -> tuple[tuple[PortRange, ...], tuple[str, ...]]:
    """The ports and protocols of some services, to narrow a reachability query."""
    found = list(services)
    ports = tuple(_merge((s.port, s.port) for s in found))
    protos = tuple(sorted({s.proto for s in found}))
    return ports, protos


def _owned(an: Reachability, kinds: Collection[str]) -> AddrSet:
    out = AddrSet()
    for z in an.topology.zones:
        if z.kind in kinds:
            out = out | an.owned[z.id]
    return out


def inbound(
    an: Reachability, targets: Collection[str], source_kinds: Collection[str]
) -> dict[str, list[Reached]]:
    """Per target host: every path from a zone of ``source_kinds`` to one of its services."""
    hosts = [h for h in an.topology.hosts if h.id in targets]
    wanted = an.dnat_preimages(addresses(hosts))
    out: dict[str, list[Reached]] = defaultdict(list)
    ports, protos = ALL_PORTS, PROTOCOLS
    if hosts and all(h.services is not None for h in hosts) and wanted == addresses(hosts):
        ports, protos = service_ports(s for h in hosts for s in h.services or ())
    for zone in an.topology.zones:
        if zone.kind not in source_kinds:
            continue
        for r in an.reached(an.from_zone(zone.id, wanted, ports=ports, protos=protos)):
            if r.endpoint.kind == "host" and r.endpoint.node in targets:
                out[r.endpoint.node].append(r)
    return out


def egress(an: Reachability, sources: Collection[str]) -> dict[str, list[Reached]]:
    """Per source host: every path to the internet that does not go through VPN_SIS.

    A declared proxy (a host with role ``proxy``) ends the network path: what the proxy does
    next is its own traffic, so a patient-data host that reaches only the proxy passes.
    """
    internet = _owned(an, ("internet",))
    by_zone: dict[str, list[Host]] = defaultdict(list)
    for h in an.topology.hosts:
        if h.id in sources:
            by_zone[h.zone].append(h)
    out: dict[str, list[Reached]] = defaultdict(list)
    for zone, hosts in sorted(by_zone.items()):
        flows = an.from_zone(zone, internet, src=addresses(hosts))
        for r in an.reached(flows):
            if r.endpoint.kind != "zone" or "vpn-sis" in r.flow.tunnels:
                continue
            for h in hosts:
                if any(has(r.flow.src, a.version, int(a)) for a in h.addresses):
                    out[h.id].append(r)
    return out


@dataclass(frozen=True, slots=True)
class RoutingGroup:
    """Senders of one zone that route alike: the zone's default, or hosts with own routes."""

    zone: str
    label: str
    src: AddrSet
    gateway: str | None
    hosts: tuple[Host, ...]
    routes: tuple[Route, ...] = ()


def routing_groups(topo: Topology, owned: dict[str, AddrSet]) -> Iterator[RoutingGroup]:
    """The routing groups of every zone of the site."""
    by_zone: dict[str, list[Host]] = defaultdict(list)
    for h in topo.hosts:
        by_zone[h.zone].append(h)
    for zone in topo.zones:
        if zone.external:
            continue
        members = by_zone.get(zone.id, [])
        special = [h for h in members if h.gateway is not None or h.routes]
        plain = [h for h in members if h not in special]
        rest = owned[zone.id]
        for h in special:
            rest = minus(rest, addresses((h,)))
        if not rest.is_empty():
            yield RoutingGroup(zone.id, zone.id, rest, None, tuple(plain))
        for h in special:
            yield RoutingGroup(zone.id, h.id, addresses((h,)), h.gateway, (h,), tuple(h.routes))


def ti_bypass(
    an: Reachability, zone_kinds: Collection[str]
) -> dict[str, tuple[RoutingGroup, list[Reached]]]:
    """Per routing group of the given zone kinds: every path to a TI address not via VPN_TI."""
    ti = _owned(an, TI_KINDS)
    out: dict[str, tuple[RoutingGroup, list[Reached]]] = {}
    for group in routing_groups(an.topology, an.owned):
        if an.zones[group.zone].kind not in zone_kinds:
            continue
        flows = an.from_zone(
            group.zone,
            ti,
            src=group.src,
            mode="configured",
            gateway=group.gateway,
            routes=group.routes,
        )
        bad = [
            r
            for r in an.reached(flows)
            if r.flow.end_kind == "zone"
            and not (an.zones[r.flow.end].kind in TI_KINDS and "vpn-ti" in r.flow.tunnels)
        ]
        out[group.label] = (group, bad)
    return out


@dataclass(frozen=True, slots=True)
class Overlap:
    """A site network or WAN address inside a TI range."""

    subject: str
    network: Network
    ti: Network
    environment: str


def overlaps(topo: Topology, environments: Collection[str]) -> Iterator[Overlap]:
    """Site networks (and internet-facing gateway addresses) that overlap TI ranges."""
    ranges = [(env, net) for env in environments for net in ti_space(env)]
    mine: list[tuple[str, Network]] = [
        (z.id, n) for z in topo.zones if not z.external for n in z.networks
    ]
    for g in topo.gateways:
        for i in g.interfaces:
            if i.address is not None and topo.zone(i.zone).kind == "internet":
                mine.append((f"{g.id}/{i.name}", ipaddress.ip_network(i.address)))
    for subject, net in mine:
        for env, ti in ranges:
            if net.version == ti.version and net.overlaps(ti):
                yield Overlap(subject, net, ti, env)


@dataclass(frozen=True, slots=True)
class ManagedService:
    """A management interface: the node (host or gateway) and its service."""

    node: str
    service: Service

    @property
    def key(self) -> str:
        return f"{self.node}:{self.service.label}"


def management_services(topo: Topology) -> list[ManagedService]:
    """Every declared management service, and the assumed one of undeclared card terminals."""
    out: list[ManagedService] = []
    for h in topo.hosts:
        services = h.services
        if services is None and h.role == "card-terminal":
            services = CARD_TERMINAL_SERVICES
        out += [ManagedService(h.id, s) for s in services or () if s.management]
    for g in topo.gateways:
        out += [ManagedService(g.id, s) for s in g.services or () if s.management]
    return out


def management(
    an: Reachability, admin_kinds: Collection[str], segment_roles: Collection[str] = ()
) -> dict[str, tuple[ManagedService, list[Reached]]]:
    """Per management service: every path to it from a zone that is not an admin zone.

    A host whose role is in ``segment_roles`` may be reached from its own zone when every host
    declared there has such a role (a VLAN of card terminals only).
    """
    services = management_services(an.topology)
    roles: dict[str, set[str]] = defaultdict(set)
    for h in an.topology.hosts:
        roles[h.zone].add(h.role)
    exempt = {
        h.id: h.zone
        for h in an.topology.hosts
        if h.role in segment_roles and roles[h.zone] <= set(segment_roles)
    }
    nodes = {m.node for m in services}
    addrs = addresses(h for h in an.topology.hosts if h.id in nodes) | AddrSet.of(
        ipaddress.ip_network(a) for g in an.topology.gateways if g.id in nodes for a in g.addresses
    )
    wanted = an.dnat_preimages(addrs)
    ports, protos = service_ports(m.service for m in services)
    out: dict[str, tuple[ManagedService, list[Reached]]] = {m.key: (m, []) for m in services}
    for zone in an.topology.zones:
        if zone.kind in admin_kinds:
            continue
        for r in an.reached(an.from_zone(zone.id, wanted, ports=ports, protos=protos)):
            ep = r.endpoint
            if exempt.get(ep.node) == zone.id:
                continue
            for m in services:
                if m.node != ep.node or m.service.proto != ep.proto:
                    continue
                if ep.service == m.service or (
                    ep.service is None and port_in(m.service.port, ep.ports)
                ):
                    out[m.key][1].append(r)
    return out


def ti_inbound(an: Reachability, source_kinds: Collection[str]) -> dict[str, list[Reached]]:
    """Per site zone: every new connection from a TI zone that reaches one of its hosts."""
    wanted = an.dnat_preimages(an.site_space())
    out: dict[str, list[Reached]] = defaultdict(list)
    for zone in an.topology.zones:
        if zone.kind not in source_kinds:
            continue
        for r in an.reached(an.from_zone(zone.id, wanted)):
            if r.endpoint.kind == "host":
                host = an.topology.host(r.endpoint.node)
                if host is not None:
                    out[host.zone].append(r)
    return out


def exposed(reached: Iterable[Reached], patient: Collection[str]) -> list[str]:
    """The patient-data hosts among the endpoints (sorted)."""
    return sorted({r.endpoint.node for r in reached if r.endpoint.node in patient})
