"""Baselines: gate only on results that are new or got worse since an earlier JSON report.

``gemcheck audit --baseline last-good.json`` reads an earlier report (plain or
signed JSON, from this or an older gemcheck version) and matches the current
results against it by **rule + subject + location** (file and index inside it,
or URI; not the line, which moves when a file is edited). A new violation in
another file therefore never hides behind an old one of the same rule.

A current ``fail`` result is *known*, and does not gate, when the baseline has
a ``fail`` result with the same key at the same or a higher severity (a
baseline without severities counts as the same); several results with one key
are paired one to one, exact messages first. Everything else gates as usual:
a new key, a result that passed, was skipped or was waived in the baseline, a
raised severity. ``error`` results always gate, as with waivers: "could not
check" is never accepted, not even because it happened before. So do the
waiver pseudo-rules (``GC-WAIVER-*``). The score, ``--min-score``, "nothing
evaluated" and a breached data room are judged on the whole audit, not against
the baseline. Known results still appear in every report: the baseline changes
the gate, never the findings.

The comparison also marks every current ``fail`` result with its
:class:`~gemcheck.model.BaselineState`, from the same pairing: ``unchanged``
(known), ``updated`` (its key failed in the baseline too, but it is worse) or
``new``; the JSON, SARIF and text reports show it. A ``waived`` result is
marked too (SARIF wants a state on every result once one has it):
``unchanged`` when the baseline failed or waived the same key, else ``new``;
waived results never change the gate or the counts. Other results carry none.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gemcheck.errors import InputError, Problem
from gemcheck.model import BaselineState, Result, Severity, Status
from gemcheck.profile import read_bytes
from gemcheck.waivers import WAIVER_RULES

Key = tuple[str, str, str | None, int | None, str | None]
"""rule, subject, file, index, uri."""

_MAX_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class Entry:
    """A failed result of the baseline (severity rank -1 when the baseline has none)."""

    rank: int
    message: str


@dataclass(frozen=True, slots=True)
class Baseline:
    """The failing results of an earlier report, by key."""

    file: str
    tool_version: str
    generated_at: str
    entries: Mapping[Key, tuple[Entry, ...]]
    waived: frozenset[Key] = frozenset()
    """Keys of the baseline's waived results: only to tell a still-waived result unchanged."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """The results with their baseline states, the results the gate judges (known ones
    marked accepted) and the counts behind it."""

    results: tuple[Result, ...]
    gate_view: tuple[Result, ...]
    new: int
    worse: int
    known: int
    fixed: int

    def notice(self, baseline: Baseline) -> str:
        """One line for the report: what the baseline comparison found."""
        origin = f"gemcheck {baseline.tool_version}" if baseline.tool_version else "unknown version"
        when = f", {baseline.generated_at}" if baseline.generated_at else ""
        return (
            f"baseline {baseline.file} ({origin}{when}): {self.new} new and {self.worse} worse "
            f"failed result(s) gate; {self.known} known failed result(s) do not; "
            f"{self.fixed} fixed since the baseline; errors always gate"
        )


def key_of(result: Result) -> Key:
    """The matching key of a result: rule, subject and location (file+index or URI)."""
    loc = result.location
    return (result.rule, result.subject, loc.file, loc.index, loc.uri)


def load(path: Path) -> Baseline:
    """Read a baseline report; a file that is not one is an :class:`InputError` naming it."""
    return parse(read_bytes(path), str(path))


def parse(raw: bytes, file: str) -> Baseline:
    """Parse the bytes of a JSON report (or a signed report) named ``file``."""
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError.single(file, "$", "not a JSON report: the file is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError.single(
            file, "$", f"not a JSON report: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if isinstance(doc, dict) and isinstance(doc.get("report"), dict) and "signature" in doc:
        doc = doc["report"]  # a signed report: the baseline is its content
    if not isinstance(doc, dict):
        raise InputError.single(file, "$", "not a gemcheck JSON report (expected an object)")
    version = doc.get("schema_version", 1)
    if version != 1:
        raise InputError.single(
            file, "$.schema_version", f"report format {version!r} is not supported (expected 1)"
        )
    results = doc.get("results")
    if not isinstance(results, list):
        raise InputError.single(file, "$.results", "not a gemcheck JSON report (no results list)")
    problems: list[Problem] = []
    entries: dict[Key, list[Entry]] = defaultdict(list)
    waived: set[Key] = set()
    for i, item in enumerate(results):
        parsed = _entry(item, file, f"$.results[{i}]", problems)
        if parsed is not None:
            key, entry = parsed
            if entry is None:
                waived.add(key)
            else:
                entries[key].append(entry)
        if len(problems) >= _MAX_PROBLEMS:
            break
    if problems:
        raise InputError(problems)
    tool = doc.get("tool")
    tool_version = tool.get("version") if isinstance(tool, dict) else None
    generated = doc.get("generated_at")
    return Baseline(
        file=file,
        tool_version=tool_version if isinstance(tool_version, str) else "",
        generated_at=generated if isinstance(generated, str) else "",
        entries={k: tuple(v) for k, v in entries.items()},
        waived=frozenset(waived),
    )


def _entry(
    item: Any, file: str, where: str, problems: list[Problem]
) -> tuple[Key, Entry | None] | None:
    """A failed result's key and entry, a waived result's key (no entry), or None."""
    if not isinstance(item, dict):
        problems.append(Problem(file, where, "expected a result object"))
        return None
    rule, status = item.get("rule"), item.get("status")
    if not isinstance(rule, str):
        problems.append(Problem(file, f"{where}.rule", "expected the rule id (a string)"))
    if status not in {s.value for s in Status}:
        problems.append(Problem(file, f"{where}.status", f"not a result status: {status!r}"))
    subject = item.get("subject", "-")
    location = item.get("location", {})
    if not isinstance(subject, str):
        problems.append(Problem(file, f"{where}.subject", "expected a string"))
    if not isinstance(location, dict):
        problems.append(Problem(file, f"{where}.location", "expected an object"))
        location = {}
    loc_file, index, uri = location.get("file"), location.get("index"), location.get("uri")
    if not all(isinstance(v, str | None) for v in (loc_file, uri)) or not (
        index is None or (isinstance(index, int) and not isinstance(index, bool))
    ):
        problems.append(
            Problem(file, f"{where}.location", "file/uri must be strings, index an int")
        )
    if not isinstance(rule, str) or not isinstance(status, str) or not isinstance(subject, str):
        return None
    key = (rule, subject, loc_file, index, uri)
    if status == Status.WAIVED.value:
        return key, None
    if status != Status.FAIL.value:
        return None  # only what failed in the baseline can be known
    severity = item.get("severity")
    rank = Severity(severity).rank if severity in {s.value for s in Severity} else -1
    message = item.get("message")
    return key, Entry(rank, message if isinstance(message, str) else "")


def compare(results: Sequence[Result], baseline: Baseline) -> Comparison:
    """Mark each failed result new, unchanged (known) or updated (worse); known ones are
    accepted in the gate view."""
    states, fixed = _states(results, baseline)
    marked = tuple(
        dataclasses.replace(r, baseline_state=states[i]) if i in states else r
        for i, r in enumerate(results)
    )
    view = tuple(
        dataclasses.replace(r, status=Status.WAIVED)
        if r.baseline_state is BaselineState.UNCHANGED
        else r
        for r in marked
    )
    counts = Counter(s for i, s in states.items() if results[i].status is Status.FAIL)
    return Comparison(
        marked,
        view,
        new=counts[BaselineState.NEW],
        worse=counts[BaselineState.UPDATED],
        known=counts[BaselineState.UNCHANGED],
        fixed=fixed,
    )


def _states(results: Sequence[Result], baseline: Baseline) -> tuple[dict[int, BaselineState], int]:
    """The state of every failed or waived result (by index), and how many baseline failures
    are gone (neither failing nor waived now)."""
    current: dict[Key, list[int]] = defaultdict(list)
    waived: set[Key] = set()
    states: dict[int, BaselineState] = {}
    for i, r in enumerate(results):
        if r.status is Status.WAIVED:
            key = key_of(r)
            waived.add(key)
            seen = key in baseline.entries or key in baseline.waived
            states[i] = BaselineState.UNCHANGED if seen else BaselineState.NEW
            continue
        if r.status is not Status.FAIL:
            continue
        if r.rule in WAIVER_RULES:
            states[i] = BaselineState.NEW  # the baseline never hides waiver problems
        else:
            current[key_of(r)].append(i)
    fixed = 0
    for key, indices in current.items():
        pool = list(baseline.entries.get(key, ()))
        matched = _pair(results, indices, pool)
        # the baseline failed here too, at a lower severity or fewer times: worse, not new
        unmatched = BaselineState.UPDATED if key in baseline.entries else BaselineState.NEW
        for i in indices:
            states[i] = BaselineState.UNCHANGED if i in matched else unmatched
        fixed += max(len(pool) - (len(indices) - len(matched)), 0)  # worse is not fixed
    gone = baseline.entries.keys() - current.keys() - waived
    fixed += sum(len(baseline.entries[k]) for k in gone)
    return states, fixed


def _pair(results: Sequence[Result], indices: list[int], pool: list[Entry]) -> set[int]:
    """Pair current results with baseline entries that cover them (consumed from ``pool``)."""
    matched: set[int] = set()
    for exact in (True, False):
        for i in indices:
            if i in matched:
                continue
            r = results[i]
            for j, e in enumerate(pool):
                covers = e.rank < 0 or e.rank >= r.severity.rank
                if covers and (not exact or e.message == r.message):
                    matched.add(i)
                    del pool[j]
                    break
    return matched
