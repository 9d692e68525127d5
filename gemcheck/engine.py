"""The engine: run every bound rule's check over the evidence it applies to.

Pure: no I/O. Semantics (fail-closed):

- a rule disabled by the site's tailoring gives one ``skip`` result with the justification;
- a rule outside its effective window at ``--as-of`` gives one ``skip`` result;
- a rule with no evidence to judge gives one ``skip`` result saying what was missing;
- evidence that failed to collect gives an ``error`` result for every rule applying to it;
- a check that raises gives an ``error`` result, never a pass;
- a check that yields nothing for a subject passed it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping, Sequence

from gemcheck.evidence import Evidence, EvidenceSet
from gemcheck.model import EMPTY, Finding, Result, Status
from gemcheck.profile import BoundRule
from gemcheck.registry import Context

_GLOB_FACETS = frozenset({"subject", "file"})


def evaluate(rules: Sequence[BoundRule], evidence: EvidenceSet, ctx: Context) -> list[Result]:
    """All results of all rules, sorted by domain, rule, subject and location."""
    results: list[Result] = []
    for rule in sorted(rules, key=lambda r: (r.check.domain, r.id)):
        found = list(_run_rule(rule, evidence, ctx))
        found.sort(key=_order)
        results.extend(found)
    return results


def _order(r: Result) -> tuple[str, str, int, str]:
    """The order of one rule's results: subject, location, message."""
    loc = r.location
    return (r.subject, loc.file or loc.uri or "", loc.index or 0, r.message)


def _run_rule(rule: BoundRule, evidence: EvidenceSet, ctx: Context) -> Iterator[Result]:
    if rule.disabled is not None:
        yield _rule_level(rule, Status.SKIP, f"disabled by site tailoring: {rule.disabled}")
        return
    if not rule.effective_on(ctx.as_of):
        window = f"{rule.effective_from or '...'} to {rule.effective_until or '...'}"
        yield _rule_level(rule, Status.SKIP, f"not in force on {ctx.as_of} (in force {window})")
        return
    items = evidence.of_type(rule.check.applies_to)
    if rule.match:
        items = [e for e in items if matches(e, rule.match)]
    if not items:
        kind = rule.check.applies_to.kind
        yield _rule_level(rule, Status.SKIP, f"no {kind} evidence in this audit to judge")
        return
    func, params = rule.check.func, rule.params
    for item in items:
        if item.error is not None:
            yield _result(rule, item, Finding(Status.ERROR, item.error))
            continue
        try:
            findings = list(func(item, params, ctx))
        except Exception as exc:  # fail closed: a crashed check is an error, never a pass
            findings = [Finding.error(f"check crashed: {type(exc).__name__}: {exc}")]
        if not findings:
            findings = [Finding.ok("conforms")]
        for finding in findings:
            yield _result(rule, item, finding)


def matches(item: Evidence, match: Mapping[str, tuple[str | None, ...]]) -> bool:
    """True when the evidence has every facet the rule's ``match`` asks for."""
    if not match:
        return True
    facets = item.facets()
    for name, wanted in match.items():
        value = facets.get(name)
        if name in _GLOB_FACETS:
            if value is None or not any(
                w is not None and fnmatch.fnmatchcase(value, w) for w in wanted
            ):
                return False
        elif value not in wanted:
            return False
    return True


def _result(rule: BoundRule, item: Evidence, finding: Finding) -> Result:
    return Result(
        rule=rule.id,
        check=rule.check.id,
        domain=rule.check.domain,
        subject=finding.subject or item.subject,
        status=finding.status,
        severity=rule.severity,
        message=finding.message,
        references=rule.references,
        location=finding.location or item.location,
        evidence=finding.evidence,
        obligation=rule.obligation,
        title=rule.title,
        remediation=rule.remediation if finding.status is Status.FAIL else "",
    )


def _rule_level(rule: BoundRule, status: Status, message: str) -> Result:
    return Result(
        rule=rule.id,
        check=rule.check.id,
        domain=rule.check.domain,
        subject="-",
        status=status,
        severity=rule.severity,
        message=message,
        references=rule.references,
        evidence=EMPTY,
        obligation=rule.obligation,
        title=rule.title,
    )


def needed_evidence(rules: Iterable[BoundRule]) -> set[type[Evidence]]:
    """The evidence types the active rules judge or read: what collection must gather."""
    active = [r for r in rules if r.disabled is None]
    return {r.check.applies_to for r in active} | {t for r in active for t in r.check.reads}
