"""Waivers: accepted risks that turn failed results into ``waived`` ones until they expire.

A waiver file (YAML or JSON, schema ``schemas/waivers-1.schema.json``)::

    version: 1
    waivers:
      - rule: CRY-KEY-001                 # the rule id, exactly
        subject: "TEST-ONLY Praxis*"      # glob over the result's subject
        location: "certs/rsa/*"           # optional glob over the result's file or URI
        justification: RSA card until the G2.1 replacement arrives
        owner: it@praxis.example
        approver: dr.mueller@praxis.example
        expires: 2026-12-31               # last day it applies (inclusive, UTC)

Semantics, evaluated at the audit's ``--as-of`` date (a UTC date):

- A waiver applies to the ``fail`` results of its rule whose subject (and
  location, when given) match its globs, while ``as_of <= expires``. Such a
  result keeps everything but its status, which becomes ``waived``; the
  original status and the waiver's details go into ``Result.waiver``.
  ``error`` results are never waived: "could not check" is not an accepted risk
  (disable the rule in the site's tailoring if it truly does not apply).
- An expired waiver applies to nothing: the results it covered are judged as
  they are, and the waiver itself is reported as a ``fail`` result of the
  pseudo-rule ``GC-WAIVER-EXPIRED`` (severity high), so that an expiry stops a
  pipeline at the default ``--fail-on high`` and shows in every report format.
- A waiver that matches no failed result is reported as a ``fail`` result of
  ``GC-WAIVER-UNUSED`` (severity low): either its rule or subject pattern is
  wrong, or the problem was fixed and the waiver should go.
- The pseudo-rules weigh nothing in the score and cannot be waived; the
  baseline never hides them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from gemcheck import schemas
from gemcheck.errors import InputError
from gemcheck.model import JSONValue, Location, Result, Severity, Status
from gemcheck.profile import read_bytes

EXPIRED_RULE = "GC-WAIVER-EXPIRED"
UNUSED_RULE = "GC-WAIVER-UNUSED"
WAIVER_RULES: tuple[str, ...] = (EXPIRED_RULE, UNUSED_RULE)
"""The pseudo-rules this module reports; they weigh nothing in the score."""

WAIVER_CHECK = "gemcheck.waivers"
WAIVER_DOMAIN = "waiver"


@dataclass(frozen=True, slots=True)
class Waiver:
    """One accepted risk, with the file and line it was written at."""

    rule: str
    subject: str
    justification: str
    owner: str
    approver: str
    expires: dt.date
    location: str | None = None
    ticket: str | None = None
    file: str = ""
    line: int | None = None

    def active_on(self, day: dt.date) -> bool:
        """True while the waiver applies: up to and including its ``expires`` day."""
        return day <= self.expires

    def covers(self, result: Result) -> bool:
        """True when the result is of the waiver's rule and matches its subject/location globs."""
        if result.rule != self.rule or not fnmatch.fnmatchcase(result.subject, self.subject):
            return False
        if self.location is None:
            return True
        where = result.location.file or result.location.uri
        return where is not None and fnmatch.fnmatchcase(where, self.location)

    @property
    def where(self) -> str:
        """``file:line`` of the waiver, for messages."""
        return f"{self.file}:{self.line}" if self.line else self.file

    def details(self) -> dict[str, JSONValue]:
        """What a waived result records about the waiver (besides its original status)."""
        out: dict[str, JSONValue] = {
            "justification": self.justification,
            "owner": self.owner,
            "approver": self.approver,
            "expires": self.expires.isoformat(),
            "source": self.where,
        }
        if self.location is not None:
            out["location"] = self.location
        if self.ticket is not None:
            out["ticket"] = self.ticket
        return out


@dataclass(frozen=True, slots=True)
class WaiverSet:
    """The waivers of one file, in file order."""

    file: str
    waivers: tuple[Waiver, ...] = ()


def load(path: Path) -> WaiverSet:
    """Read and validate a waiver file; raises :class:`InputError` naming the file and place."""
    return parse(read_bytes(path), str(path))


def parse(raw: bytes, file: str) -> WaiverSet:
    """Parse the bytes of a waiver file named ``file`` (for messages and waiver sources)."""
    try:
        data = schemas.load_document(raw, file)
    except ValueError as exc:  # a YAML date such as 2026-02-30 fails while being built
        raise InputError.single(file, _bad_date_line(raw), f"not a valid date: {exc}") from None
    if data is None:
        raise InputError.single(file, "$", "the waiver file is empty (write `waivers: []`)")
    schemas.validate(data, "waivers-1", file)
    lines = _item_lines(raw)
    waivers = []
    for i, entry in enumerate(data["waivers"]):
        waivers.append(
            Waiver(
                rule=entry["rule"],
                subject=entry["subject"],
                justification=entry["justification"],
                owner=entry["owner"],
                approver=entry["approver"],
                expires=dt.date.fromisoformat(entry["expires"]),
                location=entry.get("location"),
                ticket=entry.get("ticket"),
                file=file,
                line=lines[i] if i < len(lines) else None,
            )
        )
    return WaiverSet(file, tuple(waivers))


