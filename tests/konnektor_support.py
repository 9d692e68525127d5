"""Helpers for the Konnektor tests: run the ti-konnektor rules on evidence or on a site."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gemcheck.audit import AuditOptions, Plan, plan, report_from_evidence, run
from gemcheck.collect import CollectOptions
from gemcheck.evidence import Evidence, EvidenceSet
from gemcheck.model import Location, Report, Result
from gemcheck.site import build_site
from tests.conftest import AS_OF

Statuses = dict[str, list[str]]


@functools.cache
def _plan(environment: str, as_of: dt.date) -> Plan:
    site = build_site({"site": "test", "environment": environment}, Path.cwd(), "<test>")
    return plan(site, AuditOptions(profiles=("ti-konnektor",), as_of=as_of))


def evaluate(
    evidence: Iterable[Evidence], *, as_of: dt.date = AS_OF, environment: str = "PU"
) -> list[Result]:
    """Every ti-konnektor result for the given evidence."""
    p = _plan(environment, as_of)
    return list(report_from_evidence(p, EvidenceSet(evidence)).results)


def statuses(results: Iterable[Result]) -> Statuses:
    """Rule id -> the statuses of its results."""
    out: Statuses = defaultdict(list)
    for r in results:
        out[r.rule].append(r.status.value)
    return dict(out)


def rule(results: Iterable[Result], rule_id: str) -> list[Result]:
    return [r for r in results if r.rule == rule_id]


def audit_site(
    data: Mapping[str, Any], root: Path, *, as_of: dt.date = AS_OF, timeout: float = 3.0
) -> Report:
    """A full ti-konnektor audit of site data (live collection included)."""
    site = build_site(dict(data), root, "<test site>")
    options = AuditOptions(
        profiles=("ti-konnektor",), as_of=as_of, collect=CollectOptions(timeout=timeout)
    )
    return run(plan(site, options))


def loc(name: str) -> Location:
    return Location(file=name)
