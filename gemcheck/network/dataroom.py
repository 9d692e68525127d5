"""The data-room score: is each patient-record system's data contained, at risk or breached?

Formula (per system, from the audit's ``network`` results):

1. An *exposure* of a system is a failed (or waived) network result whose evidence lists the
   system's host in ``exposed``: a path from an untrusted zone to it, a direct internet
   egress, TI traffic around the Konnektor, an overlap of its network with the TI, a
   management interface on it reachable from outside the admin zones, new connections from
   the TI. Its weight and whether it *breaches* are the rule's profile parameters
   (``weight``/``weights``, ``breach``/``breach_kinds``), recorded in the result.
2. A rule that could not be checked (``error``) is an exposure of every system with weight
   :data:`ERROR_WEIGHT`; so is a system whose host the description does not have
   (:data:`UNKNOWN_HOST_WEIGHT`): what could not be assessed is never contained.
3. ``score = max(0, 100 - sum of the weights)``, each rule counted once per system with its
   heaviest exposure; any breaching exposure makes the score 0.
4. ``verdict``: ``breached`` if any exposure breaches, else ``at-risk`` if there is any
   exposure, else ``contained``. The site's verdict is the worst system's and its score the
   lowest system score (:func:`site_score`); without a network description (no network
   evidence) it is ``not-assessed``.

A single inbound path from the internet (or the SIS side) breaches: whoever can open a
connection to the host holding the records can attack it from anywhere, and no other passing
rule makes up for that. The gate fails on a breached data room whatever the score.
"""

from __future__ import annotations

from collections.abc import Sequence

from gemcheck.evidence import EvidenceSet
from gemcheck.evidence.network import NetworkEvidence, SystemRef
from gemcheck.model import DataRoom, Exposure, Result, Status, SystemRoom

ERROR_WEIGHT = 50.0
UNKNOWN_HOST_WEIGHT = 50.0
_COUNTED = frozenset({Status.FAIL, Status.WAIVED})
_RANK = {"contained": 0, "at-risk": 1, "breached": 2}
_OPTIONAL = frozenset({"network.observed_reachability"})
"""Checks whose errors say nothing about isolation (a probe that could not run)."""


def assess(evidence: EvidenceSet, results: Sequence[Result]) -> DataRoom:
    """The data room of an audit (``not-assessed`` without network evidence)."""
    nets = evidence.of_type(NetworkEvidence)
    if not nets:
        return DataRoom()
    network = [r for r in results if r.domain == "network"]
    systems: dict[str, SystemRef] = {}
    hosts: set[str] = set()
    broken: list[str] = []
    for ev in nets:
        if ev.error is not None:
            broken.append(ev.error)
        for s in ev.systems:
            systems.setdefault(s.id, s)
        if ev.topology is not None:
            hosts |= {h.id for h in ev.topology.hosts}
    by_host: dict[str, list[Result]] = {}
    errors = [r for r in network if r.status is Status.ERROR]
    for r in network:
        if r.status in _COUNTED:
            for host in r.evidence.get("exposed") or ():
                by_host.setdefault(str(host), []).append(r)
    rooms = tuple(
        _room(s, [*errors, *by_host.get(s.host or "", ())], hosts, broken)
        for s in sorted(systems.values(), key=lambda s: s.id)
    )
    if not rooms:
        return DataRoom("at-risk" if broken else "not-assessed", ())
    worst = max((r.verdict for r in rooms), key=_RANK.__getitem__)
    return DataRoom(worst, rooms)


def site_score(room: DataRoom) -> float | None:
    """The site's data-room score: its weakest system's (``None`` when nothing was assessed).

    The report model has no field for it yet; the verdict already is the worst system's.
    """
    return min((s.score for s in room.systems), default=None)


def _room(
    system: SystemRef, results: Sequence[Result], hosts: set[str], broken: Sequence[str]
) -> SystemRoom:
    found: list[tuple[float, bool, Exposure]] = []
    for error in broken:
        found.append((100.0, False, Exposure(("network",), "-", f"not analysed: {error}")))
    if system.host is None or system.host not in hosts:
        found.append(
            (
                UNKNOWN_HOST_WEIGHT,
                False,
                Exposure(
                    (system.id,), "-", f"host {system.host!r} is not in the network description"
                ),
            )
        )
    host = system.host
    errored: set[str] = set()
    for r in results:
        if r.status is Status.ERROR and not broken and r.check not in _OPTIONAL:
            if r.rule in errored:
                continue
            errored.add(r.rule)
            found.append(
                (
                    ERROR_WEIGHT,
                    False,
                    Exposure((r.subject,), r.rule, f"could not be checked: {r.message}"),
                )
            )
            continue
        if r.status not in _COUNTED or host is None:
            continue
        exposed = r.evidence.get("exposed") or []
        if host not in exposed:
            continue
        weight = float(r.evidence.get("data_room_weight", ERROR_WEIGHT))
        breach = bool(r.evidence.get("data_room_breach", False))
        path = tuple(str(p) for p in r.evidence.get("path") or (r.subject,))
        message = r.message + (" (waived)" if r.status is Status.WAIVED else "")
        found.append((weight, breach, Exposure(path, r.rule, message)))
    heaviest: dict[str, float] = {}
    for weight, _, exp in found:
        key = exp.rule if exp.rule != "-" else exp.message
        heaviest[key] = max(weight, heaviest.get(key, 0.0))
    breached = any(b for _, b, _ in found)
    score = 0.0 if breached else max(0.0, 100.0 - sum(heaviest.values()))
    verdict = "breached" if breached else ("at-risk" if found else "contained")
    found.sort(key=lambda t: (-t[0], t[2].rule, t[2].path))
    return SystemRoom(system.id, round(score, 1), verdict, tuple(e for _, _, e in found))