def _bad_date_line(raw: bytes) -> str:
    """``line N`` of the first YAML timestamp that is no real date, or ``$``."""
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    stack = [yaml.compose(raw, Loader=loader)]
    while stack:
        node = stack.pop(0)
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":timestamp"):
            try:
                yaml.SafeLoader(b"").construct_yaml_timestamp(node)
            except ValueError:
                return f"line {node.start_mark.line + 1}"
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(v for _, v in node.value)
    return "$"


def _item_lines(raw: bytes) -> list[int]:
    """The 1-based line of each entry of ``waivers`` (empty when the layout is unusual)."""
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    root = yaml.compose(raw, Loader=loader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if getattr(key, "value", None) == "waivers" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


@dataclass(frozen=True, slots=True)
class Applied:
    """The results with waivers applied, and the waiver problems as pseudo-rule results."""

    results: tuple[Result, ...]
    waived: int
    expired: int
    unused: int


def apply(results: Sequence[Result], waivers: WaiverSet, as_of: dt.date) -> Applied:
    """Apply ``waivers`` at ``as_of`` (UTC date): waive what they cover, report the rest.

    The returned results are the input results in their order (some now
    ``waived``) followed by one pseudo-rule result per expired or unused waiver.
    """
    active = [w for w in waivers.waivers if w.active_on(as_of)]
    used: set[int] = set()
    out: list[Result] = []
    waived = 0
    by_rule: dict[str, list[tuple[int, Waiver]]] = {}
    for i, w in enumerate(active):
        by_rule.setdefault(w.rule, []).append((i, w))
    seen_rules = {r.rule for r in results}
    for r in results:
        candidates = by_rule.get(r.rule)
        if r.status is not Status.FAIL or not candidates:
            out.append(r)
            continue
        hit = next(((i, w) for i, w in candidates if w.covers(r)), None)
        if hit is None:
            out.append(r)
            continue
        used.add(hit[0])
        waived += 1
        record: dict[str, JSONValue] = {"original_status": r.status.value, **hit[1].details()}
        out.append(dataclasses.replace(r, status=Status.WAIVED, waiver=MappingProxyType(record)))
    problems: list[Result] = []
    for w in waivers.waivers:
        if not w.active_on(as_of):
            problems.append(_expired(w, as_of))
    for i, w in enumerate(active):
        if i not in used:
            problems.append(_unused(w, results, seen_rules))
    expired = sum(1 for p in problems if p.rule == EXPIRED_RULE)
    return Applied(tuple(out) + tuple(problems), waived, expired, len(problems) - expired)


def _expired(w: Waiver, as_of: dt.date) -> Result:
    return _problem(
        w,
        EXPIRED_RULE,
        Severity.HIGH,
        f"waiver for {w.rule} on {w.subject!r} expired on {w.expires.isoformat()} "
        f"(audit as of {as_of.isoformat()}): the results it covered count again",
        title="Waiver has expired",
        remediation="Fix the waived finding, or renew the waiver with a new expiry date and a "
        "fresh approval.",
    )


def _unused(w: Waiver, results: Iterable[Result], seen_rules: set[str]) -> Result:
    if w.rule not in seen_rules:
        why = f"no rule {w.rule} took part in this audit"
    elif any(w.covers(r) for r in results):
        why = "the results it matches did not fail (errors are never waived)"
    else:
        why = f"no result of {w.rule} has a subject matching {w.subject!r}" + (
            f" at {w.location!r}" if w.location else ""
        )
    return _problem(
        w,
        UNUSED_RULE,
        Severity.LOW,
        f"waiver for {w.rule} on {w.subject!r} matches no failed result: {why}",
        title="Waiver matches no failed result",
        remediation="Remove the waiver, or correct its rule id or subject pattern.",
    )


def _problem(
    w: Waiver, rule: str, severity: Severity, message: str, *, title: str, remediation: str
) -> Result:
    evidence: Mapping[str, JSONValue] = MappingProxyType(
        {"waived_rule": w.rule, "subject_pattern": w.subject, **w.details()}
    )
    return Result(
        rule=rule,
        check=WAIVER_CHECK,
        domain=WAIVER_DOMAIN,
        subject=f"waiver {w.rule} {w.subject}",
        status=Status.FAIL,
        severity=severity,
        message=message,
        location=Location(file=w.file, line=w.line),
        evidence=evidence,
        title=title,
        remediation=remediation,
    )
