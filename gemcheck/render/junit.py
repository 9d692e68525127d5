"""JUnit XML: the report as test results, for CI test tabs (GitLab, Jenkins, Azure DevOps).

One ``testsuite`` per domain (``gemcheck.cert``, ...) inside one ``testsuites``
root; one ``testcase`` per rule and subject (and location, so two certificates
with the same name in two files are two test cases) with
``classname="<domain>.<rule>"`` (Jenkins shows the domain as the package and
the rule as the class) and ``name`` = the subject, plus the location when it
adds something. When a rule says several things about one subject, the test
case carries the worst of them and lists all.

- ``fail``: ``<failure message=... type="<severity>">`` with the message,
  evidence, remediation and references as text;
- ``error``: ``<error message=... type="could-not-check">``;
- ``skip``: ``<skipped message=...>``;
- ``waived``: ``<skipped type="waived" message="waived until ... : justification">``:
  JUnit has no "accepted failure", and a skip is counted, shown and not failed;
- ``pass``: no child but ``<system-out>`` with the message and evidence.

Counts (``tests``, ``failures``, ``errors``, ``skipped``) are on every suite and
on the root. ``time`` is 0 (an audit is not timed per rule); ``timestamp`` is
the report's ``generated_at``. Text that XML 1.0 cannot carry (control
characters, lone surrogates) is written as visible ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence

from gemcheck.model import Report, Result, Status
from gemcheck.render._safe import printable

_WORST = (Status.ERROR, Status.FAIL, Status.WAIVED, Status.SKIP, Status.PASS)


def render(report: Report, *, color: bool = False) -> str:
    """The report as a JUnit XML document (UTF-8, with an XML declaration)."""
    root = ET.Element("testsuites", {"name": _s(f"gemcheck: {report.site}")})
    by_domain: dict[str, dict[tuple[str, str, str], list[Result]]] = defaultdict(dict)
    for r in report.results:
        key = (r.rule, r.subject, str(r.location))
        by_domain[r.domain].setdefault(key, []).append(r)
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for domain in sorted(by_domain):
        suite = ET.SubElement(root, "testsuite", {"name": _s(f"gemcheck.{domain}")})
        counts = dict.fromkeys(totals, 0)
        for results in by_domain[domain].values():
            status = _testcase(suite, results)
            counts["tests"] += 1
            if status is Status.FAIL:
                counts["failures"] += 1
            elif status is Status.ERROR:
                counts["errors"] += 1
            elif status in (Status.SKIP, Status.WAIVED):
                counts["skipped"] += 1
        _set_counts(suite, counts)
        suite.set("time", "0")
        suite.set("timestamp", report.generated_at.removesuffix("Z"))
        suite.set("hostname", "localhost")
        for k, v in counts.items():
            totals[k] += v
    _set_counts(root, totals)
    root.set("time", "0")
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _set_counts(element: ET.Element, counts: dict[str, int]) -> None:
    for name in ("tests", "failures", "errors", "skipped"):
        element.set(name, str(counts[name]))


def _testcase(suite: ET.Element, results: Sequence[Result]) -> Status:
    first = results[0]
    worst = min(results, key=lambda r: _WORST.index(r.status))
    case = ET.SubElement(
        suite,
        "testcase",
        {"classname": _s(f"{first.domain}.{first.rule}"), "name": _s(_name(first)), "time": "0"},
    )
    details = "\n\n".join(_details(r) for r in results)
    message = _s(worst.message if len(results) == 1 else f"{worst.message} (+{len(results) - 1})")
    if worst.status is Status.FAIL:
        el = ET.SubElement(case, "failure", {"message": message, "type": worst.severity.value})
        el.text = _s(details)
    elif worst.status is Status.ERROR:
        el = ET.SubElement(case, "error", {"message": message, "type": "could-not-check"})
        el.text = _s(details)
    elif worst.status is Status.WAIVED:
        waiver = dict(worst.waiver or {})
        text = f"waived until {waiver.get('expires', '?')}: {waiver.get('justification', '')}"
        ET.SubElement(case, "skipped", {"message": _s(text), "type": "waived"})
        ET.SubElement(case, "system-out").text = _s(details)
    elif worst.status is Status.SKIP:
        ET.SubElement(case, "skipped", {"message": message})
    else:
        ET.SubElement(case, "system-out").text = _s(details)
    return worst.status


def _name(r: Result) -> str:
    where = str(r.location)
    if where and where != r.subject:
        return f"{r.subject} ({where})"
    return r.subject if r.subject != "-" else f"{r.rule} (rule)"


def _details(r: Result) -> str:
    lines = [
        f"{r.status.value.upper()} [{r.severity.value}] {r.rule} {r.title}".rstrip(),
        r.message,
    ]
    if r.evidence:
        lines.append(
            "evidence: "
            + json.dumps(dict(r.evidence), ensure_ascii=False, sort_keys=True, default=str)
        )
    if r.waiver:
        lines.append("waiver: " + json.dumps(dict(r.waiver), ensure_ascii=False, sort_keys=True))
    if r.remediation:
        lines.append(f"remediation: {r.remediation}")
    if r.references:
        lines.append("references: " + "; ".join(r.references))
    return "\n".join(lines)


def _s(text: str) -> str:
    return printable(text)
