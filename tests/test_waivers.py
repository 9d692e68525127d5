"""Waivers: file format, matching, expiry edges (day before, on, after), unused waivers,
the score with and without waivers, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from gemcheck.audit import AuditOptions
from gemcheck.errors import InputError
from gemcheck.model import Location, Result, Severity, Status
from gemcheck.schemas import schema
from gemcheck.waivers import EXPIRED_RULE, UNUSED_RULE, WaiverSet, apply, load, parse
from tests.conftest import AS_OF, CERTS
from tests.gate_reports import cert_report, result

RSA_SMCB = "Praxis Dr. Gemcheck TEST-ONLY"

WAIVERS = """\
version: 1
waivers:
  # the RSA SMC-B stays until the replacement card arrives
  - rule: CRY-KEY-001
    subject: "Praxis Dr. Gemcheck*"
    location: "rsa/*"
    justification: RSA card until the G2.1 replacement arrives
    owner: it@praxis.example
    approver: dr.mueller@praxis.example
    expires: {expires}
    ticket: RISK-42
"""


def write(tmp_path: Path, text: str, name: str = "waivers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fail(
    rule: str = "CRY-KEY-001", subject: str = "card", file: str = "rsa/smcb-aut.pem"
) -> Result:
    return result(rule, Status.FAIL, Severity.HIGH, subject, location=Location(file=file, index=0))


# -- the file ------------------------------------------------------------------------------------


def test_parse_records_lines_and_fields(tmp_path: Path) -> None:
    ws = load(write(tmp_path, WAIVERS.format(expires="2026-06-01")))
    (w,) = ws.waivers
    assert (w.rule, w.subject, w.location, w.ticket) == (
        "CRY-KEY-001",
        "Praxis Dr. Gemcheck*",
        "rsa/*",
        "RISK-42",
    )
    assert w.expires == dt.date(2026, 6, 1)
    assert w.line == 4 and w.where.endswith("waivers.yaml:4")


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("waivers:\n  - rule: X-1\n    subject: '*'\n", "$.waivers[0]", "justification"),
        (WAIVERS.format(expires="2026-02-30"), "line 10", "not a valid date"),
        (WAIVERS.format(expires="'2026-02-30'"), "$.waivers[0].expires", "date"),
        (WAIVERS.format(expires="2026-06-01T10:00:00Z"), "$.waivers[0].expires", ""),
        (WAIVERS.format(expires="2026-06-01") + "    extra: 1\n", "$.waivers[0]", "extra"),
        (WAIVERS.format(expires="2026-06-01").replace("CRY-KEY-001", EXPIRED_RULE), "rule", ""),
        (WAIVERS.format(expires="2026-06-01").replace("RSA card", "' '  #"), "justification", ""),
        ("", "$", "empty"),
        ("- just a list\n", "$", "object"),
        ("waivers: [\n", "line", "YAML"),
    ],
)
def test_bad_files_are_input_errors_naming_file_and_place(
    tmp_path: Path, text: str, where: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load(path)
    problems = info.value.problems
    assert problems and all(p.file == str(path) for p in problems)
    text_of = " ".join(f"{p.where} {p.message}" for p in problems)
    assert where in text_of and fragment in text_of


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load(tmp_path / "missing.yaml")


# -- applying -----------------------------------------------------------------------------------


def waiver_set(expires: str = "2026-06-01", **changes: str) -> WaiverSet:
    text = WAIVERS.format(expires=expires)
    for old, new in changes.items():
        text = text.replace(old, new)
    return parse(text.encode(), "waivers.yaml")


@pytest.mark.parametrize(
    ("as_of", "applies"),
    [(dt.date(2026, 5, 31), True), (dt.date(2026, 6, 1), True), (dt.date(2026, 6, 2), False)],
    ids=["day-before", "on-the-day", "day-after"],
)
def test_expiry_is_inclusive_at_as_of(as_of: dt.date, applies: bool) -> None:
    target = fail(subject=RSA_SMCB)
    applied = apply([target], waiver_set("2026-06-01"), as_of)
    first = applied.results[0]
    if applies:
        assert first.status is Status.WAIVED and len(applied.results) == 1
        assert first.waiver is not None and first.waiver["original_status"] == "fail"
        assert first.waiver["expires"] == "2026-06-01" and first.waiver["ticket"] == "RISK-42"
        assert first.waiver["source"] == "waivers.yaml:4"
        assert (first.rule, first.subject, first.message) == (
            target.rule,
            target.subject,
            target.message,
        )
    else:
        assert first.status is Status.FAIL
        expired = applied.results[1]
        assert expired.rule == EXPIRED_RULE and expired.status is Status.FAIL
        assert expired.severity is Severity.HIGH
        assert "expired on 2026-06-01" in expired.message
        assert expired.location == Location(file="waivers.yaml", line=4)
        assert applied.expired == 1


def test_only_fail_results_are_waived() -> None:
    results = [
        result("CRY-KEY-001", s, Severity.HIGH, RSA_SMCB, location=Location(file="rsa/a.pem"))
        for s in (Status.PASS, Status.ERROR, Status.SKIP)
    ]
    applied = apply(results, waiver_set(), AS_OF)
    assert [r.status for r in applied.results[:3]] == [Status.PASS, Status.ERROR, Status.SKIP]
    unused = applied.results[3]
    assert unused.rule == UNUSED_RULE and "did not fail" in unused.message


def test_subject_and_location_globs_must_both_match() -> None:
    results = [
        fail(subject=RSA_SMCB, file="rsa/smcb-aut.pem"),
        fail(subject=RSA_SMCB, file="broken/short-key.pem"),  # another file: not waived
        fail(subject="Other Praxis", file="rsa/x.pem"),  # another subject: not waived
    ]
    applied = apply(results, waiver_set(), AS_OF)
    assert [r.status for r in applied.results] == [Status.WAIVED, Status.FAIL, Status.FAIL]
    assert applied.waived == 1 and applied.unused == 0


def test_location_glob_matches_uris() -> None:
    endpoint = result(
        "TLS-VER-001",
        Status.FAIL,
        Severity.HIGH,
        "konnektor",
        domain="tls",
        location=Location(uri="https://konnektor.praxis.local:443"),
    )
    ws = waiver_set(
        **{
            "CRY-KEY-001": "TLS-VER-001",
            '"Praxis Dr. Gemcheck*"': "'*'",
            '"rsa/*"': "'https://konnektor*'",
        }
    )
    applied = apply([endpoint], ws, AS_OF)
    assert applied.results[0].status is Status.WAIVED


@pytest.mark.parametrize(
    ("results", "reason"),
    [
        ([], "no rule CRY-KEY-001 took part"),
        ([fail(subject="Someone else")], "no result of CRY-KEY-001 has a subject matching"),
    ],
)
def test_unused_waiver_is_reported(results: list[Result], reason: str) -> None:
    applied = apply(results, waiver_set(), AS_OF)
    unused = applied.results[-1]
    assert unused.rule == UNUSED_RULE and unused.severity is Severity.LOW
    assert reason in unused.message and unused.status is Status.FAIL
    assert applied.unused == 1


def test_expired_waiver_is_reported_once_even_when_it_matches_nothing() -> None:
    applied = apply([], waiver_set("2020-01-01"), AS_OF)
    assert [r.rule for r in applied.results] == [EXPIRED_RULE]


# -- in the audit --------------------------------------------------------------------------------


def test_audit_scores_with_and_without_waivers(tmp_path: Path) -> None:
    ws = load(write(tmp_path, WAIVERS.format(expires="2026-12-31")))
    plain = cert_report((CERTS / "rsa", CERTS / "ecc" / "smcb-aut.pem"))
    waived = cert_report(
        (CERTS / "rsa", CERTS / "ecc" / "smcb-aut.pem"),
        options=AuditOptions(profiles=("ti-crypto",), as_of=AS_OF, waivers=ws),
    )
    assert plain.score_without_waivers is None
    assert waived.summary["waived"] == 1
    assert waived.score_without_waivers is not None
    assert waived.score_without_waivers.overall == plain.score.overall
    assert waived.score.overall > waived.score_without_waivers.overall
    assert any("1 result(s) waived" in n for n in waived.notices)
    jsonschema.validate(waived.as_dict(), schema("report-1"))


def test_pseudo_rules_do_not_move_the_score(tmp_path: Path) -> None:
    ws = load(write(tmp_path, WAIVERS.format(expires="2020-01-01")))
    plain = cert_report((CERTS / "ecc" / "smcb-aut.pem",))
    expired = cert_report(
        (CERTS / "ecc" / "smcb-aut.pem",),
        options=AuditOptions(profiles=("ti-crypto",), as_of=AS_OF, waivers=ws),
    )
    assert plain.verdict == "pass" and expired.verdict == "fail"
    assert expired.score == plain.score
    assert "waiver" not in expired.score.by_domain
    assert any(EXPIRED_RULE in reason for reason in expired.gate.reasons)


def test_unused_waiver_alone_does_not_count_as_evaluated(tmp_path: Path) -> None:
    ws = load(write(tmp_path, WAIVERS.format(expires="2026-12-31")))
    report = cert_report((), options=AuditOptions(profiles=("ti-crypto",), as_of=AS_OF, waivers=ws))
    assert report.verdict == "fail"
    assert any("nothing was evaluated" in reason for reason in report.gate.reasons)


CLI = Callable[..., tuple[int, str, str]]


@pytest.mark.parametrize(
    ("as_of", "code"), [("2026-12-31", 0), ("2027-01-01", 1)], ids=["valid", "expired"]
)
def test_cli_waivers_change_the_gate(tmp_path: Path, cli: CLI, as_of: str, code: int) -> None:
    # flags give absolute paths, so the location glob needs a leading "*"
    path = write(tmp_path, WAIVERS.format(expires="2026-12-31").replace('"rsa/*"', '"*/rsa/*"'))
    rsa = CERTS / "rsa" / "smcb-aut.pem"
    args = ("audit", "--profile", "ti-crypto", "--cert", rsa, "--as-of", as_of, "--format", "json")
    assert cli(*args)[0] == 1  # RSA after the sunset fails without the waiver
    rc, out, err = cli(*args, "--waivers", path)
    report = json.loads(out)
    assert rc == code, err
    jsonschema.validate(report, schema("report-1"))
    if code == 0:
        waived = [r for r in report["results"] if r["status"] == "waived"]
        assert len(waived) == 1 and waived[0]["waiver"]["original_status"] == "fail"
        assert report["score"]["overall"] > report["score_without_waivers"]["overall"]
    else:
        assert report["summary"]["waived"] == 0
        assert any(r["rule"] == EXPIRED_RULE for r in report["results"])


def test_cli_bad_waiver_file_exits_2_naming_it(tmp_path: Path, cli: CLI) -> None:
    path = write(tmp_path, "waivers:\n  - rule: CRY-KEY-001\n")
    rc, _, err = cli("audit", "--cert", CERTS / "ecc" / "smcb-aut.pem", "--waivers", path)
    assert rc == 2 and str(path) in err and "justification" in err
