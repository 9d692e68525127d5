"""JUnit XML, read with junitparser and the way GitLab and Jenkins read it (testsuite,
testcase and failure/error/skipped attributes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from defusedxml import ElementTree as SafeET
from junitparser import Error, Failure, JUnitXml, Skipped

from gemcheck.model import Location, Report, Severity, Status
from gemcheck.render import FORMATS, render
from tests.conftest import CERTS
from tests.gate_reports import CONTROL, QUOTES, XSS_SCRIPT, cert_report, result, sample_report


def parse(report: Report, tmp_path: Path) -> JUnitXml:
    path = tmp_path / "gemcheck.xml"
    path.write_text(render(report, "junit"), encoding="utf-8")
    return JUnitXml.fromfile(str(path))


def test_registered() -> None:
    assert FORMATS["junit"] == "gemcheck.render.junit"


def test_one_testcase_per_rule_and_subject(tmp_path: Path) -> None:
    report = cert_report()
    xml = parse(report, tmp_path)
    keys = {(r.domain, r.rule, r.subject, str(r.location)) for r in report.results}
    cases = [(suite, case) for suite in xml for case in suite]
    assert len(cases) == len(keys)
    assert {suite.name for suite, _ in cases} == {"gemcheck.cert"}
    assert all(case.classname == f"cert.{case.classname.split('.', 1)[1]}" for _, case in cases)
    worst: dict[tuple[str, str, str], Status] = {}
    order = (Status.ERROR, Status.FAIL, Status.WAIVED, Status.SKIP, Status.PASS)
    for r in report.results:
        key = (r.rule, r.subject, str(r.location))
        if key not in worst or order.index(r.status) < order.index(worst[key]):
            worst[key] = r.status
    counts = Counter(worst.values())
    (suite,) = list(xml)
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (
        len(keys),
        counts[Status.FAIL],
        counts[Status.ERROR],
        counts[Status.SKIP] + counts[Status.WAIVED],
    )


def test_failure_error_skipped_elements(tmp_path: Path) -> None:
    xml = parse(sample_report(), tmp_path)
    cases = [case for suite in xml for case in suite]
    by_class = {case.classname: case for case in cases}
    failed = next(c for c in cases if c.name.startswith("fail-high"))
    (failure,) = failed.result
    assert isinstance(failure, Failure) and failure.type == "high"
    assert failure.message == "fail on fail-high.example"
    assert "remediation: Fix SAM-HIG-001" in (failure.text or "")
    assert "references: gemSpec_Sample A_001; gemSpec_Krypt GS-A_4384-03" in (failure.text or "")
    errored = next(c for c in cases if c.name.startswith("error-low"))
    assert isinstance(errored.result[0], Error) and errored.result[0].type == "could-not-check"
    waived = by_class["cert.SAM-WAI-001"]
    (skip,) = waived.result
    assert isinstance(skip, Skipped) and skip.type == "waived"
    assert skip.message.startswith("waived until 2026-12-31: replacement card ordered")
    passed = next(c for c in cases if c.name.startswith("pass-info"))
    assert passed.is_passed and "pass on pass-info.example" in (passed.system_out or "")
    rule_level = by_class["cert.SAM-RUL-001"]
    assert rule_level.name == "SAM-RUL-001 (rule)" and rule_level.is_skipped


def test_as_gitlab_and_jenkins_read_it(tmp_path: Path) -> None:
    text = render(sample_report(), "junit")
    root = SafeET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    totals = Counter[str]()
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        for kind, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            n = sum(1 for c in cases if c.find(kind) is not None)
            assert int(suite.get(attr)) == n
            totals[attr] += n
        totals["tests"] += len(cases)
        assert suite.get("name", "").startswith("gemcheck.") and suite.get("time") == "0"
        assert suite.get("timestamp") == "2026-06-01T00:00:00"
        for case in cases:
            assert case.get("classname") and case.get("name") and case.get("time") == "0"
            for kind in ("failure", "error"):
                el = case.find(kind)
                if el is not None:
                    assert el.get("message") and el.get("type")
    for attr, n in totals.items():
        assert int(root.get(attr)) == n
    assert {s.get("name") for s in root.findall("testsuite")} == {
        "gemcheck.cert",
        "gemcheck.konnektor",
        "gemcheck.network",
        "gemcheck.tls",
    }


def test_hostile_strings_stay_text(tmp_path: Path) -> None:
    text = render(sample_report(), "junit")
    text.encode("utf-8")  # no lone surrogate left
    assert "<script>" not in text and "&lt;script&gt;" in text
    root = SafeET.fromstring(text.encode("utf-8"))
    names = [c.get("name") for c in root.iter("testcase")]
    assert any(n.startswith(XSS_SCRIPT) for n in names)
    assert any(n.startswith(QUOTES) for n in names)
    control = next(n for n in names if n.startswith("bell"))
    assert control.startswith(r"bell\u0007 nul\u0000 esc\u001b[31m lone\ud800 end")
    assert CONTROL not in text


def test_several_findings_on_one_subject_make_one_testcase(tmp_path: Path) -> None:
    loc = Location(file="a.pem", index=0)
    results = [
        result("CRY-X-001", Status.PASS, Severity.HIGH, "card", location=loc, message="ok part"),
        result("CRY-X-001", Status.FAIL, Severity.HIGH, "card", location=loc, message="bad part"),
    ]
    (suite,) = list(parse(sample_report(results), tmp_path))
    (case,) = list(suite)
    assert case.result[0].message == "bad part (+1)"
    assert "ok part" in (case.result[0].text or "") and "bad part" in (case.result[0].text or "")


def test_empty_report(tmp_path: Path) -> None:
    xml = parse(sample_report([]), tmp_path)
    assert list(xml) == [] and xml.tests == 0


@pytest.mark.parametrize("fmt", ["junit"])
def test_cli_writes_junit(
    tmp_path: Path, cli: Callable[..., tuple[int, str, str]], fmt: str
) -> None:
    out = tmp_path / "gemcheck.xml"
    rc, _, err = cli(
        "audit",
        "--profile",
        "ti-crypto",
        "--cert",
        CERTS / "broken",
        "--as-of",
        "2026-06-01",
        "--report",
        f"{fmt}={out}",
    )
    assert rc == 1, err
    xml = JUnitXml.fromfile(str(out))
    assert sum(suite.failures for suite in xml) > 0
