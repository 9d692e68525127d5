"""The result model: what an audit finds, how it is scored, and the report it ends in.

Everything here is a frozen dataclass or an enum. A report is built once by the
core (engine + scoring) and then only read: renderers, gates and signatures all
work from the same object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

JSONValue = Any
"""A value that ``json.dumps`` accepts (str, int, float, bool, None, list, dict)."""

EMPTY: Mapping[str, JSONValue] = MappingProxyType({})


class Severity(StrEnum):
    """How much a failed rule matters, from ``critical`` down to ``info``."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """4 for critical down to 0 for info: higher is worse."""
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        """True when this severity is as bad as ``other`` or worse."""
        return self.rank >= other.rank


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Status(StrEnum):
    """The outcome of one rule on one subject."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    WAIVED = "waived"


class Obligation(StrEnum):
    """The gematik obligation of the requirement a rule traces to (RFC 2119 in German)."""

    MUSS = "MUSS"
    SOLL = "SOLL"
    KANN = "KANN"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a subject lives: a file (and the index of a certificate inside it), or an endpoint."""

    file: str | None = None
    index: int | None = None
    line: int | None = None
    uri: str | None = None

    def as_dict(self) -> dict[str, JSONValue]:
        """The set fields only, for JSON."""
        out: dict[str, JSONValue] = {}
        if self.file is not None:
            out["file"] = self.file
        if self.index is not None:
            out["index"] = self.index
        if self.line is not None:
            out["line"] = self.line
        if self.uri is not None:
            out["uri"] = self.uri
        return out

    def __str__(self) -> str:
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
            if self.index is not None:
                where += f"#{self.index}"
            return where
        return self.uri or ""


NOWHERE = Location()


@dataclass(frozen=True, slots=True)
class Finding:
    """What a check says about one piece of evidence.

    A check yields findings; the engine turns each into a :class:`Result` by
    adding the rule's id, severity and references. ``subject`` and ``location``
    override the evidence's own when one piece of evidence holds several
    subjects (a network with many hosts, say).
    """

    status: Status
    message: str
    evidence: Mapping[str, JSONValue] = field(default_factory=lambda: EMPTY)
    subject: str | None = None
    location: Location | None = None

    @classmethod
    def ok(cls, message: str, **evidence: JSONValue) -> Finding:
        """A passing finding."""
        return cls(Status.PASS, message, MappingProxyType(evidence) if evidence else EMPTY)

    @classmethod
    def fail(cls, message: str, **evidence: JSONValue) -> Finding:
        """A violation."""
        return cls(Status.FAIL, message, MappingProxyType(evidence) if evidence else EMPTY)

    @classmethod
    def skip(cls, message: str, **evidence: JSONValue) -> Finding:
        """The rule does not apply to this evidence (said why)."""
        return cls(Status.SKIP, message, MappingProxyType(evidence) if evidence else EMPTY)

    @classmethod
    def error(cls, message: str, **evidence: JSONValue) -> Finding:
        """The check could not decide (never a pass)."""
        return cls(Status.ERROR, message, MappingProxyType(evidence) if evidence else EMPTY)


class BaselineState(StrEnum):
    """How a failed result compares with the ``--baseline`` report (SARIF ``baselineState``)."""

    NEW = "new"
    """No failed result with this key in the baseline (always so for the waiver pseudo-rules)."""
    UNCHANGED = "unchanged"
    """Known: paired with a baseline failure of the same key that covers it."""
    UPDATED = "updated"
    """The key failed in the baseline too, but now at a higher severity or more often."""


@dataclass(frozen=True, slots=True, init=False)
class Result:
    """One rule's outcome on one subject: the unit every renderer and gate works with.

    ``baseline_state`` is set on ``fail`` and ``waived`` results only, and only when
    the audit was compared with a baseline (see :mod:`gemcheck.baseline`).
    """

    rule: str
    check: str
    domain: str
    subject: str
    status: Status
    severity: Severity
    message: str
    references: tuple[str, ...]
    location: Location
    evidence: Mapping[str, JSONValue]
    obligation: Obligation | None
    title: str
    remediation: str
    waiver: Mapping[str, JSONValue] | None
    baseline_state: BaselineState | None

    def __init__(
        self,
        rule: str,
        check: str,
        domain: str,
        subject: str,
        status: Status,
        severity: Severity,
        message: str,
        references: tuple[str, ...] = (),
        location: Location = NOWHERE,
        evidence: Mapping[str, JSONValue] = EMPTY,
        obligation: Obligation | None = None,
        title: str = "",
        remediation: str = "",
        waiver: Mapping[str, JSONValue] | None = None,
        baseline_state: BaselineState | None = None,
    ) -> None:
        # Written out: a frozen dataclass's generated __init__ looks object.__setattr__ up
        # again for every field. An audit makes one Result per rule and subject (170,000
        # for 10,000 certificates and ti-pki), and binding the setter once saves ~5 %.
        put = object.__setattr__.__get__(self)
        put("rule", rule)
        put("check", check)
        put("domain", domain)
        put("subject", subject)
        put("status", status)
        put("severity", severity)
        put("message", message)
        put("references", references)
        put("location", location)
        put("evidence", evidence)
        put("obligation", obligation)
        put("title", title)
        put("remediation", remediation)
        put("waiver", waiver)
        put("baseline_state", baseline_state)

    def as_dict(self) -> dict[str, JSONValue]:
        """This result in the report JSON form."""
        out: dict[str, JSONValue] = {
            "rule": self.rule,
            "check": self.check,
            "domain": self.domain,
            "subject": self.subject,
            "status": self.status.value,
            "severity": self.severity.value,
            "message": self.message,
            "references": list(self.references),
            "location": self.location.as_dict(),
            "evidence": dict(self.evidence),
        }
        if self.obligation is not None:
            out["obligation"] = self.obligation.value
        if self.title:
            out["title"] = self.title
        if self.remediation:
            out["remediation"] = self.remediation
        if self.waiver is not None:
            out["waiver"] = dict(self.waiver)
        if self.baseline_state is not None:
            out["baseline_state"] = self.baseline_state.value
        return out


@dataclass(frozen=True, slots=True)
class Score:
    """Scores 0-100: overall and per domain (``cert``, ``tls``, ``konnektor``, ``network``)."""

    overall: float
    by_domain: Mapping[str, float] = field(default_factory=lambda: EMPTY)

    def as_dict(self) -> dict[str, JSONValue]:
        return {"overall": self.overall, "by_domain": dict(sorted(self.by_domain.items()))}


@dataclass(frozen=True, slots=True)
class Exposure:
    """One way patient data is exposed: the concrete path and the rule that found it."""

    path: tuple[str, ...]
    rule: str
    message: str

    def as_dict(self) -> dict[str, JSONValue]:
        return {"path": list(self.path), "rule": self.rule, "message": self.message}


@dataclass(frozen=True, slots=True)
class SystemRoom:
    """The data-room verdict of one patient-record system."""

    id: str
    score: float
    verdict: str
    exposures: tuple[Exposure, ...] = ()

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "id": self.id,
            "score": self.score,
            "verdict": self.verdict,
            "exposures": [e.as_dict() for e in self.exposures],
        }


@dataclass(frozen=True, slots=True)
class DataRoom:
    """Whether patient data stays inside the TI's protected data room.

    ``verdict`` is ``contained``, ``at-risk``, ``breached``, or ``not-assessed``
    when the site gave no network description to judge.
    """

    verdict: str = "not-assessed"
    systems: tuple[SystemRoom, ...] = ()

    def as_dict(self) -> dict[str, JSONValue]:
        return {"verdict": self.verdict, "systems": [s.as_dict() for s in self.systems]}


@dataclass(frozen=True, slots=True)
class ProfileRef:
    """A profile file that took part in the audit, pinned by its content hash."""

    id: str
    version: str
    sha256: str

    def as_dict(self) -> dict[str, JSONValue]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class Gate:
    """How the verdict was reached: the thresholds and every reason the gate failed."""

    fail_on: Severity
    min_score: float
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "fail_on": self.fail_on.value,
            "min_score": self.min_score,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The whole outcome of one audit. Built once, read by every renderer."""

    tool_version: str
    generated_at: str
    as_of: str
    site: str
    profiles: tuple[ProfileRef, ...]
    verdict: str
    score: Score
    data_room: DataRoom
    summary: Mapping[str, int]
    results: tuple[Result, ...]
    gate: Gate
    score_without_waivers: Score | None = None
    notices: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, JSONValue]:
        """The report in the JSON form of ``schemas/report-1.schema.json``."""
        out: dict[str, JSONValue] = {
            "schema_version": 1,
            "tool": {"name": "gemcheck", "version": self.tool_version},
            "generated_at": self.generated_at,
            "as_of": self.as_of,
            "site": self.site,
            "profiles": [p.as_dict() for p in self.profiles],
            "verdict": self.verdict,
            "score": self.score.as_dict(),
            "data_room": self.data_room.as_dict(),
            "summary": dict(self.summary),
            "gate": self.gate.as_dict(),
            "results": [r.as_dict() for r in self.results],
        }
        if self.score_without_waivers is not None:
            out["score_without_waivers"] = self.score_without_waivers.as_dict()
        if self.notices:
            out["notices"] = list(self.notices)
        return out
