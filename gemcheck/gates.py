"""Between evaluation and the gate: apply waivers, then compare with the baseline.

The audit calls :func:`prepare` with the evaluated results. It returns the
results the report shows (waived ones marked, waiver problems added, failed
and waived ones marked new, unchanged or updated against the baseline), the
weights to score them with (the waiver pseudo-rules weigh nothing), the score
without waivers, the view of the results the gate judges (failures known to the
baseline marked accepted) and notices saying what happened. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gemcheck.baseline import Baseline, compare
from gemcheck.model import Result, Score, Status
from gemcheck.scoring import score
from gemcheck.waivers import WAIVER_RULES, WaiverSet
from gemcheck.waivers import apply as apply_waivers

_EVALUATED = frozenset({Status.PASS, Status.FAIL, Status.ERROR, Status.WAIVED})


@dataclass(frozen=True, slots=True)
class Prepared:
    """What scoring and the gate work from."""

    results: tuple[Result, ...]
    weights: Mapping[str, float]
    gate_view: tuple[Result, ...]
    score_without_waivers: Score | None = None
    notices: tuple[str, ...] = ()


def prepare(
    results: Sequence[Result],
    weights: Mapping[str, float],
    *,
    as_of: dt.date,
    waivers: WaiverSet | None = None,
    baseline: Baseline | None = None,
) -> Prepared:
    """Apply ``waivers`` at ``as_of``, then ``baseline``; see :mod:`gemcheck.waivers` and
    :mod:`gemcheck.baseline` for the rules."""
    out = tuple(results)
    weights = dict(weights)
    notices: list[str] = []
    without: Score | None = None
    if waivers is not None:
        applied = apply_waivers(out, waivers, as_of)
        out = applied.results
        weights.update(dict.fromkeys(WAIVER_RULES, 0.0))
        without = score(out, weights, count_waived_as_pass=False)
        notices.append(
            f"waivers {waivers.file}: {len(waivers.waivers)} waiver(s), {applied.waived} "
            f"result(s) waived, {applied.expired} expired, {applied.unused} unused"
        )
    view = out
    if baseline is not None:
        comparison = compare(out, baseline)
        out = comparison.results
        view = comparison.gate_view
        notices.append(comparison.notice(baseline))
    if not any(r.status in _EVALUATED and r.rule not in WAIVER_RULES for r in view):
        # waiver problems alone are no evaluation: keep "nothing was evaluated" failing the gate
        view = tuple(r for r in view if r.rule not in WAIVER_RULES)
    return Prepared(out, weights, view, without, tuple(notices))
