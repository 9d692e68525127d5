"""The terminal report: grouped by domain and rule, problems first, readable in 80 columns.

Passing subjects of a rule are counted, not listed; failures, errors and
waivers are listed one by one with their location. With ``--baseline``, a
failure that gates because it is new or worse than in the baseline says so.
Colour only when asked (the CLI asks on a terminal unless ``NO_COLOR`` is set).
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from gemcheck.model import BaselineState, Report, Result, Status

WIDTH = 80

_COLOURS = {
    Status.PASS: "32",
    Status.FAIL: "31",
    Status.ERROR: "35",
    Status.SKIP: "90",
    Status.WAIVED: "36",
    "pass": "1;32",
    "fail": "1;31",
}
_LABEL = {
    Status.PASS: "PASS",
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR",
    Status.SKIP: "SKIP",
    Status.WAIVED: "WAIVED",
}
_RANK = {Status.ERROR: 0, Status.FAIL: 1, Status.WAIVED: 2, Status.PASS: 3, Status.SKIP: 4}
_MARK: Mapping[BaselineState | None, str] = {
    BaselineState.NEW: " (new)",
    BaselineState.UPDATED: " (worse)",
}
"""After the label of a failure that gates despite the baseline: new, or worse than there."""


def render(report: Report, *, color: bool = False) -> str:
    """The whole text report."""

    def paint(text: str, key: Status | str) -> str:
        return f"\033[{_COLOURS[key]}m{text}\033[0m" if color else text

    out: list[str] = []
    profiles = ", ".join(f"{p.id} {p.version}" for p in report.profiles)
    out.append(f"gemcheck {report.tool_version}: {report.site}")
    out.extend(_wrap(f"as of {report.as_of}; profiles: {profiles}", ""))
    for notice in report.notices:
        out.extend(_wrap(f"notice: {notice}", "  "))
    by_domain: dict[str, list[Result]] = defaultdict(list)
    for r in report.results:
        by_domain[r.domain].append(r)
    for domain in sorted(by_domain):
        score = report.score.by_domain.get(domain)
        head = f"{domain.upper()}" + (f"  score {score:g}/100" if score is not None else "")
        out += ["", head, "-" * len(head)]
        out.extend(_domain_lines(by_domain[domain], paint))
    out.append("")
    out.extend(_data_room_lines(report))
    s = report.summary
    out.append(
        f"Summary: {s['pass']} pass, {s['fail']} fail, {s['error']} error, "
        f"{s['skip']} skip, {s['waived']} waived"
    )
    verdict = paint(report.verdict.upper(), report.verdict)
    line = f"Verdict: {verdict}  score {report.score.overall:g}/100"
    if report.score_without_waivers is not None:
        line += f" ({report.score_without_waivers.overall:g} without waivers)"
    out.append(
        line + f"  (fail-on {report.gate.fail_on.value}, min-score {report.gate.min_score:g})"
    )
    for reason in report.gate.reasons:
        out.extend(_wrap(f"- {reason}", "  "))
    return "\n".join(out) + "\n"


def _domain_lines(
    results: list[Result], paint: Callable[[str, Status | str], str]
) -> Iterable[str]:
    by_rule: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_rule[r.rule].append(r)
    ordered = sorted(by_rule.items(), key=lambda kv: (min(_RANK[r.status] for r in kv[1]), kv[0]))
    not_run: dict[str, list[str]] = defaultdict(list)
    for rule, rs in ordered:
        if all(r.status is Status.SKIP and r.subject == "-" for r in rs):
            not_run[rs[0].message].append(rule)
            continue
        worst = min(rs, key=lambda r: _RANK[r.status]).status
        first = rs[0]
        title = first.title or first.check
        head = _wrap(f"{_LABEL[worst]:<6} {rule} [{first.severity.value}] {title}", " " * 7)
        head[0] = paint(head[0][:6], worst) + head[0][6:]
        yield from head
        passed = [r for r in rs if r.status is Status.PASS]
        for r in rs:
            if r.status in (Status.FAIL, Status.ERROR, Status.WAIVED) or (
                r.status is Status.SKIP and r.subject == "-"
            ):
                where = (
                    f" ({r.location})" if str(r.location) and str(r.location) != r.subject else ""
                )
                subject = "" if r.subject == "-" else f"{r.subject}{where}: "
                mark = _MARK.get(r.baseline_state, "") if r.status is Status.FAIL else ""
                label = _LABEL[r.status].lower() + mark
                yield from _wrap(f"{label}: {subject}{r.message}", " " * 7, first=" " * 7)
        if passed and worst is not Status.PASS:
            yield f"{' ' * 7}{len(passed)} other subject(s) pass"
        elif passed:
            yield f"{' ' * 7}{len(passed)} subject(s) pass"
    for message, rules in not_run.items():
        label = paint(f"{_LABEL[Status.SKIP]:<6}", Status.SKIP)
        lines = _wrap(f"{'x' * 6} {len(rules)} rule(s): {message}: {', '.join(rules)}", " " * 7)
        yield label + lines[0][6:]
        yield from lines[1:]


def _data_room_lines(report: Report) -> list[str]:
    room = report.data_room
    if room.verdict == "not-assessed":
        return ["Data room: not assessed (no network description)"]
    out = [f"Data room: {room.verdict.upper()}"]
    for system in room.systems:
        out.append(f"  {system.id}: {system.verdict} (score {system.score:g})")
        for exp in system.exposures:
            out.extend(
                _wrap(
                    f"- {' -> '.join(exp.path)} [{exp.rule}] {exp.message}", "      ", first="    "
                )
            )
    return out


def _wrap(text: str, indent: str, *, first: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=True,
    ) or [first]
