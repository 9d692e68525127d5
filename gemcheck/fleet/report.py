"""The fleet report: one outcome per site, per-rule failure counts, and how shards merge.

A site's outcome keeps what a fleet view and a restart plan need: verdict,
score, data-room verdict, the profiles audited and every result that did not
pass (``fail``, ``error``, ``waived``). The full per-site reports are separate
files (``report`` names each).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from gemcheck import schemas
from gemcheck.errors import InputError
from gemcheck.model import JSONValue, Report, Severity, Status

_KEPT = frozenset({Status.FAIL.value, Status.ERROR.value, Status.WAIVED.value})


@dataclass(frozen=True, slots=True)
class SiteOutcome:
    """One site's audit as the fleet sees it (``verdict`` is ``error`` when it could not run)."""

    index: int
    id: str
    file: str
    verdict: str
    tags: tuple[str, ...] = ()
    score: float | None = None
    data_room: str | None = None
    summary: Mapping[str, int] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()
    findings: tuple[Mapping[str, JSONValue], ...] = ()
    reasons: tuple[str, ...] = ()
    report: str | None = None
    error: str | None = None

    @classmethod
    def from_report(
        cls,
        index: int,
        site_id: str,
        file: str,
        tags: Sequence[str],
        report: Report,
        report_path: str | None,
    ) -> SiteOutcome:
        """The outcome of a site that was audited."""
        findings = tuple(_finding(r.as_dict()) for r in report.results if r.status.value in _KEPT)
        return cls(
            index=index,
            id=site_id,
            file=file,
            verdict=report.verdict,
            tags=tuple(tags),
            score=report.score.overall,
            data_room=report.data_room.verdict,
            summary=dict(report.summary),
            profiles=tuple(p.id for p in report.profiles),
            findings=findings,
            reasons=report.gate.reasons,
            report=report_path,
        )

    def top_findings(self, n: int = 3) -> list[Mapping[str, JSONValue]]:
        """The ``n`` worst findings: errors and failures by severity, then rule id."""

        def key(f: Mapping[str, JSONValue]) -> tuple[int, int, str]:
            status_rank = 0 if f["status"] == "error" else 1 if f["status"] == "fail" else 2
            return (status_rank, -Severity(str(f["severity"])).rank, str(f["rule"]))

        return sorted(self.findings, key=key)[:n]

    def as_dict(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {
            "index": self.index,
            "id": self.id,
            "file": self.file,
            "tags": list(self.tags),
            "verdict": self.verdict,
            "score": self.score,
            "data_room": self.data_room,
            "summary": dict(self.summary),
            "profiles": list(self.profiles),
            "reasons": list(self.reasons),
            "findings": [dict(f) for f in self.findings],
        }
        if self.report is not None:
            out["report"] = self.report
        if self.error is not None:
            out["error"] = self.error
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SiteOutcome:
        return cls(
            index=d["index"],
            id=d["id"],
            file=d["file"],
            verdict=d["verdict"],
            tags=tuple(d.get("tags", ())),
            score=d.get("score"),
            data_room=d.get("data_room"),
            summary=dict(d.get("summary", {})),
            profiles=tuple(d.get("profiles", ())),
            findings=tuple(d.get("findings", ())),
            reasons=tuple(d.get("reasons", ())),
            report=d.get("report"),
            error=d.get("error"),
        )


def _finding(result: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    keep = ("rule", "subject", "status", "severity", "message", "location")
    return {k: result[k] for k in keep}


@dataclass(frozen=True, slots=True)
class FleetReport:
    """The outcome of a fleet audit (or of one shard of it)."""

    fleet: str
    tool_version: str
    generated_at: str
    as_of: str
    sites: Sequence[SiteOutcome]
    """In inventory order; after a fleet run a lazy sequence read from disk (``spool``)."""
    shard: str | None = None
    partial: bool = False

    def rule_failures(self) -> list[tuple[str, int]]:
        """Per rule, how many sites fail (or error) it; most first."""
        rules = self.head()["rules"]
        assert isinstance(rules, list)
        return [(r["rule"], r["sites"]) for r in rules]

    def head(self) -> dict[str, JSONValue]:
        """Every member of the JSON report but ``sites`` (one pass over the sites)."""
        verdicts: Counter[str] = Counter()
        failures: Counter[str] = Counter()
        for site in self.sites:
            verdicts[site.verdict] += 1
            failures.update({str(f["rule"]) for f in site.findings if f["status"] != "waived"})
        rules = sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))
        return {
            "schema_version": 1,
            "kind": "fleet",
            "tool": {"name": "gemcheck", "version": self.tool_version},
            "generated_at": self.generated_at,
            "as_of": self.as_of,
            "fleet": self.fleet,
            "shard": self.shard,
            "partial": self.partial,
            "summary": {
                "sites": len(self.sites),
                "pass": verdicts.get("pass", 0),
                "fail": verdicts.get("fail", 0),
                "error": verdicts.get("error", 0),
            },
            "rules": [{"rule": r, "sites": n} for r, n in rules],
        }

    def as_dict(self) -> dict[str, JSONValue]:
        """The whole report as JSON values (``write_json`` streams it instead)."""
        return {**self.head(), "sites": [s.as_dict() for s in self.sites]}

    def write_json(self, out: IO[str]) -> None:
        """The JSON report, written site by site: memory for one site at a time."""
        head = json.dumps(self.head(), indent=2, ensure_ascii=False)
        out.write(head[:-2] + ',\n  "sites": [')
        for i, site in enumerate(self.sites):
            entry = json.dumps(site.as_dict(), indent=2, ensure_ascii=False)
            out.write(("," if i else "") + "\n    " + entry.replace("\n", "\n    "))
        out.write("\n  ]\n}\n" if len(self.sites) else "]\n}\n")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], file: str) -> FleetReport:
        schemas.validate(d, "fleet-1", file)
        return cls(
            fleet=d["fleet"],
            tool_version=d["tool"]["version"],
            generated_at=d["generated_at"],
            as_of=d["as_of"],
            sites=tuple(SiteOutcome.from_dict(s) for s in d["sites"]),
            shard=d.get("shard"),
            partial=d.get("partial", False),
        )


