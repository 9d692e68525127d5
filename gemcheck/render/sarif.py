"""SARIF 2.1.0: the report for code-scanning dashboards (GitHub, GitLab, Azure DevOps, VS Code).

Mapping:

- ``tool.driver.rules``: every rule of the audit, passing ones included, so a
  consumer can tell "ran and found nothing" from "did not run". Short
  description = the rule title; full description = the title and the check's
  docstring; help = remediation and references; ``properties.tags`` = the
  gematik requirement references (plus ``gemcheck`` and the domain);
  ``properties.security-severity`` for GitHub's severity ranking; the counts of
  the rule's results per status under ``properties.gemcheck``.
- ``results``: one per ``fail`` or ``waived`` result, ``kind: fail``, ``level``
  from the severity (critical/high: ``error``, medium: ``warning``, low/info:
  ``note``). A waived result carries an accepted external ``suppression`` with
  the justification, so dashboards show it as dismissed, not hidden.
  **Passing and skipped results are omitted**: several consumers (GitHub code
  scanning among them) do not document ``kind`` and would raise an alert for a
  ``kind: pass`` result; the per-rule counts and the JSON report keep them.
- ``error`` results ("could not check") are not findings about the site but
  failures of the tool to judge it: they are
  ``invocations[0].toolExecutionNotifications`` (level ``error``, with the
  rule and location), and ``executionSuccessful`` is false when there is any.
  ``exitCode`` is the gate's (0 pass, 1 fail). Report notices are
  ``toolConfigurationNotifications``.
- Locations: a file subject (a certificate file, the waiver file) is a
  ``physicalLocation`` with the line as ``region.startLine`` where known; a
  relative path is relative to ``uriBaseId`` ``SITEROOT`` (the site file's
  folder, or the working directory for an audit from flags); an absolute one is a
  ``file:`` URI. The index of a certificate inside a bundle is
  ``location.properties.index``. Every subject is also a ``logicalLocation``
  (``kind: resource`` with the URI for endpoints, ``kind: object`` for hosts
  and other named things).
- ``partialFingerprints["gemcheck/v1"]`` hashes the baseline key (rule,
  subject, file, index, URI), so dashboards track a finding across runs the
  way ``--baseline`` does.
- ``baselineState``: with ``--baseline``, every ``fail`` result says how the
  gate judged it: ``new``, ``unchanged`` (known to the baseline) or
  ``updated`` (its key failed in the baseline too, but at a lower severity or
  fewer times); a waived (suppressed) result is ``unchanged`` when the
  baseline failed or waived it too, else ``new``, so that every result of
  the run has a state, as SARIF requires (§3.27.24). Baseline failures fixed
  since are counted in the baseline notice, not
  listed as ``absent`` results (the report holds this audit's results only).
  ``run.baselineGuid`` is not set: a JSON baseline is no SARIF run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from gemcheck.baseline import key_of
from gemcheck.model import Report, Result, Severity, Status
from gemcheck.registry import load_registry

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SITE_ROOT = "SITEROOT"

LEVEL: Mapping[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
SECURITY_SEVERITY: Mapping[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}
"""GitHub's ``security-severity`` scale (>= 9 critical, >= 7 high, >= 4 medium, > 0 low)."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def render(report: Report, *, color: bool = False) -> str:
    """The report as a SARIF 2.1.0 log with one run (compact JSON: logs get large)."""
    log = sarif(report)
    text = json.dumps(log, ensure_ascii=False)
    if _SURROGATE.search(text):  # lone surrogates cannot be UTF-8: escape them instead
        text = json.dumps(log, ensure_ascii=True)
    return text + "\n"


