"""Collect the network evidence: the description, every firewall export, the systems, probes.

Inputs (site file ``network`` and ``systems``, or ``--topology``/``--firewall``):

* ``network.topology``: the network description (``network.yaml``);
* ``network.firewalls``: firewall exports, each a path or ``{path, device, format}``; a gateway
  of the description may also name its export (``ruleset:``). Without ``device`` an export
  belongs to the gateway its importer names, else the one whose id is the file name's first
  part (``router.iptables`` -> ``router``). Several exports of one device (``iptables-save``
  and ``ip6tables-save``) are combined;
* ``network.probe_reachability``: probe from this machine (not with ``--offline``);
* ``systems``: the patient-record systems and the hosts they run on.

An export that cannot be read is a problem and its gateway is assumed to allow everything
(fail-closed); a description that cannot be read is an error evidence.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gemcheck.collect import CollectOptions
from gemcheck.errors import InputError
from gemcheck.evidence import Evidence
from gemcheck.evidence.network import NetworkEvidence, SystemRef
from gemcheck.model import Location
from gemcheck.network.rules import Ruleset
from gemcheck.network.topology import Topology, load_topology
from gemcheck.site import Site

PROBE_TIMEOUT = 2.0
"""Upper bound of one probe's timeout (``--timeout`` may lower it)."""


def collect_network(site: Site, options: CollectOptions) -> Iterator[Evidence]:
    """The site's :class:`NetworkEvidence` (and probe evidence when asked for)."""
    net = site.network
    topo_name = net.get("topology")
    if not topo_name:
        if net.get("firewalls"):
            yield NetworkEvidence(
                subject="network",
                error="firewall exports were given but no network description "
                "(network.topology / --topology)",
            )
        return
    path = site.path(str(topo_name))
    where = Location(file=_shown(path, site.root))
    try:
        topo = load_topology(path, site.environment, shown=where.file)
    except InputError as exc:
        yield NetworkEvidence(
            subject=path.name, location=where, error="; ".join(str(p) for p in exc.problems)
        )
        return
    problems: list[str] = []
    rulesets = _rulesets(site, topo, problems)
    systems = _systems(site.systems, topo, problems)
    from gemcheck.network.reach import Reachability

    analysis = Reachability(topo, rulesets)
    problems += [f"{where.file}: {p}" for p in analysis.problems]
    ev = NetworkEvidence(
        subject=path.name,
        location=where,
        topology=topo,
        rulesets=rulesets,
        problems=tuple(problems),
        systems=systems,
        analysis=analysis,
    )
    yield ev
    if net.get("probe_reachability") and not options.offline:
        from gemcheck.network.observe import probe

        yield probe(
            ev,
            timeout=min(PROBE_TIMEOUT, options.timeout),
            limit=int(net.get("probe_limit", 64)),
            concurrency=options.concurrency,
        )


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _rulesets(site: Site, topo: Topology, problems: list[str]) -> dict[str, Ruleset]:
    from gemcheck.network.load import load_firewall

    gateways = {g.id for g in topo.gateways}
    wanted: list[tuple[Path, str | None, str | None]] = [
        (g.ruleset, g.format, g.id) for g in topo.gateways if g.ruleset is not None
    ]
    for entry in site.network.get("firewalls", ()):
        item: Mapping[str, Any] = {"path": entry} if isinstance(entry, str) else entry
        wanted.append((site.path(str(item["path"])), item.get("format"), item.get("device")))
    out: dict[str, Ruleset] = {}
    for path, fmt, device in wanted:
        shown = _shown(path, site.root)
        try:
            rs = load_firewall(path, fmt, device, shown=shown)
        except InputError as exc:
            owner = device or _guess(path, gateways)
            problems.extend(str(p) for p in exc.problems)
            if owner in gateways:
                problems.append(
                    f"{shown}: unreadable, gateway {owner!r} is assumed to let everything through"
                )
                out[owner] = _combine(
                    out.get(owner),
                    Ruleset(owner, f"{shown} (unreadable: assumed to allow all)", ()),
                )
            continue
        owner = device or rs.device or _guess(path, gateways)
        if owner not in gateways:
            problems.append(
                f"{shown}: no gateway {owner!r} in the network description; name it "
                "with DEVICE=FILE (--firewall) or device: (site file)"
            )
            continue
        out[owner] = _combine(out.get(owner), rs)
    for g in topo.gateways:
        if g.type == "firewall" and g.id not in out:
            problems.append(
                f"{topo.file}: firewall {g.id!r} has no ruleset: assumed to let everything through"
            )
            out[g.id] = Ruleset(g.id, "no ruleset given (assumed to allow all)", ())
    return out


def _guess(path: Path, gateways: set[str]) -> str | None:
    stem = path.name.split(".", 1)[0]
    return stem if stem in gateways else None


def _combine(old: Ruleset | None, new: Ruleset) -> Ruleset:
    if old is None:
        return new
    if not old.chains or not new.chains:
        keep = old if old.chains else new
        other = new if keep is old else old
        return Ruleset(keep.device, keep.source, keep.chains, keep.problems + other.problems)
    return Ruleset(
        new.device,
        f"{old.source} + {new.source}",
        old.chains + new.chains,
        old.problems + new.problems,
    )


def _systems(
    raw: tuple[Mapping[str, Any], ...], topo: Topology, problems: list[str]
) -> tuple[SystemRef, ...]:
    hosts = {h.id for h in topo.hosts}
    out = []
    for s in raw:
        host = s.get("host")
        if host is not None and host not in hosts:
            problems.append(f"system {s['id']!r}: host {host!r} is not in the network description")
        out.append(
            SystemRef(
                str(s["id"]),
                str(s.get("kind", "other")),
                str(s.get("name", "")),
                str(host) if host is not None else None,
            )
        )
    named = {s.host for s in out}
    out += [
        SystemRef(
            h.id, h.role if h.role in ("pvs", "kis", "epa-client", "archive") else "other", "", h.id
        )
        for h in topo.hosts
        if h.patient_data and h.id not in named
    ]
    return tuple(sorted(out, key=lambda s: s.id))
