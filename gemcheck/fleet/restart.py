"""The restart plan: which services may come back now, wave by wave, and what holds the rest.

A service restarts in the wave of its priority (1 first) once

- every site it runs on passes the service's gate in the fleet report: audited with
  the required profile, no ``error`` result, no ``fail`` at ``fail_on`` or worse, the
  score at least ``min_score``, the data room as required (default ``contained``);
- every service it depends on is ready (dependencies may be in the same or an
  earlier wave, never a later one); and
- every central TI service it needs is reported available by the TI status
  (TI-Lagebild rows of the plan's environment; a service the status does not
  report counts as down: fail-closed).

Status, first that applies: ``blocked`` (its own gate fails), ``waiting-ti``,
``waiting-dependency``, ``ready``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gemcheck import schemas
from gemcheck.errors import InputError, Problem
from gemcheck.fleet.report import FleetReport, SiteOutcome
from gemcheck.model import JSONValue, Severity


@dataclass(frozen=True, slots=True)
class Gate:
    profile: str | None = None
    fail_on: Severity = Severity.HIGH
    min_score: float = 0.0
    data_room: str = "contained"


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    priority: int
    depends_on: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    site_tags: tuple[str, ...] = ()
    ti_services: tuple[Mapping[str, str], ...] = ()
    gate: Gate = field(default_factory=Gate)


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    environment: str
    services: tuple[Service, ...]


@dataclass(frozen=True, slots=True)
class ServiceState:
    """What the plan says of one service."""

    service: Service
    status: str
    sites: tuple[str, ...]
    blocking: tuple[Mapping[str, JSONValue], ...] = ()
    waiting_for: tuple[str, ...] = ()
    ti_down: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "id": self.service.id,
            "name": self.service.name,
            "wave": self.service.priority,
            "status": self.status,
            "sites": list(self.sites),
            "blocking": [dict(b) for b in self.blocking],
            "waiting_for": list(self.waiting_for),
            "ti_down": list(self.ti_down),
        }


def load_plan(data: Any, file: str) -> Plan:
    """Validate a plan: schema, unknown services, later-wave dependencies and cycles."""
    schemas.validate(data, "restart-plan-1", file)
    services = tuple(_service(s) for s in data["services"])
    problems: list[Problem] = []
    by_id: dict[str, Service] = {}
    for i, s in enumerate(services):
        if s.id in by_id:
            problems.append(
                Problem(file, f"$.services[{i}].id", f"service {s.id!r} is defined twice")
            )
        by_id[s.id] = s
    for i, s in enumerate(services):
        for j, dep in enumerate(s.depends_on):
            where = f"$.services[{i}].depends_on[{j}]"
            if dep not in by_id:
                problems.append(Problem(file, where, f"unknown service {dep!r}"))
            elif by_id[dep].priority > s.priority:
                problems.append(
                    Problem(
                        file,
                        where,
                        f"{s.id} (wave {s.priority}) depends on {dep}"
                        f" of the later wave {by_id[dep].priority}",
                    )
                )
    if not problems:
        cycle = _find_cycle(by_id)
        if cycle:
            problems.append(Problem(file, "$.services", "dependency cycle: " + " -> ".join(cycle)))
    if problems:
        raise InputError(problems)
    return Plan(data["plan"], data.get("environment", "PU"), services)


def _service(d: Mapping[str, Any]) -> Service:
    g = d.get("gate", {})
    return Service(
        id=d["id"],
        name=d.get("name", d["id"]),
        priority=d["priority"],
        depends_on=tuple(d.get("depends_on", ())),
        sites=tuple(d.get("sites", ())),
        site_tags=tuple(d.get("site_tags", ())),
        ti_services=tuple(d.get("ti_services", ())),
        gate=Gate(
            profile=g.get("profile"),
            fail_on=Severity(g.get("fail_on", "high")),
            min_score=float(g.get("min_score", 0)),
            data_room=g.get("data_room", "contained"),
        ),
    )


def _find_cycle(by_id: Mapping[str, Service]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(sid: str) -> list[str] | None:
        state[sid] = 1
        stack.append(sid)
        for dep in by_id[sid].depends_on:
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if state.get(dep) is None:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[sid] = 2
        return None

    for sid in sorted(by_id):
        if state.get(sid) is None:
            found = visit(sid)
            if found:
                return found
    return None


def evaluate_plan(
    plan: Plan, fleet: FleetReport, ti_status: Sequence[Mapping[str, Any]] | None, file: str
) -> list[ServiceState]:
    """Every service's state, in wave order (then plan order)."""
    sites = {s.id: s for s in fleet.sites}
    problems = [
        Problem(file, f"$.services[{i}].sites", f"site {sid!r} is not in the fleet report")
        for i, svc in enumerate(plan.services)
        for sid in svc.sites
        if sid not in sites
    ]
    if problems:
        raise InputError(problems)
    states: dict[str, ServiceState] = {}
    order = sorted(plan.services, key=lambda s: s.priority)
    for svc in _dependency_order(order):
        states[svc.id] = _state(svc, sites, fleet, ti_status, plan.environment, states)
    index = {s.id: i for i, s in enumerate(plan.services)}
    return sorted(states.values(), key=lambda st: (st.service.priority, index[st.service.id]))


