"""One audit, end to end: plan (load and bind, no I/O), collect, evaluate, score, report."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from gemcheck._version import __version__
from gemcheck.baseline import Baseline
from gemcheck.collect import CollectOptions, collect
from gemcheck.engine import evaluate, needed_evidence
from gemcheck.evidence import EvidenceSet
from gemcheck.gates import prepare
from gemcheck.model import Report, Severity
from gemcheck.network.dataroom import assess as assess_data_room
from gemcheck.profile import BoundRule, ResolvedProfile, load
from gemcheck.registry import Context, Registry, load_registry
from gemcheck.scoring import gate, score, summarize
from gemcheck.site import Site
from gemcheck.waivers import WaiverSet


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """Everything an audit needs besides the site."""

    profiles: tuple[str, ...] = ()
    as_of: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    fail_on: Severity = Severity.HIGH
    min_score: float = 0.0
    collect: CollectOptions = field(default_factory=CollectOptions)
    waivers: WaiverSet | None = None
    baseline: Baseline | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """An audit ready to run: the profiles and bound rules (every input error already raised)."""

    site: Site
    options: AuditOptions
    registry: Registry
    resolved: ResolvedProfile
    rules: tuple[BoundRule, ...]


def plan(site: Site, options: AuditOptions, registry: Registry | None = None) -> Plan:
    """Load, validate and bind the profiles for a site.

    Raises InputError with every problem found; reads files but does no other I/O.
    """
    registry = registry or load_registry()
    names = options.profiles or site.profiles
    resolved, rules = load(
        list(names),
        registry,
        base_dir=site.root if not options.profiles else None,
        tailoring=site.tailoring,
        tailoring_file=site.file,
    )
    return Plan(site, options, registry, resolved, tuple(rules))


def run(p: Plan) -> Report:
    """Collect the evidence the plan's rules need, evaluate and build the report."""
    with _batch_gc():
        evidence = collect(p.site, needed_evidence(p.rules), p.options.collect)
        return report_from_evidence(p, evidence)


@contextlib.contextmanager
def _batch_gc() -> Iterator[None]:
    """Fewer cyclic-GC passes while an audit runs.

    An audit allocates hundreds of thousands of small objects that live until the
    report is written (evidence, findings, results) and frees few, so the collector's
    default young-generation threshold (700) rescans them again and again: about 20 %
    of a 10,000-certificate audit. The threshold is restored afterwards.
    """
    old = gc.get_threshold()
    gc.set_threshold(50_000, old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def report_from_evidence(p: Plan, evidence: EvidenceSet) -> Report:
    """Evaluate stored evidence: a report can be reproduced without any network."""
    ctx = Context(as_of=p.options.as_of, evidence=evidence, environment=p.site.environment)
    evaluated = evaluate(p.rules, evidence, ctx)
    prepared = prepare(
        evaluated,
        {r.id: r.weight for r in p.rules},
        as_of=p.options.as_of,
        waivers=p.options.waivers,
        baseline=p.options.baseline,
    )
    results = prepared.results
    overall = score(results, prepared.weights)
    data_room = assess_data_room(evidence, results)
    verdict, the_gate = gate(
        prepared.gate_view,
        overall,
        data_room,
        fail_on=p.options.fail_on,
        min_score=p.options.min_score,
    )
    return Report(
        tool_version=__version__,
        generated_at=generated_at(),
        as_of=p.options.as_of.isoformat(),
        site=p.site.name,
        profiles=tuple(f.ref for f in p.resolved.files),
        verdict=verdict,
        score=overall,
        data_room=data_room,
        summary=summarize(results),
        results=tuple(results),
        gate=the_gate,
        score_without_waivers=prepared.score_without_waivers,
        notices=(*p.registry.plugin_errors, *prepared.notices),
    )


def generated_at() -> str:
    """Now in UTC, or ``SOURCE_DATE_EPOCH`` when set (for byte-identical reports)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (
        dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        if epoch and epoch.isdigit()
        else dt.datetime.now(dt.UTC)
    )
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def audit(site: Site, options: AuditOptions = AuditOptions()) -> Report:
    """Plan and run an audit in one call (the library API)."""
    return run(plan(site, options))
