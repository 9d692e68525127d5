"""Reachability: which flows the site's routes, NAT and firewalls allow, with witness paths.

The analysis follows *classes* of packets, not single hosts: a class is a protocol and a box
of source addresses x destination addresses x destination ports. It enters the site where its
source zone is attached (every gateway with an interface in the zone, or only the configured
default gateway and routes), and at every gateway on the way

1. the ruleset is cut down to the rules that may match the class (:mod:`.ruleindex`),
2. the class is split at the boundaries of those rules and of the routing table into
   equivalence classes (every address of a class is treated alike by every remaining rule),
3. one representative packet per class is run through prerouting (filter, DNAT), input or
   forward, and postrouting (filter, SNAT/masquerade) by :mod:`.evaluate`, and
4. classes with the same outcome are merged again and follow the route to the next gateway,
   into a zone, or into a Konnektor tunnel.

The flows are *new* connections (connection tracking lets the answers back), so the analysis is
stateful in the way the rules "no unsolicited inbound" need. Uncertain rules are fail-closed:
a flow that an uncertain rule may allow is kept and marked ``uncertain``.

Sources from an ``internet`` zone reach only public destination addresses (what the internet
routes to a site) unless the description sets ``options.internet_reaches_private``.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from gemcheck.network.addrset import WIDTH, AddrSet, Interval, _complement, _intersect, _merge
from gemcheck.network.evaluate import Decision, Evaluator, Packet, _iface_ok, _iface_test
from gemcheck.network.konnektor_model import konnektor_ruleset
from gemcheck.network.ruleindex import RuleIndex, Selection
from gemcheck.network.rules import Address, Rule, Ruleset
from gemcheck.network.topology import Gateway, Host, Route, Service, Topology, Zone

PortRange = tuple[int, int]
ALL_PORTS: tuple[PortRange, ...] = ((0, 65535),)
PROTOCOLS: tuple[str, ...] = ("tcp", "udp")
MAX_HOPS = 16
NO_FIREWALL = "no firewall (forwards everything)"
SAME_ZONE = "same zone (no gateway in between)"

_NOT_PUBLIC = {
    4: (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/3",
    ),
    6: ("::/8", "fc00::/7", "fe80::/10", "ff00::/8"),
}


def minus(a: AddrSet, b: AddrSet) -> AddrSet:
    """The addresses of ``a`` that are not in ``b``."""
    v4 = _intersect(a.v4, _complement(b.v4, 4)) if b.v4 else a.v4
    v6 = _intersect(a.v6, _complement(b.v6, 6)) if b.v6 else a.v6
    return AddrSet(v4, v6)


def has(addrs: AddrSet, version: int, value: int) -> bool:
    """True if the integer address ``value`` of ``version`` is in ``addrs``."""
    ivs = addrs.get(version)
    i = bisect.bisect_right(ivs, (value, 1 << 129)) - 1
    return i >= 0 and ivs[i][1] >= value


def _only(version: int, ivs: Sequence[Interval]) -> AddrSet:
    return AddrSet(tuple(ivs), ()) if version == 4 else AddrSet((), tuple(ivs))


def _point(address: Address) -> AddrSet:
    return AddrSet.of((ipaddress.ip_network(address),))


def _addr(version: int, value: int) -> Address:
    return ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)


def _cut(ivs: Sequence[Interval], cuts: Sequence[int]) -> list[Interval]:
    """Split intervals at the sorted ``cuts`` (a cut is the first value of a new piece)."""
    out: list[Interval] = []
    for lo, hi in ivs:
        i = bisect.bisect_right(cuts, lo)
        start = lo
        while i < len(cuts) and cuts[i] <= hi:
            out.append((start, cuts[i] - 1))
            start = cuts[i]
            i += 1
        out.append((start, hi))
    return out


def _by_class(atoms: Sequence[Interval], starts: Sequence[int]) -> dict[int, list[Interval]]:
    """Atoms grouped by the equivalence class (index into ``starts``) they fall in."""
    out: dict[int, list[Interval]] = defaultdict(list)
    for atom in atoms:
        out[bisect.bisect_right(starts, atom[0]) - 1].append(atom)
    return out


def ports_text(ports: Sequence[PortRange]) -> str:
    """``443``, ``1-1023``, ``any`` for a port set."""
    if tuple(ports) == ALL_PORTS:
        return "any"
    parts = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ports[:3]]
    return ",".join(parts) + (",..." if len(ports) > 3 else "")


def port_in(port: int, ports: Sequence[PortRange]) -> bool:
    return any(lo <= port <= hi for lo, hi in ports)


# -- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hop:
    """What one gateway did to a flow: the route, NAT and the rule that let it pass."""

    gateway: str
    in_iface: str
    out: str
    decision: str
    route: str = ""
    dnat: str = ""
    snat: str = ""
    tunnel: str = ""
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class Flow:
    """A class of new connections the site lets through, from a source zone to where it ends.

    ``src``/``dst``/``ports`` are what the sender used; ``end_dst``/``end_ports`` what arrives
    after NAT. ``end_kind`` ``zone``: delivered into zone ``end`` (to its hosts, or out of the
    site for an external zone); ``gateway``: accepted by gateway ``end`` itself.
    """

    source_zone: str
    proto: str
    src: AddrSet
    dst: AddrSet
    ports: tuple[PortRange, ...]
    end_kind: Literal["zone", "gateway"]
    end: str
    end_dst: AddrSet
    end_ports: tuple[PortRange, ...]
    hops: tuple[Hop, ...]

    @property
    def uncertain(self) -> bool:
        """True if an uncertain rule may allow this flow (fail-closed reading)."""
        return any(h.uncertain for h in self.hops)

    @property
    def tunnels(self) -> tuple[str, ...]:
        """The Konnektor tunnel types the flow went through (``vpn-ti``, ``vpn-sis``)."""
        return tuple(h.tunnel for h in self.hops if h.tunnel)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Something a flow reaches: a host's or gateway's service, or an external zone."""

    node: str
    kind: Literal["host", "gateway", "zone"]
    proto: str
    ports: tuple[PortRange, ...]
    address: Address | None = None
    service: Service | None = None

    @property
    def label(self) -> str:
        port = self.service.label if self.service else f"{ports_text(self.ports)}/{self.proto}"
        return f"{self.node}:{port}"


