"""Baselines: match by rule + subject + location, gate only on new or worse results, mark
failed results new/unchanged/updated in the reports, read reports of older versions and
signed reports, refuse malformed files (exit 2)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gemcheck.baseline import compare, load, parse
from gemcheck.errors import InputError
from gemcheck.model import BaselineState, Location, Result, Severity, Status
from gemcheck.schemas import schema
from gemcheck.waivers import EXPIRED_RULE
from tests.conftest import CERTS
from tests.gate_reports import result

CLI = Callable[..., tuple[int, str, str]]
SHORT_KEY = CERTS / "broken" / "short-key.pem"
SHA1 = CERTS / "broken" / "sha1-signature.pem"
EXPIRED = CERTS / "broken" / "expired.pem"
RSA_SMCB = CERTS / "rsa" / "smcb-aut.pem"
ECC_SMCB = CERTS / "ecc" / "smcb-aut.pem"


def report_json(results: list[Result], **extra: Any) -> bytes:
    doc = {
        "schema_version": 1,
        "tool": {"name": "gemcheck", "version": "9.9"},
        "generated_at": "2026-05-01T00:00:00Z",
        "results": [r.as_dict() for r in results],
    }
    doc.update(extra)
    return json.dumps(doc).encode()


def r(
    status: Status = Status.FAIL,
    severity: Severity = Severity.HIGH,
    subject: str = "card",
    file: str = "a.pem",
    index: int = 0,
    message: str = "",
    rule: str = "CRY-KEY-001",
) -> Result:
    return result(
        rule, status, severity, subject, message=message, location=Location(file=file, index=index)
    )


def gate_statuses(current: list[Result], baseline: list[Result]) -> list[Status]:
    return [x.status for x in compare(current, parse(report_json(baseline), "b.json")).gate_view]


# -- matching ------------------------------------------------------------------------------------


def test_known_failures_do_not_gate_and_new_ones_do() -> None:
    base = [r(), r(Status.ERROR, rule="CRY-SIG-001")]
    current = [r(), r(Status.ERROR, rule="CRY-SIG-001"), r(file="b.pem")]
    comparison = compare(current, parse(report_json(base), "b.json"))
    # errors always gate, as with waivers: "could not check" is never accepted
    assert [x.status for x in comparison.gate_view] == [Status.WAIVED, Status.ERROR, Status.FAIL]
    assert (comparison.new, comparison.worse, comparison.known, comparison.fixed) == (1, 0, 1, 0)


@pytest.mark.parametrize(
    ("changed", "gates"),
    [
        ({"file": "other.pem"}, True),  # same rule and subject, another file
        ({"index": 1}, True),  # another certificate in the same bundle
        ({"subject": "other card"}, True),
        ({"rule": "CRY-SIG-001"}, True),
        ({"message": "a changed message"}, False),  # messages may change (dates, counts)
        ({"severity": Severity.MEDIUM}, False),  # lower severity: not worse
        ({"severity": Severity.CRITICAL}, True),  # raised severity: worse
        ({"status": Status.ERROR}, True),  # a failure became an error
    ],
)
def test_key_is_rule_subject_and_location(changed: dict[str, Any], gates: bool) -> None:
    statuses = gate_statuses([r(**changed)], [r()])
    gating = Status.ERROR if changed.get("status") else Status.FAIL
    expected = gating if gates else Status.WAIVED
    assert statuses == [expected]


@pytest.mark.parametrize("before", [Status.PASS, Status.SKIP, Status.WAIVED])
def test_a_result_that_did_not_fail_before_gates(before: Status) -> None:
    comparison = compare([r()], parse(report_json([r(before)]), "b.json"))
    assert comparison.gate_view[0].status is Status.FAIL and comparison.new == 1


def test_worse_is_counted_apart_from_new() -> None:
    comparison = compare([r(severity=Severity.CRITICAL)], parse(report_json([r()]), "b.json"))
    assert (comparison.new, comparison.worse) == (0, 1)
    assert comparison.fixed == 0  # the baseline failure got worse: it is not fixed


def test_results_with_one_key_pair_one_to_one_exact_messages_first() -> None:
    base = [r(message="one"), r(message="two")]
    current = [r(message="two"), r(message="three"), r(message="four")]
    statuses = gate_statuses(current, base)
    assert statuses.count(Status.WAIVED) == 2 and statuses.count(Status.FAIL) == 1
    assert statuses[0] is Status.WAIVED  # the exact match is paired first


def test_fixed_results_are_counted() -> None:
    comparison = compare([r()], parse(report_json([r(), r(file="gone.pem")]), "b.json"))
    assert comparison.fixed == 1 and "1 fixed" in comparison.notice(
        parse(report_json([]), "b.json")
    )


def test_waiver_pseudo_rules_always_gate() -> None:
    expired = result(EXPIRED_RULE, Status.FAIL, Severity.HIGH, "waiver X *")
    assert gate_statuses([expired], [expired]) == [Status.FAIL]


# -- baseline states -------------------------------------------------------------------------------


def states(current: list[Result], baseline: list[Result]) -> list[BaselineState | None]:
    comparison = compare(current, parse(report_json(baseline), "b.json"))
    assert [x.status for x in comparison.results] == [x.status for x in current]
    return [x.baseline_state for x in comparison.results]


def test_failed_results_are_marked_from_the_pairing() -> None:
    new, unchanged, updated = BaselineState.NEW, BaselineState.UNCHANGED, BaselineState.UPDATED
    assert states([r(), r(file="b.pem")], [r()]) == [unchanged, new]
    assert states([r(severity=Severity.CRITICAL)], [r()]) == [updated]  # raised severity
    assert states([r(severity=Severity.LOW)], [r()]) == [unchanged]  # lowered: still known
    # one key, more results than the baseline had: the exact message is paired, the other
    # is worse, not new
    assert states([r(message="two"), r(message="one")], [r(message="one")]) == [updated, unchanged]
    expired = result(EXPIRED_RULE, Status.FAIL, Severity.HIGH, "waiver X *")
    assert states([expired], [expired]) == [new]  # the baseline never hides waiver problems


@pytest.mark.parametrize("status", [Status.PASS, Status.ERROR, Status.SKIP])
def test_only_failed_and_waived_results_are_marked(status: Status) -> None:
    assert states([r(status)], [r()]) == [None]


def test_waived_results_are_marked_but_never_counted() -> None:
    new, unchanged = BaselineState.NEW, BaselineState.UNCHANGED
    waived = [r(Status.WAIVED), r(Status.WAIVED, file="b.pem"), r(Status.WAIVED, file="c.pem")]
    # failed in the baseline, waived there, neither
    baseline = [r(), r(Status.WAIVED, file="b.pem")]
    assert states(waived, baseline) == [unchanged, unchanged, new]
    comparison = compare(waived, parse(report_json(baseline), "b.json"))
    assert (comparison.new, comparison.worse, comparison.known) == (0, 0, 0)
    assert comparison.fixed == 0  # the failed key is still there, waived now
    # a waived key in the baseline never makes a current failure known
    assert states([r(file="b.pem")], baseline) == [new]


def test_counts_are_the_marked_states() -> None:
    current = [r(), r(file="b.pem"), r(severity=Severity.CRITICAL, subject="x"), r(Status.PASS)]
    comparison = compare(current, parse(report_json([r(), r(subject="x")]), "b.json"))
    assert (comparison.new, comparison.worse, comparison.known) == (1, 1, 1)
    assert [x.status for x in comparison.gate_view] == [
        Status.WAIVED,
        Status.FAIL,
        Status.FAIL,
        Status.PASS,
    ]


# -- reading -------------------------------------------------------------------------------------


def test_baseline_from_an_older_version_with_missing_optional_fields() -> None:
    old = {
        "tool": {"name": "gemcheck", "version": "0.1.0"},
        "results": [
            {
                "rule": "CRY-KEY-001",
                "status": "fail",
                "subject": "card",
                "location": {"file": "a.pem", "index": 0},
            },
            {"rule": "CRY-VAL-001", "status": "fail"},  # no subject, location, severity
            {"rule": "CRY-SIG-001", "status": "pass", "future_field": {"x": 1}},
        ],
        "some_removed_section": [],
    }
    baseline = parse(json.dumps(old).encode(), "old.json")
    assert baseline.tool_version == "0.1.0" and baseline.generated_at == ""
    current = [r(), result("CRY-VAL-001", Status.FAIL, Severity.CRITICAL, "-", location=Location())]
    comparison = compare(current, baseline)
    # without a severity in the baseline, the same key counts as known
    assert [x.status for x in comparison.gate_view] == [Status.WAIVED, Status.WAIVED]


def test_signed_report_works_as_baseline() -> None:
    inner = json.loads(report_json([r()]))
    signed = {"gemcheck_signed_report": 1, "report": inner, "signature": {"value": "x"}}
    baseline = parse(json.dumps(signed).encode(), "signed.json")
    assert compare([r()], baseline).known == 1


@pytest.mark.parametrize(
    ("raw", "where", "fragment"),
    [
        (b"", "$", "not a JSON report"),
        (b"{not json", "$", "line 1"),
        (b"\xff\xfe\x00", "$", "not UTF-8"),
        (b"[]", "$", "expected an object"),
        (b'{"tool": {}}', "$.results", "no results list"),
        (b'{"schema_version": 2, "results": []}', "$.schema_version", "not supported"),
        (b'{"results": [1]}', "$.results[0]", "expected a result object"),
        (b'{"results": [{"status": "fail"}]}', "$.results[0].rule", "rule id"),
        (b'{"results": [{"rule": "X", "status": "broken"}]}', "$.results[0].status", "broken"),
        (b'{"results": [{"rule": "X", "status": "fail", "subject": 3}]}', "subject", "string"),
        (b'{"results": [{"rule": "X", "status": "fail", "location": []}]}', "location", "object"),
        (
            b'{"results": [{"rule": "X", "status": "fail", "location": {"index": "1"}}]}',
            "location",
            "index",
        ),
    ],
)
def test_malformed_baselines_are_input_errors(raw: bytes, where: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse(raw, "last-good.json")
    problems = info.value.problems
    assert problems and problems[0].file == "last-good.json"
    assert problems[0].where == where or where in problems[0].where
    assert fragment in problems[0].message


def test_many_bad_results_are_reported_together_but_bounded() -> None:
    raw = json.dumps({"results": [{"rule": 1, "status": "x"}] * 100}).encode()
    with pytest.raises(InputError) as info:
        parse(raw, "b.json")
    assert 2 <= len(info.value.problems) <= 21


# -- the CLI ---------------------------------------------------------------------------------------


def audit(cli: CLI, tmp_path: Path, *certs: Path, extra: tuple[str, ...] = ()) -> tuple[int, Any]:
    out = tmp_path / "report.json"
    args = ["audit", "--profile", "ti-crypto", "--as-of", "2026-06-01", "--report", f"json={out}"]
    for cert in certs:
        args += ["--cert", str(cert)]
    rc, _, err = cli(*args, *extra)
    assert rc in (0, 1), err
    return rc, json.loads(out.read_text(encoding="utf-8"))


def test_cli_baseline_gates_only_on_new_findings(tmp_path: Path, cli: CLI) -> None:
    rc, report = audit(cli, tmp_path, RSA_SMCB, ECC_SMCB)
    assert rc == 1  # the RSA sunset fails CRY-KEY-001
    last_good = tmp_path / "last-good.json"
    last_good.write_text(json.dumps(report), encoding="utf-8")
    rc, again = audit(cli, tmp_path, RSA_SMCB, ECC_SMCB, extra=("--baseline", str(last_good)))
    assert rc == 0, again["gate"]
    assert again["summary"] == report["summary"]  # the findings are all still there
    assert any("1 known failed result(s) do not" in n for n in again["notices"])
    # the short key has the same rule and the same subject, in another file: it is new
    rc, worse = audit(
        cli, tmp_path, RSA_SMCB, ECC_SMCB, SHORT_KEY, extra=("--baseline", str(last_good))
    )
    assert rc == 1
    assert any(
        "short-key.pem" in reason or "CRY-KEY-001" in reason for reason in worse["gate"]["reasons"]
    )


def test_cli_reports_mark_failed_results_against_the_baseline(tmp_path: Path, cli: CLI) -> None:
    _, base = audit(cli, tmp_path, RSA_SMCB, SHA1, EXPIRED)
    for res in base["results"]:  # the baseline rated SHA-1 signatures lower than today
        if res["rule"] == "CRY-SIG-001" and res["status"] == "fail":
            res["severity"] = "medium"
    last_good = tmp_path / "last-good.json"
    last_good.write_text(json.dumps(base), encoding="utf-8")
    sarif, text = tmp_path / "report.sarif", tmp_path / "report.txt"
    reports = ("--report", f"sarif={sarif}", "--report", f"text={text}")
    rc, report = audit(
        cli, tmp_path, RSA_SMCB, SHA1, SHORT_KEY, extra=("--baseline", str(last_good), *reports)
    )
    assert rc == 1  # the new and the worse failure gate
    jsonschema.Draft202012Validator(schema("report-1")).validate(report)
    expected = {
        ("CRY-KEY-001", "smcb-aut.pem"): "unchanged",
        ("CRY-KEY-001", "sha1-signature.pem"): "unchanged",
        ("CRY-SIG-001", "sha1-signature.pem"): "updated",  # high now, medium in the baseline
        ("CRY-KEY-001", "short-key.pem"): "new",
    }
    marked = {
        (x["rule"], Path(x["location"]["file"]).name): x.get("baseline_state")
        for x in report["results"]
        if x["status"] == "fail"
    }
    assert marked == expected
    assert all("baseline_state" not in x for x in report["results"] if x["status"] != "fail")
    assert any("1 new and 1 worse" in n and "1 fixed" in n for n in report["notices"])
    runs = json.loads(sarif.read_text(encoding="utf-8"))["runs"]
    in_sarif = {
        (x["ruleId"], x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): x[
            "baselineState"
        ]
        for x in runs[0]["results"]
    }
    assert {(rule, uri.rsplit("/", 1)[-1]): s for (rule, uri), s in in_sarif.items()} == expected
    # the text report marks what gates; the known failures stay unmarked
    lines = text.read_text(encoding="utf-8").splitlines()
    labels = [m[1] for m in map(re.compile(r" {7}(fail[^:]*): ").match, lines) if m]
    assert labels == ["fail", "fail (new)", "fail", "fail (worse)"]
    assert any(x.startswith("       fail (new): Praxis") and "short-key" in x for x in lines)
    # without --baseline no report carries a state; the findings are the same
    _, plain = audit(cli, tmp_path, RSA_SMCB, SHA1, SHORT_KEY, extra=reports)
    for x in report["results"]:
        x.pop("baseline_state", None)
    assert plain["results"] == report["results"]
    assert "baselineState" not in sarif.read_text(encoding="utf-8")
    assert "(new)" not in text.read_text(encoding="utf-8")


def test_cli_baseline_leaves_min_score_absolute(tmp_path: Path, cli: CLI) -> None:
    _, report = audit(cli, tmp_path, RSA_SMCB)
    base = tmp_path / "base.json"
    base.write_text(json.dumps(report), encoding="utf-8")
    rc, again = audit(cli, tmp_path, RSA_SMCB, extra=("--baseline", str(base), "--min-score", "99"))
    assert rc == 1 and any("below the minimum" in x for x in again["gate"]["reasons"])


def test_cli_malformed_baseline_exits_2_naming_the_file(tmp_path: Path, cli: CLI) -> None:
    bad = tmp_path / "broken baseline.json"
    bad.write_text('{"results": "nope"}', encoding="utf-8")
    rc, _, err = cli("audit", "--cert", ECC_SMCB, "--baseline", bad)
    assert rc == 2 and str(bad) in err and "results" in err
    rc, _, err = cli("audit", "--cert", ECC_SMCB, "--baseline", tmp_path / "missing.json")
    assert rc == 2 and "missing.json" in err and "cannot read" in err


def test_load_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(report_json([r()]))
    assert load(path).file == str(path)
