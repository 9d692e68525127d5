"""Draw a site's network: zones, gateways, patient-data hosts and the exposure paths.

``gemcheck graph SITE --format mermaid|dot`` writes a Mermaid flowchart or a Graphviz digraph:
every site zone is a box (cluster) with its kind and networks, external zones (internet, TI,
SIS) are clouds, gateways are hexagons linked to the zones they have interfaces in (Konnektor
tunnels dashed), patient-data hosts are drawn inside their zones (other hosts are counted),
and every failing network result draws its witness path in red, labelled with the rule id.
:func:`render` is what the HTML report embeds.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from gemcheck.model import Report, Result, Status
from gemcheck.network.topology import Topology

_ID = re.compile(r"[^A-Za-z0-9_]")


def _nid(prefix: str, name: str) -> str:
    return f"{prefix}_{_ID.sub('_', name)}"


def exposure_paths(topo: Topology, results: Iterable[Result]) -> list[tuple[str, list[str]]]:
    """``(rule, [node ids])`` of every failing network result with a witness path."""
    gateways = {g.id for g in topo.gateways}
    hosts = {h.id: h for h in topo.hosts}
    zones = {z.id for z in topo.zones}
    out: list[tuple[str, list[str]]] = []
    for r in results:
        if r.domain != "network" or r.status not in (Status.FAIL, Status.WAIVED):
            continue
        path = [str(p) for p in r.evidence.get("path") or ()]
        if len(path) < 2:
            continue
        nodes: list[str] = []
        first = path[0]
        if first in zones:
            nodes.append(_nid("z", first))
        elif first in hosts:
            nodes.append(_nid("h", first))
        nodes += [_nid("g", p) for p in path[1:-1] if p in gateways]
        end = path[-1].split(":", 1)[0]
        if end in hosts:
            nodes.append(_nid("h", end))
        elif end in gateways:
            nodes.append(_nid("g", end))
        elif end in zones:
            nodes.append(_nid("z", end))
        deduped = [n for i, n in enumerate(nodes) if i == 0 or n != nodes[i - 1]]
        if len(deduped) >= 2:
            out.append((r.rule, deduped))
    return out


def _drawn_hosts(topo: Topology, paths: Sequence[tuple[str, list[str]]]) -> set[str]:
    on_paths = {n for _, nodes in paths for n in nodes}
    return {h.id for h in topo.hosts if h.patient_data or _nid("h", h.id) in on_paths}


def render(topo: Topology, results: Iterable[Result], fmt: str = "mermaid") -> str:
    """The picture of ``topo`` with the exposures of ``results`` (``mermaid`` or ``dot``)."""
    paths = exposure_paths(topo, results)
    return _mermaid(topo, paths) if fmt == "mermaid" else _dot(topo, paths)


def _zone_label(topo: Topology, zone_id: str, drawn: set[str]) -> str:
    z = topo.zone(zone_id)
    nets = ", ".join(str(n) for n in z.networks[:3]) + (" ..." if len(z.networks) > 3 else "")
    others = sum(1 for h in topo.hosts if h.zone == zone_id and h.id not in drawn)
    more = f" +{others} hosts" if others else ""
    return f"{z.id} ({z.kind}) {nets}{more}"


def _host_label(topo: Topology, host_id: str) -> str:
    h = topo.host(host_id)
    assert h is not None
    addrs = ", ".join(map(str, h.addresses))
    mark = " [patient data]" if h.patient_data else ""
    return f"{h.id} ({h.role}) {addrs}{mark}"


def _mq(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _mermaid(topo: Topology, paths: Sequence[tuple[str, list[str]]]) -> str:
    drawn = _drawn_hosts(topo, paths)
    lines = ["flowchart LR"]
    for z in topo.zones:
        zid = _nid("z", z.id)
        if z.external:
            lines.append(f"  {zid}(({_mq(_zone_label(topo, z.id, drawn))}))")
            continue
        lines.append(f"  subgraph {zid}[{_mq(_zone_label(topo, z.id, drawn))}]")
        for h in topo.hosts:
            if h.zone == z.id and h.id in drawn:
                shape = (
                    f"[({_mq(_host_label(topo, h.id))})]"
                    if h.patient_data
                    else (f"[{_mq(_host_label(topo, h.id))}]")
                )
                lines.append(f"    {_nid('h', h.id)}{shape}")
        lines.append("  end")
    links: list[str] = []
    for g in topo.gateways:
        gid = _nid("g", g.id)
        mode = f" {g.mode}" if g.mode else ""
        lines.append(f"  {gid}{{{{{_mq(f'{g.id} ({g.type}{mode})')}}}}}")
        for i in g.interfaces:
            links.append(f"  {_nid('z', i.zone)} ---|{_mq(i.name)}| {gid}")
        for t in g.tunnels:
            for zone_id in t.zones:
                links.append(f"  {gid} -.-|{_mq(t.name)}| {_nid('z', zone_id)}")
    lines += links
    red: list[int] = []
    for rule, nodes in paths:
        for a, b in itertools.pairwise(nodes):
            red.append(len(links))
            links.append("")
            lines.append(f"  {a} ==>|{_mq(rule)}| {b}")
    lines.append("  classDef patient fill:#fde2e2,stroke:#b00020,stroke-width:2px")
    patient = [_nid("h", h.id) for h in topo.hosts if h.patient_data and h.id in drawn]
    if patient:
        lines.append(f"  class {','.join(patient)} patient")
    if red:
        lines.append(f"  linkStyle {','.join(map(str, red))} stroke:#d00000,stroke-width:3px")
    return "\n".join(lines) + "\n"


def _dq(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot(topo: Topology, paths: Sequence[tuple[str, list[str]]]) -> str:
    drawn = _drawn_hosts(topo, paths)
    lines = ["digraph network {", "  rankdir=LR;", "  node [fontname=Helvetica];"]
    for z in topo.zones:
        zid = _nid("z", z.id)
        label = _dq(_zone_label(topo, z.id, drawn))
        if z.external:
            lines.append(f"  {zid} [shape=ellipse, style=dashed, label={label}];")
            continue
        lines.append(f"  subgraph cluster_{zid} {{")
        lines.append(f"    label={label};")
        lines.append(f"    {zid} [shape=point, style=invis];")
        for h in topo.hosts:
            if h.zone == z.id and h.id in drawn:
                style = ", shape=cylinder, color=red, penwidth=2" if h.patient_data else ""
                lines.append(
                    f"    {_nid('h', h.id)} [label={_dq(_host_label(topo, h.id))}{style}];"
                )
        lines.append("  }")
    for g in topo.gateways:
        gid = _nid("g", g.id)
        mode = f" {g.mode}" if g.mode else ""
        lines.append(f"  {gid} [shape=hexagon, label={_dq(f'{g.id} ({g.type}{mode})')}];")
        for i in g.interfaces:
            lines.append(f"  {_nid('z', i.zone)} -> {gid} [dir=none, label={_dq(i.name)}];")
        for t in g.tunnels:
            for zone_id in t.zones:
                lines.append(
                    f"  {gid} -> {_nid('z', zone_id)} [style=dashed, dir=none, "
                    f"label={_dq(t.name)}];"
                )
    for rule, nodes in paths:
        for a, b in itertools.pairwise(nodes):
            lines.append(f"  {a} -> {b} [color=red, penwidth=2.5, label={_dq(rule)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graph_site(path: Path, fmt: str) -> str:
    """Audit the network of the site file at ``path`` (offline) and draw it."""
    from gemcheck.audit import AuditOptions, plan, report_from_evidence
    from gemcheck.collect import CollectOptions, collect
    from gemcheck.errors import InputError
    from gemcheck.evidence.network import NetworkEvidence
    from gemcheck.site import build_site, load_site

    site = build_site(load_site(path), path.resolve().parent, str(path))
    options = AuditOptions(collect=CollectOptions(offline=True))
    p = plan(site, options)
    p = dataclasses.replace(p, rules=tuple(r for r in p.rules if r.domain == "network"))
    evidence = collect(site, (NetworkEvidence,), options.collect)
    nets = [e for e in evidence.of_type(NetworkEvidence) if e.topology is not None]
    if not nets:
        errors = [e.error for e in evidence.of_type(NetworkEvidence) if e.error]
        why = errors[0] if errors else "the site names no network description (network.topology)"
        raise InputError.single(str(path), "$.network", why)
    report: Report = report_from_evidence(p, evidence)
    topo = nets[0].topology
    assert topo is not None
    return render(topo, report.results, fmt)