@dataclass(frozen=True, slots=True)
class Reached:
    """One endpoint reached by one flow."""

    flow: Flow
    endpoint: Endpoint

    def witness(self, source: str | None = None, *, routes: bool = False) -> tuple[str, ...]:
        """The path ``zone -> gateway -> rule -> ... -> host:port`` (``routes``: show routes)."""
        return witness(self.flow, self.endpoint, source=source, routes=routes)


def witness(
    flow: Flow, endpoint: Endpoint, *, source: str | None = None, routes: bool = False
) -> tuple[str, ...]:
    """See :meth:`Reached.witness`."""
    out = [source or flow.source_zone]
    if not flow.hops:
        out.append(SAME_ZONE)
    for i, hop in enumerate(flow.hops):
        final_input = i == len(flow.hops) - 1 and flow.end_kind == "gateway"
        if not final_input:
            out.append(hop.gateway)
        if routes and hop.route:
            out.append(hop.route)
        if hop.dnat:
            out.append(hop.dnat)
        out.append(hop.decision + (" (uncertain rule: may allow)" if hop.uncertain else ""))
        if hop.tunnel:
            out.append(f"tunnel {hop.out} ({hop.tunnel})")
    out.append(endpoint.label)
    return tuple(out)


def shortest(reached: Iterable[Reached]) -> Reached | None:
    """The witness with the fewest hops (ties: certain before uncertain, then by text)."""
    best: tuple[tuple[int, bool, tuple[str, ...]], Reached] | None = None
    for r in reached:
        key = (len(r.flow.hops), r.flow.uncertain, r.witness())
        if best is None or key < best[0]:
            best = (key, r)
    return best[1] if best else None


# -- the model -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RouteEntry:
    out: str
    kind: Literal["iface", "tunnel"]
    next_hop: tuple[str, str] | None
    label: str
    rank: int


class _Table:
    """A routing table: longest prefix wins; ties go to tunnel, then static, then connected."""

    def __init__(self) -> None:
        self.by_len: dict[int, dict[int, dict[int, _RouteEntry]]] = {4: {}, 6: {}}
        self.cuts: dict[int, list[int]] = {4: [], 6: []}

    def add(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network, e: _RouteEntry) -> None:
        table = self.by_len[network.version].setdefault(network.prefixlen, {})
        key = int(network.network_address)
        old = table.get(key)
        if old is None or e.rank < old.rank:
            table[key] = e

    def freeze(self) -> None:
        for v in (4, 6):
            self.by_len[v] = dict(sorted(self.by_len[v].items(), reverse=True))
            cuts: set[int] = set()
            top = 1 << WIDTH[v]
            for plen, table in self.by_len[v].items():
                size = 1 << (WIDTH[v] - plen)
                for start in table:
                    cuts.add(start)
                    if start + size < top:
                        cuts.add(start + size)
            self.cuts[v] = sorted(cuts)

    def lookup(self, version: int, value: int) -> _RouteEntry | None:
        bits = WIDTH[version]
        for plen, table in self.by_len[version].items():
            mask = ((1 << plen) - 1) << (bits - plen)
            hit = table.get(value & mask)
            if hit is not None:
                return hit
        return None