def sarif(report: Report) -> dict[str, Any]:
    """The SARIF log as a JSON value."""
    rules = _rules(report.results)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    errors = [r for r in report.results if r.status is Status.ERROR]
    invocation: dict[str, Any] = {
        "executionSuccessful": not errors,
        "exitCode": 0 if report.verdict == "pass" else 1,
        "exitCodeDescription": _gate_text(report),
        "toolExecutionNotifications": [_notification(r, index) for r in errors],
        "toolConfigurationNotifications": [
            {"level": "warning", "message": {"text": notice}} for notice in report.notices
        ],
    }
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "gemcheck",
                "fullName": "gemcheck: TI site audit",
                "version": report.tool_version,
                "rules": rules,
            }
        },
        "invocations": [invocation],
        "originalUriBaseIds": {
            SITE_ROOT: {
                "description": {
                    "text": "the folder of the site file (or the working "
                    "directory of an audit from command-line flags)"
                }
            }
        },
        "results": [
            _result(r, index[r.rule])
            for r in report.results
            if r.status in (Status.FAIL, Status.WAIVED)
        ],
        "properties": _run_properties(report),
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rules(results: Sequence[Result]) -> list[dict[str, Any]]:
    registry = load_registry()
    by_rule: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_rule[r.rule].append(r)
    out = []
    for rule_id in sorted(by_rule):
        rs = by_rule[rule_id]
        first = rs[0]
        spec = registry.get(first.check)
        title = first.title or (spec.summary if spec else "") or rule_id
        doc = spec.doc if spec else ""
        remediation = next((r.remediation for r in rs if r.remediation), "")
        help_parts = [
            f"Remediation: {remediation}"
            if remediation
            else "Remediation: see the rule's description and references."
        ]
        if first.references:
            help_parts.append("References: " + "; ".join(first.references))
        properties: dict[str, Any] = {
            "tags": _unique(["gemcheck", first.domain, *first.references]),
            "gemcheck": {
                "check": first.check,
                "domain": first.domain,
                "severity": first.severity.value,
                "results": dict(sorted(Counter(r.status.value for r in rs).items())),
            },
        }
        if first.obligation is not None:
            properties["gemcheck"]["obligation"] = first.obligation.value
        if first.severity in SECURITY_SEVERITY:
            properties["security-severity"] = SECURITY_SEVERITY[first.severity]
        out.append(
            {
                "id": rule_id,
                "name": first.check,
                "shortDescription": {"text": title},
                "fullDescription": {"text": f"{title}\n\n{doc}" if doc else title},
                "help": {"text": "\n\n".join(help_parts)},
                "defaultConfiguration": {"level": LEVEL[first.severity]},
                "properties": properties,
            }
        )
    return out


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _result(r: Result, rule_index: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": r.rule,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": LEVEL[r.severity],
        "message": {"text": _message(r)},
    }
    location = _location(r)
    if location:
        out["locations"] = [location]
    out["partialFingerprints"] = {"gemcheck/v1": _fingerprint(r)}
    if r.baseline_state is not None:
        out["baselineState"] = r.baseline_state.value
    if r.status is Status.WAIVED and r.waiver is not None:
        waiver = dict(r.waiver)
        out["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": str(waiver.get("justification", "")),
                "properties": {k: v for k, v in waiver.items() if k != "justification"},
            }
        ]
    props: dict[str, Any] = {
        "subject": r.subject,
        "status": r.status.value,
        "severity": r.severity.value,
        "check": r.check,
        "domain": r.domain,
        "evidence": dict(r.evidence),
    }
    if r.remediation:
        props["remediation"] = r.remediation
    if r.references:
        props["references"] = list(r.references)
    out["properties"] = props
    return out


def _message(r: Result) -> str:
    prefix = "" if r.subject == "-" else f"{r.subject}: "
    return f"{prefix}{r.message}"


def _fingerprint(r: Result) -> str:
    key = json.dumps(key_of(r), ensure_ascii=True)
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def _location(r: Result) -> dict[str, Any]:
    loc = r.location
    out: dict[str, Any] = {}
    if loc.file:
        physical: dict[str, Any] = {"artifactLocation": _artifact(loc.file)}
        if loc.line is not None and loc.line >= 1:
            physical["region"] = {"startLine": loc.line}
        out["physicalLocation"] = physical
    if loc.index is not None:
        out["properties"] = {"index": loc.index}
    logical: dict[str, Any] = {}
    if loc.uri:
        logical = {"name": r.subject, "fullyQualifiedName": loc.uri, "kind": "resource"}
    elif r.subject != "-":
        logical = {"name": r.subject, "kind": "object"}
    if logical:
        out["logicalLocations"] = [logical]
    return out


def _artifact(path: str) -> dict[str, str]:
    posix = path.replace("\\", "/")
    if posix.startswith("/"):
        return {"uri": "file://" + quote(posix, safe="/")}
    return {"uri": quote(posix, safe="/"), "uriBaseId": SITE_ROOT}


def _notification(r: Result, index: Mapping[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "level": "error",
        "message": {"text": f"{r.rule} could not be checked on {_message(r)}"},
        "associatedRule": {"id": r.rule, "index": index[r.rule]},
    }
    location = _location(r)
    if location:
        out["locations"] = [location]
    return out


def _gate_text(report: Report) -> str:
    if report.verdict == "pass":
        return "gate passed"
    return "gate failed: " + "; ".join(report.gate.reasons)


def _run_properties(report: Report) -> dict[str, Any]:
    props: dict[str, Any] = {
        "site": report.site,
        "asOf": report.as_of,
        "generatedAt": report.generated_at,
        "verdict": report.verdict,
        "score": report.score.as_dict(),
        "gate": report.gate.as_dict(),
        "summary": dict(report.summary),
        "dataRoom": report.data_room.as_dict(),
        "profiles": [p.as_dict() for p in report.profiles],
    }
    if report.score_without_waivers is not None:
        props["scoreWithoutWaivers"] = report.score_without_waivers.as_dict()
    return props
