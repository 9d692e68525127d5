"""Isolation of patient data: what the site's routes, NAT and firewalls let through.

Every check asks the reachability analysis of the network evidence one question and reports,
for each violation, the shortest witness path ``zone -> gateway -> rule -> ... -> host:port``.
A failing finding carries ``exposed`` (the patient-data hosts it concerns) and its data-room
weight from the rule's parameters; :mod:`gemcheck.network.dataroom` sums those per system.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from gemcheck.evidence.network import NetworkEvidence, ObservedReachabilityEvidence
from gemcheck.model import Finding, JSONValue, Location, Status
from gemcheck.network import queries
from gemcheck.network.reach import Reachability, Reached, has, ports_text, shortest
from gemcheck.network.topology import TI_KINDS, Topology
from gemcheck.registry import Context, check


def _weight(default: float) -> float:
    return field(default=default, metadata={"doc": "data-room weight of one such exposure (0-100)"})


def _breach(default: bool) -> bool:
    return field(
        default=default,
        metadata={"doc": "one such exposure means the data room is breached (score 0)"},
    )


def _ready(ev: NetworkEvidence) -> tuple[Topology, Reachability]:
    assert ev.topology is not None and ev.analysis is not None
    return ev.topology, ev.analysis


def _sources(reached: Sequence[Reached]) -> list[str]:
    return sorted({r.flow.source_zone for r in reached})


def _exposure(
    message: str,
    subject: str,
    where: Location,
    witness: Reached,
    all_reached: Sequence[Reached],
    exposed: Sequence[str],
    weight: float,
    breach: bool,
    *,
    source: str | None = None,
    routes: bool = False,
    **extra: JSONValue,
) -> Finding:
    evidence: dict[str, JSONValue] = {
        "path": list(witness.witness(source, routes=routes)),
        "sources": _sources(all_reached),
        "endpoints": sorted({r.endpoint.label for r in all_reached})[:50],
        "uncertain": witness.flow.uncertain,
        "exposed": list(exposed),
        "data_room_weight": weight,
        "data_room_breach": breach,
        **extra,
    }
    if witness.flow.uncertain:
        message += " (an uncertain rule may allow it: fail-closed)"
    return Finding(Status.FAIL, message, MappingProxyType(evidence), subject, where)


def _ok(message: str, subject: str, where: Location, **evidence: JSONValue) -> Finding:
    return Finding(Status.PASS, message, MappingProxyType(evidence), subject, where)


def _fail(message: str, subject: str, where: Location, **evidence: JSONValue) -> Finding:
    return Finding(Status.FAIL, message, MappingProxyType(evidence), subject, where)


def _skip(message: str, where: Location) -> Finding:
    return Finding(Status.SKIP, message, location=where)


# -- untrusted zones -> patient data ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundParams:
    source_kinds: tuple[str, ...] = field(
        default=("internet", "guest", "sis"),
        metadata={"doc": "zone kinds from which no path may lead to a patient-data host"},
    )
    weights: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"internet": 100.0, "sis": 100.0, "guest": 60.0}),
        metadata={"doc": "data-room weight per source zone kind (default 50)"},
    )
    breach_kinds: tuple[str, ...] = field(
        default=("internet", "sis"),
        metadata={"doc": "source kinds whose single inbound path breaches the data room"},
    )


@check("network.untrusted_inbound", applies_to=NetworkEvidence, params=InboundParams)
def untrusted_inbound(
    ev: NetworkEvidence, params: InboundParams, ctx: Context
) -> Iterator[Finding]:
    """No path leads from the internet, the guest network or the SIS side to patient data.

    For every patient-data host (marked ``patient_data`` or named by a system) the analysis
    looks for any new connection from a zone of the given kinds that reaches one of its
    services: through routes, port forwards (DNAT) and every firewall on the way. One such
    path from the internet or the SIS side means the data room is breached.
    """
    topo, an = _ready(ev)
    where = Location(file=topo.file)
    patient = ev.patient_hosts
    if not patient:
        yield _skip("no patient-data host in the network description", where)
        return
    found = queries.inbound(an, patient, params.source_kinds)
    for host in sorted(patient):
        reached = found.get(host, [])
        best = shortest(reached)
        if best is None:
            kinds = ", ".join(params.source_kinds)
            yield _ok(f"no path from a zone of kind {kinds}", host, where)
            continue
        kinds_seen = sorted({an.zones[r.flow.source_zone].kind for r in reached})
        weight = max(params.weights.get(k, 50.0) for k in kinds_seen)
        breach = any(k in params.breach_kinds for k in kinds_seen)
        yield _exposure(
            f"reachable from {', '.join(_sources(reached))} ({best.endpoint.label})",
            host,
            where,
            best,
            reached,
            [host],
            weight,
            breach,
        )


# -- patient data -> internet ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EgressParams:
    weight: float = _weight(40.0)
    breach: bool = _breach(False)


@check("network.patient_data_egress", applies_to=NetworkEvidence, params=EgressParams)
def patient_data_egress(
    ev: NetworkEvidence, params: EgressParams, ctx: Context
) -> Iterator[Finding]:
    """A patient-data host reaches the internet only through VPN_SIS or a declared proxy.

    gemSpec_Kon TIP1-A_4735: internet traffic of the LAN goes only into VPN_SIS. A path from a
    patient-data host to an internet address that does not go through the Konnektor's SIS
    tunnel is a direct egress: data can leave the data room unprotected. A host with role
    ``proxy`` ends the path (what it forwards is its own, declared traffic).
    """
    topo, an = _ready(ev)
    where = Location(file=topo.file)
    patient = ev.patient_hosts
    if not patient:
        yield _skip("no patient-data host in the network description", where)
        return
    found = queries.egress(an, patient)
    for host in sorted(patient):
        reached = found.get(host, [])
        best = shortest(reached)
        if best is None:
            yield _ok("internet only through VPN_SIS or a proxy (or not at all)", host, where)
            continue
        dest = f"{ports_text(best.flow.ports)}/{best.flow.proto}"
        yield _exposure(
            f"direct internet egress ({dest}) around VPN_SIS",
            host,
            where,
            best,
            reached,
            [host],
            params.weight,
            params.breach,
            source=host,
        )


# -- TI only through VPN_TI ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TiRoutingParams:
    zone_kinds: tuple[str, ...] = field(
        default=("lan", "admin", "dmz"),
        metadata={"doc": "kinds of the zones whose traffic to the TI is followed"},
    )
    weight: float = _weight(40.0)
    breach: bool = _breach(False)


@check("network.ti_routing", applies_to=NetworkEvidence, params=TiRoutingParams)
def ti_routing(ev: NetworkEvidence, params: TiRoutingParams, ctx: Context) -> Iterator[Finding]:
    """Traffic to the TI leaves only through the Konnektor's VPN_TI, never by a route around it.

    gemSpec_Kon TIP1-A_4730/TIP1-A_5530/TIP1-A_4731/TIP1-A_4733: traffic to the TI segments
    goes only into VPN_TI. For every zone (and every host with its own gateway or routes) the
    analysis follows the *configured* routes to each TI zone; a path that ends anywhere but in
    a TI zone behind a VPN_TI tunnel (for example a router route to 100.64.0.0/10 towards the
    internet line in a parallel deployment) is reported with the route that causes it.
    """
    topo, an = _ready(ev)
    where = Location(file=topo.file)
    patient = ev.patient_hosts
    for label, (group, bad) in sorted(queries.ti_bypass(an, params.zone_kinds).items()):
        best = shortest(bad)
        if best is None:
            yield _ok("TI zones only through VPN_TI (or not at all)", label, where)
            continue
        exposed = sorted(
            h.id
            for h in group.hosts
            if h.id in patient
            and any(has(r.flow.src, a.version, int(a)) for r in bad for a in h.addresses)
        )
        dst = ", ".join(str(n) for n in best.flow.dst.networks()[:2])
        yield _exposure(
            f"TI traffic ({dst}) leaves around the Konnektor into {best.endpoint.node}",
            label,
            where,
            best,
            bad,
            exposed,
            params.weight,
            params.breach,
            routes=True,
        )


# -- TI ranges do not overlap the site's -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverlapParams:
    other_environments: bool = field(
        default=False,
        metadata={"doc": "judge the ranges of the *other* TI environments instead of the site's"},
    )
    weight: float = _weight(20.0)
    breach: bool = _breach(False)


@check("network.ti_overlap", applies_to=NetworkEvidence, params=OverlapParams)
def ti_overlap(ev: NetworkEvidence, params: OverlapParams, ctx: Context) -> Iterator[Finding]:
    """The site's networks and internet-facing addresses do not overlap the TI address ranges.

    gemSpec_Net GS-A_4029-06 (PU: 100.64.0.0/10) and GS-A_4850-04 (TU: 172.16.0.0/12): a LAN,
    DMZ or WAN address inside the TI ranges (for example a carrier-grade NAT address
    100.64.x.x of the internet line) breaks the Konnektor's routing. With
    ``other_environments`` the check judges the ranges of the other environments (informative
    for a PU site using 172.16.0.0/12).
    """
    topo, _an = _ready(ev)
    where = Location(file=topo.file)
    envs = {"PU", "TU"} - {topo.environment} if params.other_environments else {topo.environment}
    if topo.environment == "RU" and params.other_environments:
        envs = {"PU"}
    hits: dict[str, list[queries.Overlap]] = {}
    for o in queries.overlaps(topo, sorted(envs)):
        hits.setdefault(o.subject, []).append(o)
    patient = ev.patient_hosts
    subjects = [z.id for z in topo.zones if not z.external] + [
        f"{g.id}/{i.name}"
        for g in topo.gateways
        for i in g.interfaces
        if i.address is not None and topo.zone(i.zone).kind == "internet"
    ]
    for subject in subjects:
        found = hits.get(subject)
        if not found:
            yield _ok(f"outside the TI ranges of {', '.join(sorted(envs))}", subject, where)
            continue
        text = "; ".join(f"{o.network} overlaps {o.environment} TI range {o.ti}" for o in found)
        exposed = sorted(h.id for h in topo.hosts if h.zone == subject and h.id in patient)
        yield _fail(
            text,
            subject,
            where,
            overlaps=[[str(o.network), str(o.ti), o.environment] for o in found],
            exposed=exposed,
            path=[subject, str(found[0].network), f"TI {found[0].environment} {found[0].ti}"],
            data_room_weight=params.weight,
            data_room_breach=params.breach,
        )


# -- management only from admin zones --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManagementParams:
    admin_kinds: tuple[str, ...] = field(
        default=("admin",),
        metadata={"doc": "zone kinds allowed to reach management interfaces"},
    )
    segment_roles: tuple[str, ...] = field(
        default=("card-terminal",),
        metadata={
            "doc": "host roles whose own zone may reach them when it holds nothing else "
            "(a card-terminal VLAN)"
        },
    )
    weight: float = _weight(30.0)
    breach: bool = _breach(False)


@check("network.management_access", applies_to=NetworkEvidence, params=ManagementParams)
def management_access(
    ev: NetworkEvidence, params: ManagementParams, ctx: Context
) -> Iterator[Finding]:
    """Management interfaces (Konnektor admin, card terminals, ...) only from admin zones.

    gemSpec_Kon TIP1-A_4806 allows Konnektor management only from the LAN side; card terminals
    belong to the LAN only (TIP1-A_4724). gemcheck requires more: every service marked
    ``management: true`` (and the web UI of a card terminal without declared services, assumed
    on 443/tcp) is reachable only from zones of the admin kinds. Hosts on the same segment
    reach each other without a firewall, so a management UI in the workstation LAN fails; a
    segment that holds only hosts of the ``segment_roles`` (a card-terminal VLAN) may reach
    its own members.
    """
    topo, an = _ready(ev)
    where = Location(file=topo.file)
    patient = ev.patient_hosts
    found = queries.management(an, params.admin_kinds, params.segment_roles)
    if not found:
        yield _skip(
            "no management interface in the network description (mark services with "
            "management: true)",
            where,
        )
        return
    for key, (svc, reached) in sorted(found.items()):
        best = shortest(reached)
        if best is None:
            yield _ok(f"reachable only from {', '.join(params.admin_kinds)} zones", key, where)
            continue
        exposed = [svc.node] if svc.node in patient else []
        yield _exposure(
            f"management interface reachable from {', '.join(_sources(reached))}",
            key,
            where,
            best,
            reached,
            exposed,
            params.weight,
            params.breach,
        )


# -- no unsolicited inbound from the TI ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TiInboundParams:
    source_kinds: tuple[str, ...] = field(
        default=TI_KINDS,
        metadata={"doc": "zone kinds no new connection may come from"},
    )
    weight: float = _weight(50.0)
    breach: bool = _breach(False)


@check("network.ti_inbound", applies_to=NetworkEvidence, params=TiInboundParams)
def ti_inbound(ev: NetworkEvidence, params: TiInboundParams, ctx: Context) -> Iterator[Finding]:
    """No unsolicited connection comes from the TI into the site's networks.

    The Konnektor translates LAN traffic to its VPN_TI inner address (NAPT, gemSpec_Kon
    TIP1-A_5407), so nothing in the TI can open a connection to a LAN host; packets from TI
    segments that do not belong to a connection are dropped (TIP1-A_4730ff.). A path from a TI
    zone to a host of the site (a port forward on the Konnektor, a router with a route into the
    TI) is reported per zone with the hosts it reaches.
    """
    topo, an = _ready(ev)
    where = Location(file=topo.file)
    found = queries.ti_inbound(an, params.source_kinds)
    patient = ev.patient_hosts
    for zone in topo.zones:
        if zone.external:
            continue
        reached = found.get(zone.id, [])
        best = shortest(reached)
        if best is None:
            yield _ok("no new connection from the TI reaches it", zone.id, where)
            continue
        yield _exposure(
            f"new connections from {', '.join(_sources(reached))} reach {best.endpoint.label}",
            zone.id,
            where,
            best,
            reached,
            queries.exposed(reached, patient),
            params.weight,
            params.breach,
        )


# -- importer problems -----------------------------------------------------------------------------


@check("network.firewall_import", applies_to=NetworkEvidence)
def firewall_import(ev: NetworkEvidence, params: object, ctx: Context) -> Iterator[Finding]:
    """Every firewall export was read completely; uncertain rules and gaps are listed.

    A rule the importer did not fully understand (a match it cannot express, an unknown
    target), an unreadable export or a firewall without one is treated fail-closed by the
    analysis ("may allow"), so a verdict built on it is weaker than it looks. Each such
    problem is listed with its file and line so that the export or the description can be
    completed.
    """
    topo, _an = _ready(ev)
    where = Location(file=topo.file)
    general = [p for p in ev.problems if not any(f"'{g.id}'" in p for g in topo.gateways)]
    for g in topo.gateways:
        rs = ev.rulesets.get(g.id)
        mine = [p for p in ev.problems if f"'{g.id}'" in p] + list(rs.problems if rs else ())
        if mine:
            yield _fail(f"{len(mine)} problem(s): {mine[0]}", g.id, where, problems=mine)
        elif rs is None:
            note = (
                "modelled per gemSpec_Kon §4.2"
                if g.type == "konnektor"
                else "no export: modelled as forwarding everything"
            )
            yield _ok(note, g.id, where)
        else:
            rules = sum(len(c.rules) for c in rs.chains)
            yield _ok(f"{rs.source}: {rules} rules understood", g.id, where)
    if general:
        yield _fail(
            f"{len(general)} problem(s) in the description: {general[0]}",
            "description",
            where,
            problems=general,
        )


# -- observed vs declared --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObservedParams:
    disagreement: Literal["blocked-but-open", "allowed-but-closed"] = field(
        default="blocked-but-open",
        metadata={
            "doc": "which disagreement fails: blocked-but-open (declared blocked, a "
            "connection succeeded) or allowed-but-closed (declared reachable, no "
            "connection)"
        },
    )


@check(
    "network.observed_reachability", applies_to=ObservedReachabilityEvidence, params=ObservedParams
)
def observed_reachability(
    ev: ObservedReachabilityEvidence, params: ObservedParams, ctx: Context
) -> Iterator[Finding]:
    """What a TCP connection attempt from this machine saw agrees with the description.

    ``--probe-reachability`` tries services the analysis says this machine must not reach
    (and some it may reach). A connection that succeeds where the description says
    ``blocked`` means the real network is more open than its description: the isolation
    verdict above is then too optimistic. A refused connection counts as not open (a host or
    a REJECT rule answered).
    """
    where = Location(file=ev.location.file)
    blocked_open = params.disagreement == "blocked-but-open"
    judged = 0
    for p in ev.probes:
        subject = f"{p.target} {p.address}:{p.port}/tcp"
        facts: dict[str, JSONValue] = {
            "declared": p.declared,
            "observed": p.observed,
            "detail": p.detail,
            "source": ev.source,
        }
        if blocked_open and p.declared == "blocked":
            judged += 1
            if p.observed == "open":
                yield _fail(
                    f"declared blocked from {ev.source}, but the connection succeeded",
                    subject,
                    where,
                    path=[ev.zone or ev.source, subject],
                    **facts,
                )
            else:
                yield _ok(f"blocked as declared ({p.observed})", subject, where, **facts)
        elif not blocked_open and p.declared == "allowed":
            judged += 1
            if p.observed != "open":
                yield _fail(
                    f"declared reachable from {ev.source}, observed {p.observed}",
                    subject,
                    where,
                    path=list(p.path),
                    **facts,
                )
            else:
                yield _ok("reachable as declared", subject, where, **facts)
    if not judged:
        yield _skip(
            f"no probe of this kind ({params.disagreement}); {ev.skipped} not probed (probe limit)",
            where,
        )