class _Gw:
    """A gateway prepared for the analysis."""

    def __init__(self, gw: Gateway, ruleset: Ruleset) -> None:
        self.gw = gw
        self.id = gw.id
        self.ruleset = ruleset
        self.index = RuleIndex(ruleset)
        self.table = _Table()
        self.own = AddrSet.of(ipaddress.ip_network(a) for a in gw.addresses)
        self.tunnel_types = {t.name: t.type for t in gw.tunnels}
        self._evaluators: dict[int, tuple[Selection, Evaluator]] = {}
        self._interned: dict[Selection, Selection] = {}
        self.firewall = bool(ruleset.chains)
        self.assumed = not ruleset.chains and ruleset.source != NO_FIREWALL
        """No usable ruleset (an export that could not be read): every flow is only "may"."""
        self.decisions: dict[tuple[object, ...], tuple[_Verdict, ...]] = {}
        self._out_tests: dict[int, tuple[tuple[str, bool, bool], ...]] = {}

    def out_signature(self, selection: Selection, out: str | None) -> tuple[bool, ...]:
        """How the out-interface tests of the selected rules judge ``out``."""
        tests = self._out_tests.get(id(selection))
        if tests is None:
            found = set()
            for key, positions in selection:
                rules = self.index.chains[key].chain.rules
                for pos in positions:
                    m = rules[pos].match
                    test = _iface_test(m.out_iface, m.out_iface_negate)
                    if test is not None:
                        found.add(test)
            tests = self._out_tests[id(selection)] = tuple(sorted(found))
        return tuple(_iface_ok(t, out) for t in tests)

    def intern(self, selection: Selection) -> Selection:
        """One shared object per distinct selection (cheap dictionary keys afterwards)."""
        return self._interned.setdefault(selection, selection)

    def evaluator(self, selection: Selection) -> Evaluator:
        found = self._evaluators.get(id(selection))
        if found is None or found[0] is not selection:
            if len(self._evaluators) > 50_000:
                self._evaluators.clear()
            found = (selection, Evaluator(self.index.subset(selection)))
            self._evaluators[id(selection)] = found
        return found[1]


@dataclass(frozen=True, slots=True)
class _Cls:
    """A box of packets: current and original (as sent) source, destination and ports."""

    src: AddrSet
    dst: AddrSet
    ports: tuple[PortRange, ...]
    osrc: AddrSet
    odst: AddrSet
    oports: tuple[PortRange, ...]
    src_nat: bool = False
    dst_nat: bool = False
    port_nat: bool = False

    def with_dst(self, dst: AddrSet) -> _Cls:
        return _Cls(
            self.src,
            dst,
            self.ports,
            self.osrc,
            self.odst if self.dst_nat else dst,
            self.oports,
            self.src_nat,
            self.dst_nat,
            self.port_nat,
        )

    def with_src(self, src: AddrSet) -> _Cls:
        return _Cls(
            src,
            self.dst,
            self.ports,
            self.osrc if self.src_nat else src,
            self.odst,
            self.oports,
            self.src_nat,
            self.dst_nat,
            self.port_nat,
        )

    def with_ports(self, ports: tuple[PortRange, ...]) -> _Cls:
        return _Cls(
            self.src,
            self.dst,
            ports,
            self.osrc,
            self.odst,
            self.oports if self.port_nat else ports,
            self.src_nat,
            self.dst_nat,
            self.port_nat,
        )