def _dependency_order(services: Sequence[Service]) -> list[Service]:
    by_id = {s.id: s for s in services}
    done: list[Service] = []
    seen: set[str] = set()

    def add(s: Service) -> None:
        if s.id in seen:
            return
        seen.add(s.id)
        for dep in s.depends_on:
            add(by_id[dep])
        done.append(s)

    for s in services:
        add(s)
    return done


def _state(
    svc: Service,
    sites: Mapping[str, SiteOutcome],
    fleet: FleetReport,
    ti_status: Sequence[Mapping[str, Any]] | None,
    environment: str,
    states: Mapping[str, ServiceState],
) -> ServiceState:
    chosen = list(svc.sites) + [
        s.id for s in fleet.sites if set(svc.site_tags) & set(s.tags) and s.id not in svc.sites
    ]
    blocking = [b for sid in chosen for b in _gate_problems(svc.gate, sid, sites[sid])]
    if not chosen and (svc.sites or svc.site_tags):
        blocking.append({"site": "-", "reason": "no site of the fleet report matches"})
    ti_down = _ti_down(svc.ti_services, ti_status, environment)
    waiting = tuple(d for d in svc.depends_on if states[d].status != "ready")
    status = (
        "blocked"
        if blocking
        else "waiting-ti"
        if ti_down
        else "waiting-dependency"
        if waiting
        else "ready"
    )
    return ServiceState(svc, status, tuple(chosen), tuple(blocking), waiting, tuple(ti_down))


def _gate_problems(gate: Gate, sid: str, site: SiteOutcome) -> list[dict[str, JSONValue]]:
    if site.verdict == "error":
        return [{"site": sid, "reason": f"the site could not be audited: {site.error}"}]
    out: list[dict[str, JSONValue]] = []
    if gate.profile and gate.profile not in site.profiles:
        out.append({"site": sid, "reason": f"not audited with profile {gate.profile}"})
    for f in site.findings:
        bad_fail = f["status"] == "fail" and Severity(str(f["severity"])).at_least(gate.fail_on)
        if f["status"] == "error" or bad_fail:
            out.append(
                {
                    "site": sid,
                    "rule": f["rule"],
                    "subject": f["subject"],
                    "status": f["status"],
                    "severity": f["severity"],
                    "message": f["message"],
                }
            )
    if site.score is not None and site.score < gate.min_score:
        out.append({"site": sid, "reason": f"score {site.score:g} below {gate.min_score:g}"})
    room = site.data_room or "not-assessed"
    if (gate.data_room == "contained" and room != "contained") or (
        gate.data_room == "not-breached" and room in ("breached", "not-assessed")
    ):
        out.append({"site": sid, "reason": f"data room {room}, {gate.data_room} required"})
    return out


def _ti_down(
    needs: Sequence[Mapping[str, str]], status: Sequence[Mapping[str, Any]] | None, env: str
) -> list[str]:
    if not needs or status is None:
        return []
    down: list[str] = []
    rows = [r for r in status if str(r.get("bu", env)) == env]
    for need in needs:
        label = ", ".join(f"{k}={v}" for k, v in sorted(need.items()))
        matching = [r for r in rows if all(str(r.get(k)) == v for k, v in need.items())]
        if not matching:
            down.append(f"{label}: not reported by the TI status (counted as down)")
        for r in matching:
            if str(r.get("availability")) != "1":
                comment = f": {r['comment']}" if r.get("comment") else ""
                down.append(f"{r.get('name') or r.get('product')} ({r.get('ci')}) is down{comment}")
    return down


def render_text(plan: Plan, states: Sequence[ServiceState]) -> str:
    """The waves for a terminal."""
    lines = [f"Restart plan: {plan.name}"]
    wave = None
    for st in states:
        if st.service.priority != wave:
            wave = st.service.priority
            ready = all(s.status == "ready" for s in states if s.service.priority == wave)
            lines += ["", f"Wave {wave}" + ("  (may restart now)" if ready else "")]
        lines.append(f"  {st.status.upper():<19} {st.service.id:<14} {st.service.name}"[:100])
        for b in st.blocking:
            if "rule" in b:
                lines.append(
                    f"      {b['site']}: {b['rule']} [{b['severity']}] {b['status']} on "
                    f"{b['subject']}: {b['message']}"[:160]
                )
            else:
                lines.append(f"      {b['site']}: {b['reason']}")
        lines += [f"      TI: {d}" for d in st.ti_down]
        if st.waiting_for:
            lines.append(f"      waits for: {', '.join(st.waiting_for)}")
    return "\n".join(lines) + "\n"


def plan_as_dict(plan: Plan, states: Sequence[ServiceState]) -> dict[str, JSONValue]:
    """The plan's outcome as JSON."""
    waves = sorted({st.service.priority for st in states})
    return {
        "plan": plan.name,
        "ready": all(st.status == "ready" for st in states),
        "waves": [
            {
                "wave": w,
                "ready": all(st.status == "ready" for st in states if st.service.priority == w),
                "services": [st.as_dict() for st in states if st.service.priority == w],
            }
            for w in waves
        ],
    }
