"""Scores and the gate verdict.

Score (0-100, one decimal), per domain and overall:

1. Each rule gets a rule score: the share of its evaluated results that passed.
   Evaluated means ``pass``, ``fail`` or ``error`` (an error counts as not
   passed: fail-closed); ``waived`` counts as passed in the score and as failed
   in the score without waivers; ``skip`` is not evaluated.
2. Each rule weighs ``weight x severity weight`` (critical 10, high 5,
   medium 3, low 1, info 0).
3. A domain's score is the weighted mean of its rules' scores; the overall
   score is the weighted mean over all rules. Rules with nothing evaluated
   do not count. An audit that evaluated nothing scores 0 and fails.

Gate: the verdict is ``fail`` when any ``fail`` result is at ``--fail-on`` or
worse, when any ``error`` result exists (could not check is never passed),
when the overall score is below ``--min-score``, when nothing was evaluated,
or when the data room is breached.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

from gemcheck.model import DataRoom, Gate, Result, Score, Severity, Status

SEVERITY_WEIGHT: Mapping[Severity, float] = {
    Severity.CRITICAL: 10.0,
    Severity.HIGH: 5.0,
    Severity.MEDIUM: 3.0,
    Severity.LOW: 1.0,
    Severity.INFO: 0.0,
}

_EVALUATED = frozenset({Status.PASS, Status.FAIL, Status.ERROR, Status.WAIVED})


def score(
    results: Iterable[Result], weights: Mapping[str, float], *, count_waived_as_pass: bool = True
) -> Score:
    """The overall and per-domain scores of a set of results (``weights``: rule id -> weight)."""
    passed: Counter[str] = Counter()
    evaluated: Counter[str] = Counter()
    meta: dict[str, tuple[str, Severity]] = {}
    for r in results:
        if r.status not in _EVALUATED:
            continue
        evaluated[r.rule] += 1
        meta[r.rule] = (r.domain, r.severity)
        if r.status is Status.PASS or (r.status is Status.WAIVED and count_waived_as_pass):
            passed[r.rule] += 1
    num: dict[str, float] = defaultdict(float)
    den: dict[str, float] = defaultdict(float)
    for rule, n in evaluated.items():
        domain, severity = meta[rule]
        w = weights.get(rule, 1.0) * SEVERITY_WEIGHT[severity]
        if w <= 0:
            continue
        num[domain] += w * passed[rule] / n
        den[domain] += w
    by_domain = {d: _pct(num[d], den[d]) for d in sorted(den)}
    return Score(overall=_pct(sum(num.values()), sum(den.values())), by_domain=by_domain)


def _pct(numerator: float, denominator: float) -> float:
    return round(100.0 * numerator / denominator, 1) if denominator > 0 else 0.0


def summarize(results: Iterable[Result]) -> dict[str, int]:
    """How many results of each status (every status present, zero included)."""
    counts = Counter(r.status for r in results)
    return {s.value: counts.get(s, 0) for s in Status}


def gate(
    results: Sequence[Result],
    overall: Score,
    data_room: DataRoom,
    *,
    fail_on: Severity,
    min_score: float,
) -> tuple[str, Gate]:
    """The verdict (``pass``/``fail``) and every reason the gate failed."""
    reasons: list[str] = []
    failing = [r for r in results if r.status is Status.FAIL and r.severity.at_least(fail_on)]
    if failing:
        first = failing[0]
        reasons.append(
            f"{len(failing)} failed result(s) at severity {fail_on.value} or worse "
            f"(first: {first.rule} on {first.subject})"
        )
    errors = [r for r in results if r.status is Status.ERROR]
    if errors:
        reasons.append(
            f"{len(errors)} result(s) could not be checked (error; first: "
            f"{errors[0].rule} on {errors[0].subject})"
        )
    if not any(r.status in _EVALUATED for r in results):
        reasons.append("nothing was evaluated: no rule had evidence to judge")
    elif overall.overall < min_score:
        reasons.append(f"score {overall.overall} is below the minimum {min_score:g}")
    if data_room.verdict == "breached":
        reasons.append("the data room is breached: patient data is reachable from outside")
    return ("fail" if reasons else "pass"), Gate(fail_on, min_score, tuple(reasons))