def load_fleet_report(raw: bytes, file: str) -> FleetReport:
    """A fleet report from its JSON, validated (an input error names the file and place)."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InputError.single(file, "$", f"not JSON: {exc}") from None
    return FleetReport.from_dict(data, file)


def merge(reports: Iterable[FleetReport], generated_at: str) -> FleetReport:
    """Merge shard reports into the report one unsharded run gives (timestamps aside)."""
    parts = list(reports)
    if not parts:
        raise InputError.single("merge", "$", "no reports to merge")
    first = parts[0]
    for other in parts[1:]:
        if (other.fleet, other.as_of) != (first.fleet, first.as_of):
            raise InputError.single(
                "merge",
                "$",
                f"reports of different audits: {first.fleet} as of {first.as_of} "
                f"vs {other.fleet} as of {other.as_of}",
            )
    by_index: dict[int, SiteOutcome] = {}
    for part in parts:
        for site in part.sites:
            if site.index in by_index:
                raise InputError.single("merge", "$", f"site {site.id} appears in two shards")
            by_index[site.index] = site
    return FleetReport(
        fleet=first.fleet,
        tool_version=first.tool_version,
        generated_at=generated_at,
        as_of=first.as_of,
        sites=tuple(by_index[i] for i in sorted(by_index)),
        shard=None,
        partial=any(p.partial for p in parts),
    )


def render_text(report: FleetReport) -> str:
    """The fleet summary for a terminal: one line per site, then the most failed rules."""
    head = f"gemcheck {report.tool_version}: fleet {report.fleet}, as of {report.as_of}"
    if report.shard:
        head += f", shard {report.shard}"
    lines = [head]
    if report.partial:
        lines.append("PARTIAL: the run was interrupted; sites not audited are missing")
    lines += ["", f"{'site':<24} {'verdict':<8} {'score':>6}  {'data room':<13} top finding"]
    for s in report.sites:
        score = f"{s.score:g}" if s.score is not None else "-"
        top = s.top_findings(1)
        what = s.error or (f"{top[0]['rule']} {top[0]['subject']}" if top else "")
        line = f"{s.id[:24]:<24} {s.verdict.upper():<8} {score:>6}  {s.data_room or '-':<13} {what}"
        lines.append(line[:100])
    rules = report.rule_failures()
    if rules:
        lines += ["", "Rules failed, by number of sites:"]
        lines += [f"  {rule:<16} {n} site(s)" for rule, n in rules[:15]]
    summary = report.head()["summary"]
    assert isinstance(summary, dict)
    lines += [
        "",
        f"Sites: {summary['sites']}, pass {summary['pass']}, fail {summary['fail']}, "
        f"error {summary['error']}",
    ]
    return "\n".join(lines) + "\n"
