"""SARIF 2.1.0: every log validates against the official schema (../shared/schemas), and the
mapping (rules, levels, suppressions, notifications, locations, baseline states) is as
documented."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gemcheck.audit import AuditOptions
from gemcheck.baseline import parse
from gemcheck.model import Report, Severity, Status
from gemcheck.render import FORMATS, render
from gemcheck.waivers import parse as parse_waivers
from tests.conftest import AS_OF, CERTS
from tests.gate_reports import QUOTES, XSS_SCRIPT, cert_report, result, sample_report

URI = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")  # RFC 3986 characters only


@pytest.fixture
def validate(shared: Path) -> Callable[[Report], dict[str, Any]]:
    schema = json.loads((shared / "schemas" / "sarif-schema-2.1.0.json").read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)  # the draft the file declares (draft-04)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)

    def check(report: Report) -> dict[str, Any]:
        text = render(report, "sarif")
        doc: dict[str, Any] = json.loads(text)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
        for uri in re.findall(r'"uri": "([^"]*)"', text):
            assert URI.fullmatch(uri), uri
        return doc

    return check


def run_of(doc: dict[str, Any]) -> dict[str, Any]:
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run: dict[str, Any] = doc["runs"][0]
    return run


def test_registered() -> None:
    assert FORMATS["sarif"] == "gemcheck.render.sarif"


def test_cert_audit_validates_and_maps(validate: Callable[[Report], dict[str, Any]]) -> None:
    report = cert_report()
    run = run_of(validate(report))
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({r.rule for r in report.results})
    key = next(r for r in rules if r["id"] == "CRY-KEY-001")
    # full description: the rule title and the check's docstring
    assert key["fullDescription"]["text"].startswith(key["shortDescription"]["text"])
    assert "brainpoolP256r1 (gemSpec_Krypt Tab_KRYPT_002a)" in key["fullDescription"]["text"]
    assert key["help"]["text"].startswith("Remediation: Replace the certificate")
    assert "References: gemSpec_Krypt Tab_KRYPT_002a" in key["help"]["text"]
    assert "gemSpec_Kon A_21811" in key["properties"]["tags"]
    assert key["properties"]["security-severity"] == "8.0"
    assert key["defaultConfiguration"]["level"] == "error"
    fails = [r for r in report.results if r.status is Status.FAIL]
    assert len(run["results"]) == len(fails)  # pass and skip are omitted
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["kind"] == "fail"
    first = run["results"][0]
    physical = first["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uriBaseId"] == "SITEROOT"
    assert physical["artifactLocation"]["uri"].endswith(".pem")
    assert first["locations"][0]["properties"]["index"] == 0
    # "could not check" is a tool execution notification, not a finding
    invocation = run["invocations"][0]
    errors = [r for r in report.results if r.status is Status.ERROR]
    assert errors and len(invocation["toolExecutionNotifications"]) == len(errors)
    assert invocation["executionSuccessful"] is False
    assert invocation["exitCode"] == 1 and invocation["exitCodeDescription"].startswith("gate")
    note = invocation["toolExecutionNotifications"][0]
    assert (
        note["level"] == "error"
        and rules[note["associatedRule"]["index"]]["id"] == (note["associatedRule"]["id"])
    )


def test_levels_suppressions_and_locations(validate: Callable[[Report], dict[str, Any]]) -> None:
    run = run_of(validate(sample_report()))
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for res in run["results"]:
        by_rule.setdefault(res["ruleId"], []).append(res)
    expected = {
        "critical": "error",
        "high": "error",
        "medium": "warning",
        "low": "note",
        "info": "note",
    }
    for res in run["results"]:
        assert res["level"] == expected[res["properties"]["severity"]]
    waived = by_rule["SAM-WAI-001"][0]
    (suppression,) = waived["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"].startswith("replacement card ordered")
    assert suppression["properties"]["expires"] == "2026-12-31"
    endpoint = by_rule["TLS-VER-001"][0]["locations"][0]
    assert "physicalLocation" not in endpoint
    assert endpoint["logicalLocations"] == [
        {
            "name": "https://konnektor.praxis.local",
            "fullyQualifiedName": "https://konnektor.praxis.local:443",
            "kind": "resource",
        }
    ]
    host = by_rule["NET-PATH-001"][0]["locations"][0]
    assert host["physicalLocation"]["region"] == {"startLine": 12}
    assert host["logicalLocations"] == [{"name": "pvs-01", "kind": "object"}]
    # notices become configuration notifications; the data room rides in run properties
    invocation = run["invocations"][0]
    assert invocation["toolConfigurationNotifications"][0]["message"]["text"].startswith("plugin")
    assert run["properties"]["dataRoom"]["verdict"] == "breached"
    assert run["properties"]["scoreWithoutWaivers"]["overall"] == 58.25
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "KON-SDS-001" in rule_ids  # a rule that only passed is still declared
    counts = run["tool"]["driver"]["rules"][rule_ids.index("KON-SDS-001")]["properties"]
    assert counts["gemcheck"]["results"] == {"pass": 1}


def test_hostile_strings_survive_as_data(validate: Callable[[Report], dict[str, Any]]) -> None:
    doc = validate(sample_report())
    hostile = [r for r in run_of(doc)["results"] if r["ruleId"] == "HOS-STR-001"]
    assert len(hostile) == 6
    subjects = {r["properties"]["subject"] for r in hostile}
    assert {XSS_SCRIPT, QUOTES} <= subjects
    assert f"{XSS_SCRIPT}: {XSS_SCRIPT}" in {r["message"]["text"] for r in hostile}
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in hostile]
    assert all(" " not in u and "<" not in u for u in uris)
    raw = render(sample_report(), "sarif")
    raw.encode("utf-8")  # lone surrogates were escaped, the text is valid UTF-8
    assert "\\ud800" in raw


def test_absolute_paths_are_file_uris(validate: Callable[[Report], dict[str, Any]]) -> None:
    from gemcheck.model import Location

    r = result(
        "CRY-KEY-001",
        Status.FAIL,
        Severity.HIGH,
        "x",
        location=Location(file="/var/lib/praxis certs/a#1.pem"),
    )
    run = run_of(validate(sample_report([r])))
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": "file:///var/lib/praxis%20certs/a%231.pem"}


def test_clean_and_empty_runs(validate: Callable[[Report], dict[str, Any]]) -> None:
    clean = cert_report((CERTS / "ecc" / "smcb-aut.pem",))
    run = run_of(validate(clean))
    assert run["results"] == [] and run["invocations"][0]["executionSuccessful"] is True
    assert run["invocations"][0]["exitCode"] == 0
    empty = dataclasses.replace(sample_report([]), notices=())
    run = run_of(validate(empty))
    assert run["tool"]["driver"]["rules"] == [] and run["results"] == []


def test_fingerprints_follow_the_baseline_key(validate: Callable[[Report], dict[str, Any]]) -> None:
    a = run_of(validate(sample_report()))["results"]
    b = run_of(validate(sample_report([*reversed(sample_report().results)])))["results"]
    prints = {r["partialFingerprints"]["gemcheck/v1"] for r in a}
    assert prints == {r["partialFingerprints"]["gemcheck/v1"] for r in b}
    assert len(prints) == len(a)  # every sample result has its own key


def test_baseline_states(validate: Callable[[Report], dict[str, Any]]) -> None:
    last_good = parse(render(cert_report((CERTS / "rsa",)), "json").encode(), "last-good.json")
    options = AuditOptions(profiles=("ti-crypto",), as_of=AS_OF, baseline=last_good)
    report = cert_report((CERTS / "rsa", CERTS / "broken"), options=options)
    results = run_of(validate(report))["results"]
    fails = [r for r in report.results if r.status is Status.FAIL]
    assert len(results) == len(fails)
    for res, r in zip(results, fails, strict=True):
        assert res["ruleId"] == r.rule and r.baseline_state is not None
        assert res["baselineState"] == r.baseline_state.value
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert res["baselineState"] == ("unchanged" if uri.startswith("rsa/") else "new"), uri
    # without a baseline, no result carries a state
    assert all("baselineState" not in res for res in run_of(validate(cert_report()))["results"])


def test_baseline_states_cover_waived_results(
    validate: Callable[[Report], dict[str, Any]],
) -> None:
    """SARIF 2.1.0 3.27.24: once one result has a baselineState, every result has one."""
    waivers = parse_waivers(
        b"version: 1\nwaivers:\n  - rule: CRY-KEY-001\n    subject: '*'\n"
        b"    location: 'rsa/*'\n    justification: RSA card until the G2.1 card arrives\n"
        b"    owner: it@praxis.example\n    approver: dr.mueller@praxis.example\n"
        b"    expires: 2026-12-31\n",
        "waivers.yaml",
    )
    last_good = parse(render(cert_report((CERTS / "rsa",)), "json").encode(), "last-good.json")
    options = AuditOptions(
        profiles=("ti-crypto",), as_of=AS_OF, baseline=last_good, waivers=waivers
    )
    report = cert_report((CERTS / "rsa", CERTS / "broken"), options=options)
    results = run_of(validate(report))["results"]
    suppressed = [res for res in results if res.get("suppressions")]
    assert suppressed and all(res["baselineState"] == "unchanged" for res in suppressed)
    assert all("baselineState" in res for res in results)


def test_cli_writes_sarif(
    tmp_path: Path,
    cli: Callable[..., tuple[int, str, str]],
    validate: Callable[[Report], dict[str, Any]],
) -> None:
    out = tmp_path / "gemcheck.sarif"
    rc, stdout, err = cli(
        "audit",
        "--profile",
        "ti-crypto",
        "--cert",
        CERTS / "broken",
        "--as-of",
        "2026-06-01",
        "--report",
        f"sarif={out}",
    )
    assert rc == 1 and "Verdict: FAIL" in stdout, err
    doc = json.loads(out.read_text("utf-8"))
    assert doc["runs"][0]["results"]