@dataclass
class _Trace:
    zone: str
    proto: str
    version: int
    flows: list[Flow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A gateway's treatment of a class of packets, before the route is known."""

    kind: Literal["local", "forward"]
    route: _RouteEntry | None
    decision: str
    uncertain: bool
    dnat: str = ""
    new_dst: int | None = None
    new_port: int | None = None
    snat: str = ""
    snat_to: Address | None = None
    masquerade: bool = False


@dataclass(frozen=True, slots=True)
class _Outcome:
    kind: Literal["local", "forward"]
    route: _RouteEntry | None
    decision: str
    uncertain: bool
    dnat: str = ""
    new_dst: int | None = None
    new_port: int | None = None
    snat: str = ""
    new_src: int | None = None


class Reachability:
    """The reachability analysis of one site; results are computed on demand and cached."""

    def __init__(self, topology: Topology, rulesets: Mapping[str, Ruleset]) -> None:
        self.topology = topology
        self.problems: list[str] = []
        self.zones = {z.id: z for z in topology.zones}
        self.owned = _ownership(topology.zones)
        self.hosts_by_zone: dict[str, list[Host]] = defaultdict(list)
        for h in topology.hosts:
            self.hosts_by_zone[h.zone].append(h)
        self._host_index = {z: _AddressIndex(hs) for z, hs in self.hosts_by_zone.items()}
        self.gws: dict[str, _Gw] = {}
        for gateway in topology.gateways:
            rs = rulesets.get(gateway.id)
            if rs is None and gateway.type == "konnektor":
                rs = konnektor_ruleset(gateway)
            self.gws[gateway.id] = _Gw(gateway, rs or Ruleset(gateway.id, NO_FIREWALL, ()))
        self.attach: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.gw_addresses: dict[str, list[tuple[int, int, str, str]]] = defaultdict(list)
        for g in topology.gateways:
            for i in g.interfaces:
                self.attach[i.zone].append((g.id, i.name))
                if i.address is not None:
                    self.gw_addresses[i.zone].append(
                        (i.address.version, int(i.address), g.id, i.name)
                    )
            for t in g.tunnels:
                for z in t.zones:
                    self.attach[z].append((g.id, t.name))
        for entries in self.gw_addresses.values():
            entries.sort()
        for prepared in self.gws.values():
            self._build_table(prepared)
        for h in topology.hosts:
            for r in h.routes:
                self._host_next_hop(h.zone, r)  # reports unusable host routes once, up front
        self._cache: dict[tuple[object, ...], tuple[Flow, ...]] = {}

    # -- routing tables

    def _build_table(self, g: _Gw) -> None:
        for i in g.gw.interfaces:
            for net in self.zones[i.zone].networks:
                g.table.add(net, _RouteEntry(i.name, "iface", None, f"connected {i.zone}", 2))
        for t in g.gw.tunnels:
            for z in t.zones:
                for net in self.zones[z].networks:
                    g.table.add(net, _RouteEntry(t.name, "tunnel", None, f"tunnel {t.name}", 0))
        for r in g.gw.routes:
            entry = self._static(g.gw, r)
            if entry is not None:
                g.table.add(r.network, entry)
        g.table.freeze()

    def _static(self, gw: Gateway, r: Route) -> _RouteEntry | None:
        label = str(r)
        if r.dev is not None and gw.tunnel(r.dev) is not None:
            return _RouteEntry(r.dev, "tunnel", None, label, 1)
        candidates = [i for i in gw.interfaces if r.dev is None or i.name == r.dev]
        if r.via is None:
            if not candidates:
                self.problems.append(f"{gw.id}: {label}: no such interface")
                return None
            return _RouteEntry(candidates[0].name, "iface", None, label, 1)
        if r.via in self.gws:
            for i in candidates:
                peer = self.gws[r.via].gw
                for pi in peer.interfaces:
                    if pi.zone == i.zone:
                        return _RouteEntry(i.name, "iface", (peer.id, pi.name), label, 1)
            self.problems.append(f"{gw.id}: {label}: shares no zone with gateway {r.via!r}")
            return None
        try:
            via = ipaddress.ip_address(r.via)
        except ValueError:
            self.problems.append(f"{gw.id}: {label}: {r.via!r} is neither an address nor a gateway")
            return None
        inside = [i for i in candidates if has(self.owned[i.zone], via.version, int(via))]
        outside = [i for i in candidates if self.zones[i.zone].external]
        for i in inside or outside:
            return _RouteEntry(i.name, "iface", self._gateway_at(i.zone, via), label, 1)
        self.problems.append(f"{gw.id}: {label}: next hop {via} is in no zone of its interfaces")
        return None

    def _gateway_at(self, zone: str, address: Address) -> tuple[str, str] | None:
        for version, value, gw, iface in self.gw_addresses.get(zone, ()):
            if version == address.version and value == int(address):
                return gw, iface
        return None

    def _host_table(self, zone: str, gateway: str | None, routes: Sequence[Route]) -> _Table:
        table = _Table()
        for net in self.zones[zone].networks:
            table.add(net, _RouteEntry("", "iface", None, f"connected {zone}", 2))
        default = gateway or self.zones[zone].gateway
        attached = [g for g, _ in self.attach.get(zone, ()) if self.gws[g].gw.interface_in(zone)]
        if default is None and len(set(attached)) == 1:
            default = attached[0]
        if default is not None and default in self.gws:
            iface = self.gws[default].gw.interface_in(zone)
            if iface is not None:
                for net in _EVERYTHING:
                    table.add(
                        net, _RouteEntry("", "iface", (default, iface), f"default via {default}", 1)
                    )
        for r in routes:
            hop = self._host_next_hop(zone, r)
            if hop is not None:
                table.add(r.network, _RouteEntry("", "iface", hop, str(r), 1))
        table.freeze()
        return table

    def _host_next_hop(self, zone: str, r: Route) -> tuple[str, str] | None:
        if r.via in self.gws:
            iface = self.gws[r.via].gw.interface_in(zone)
            if iface is not None:
                return r.via, iface
        elif r.via is not None:
            try:
                hop = self._gateway_at(zone, ipaddress.ip_address(r.via))
            except ValueError:
                hop = None
            if hop is not None:
                return hop
        self.problems.append(f"zone {zone}: {r}: next hop is no gateway of the zone")
        return None

    # -- public queries

    def deliverable(self, zone: Zone) -> AddrSet:
        """The destinations packets from ``zone`` can be addressed to (see module docstring)."""
        everything = AddrSet.of(_EVERYTHING)
        if zone.kind != "internet" or self.topology.internet_reaches_private:
            return everything
        blocked = AddrSet.of(ipaddress.ip_network(n) for v in (4, 6) for n in _NOT_PUBLIC[v])
        return minus(everything, blocked)

    def from_zone(
        self,
        zone_id: str,
        targets: AddrSet | None = None,
        *,
        src: AddrSet | None = None,
        mode: Literal["any", "configured"] = "any",
        gateway: str | None = None,
        routes: tuple[Route, ...] = (),
        ports: tuple[PortRange, ...] = ALL_PORTS,
        protos: tuple[str, ...] = PROTOCOLS,
    ) -> tuple[Flow, ...]:
        """Every flow from ``zone_id`` (or from ``src`` inside it) to ``targets`` (default: all).

        ``mode="any"``: a sender may hand its packets to any gateway of its zone (an attacker
        or malware can); ``"configured"``: only as the zone's/host's ``gateway`` and ``routes``
        say (what the site's own traffic does).
        """
        key = (zone_id, targets, src, mode, gateway, routes)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = tuple(
                self._from_zone(zone_id, targets, src, mode, gateway, routes, ports, protos)
            )
        return found

    def _from_zone(
        self,
        zone_id: str,
        targets: AddrSet | None,
        src: AddrSet | None,
        mode: str,
        gateway: str | None,
        routes: tuple[Route, ...],
        ports: tuple[PortRange, ...],
        protos: tuple[str, ...],
    ) -> list[Flow]:
        zone = self.zones[zone_id]
        sources = self.owned[zone_id] if src is None else (src & self.owned[zone_id])
        dst = self.deliverable(zone) if targets is None else (targets & self.deliverable(zone))
        table = self._host_table(zone_id, gateway, routes) if mode == "configured" else None
        flows: list[Flow] = []
        for v in sorted(sources.versions & dst.versions):
            for proto in protos:
                trace = _Trace(zone_id, proto, v)
                s = _only(v, sources.get(v))
                d = _only(v, dst.get(v))
                cls = _Cls(s, d, ports, s, d, ports)
                local = d & self.owned[zone_id]
                self._deliver(zone, cls.with_dst(local), trace, (), None, as_source=True)
                remote = minus(d, self.owned[zone_id])
                if remote.is_empty():
                    flows.extend(trace.flows)
                    continue
                if table is None:
                    for gw, iface in self.attach.get(zone_id, ()):
                        self._gateway(self.gws[gw], iface, cls.with_dst(remote), trace, ())
                else:
                    self._route_from_hosts(table, cls.with_dst(remote), trace)
                flows.extend(trace.flows)
        return flows

    def _route_from_hosts(self, table: _Table, cls: _Cls, trace: _Trace) -> None:
        v = trace.version
        groups: dict[tuple[str, str] | None, list[Interval]] = defaultdict(list)
        for lo, hi in _cut(cls.dst.get(v), table.cuts[v]):
            entry = table.lookup(v, lo)
            if entry is not None and entry.next_hop is not None:
                groups[entry.next_hop].append((lo, hi))
        for hop, ivs in groups.items():
            if hop is None:
                continue
            gw, iface = hop
            self._gateway(self.gws[gw], iface, cls.with_dst(_only(v, _merge(ivs))), trace, ())

    # -- walking

    def _deliver(
        self,
        zone: Zone,
        cls: _Cls,
        trace: _Trace,
        hops: tuple[Hop, ...],
        from_gw: str | None,
        *,
        as_source: bool = False,
    ) -> None:
        v = trace.version
        ivs = cls.dst.get(v)
        if not ivs:
            return
        starts = [lo for lo, _ in ivs]
        taken: list[Interval] = []
        for version, value, gw, iface in self.gw_addresses.get(zone.id, ()):
            if version != v or gw == from_gw:
                continue
            i = bisect.bisect_right(starts, value) - 1
            if i < 0 or ivs[i][1] < value:
                continue
            taken.append((value, value))
            self._gateway(
                self.gws[gw], iface, cls.with_dst(_only(v, ((value, value),))), trace, hops
            )
        rest = minus(cls.dst, _only(v, _merge(taken))) if taken else cls.dst
        if as_source and zone.external:
            return
        if not zone.external:
            rest = rest & self.owned[zone.id]
        if rest.is_empty():
            return
        trace.flows.append(self._flow(trace, cls.with_dst(rest), "zone", zone.id, hops))

    def _flow(
        self,
        trace: _Trace,
        cls: _Cls,
        kind: Literal["zone", "gateway"],
        end: str,
        hops: tuple[Hop, ...],
    ) -> Flow:
        return Flow(
            trace.zone,
            trace.proto,
            cls.osrc,
            cls.odst,
            cls.oports,
            kind,
            end,
            cls.dst,
            cls.ports,
            hops,
        )

    def _gateway(self, g: _Gw, iface: str, cls: _Cls, trace: _Trace, hops: tuple[Hop, ...]) -> None:
        if len(hops) >= MAX_HOPS or any(h.gateway == g.id and h.in_iface == iface for h in hops):
            return
        v = trace.version
        selection = g.index.select(iface, v, cls.src, cls.dst, trace.proto, cls.ports)
        outcomes: dict[_Outcome, list[tuple[Interval, Interval, Interval]]] = defaultdict(list)
        for sub, own, routes in self._dst_groups(g, v, cls, selection):
            ev = g.evaluator(sub)
            classes = ev.classes()
            starts = classes.v4 if v == 4 else classes.v6
            s_classes = _by_class(_cut(cls.src.get(v), starts), starts)
            p_classes = _by_class(_cut(cls.ports, classes.ports), classes.ports)
            alike: dict[tuple[tuple[bool, ...], bool], list[_RouteEntry | None]] = defaultdict(list)
            for entry in routes:
                oif = g.out_signature(sub, entry.out if entry is not None else None)
                alike[(oif, entry is None)].append(entry)
            for (oif, no_route), entries in alike.items():
                first = entries[0]
                for s_class, s_list in s_classes.items():
                    for p_class, p_list in p_classes.items():
                        key = (iface, id(sub), oif, own, no_route, trace.proto, s_class, p_class)
                        verdicts = g.decisions.get(key)
                        if verdicts is None:
                            verdicts = g.decisions[key] = tuple(
                                self._decide(
                                    g,
                                    iface,
                                    v,
                                    trace.proto,
                                    s_list[0][0],
                                    routes[first][0][0],
                                    p_list[0][0],
                                    ev,
                                    first,
                                    own,
                                )
                            )
                        for verdict in verdicts:
                            for entry in entries:
                                boxes = outcomes[self._outcome(g, verdict, entry, v)]
                                for d in routes[entry]:
                                    boxes.extend((sa, d, pa) for sa in s_list for pa in p_list)
        for out, boxes in outcomes.items():
            for sub_cls in _merge_boxes(cls, v, boxes, out):
                self._continue(g, iface, out, sub_cls, trace, hops)

    def _dst_groups(
        self, g: _Gw, v: int, cls: _Cls, selection: Selection
    ) -> Iterator[tuple[Selection, bool, dict[_RouteEntry | None, list[Interval]]]]:
        """Split the destinations into groups every selected rule treats alike (the rules
        that may match them, and whether they are the gateway's own), each split by route."""
        top = 1 << WIDTH[v]
        cuts: set[int] = set()
        route_cuts = g.table.cuts[v]
        for lo, hi in cls.dst.get(v):
            cuts.update(
                route_cuts[
                    bisect.bisect_right(route_cuts, lo) : bisect.bisect_right(route_cuts, hi)
                ]
            )
        ids: list[tuple[tuple[str, str, str], int]] = []
        common: list[int] = []
        specific: list[tuple[int, tuple[Interval, ...]]] = []
        for key, positions in selection:
            dim = g.index.chains[key].dim("dst", v)
            for pos in positions:
                rid = len(ids)
                ids.append((key, pos))
                ivs = dim.ivs[pos]
                if ivs is None:
                    common.append(rid)
                    continue
                specific.append((rid, ivs))
                for lo, hi in ivs:
                    cuts.add(lo)
                    if hi + 1 < top:
                        cuts.add(hi + 1)
        for lo, hi in g.own.get(v):
            cuts.add(lo)
            if hi + 1 < top:
                cuts.add(hi + 1)
        atoms = _cut(cls.dst.get(v), sorted(cuts))
        starts = [lo for lo, _ in atoms]
        cover: list[list[int]] = [[] for _ in atoms]
        for rid, ivs in specific:
            for lo, hi in ivs:
                for k in range(bisect.bisect_left(starts, lo), bisect.bisect_right(starts, hi)):
                    cover[k].append(rid)
        base = tuple(common)
        lookup = g.table.lookup
        groups: dict[tuple[tuple[int, ...], bool], dict[_RouteEntry | None, list[Interval]]] = {}
        for atom, rids in zip(atoms, cover, strict=True):
            members = tuple(sorted((*common, *rids))) if rids else base
            by_route = groups.setdefault((members, has(g.own, v, atom[0])), {})
            by_route.setdefault(lookup(v, atom[0]), []).append(atom)
        for (members, own), by_route in groups.items():
            per_chain: dict[tuple[str, str, str], list[int]] = defaultdict(list)
            for rid in members:
                chain, pos = ids[rid]
                per_chain[chain].append(pos)
            sub = tuple((chain, tuple(per_chain.get(chain, ()))) for chain, _ in selection)
            yield g.intern(sub), own, {e: list(_merge(ivs)) for e, ivs in by_route.items()}

    def _decide(
        self,
        g: _Gw,
        iface: str,
        v: int,
        proto: str,
        src: int,
        dst: int,
        port: int,
        ev: Evaluator,
        entry: _RouteEntry | None,
        own: bool,
    ) -> Iterator[_Verdict]:
        """What the gateway does with one representative packet (independent of the route
        except through the out-interface tests of the rules, which the caller keys on)."""
        source = _addr(v, src)
        pkt = Packet(source, _addr(v, dst), proto, port, in_iface=iface)
        hooks = g.index.hooks
        if "prerouting" in hooks and ev.decide(pkt, "prerouting").action == "drop":
            return
        variants: list[tuple[Rule | None, Address, int, Evaluator, _RouteEntry | None, bool]] = []
        translations = ev.dnat(pkt) if "prerouting" in hooks else []
        for t in translations:
            target = t.address or self._iface_address(g, iface, v)
            if target is None or target.version != v:
                continue
            moved_port = t.port if t.port is not None else port
            sel = g.index.select(
                iface,
                v,
                _only(v, ((src, src),)),
                _point(target),
                proto,
                ((moved_port, moved_port),),
            )
            variants.append(
                (
                    t.rule,
                    target,
                    moved_port,
                    g.evaluator(g.intern(sel)),
                    g.table.lookup(v, int(target)),
                    has(g.own, v, int(target)),
                )
            )
        if not translations or any(t.rule.uncertain for t in translations):
            variants.append((None, pkt.dst, port, ev, entry, own))
        for dnat_rule, target, dport, e, route, local in variants:
            moved = dnat_rule is not None
            dnat = _rule_label(dnat_rule) if dnat_rule is not None else ""
            new_dst = int(target) if moved else None
            new_port = dport if moved and dport != port else None
            if local:
                dec = e.decide(Packet(source, target, proto, dport, in_iface=iface), "input")
                if dec.action == "accept":
                    yield _Verdict(
                        "local",
                        None,
                        self._label(g, dec),
                        self._unsure(g, dec, dnat_rule),
                        dnat,
                        new_dst,
                        new_port,
                    )
                continue
            if route is None:
                continue
            p = Packet(source, target, proto, dport, in_iface=iface, out_iface=route.out)
            dec = e.decide(p, "forward")
            if dec.action != "accept":
                continue
            if "postrouting" in hooks and e.decide(p, "postrouting").action != "accept":
                continue
            snat = e.snat(p) if "postrouting" in hooks else []
            yield _Verdict(
                "forward",
                route if moved else None,
                self._label(g, dec),
                self._unsure(g, dec, dnat_rule),
                dnat,
                new_dst,
                new_port,
                _rule_label(snat[0].rule) if snat else "",
                snat[0].address if snat else None,
                bool(snat),
            )

    @staticmethod
    def _label(g: _Gw, dec: Decision) -> str:
        if not g.firewall:
            return g.ruleset.source
        return _rule_label(dec.rule) if dec.rule is not None else dec.detail

    @staticmethod
    def _unsure(g: _Gw, dec: Decision, dnat_rule: Rule | None) -> bool:
        return (
            g.assumed or dec.may_allow_uncertain or (dnat_rule is not None and dnat_rule.uncertain)
        )

    def _outcome(self, g: _Gw, verdict: _Verdict, entry: _RouteEntry | None, v: int) -> _Outcome:
        route = verdict.route or (entry if verdict.kind == "forward" else None)
        new_src: int | None = None
        if verdict.snat_to is not None and verdict.snat_to.version == v:
            new_src = int(verdict.snat_to)
        elif verdict.masquerade and route is not None:
            address = self._out_address(g, route)
            new_src = int(address) if address is not None and address.version == v else None
        return _Outcome(
            verdict.kind,
            route,
            verdict.decision,
            verdict.uncertain,
            verdict.dnat,
            verdict.new_dst,
            verdict.new_port,
            verdict.snat,
            new_src,
        )

    @staticmethod
    def _iface_address(g: _Gw, iface: str, v: int) -> Address | None:
        i = g.gw.interface(iface)
        if i is not None and i.address is not None and i.address.version == v:
            return i.address
        t = g.gw.tunnel(iface)
        return t.address if t is not None else None

    def _out_address(self, g: _Gw, route: _RouteEntry) -> Address | None:
        i = g.gw.interface(route.out)
        if i is not None:
            return i.address
        t = g.gw.tunnel(route.out)
        return t.address if t is not None else None

    def _continue(
        self, g: _Gw, iface: str, out: _Outcome, cls: _Cls, trace: _Trace, hops: tuple[Hop, ...]
    ) -> None:
        route = out.route
        hop = Hop(
            gateway=g.id,
            in_iface=iface,
            out=route.out if route else "",
            decision=out.decision,
            route=route.label if route else "",
            dnat=out.dnat,
            snat=out.snat,
            tunnel=g.tunnel_types.get(route.out, "") if route else "",
            uncertain=out.uncertain,
        )
        path = (*hops, hop)
        if out.kind == "local":
            trace.flows.append(self._flow(trace, cls, "gateway", g.id, path))
            return
        assert route is not None
        if route.kind == "tunnel":
            tunnel = g.gw.tunnel(route.out)
            assert tunnel is not None
            for z in tunnel.zones:
                part = cls.dst & self.owned[z]
                if not part.is_empty():
                    trace.flows.append(self._flow(trace, cls.with_dst(part), "zone", z, path))
            return
        if route.next_hop is not None:
            gw, peer_iface = route.next_hop
            self._gateway(self.gws[gw], peer_iface, cls, trace, path)
            return
        i = g.gw.interface(route.out)
        assert i is not None
        self._deliver(self.zones[i.zone], cls, trace, path, g.id)

    # -- endpoints

    def endpoints(self, flow: Flow) -> Iterator[Endpoint]:
        """What a flow reaches: host and gateway services, or the external zone itself."""
        if flow.end_kind == "gateway":
            g = self.gws[flow.end].gw
            in_iface = flow.hops[-1].in_iface if flow.hops else ""
            services = g.services
            for a in g.addresses:
                if not has(flow.end_dst, a.version, int(a)):
                    continue
                yield from _service_hits(g.id, "gateway", a, services, flow, in_iface)
            return
        zone = self.zones[flow.end]
        if zone.external:
            yield Endpoint(zone.id, "zone", flow.proto, flow.end_ports)
            return
        index = self._host_index.get(zone.id)
        if index is None:
            return
        for host, address in index.within(flow.end_dst):
            yield from _service_hits(host.id, "host", address, host.services, flow, None)

    def reached(self, flows: Iterable[Flow]) -> Iterator[Reached]:
        """Every (flow, endpoint) pair."""
        for f in flows:
            for e in self.endpoints(f):
                yield Reached(f, e)

    # -- helpers for checks

    def dnat_preimages(self, targets: AddrSet) -> AddrSet:
        """``targets`` plus every destination some DNAT rule may translate into them."""
        result = targets
        for _ in range(8):
            grown = result
            for g in self.gws.values():
                for rule in _nat_rules(g.ruleset):
                    address = rule.nat_to[0] if rule.nat_to else None
                    into = _point(address) if address is not None else g.own
                    if rule.action == "unknown" or not (into & result).is_empty():
                        grown = grown | (
                            AddrSet.of(rule.match.dst)
                            if rule.match.dst and not rule.match.dst_negate
                            else AddrSet.of(_EVERYTHING)
                        )
            if grown == result:
                break
            result = grown
        return result

    def site_space(self) -> AddrSet:
        """Every address owned by a zone of the site (not the internet, TI or SIS side)."""
        out = AddrSet()
        for z in self.topology.zones:
            if not z.external:
                out = out | self.owned[z.id]
        return out

    def zone_of(self, address: Address) -> str | None:
        """The zone that owns an address."""
        for zid, owned in self.owned.items():
            if has(owned, address.version, int(address)):
                return zid
        return None


def _nat_rules(ruleset: Ruleset) -> Iterator[Rule]:
    for chain in ruleset.chains:
        for rule in chain.rules:
            if rule.action == "dnat" or (rule.action == "unknown" and chain.kind == "nat"):
                yield rule


def _service_hits(
    node: str,
    kind: Literal["host", "gateway"],
    address: Address,
    services: tuple[Service, ...] | None,
    flow: Flow,
    in_iface: str | None,
) -> Iterator[Endpoint]:
    if services is None:
        yield Endpoint(node, kind, flow.proto, flow.end_ports, address)
        return
    for s in services:
        if s.proto != flow.proto or not port_in(s.port, flow.end_ports):
            continue
        if s.interfaces and in_iface is not None and in_iface not in s.interfaces:
            continue
        yield Endpoint(node, kind, flow.proto, ((s.port, s.port),), address, s)


def _merge_boxes(
    cls: _Cls, v: int, boxes: list[tuple[Interval, Interval, Interval]], out: _Outcome
) -> Iterator[_Cls]:
    by_sp: dict[tuple[Interval, Interval], list[Interval]] = defaultdict(list)
    for s, d, p in boxes:
        by_sp[(s, p)].append(d)
    by_dp: dict[tuple[tuple[Interval, ...], Interval], list[Interval]] = defaultdict(list)
    for (s, p), dsts in by_sp.items():
        by_dp[(_merge(dsts), p)].append(s)
    by_sd: dict[tuple[tuple[Interval, ...], tuple[Interval, ...]], list[Interval]] = defaultdict(
        list
    )
    for (ds, p), srcs in by_dp.items():
        by_sd[(_merge(srcs), ds)].append(p)
    for (ss, ds), ps in by_sd.items():
        part = cls.with_src(_only(v, ss)).with_dst(_only(v, ds)).with_ports(_merge(ps))
        if out.new_dst is not None:
            port = out.new_port
            part = replace(part, dst=_only(v, ((out.new_dst, out.new_dst),)), dst_nat=True)
            if port is not None:
                part = replace(part, ports=((port, port),), port_nat=True)
        if out.new_src is not None:
            part = replace(part, src=_only(v, ((out.new_src, out.new_src),)), src_nat=True)
        yield part


class _AddressIndex:
    """Hosts of one zone by address."""

    def __init__(self, hosts: Sequence[Host]) -> None:
        pairs = sorted(((a.version, int(a)), h, a) for h in hosts for a in h.addresses)
        self.keys = [k for k, _, _ in pairs]
        self.items = [(h, a) for _, h, a in pairs]

    def within(self, addrs: AddrSet) -> Iterator[tuple[Host, Address]]:
        for v in addrs.versions:
            for lo, hi in addrs.get(v):
                i = bisect.bisect_left(self.keys, (v, lo))
                j = bisect.bisect_right(self.keys, (v, hi))
                yield from self.items[i:j]


def _ownership(zones: Sequence[Zone]) -> dict[str, AddrSet]:
    """Which addresses each zone owns: its networks minus more specific networks of others."""
    out: dict[str, AddrSet] = {}
    for z in zones:
        mine = AddrSet.of(z.networks)
        inner = [
            n
            for other in zones
            if other.id != z.id
            for n in other.networks
            for m in z.networks
            if n.version == m.version and n.prefixlen > m.prefixlen and n.subnet_of(m)  # type: ignore[arg-type]
        ]
        out[z.id] = minus(mine, AddrSet.of(inner)) if inner else mine
    return out


def _rule_label(rule: Rule) -> str:
    where = _DIRS.sub("", rule.location)
    text = " ".join(rule.text.split())
    if len(text) > 100:
        text = text[:97] + "..."
    return f"{where} {text}".strip()


_EVERYTHING = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
_DIRS = re.compile(r"^[^#:]*[/\\]")
"""The folders of a rule location's file (``/x/y/router.iptables:17`` -> ``router.iptables:17``)."""
