"""Engine and scoring: fail-closed semantics, effective dates, the score formula, the gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from gemcheck.audit import AuditOptions, plan, report_from_evidence
from gemcheck.collect.certs import load_file
from gemcheck.engine import evaluate
from gemcheck.evidence import EvidenceSet
from gemcheck.model import DataRoom, Finding, Location, Result, Severity, Status
from gemcheck.profile import load
from gemcheck.registry import Context, load_registry
from gemcheck.scoring import gate, score
from gemcheck.site import build_site
from tests.conftest import AS_OF, CERTS

REGISTRY = load_registry()


def certs(*names: str) -> EvidenceSet:
    return EvidenceSet(ev for n in names for ev in load_file(CERTS / n, CERTS))


def run(
    profile_text: str, evidence: EvidenceSet, tmp_path: Path, as_of: dt.date = AS_OF
) -> list[Result]:
    path = tmp_path / "p.yaml"
    path.write_text(profile_text, encoding="utf-8")
    _, rules = load([str(path)], REGISTRY)
    return evaluate(rules, evidence, Context(as_of=as_of, evidence=evidence))


PROFILE = """\
id: t
version: "1"
title: T
rules:
  - id: T-VAL-001
    check: cert.validity
    severity: critical
"""


def test_unreadable_evidence_is_an_error_result_and_the_rest_is_audited(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB")
    evidence = EvidenceSet(
        [*load_file(tmp_path / "junk.pem", tmp_path), *certs("ecc/smcb-aut.pem")]
    )
    results = run(PROFILE, evidence, tmp_path)
    assert sorted(r.status.value for r in results) == ["error", "pass"]
    error = next(r for r in results if r.status is Status.ERROR)
    assert error.location.file == "junk.pem" and "truncated PEM" in error.message


def test_crashing_check_is_an_error_never_a_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    _, rules = load([str(path)], REGISTRY)

    def boom(ev: object, params: object, ctx: object) -> Iterator[Finding]:
        raise RuntimeError("kaputt")

    import dataclasses

    crashed = [dataclasses.replace(r, check=dataclasses.replace(r.check, func=boom)) for r in rules]
    evidence = certs("ecc/smcb-aut.pem")
    results = evaluate(crashed, evidence, Context(as_of=AS_OF, evidence=evidence))
    assert [(r.status, r.message) for r in results] == [
        (Status.ERROR, "check crashed: RuntimeError: kaputt")
    ]


def test_rule_without_evidence_skips_and_an_empty_audit_fails(tmp_path: Path) -> None:
    results = run(PROFILE, EvidenceSet(), tmp_path)
    assert [(r.status, r.subject) for r in results] == [(Status.SKIP, "-")]
    verdict, g = gate(results, score(results, {}), DataRoom(), fail_on=Severity.HIGH, min_score=0)
    assert verdict == "fail" and "nothing was evaluated" in g.reasons[0]


def test_effective_window_is_inclusive_and_evaluated_at_as_of(tmp_path: Path) -> None:
    text = PROFILE + "    effective_from: 2026-07-01\n    effective_until: 2026-12-31\n"
    evidence = certs("ecc/smcb-aut.pem")
    assert run(text, evidence, tmp_path, dt.date(2026, 6, 30))[0].status is Status.SKIP
    assert run(text, evidence, tmp_path, dt.date(2026, 7, 1))[0].status is Status.PASS
    assert run(text, evidence, tmp_path, dt.date(2026, 12, 31))[0].status is Status.PASS
    assert run(text, evidence, tmp_path, dt.date(2027, 1, 1))[0].status is Status.SKIP


def test_match_selects_evidence_by_facet(tmp_path: Path) -> None:
    text = PROFILE + "    match: {key: rsa}\n"
    results = run(text, certs("ecc/smcb-aut.pem", "rsa/smcb-aut.pem"), tmp_path)
    assert [r.location.file for r in results] == ["rsa/smcb-aut.pem"]
    text = PROFILE + "    match: {file: 'ecc/*'}\n"
    results = run(text, certs("ecc/smcb-aut.pem", "rsa/smcb-aut.pem"), tmp_path)
    assert [r.location.file for r in results] == ["ecc/smcb-aut.pem"]


def _result(rule: str, status: Status, severity: Severity, domain: str = "cert") -> Result:
    return Result(rule, "c.x", domain, "s", status, severity, "m", location=Location("f"))


def test_score_formula_matches_the_documented_example() -> None:
    # critical rule: 1 of 2 subjects pass -> 0.5, weight 10
    # medium rule: 1 of 1 pass -> 1.0, weight 3;  low rule in tls: error -> 0.0, weight 1
    # info rule: weight 0, ignored;  skip: not evaluated
    results = [
        _result("A", Status.PASS, Severity.CRITICAL),
        _result("A", Status.FAIL, Severity.CRITICAL),
        _result("B", Status.PASS, Severity.MEDIUM),
        _result("C", Status.ERROR, Severity.LOW, "tls"),
        _result("D", Status.FAIL, Severity.INFO),
        _result("E", Status.SKIP, Severity.HIGH),
    ]
    s = score(results, {})
    assert s.by_domain == {"cert": round(100 * (10 * 0.5 + 3 * 1.0) / 13, 1), "tls": 0.0}
    assert s.overall == round(100 * 8 / 14, 1)
    assert score(results, {"A": 2.0}).overall == round(100 * (20 * 0.5 + 3) / 24, 1)


def test_waived_counts_as_pass_only_in_the_waived_score() -> None:
    results = [_result("A", Status.WAIVED, Severity.HIGH), _result("A", Status.PASS, Severity.HIGH)]
    assert score(results, {}).overall == 100.0
    assert score(results, {}, count_waived_as_pass=False).overall == 50.0


@pytest.mark.parametrize(
    ("results", "fail_on", "min_score", "verdict"),
    [
        (
            [_result("A", Status.FAIL, Severity.MEDIUM), _result("B", Status.PASS, Severity.HIGH)],
            Severity.HIGH,
            0,
            "pass",
        ),
        ([_result("A", Status.FAIL, Severity.MEDIUM)], Severity.MEDIUM, 0, "fail"),
        ([_result("A", Status.ERROR, Severity.LOW)], Severity.CRITICAL, 0, "fail"),
        (
            [_result("A", Status.FAIL, Severity.LOW), _result("B", Status.PASS, Severity.HIGH)],
            Severity.HIGH,
            90,
            "fail",
        ),
        (
            [_result("A", Status.FAIL, Severity.LOW), _result("B", Status.PASS, Severity.HIGH)],
            Severity.HIGH,
            80,
            "pass",
        ),
    ],
)
def test_gate(results: list[Result], fail_on: Severity, min_score: float, verdict: str) -> None:
    assert (
        gate(results, score(results, {}), DataRoom(), fail_on=fail_on, min_score=min_score)[0]
        == verdict
    )


def test_breached_data_room_fails_the_gate() -> None:
    results = [_result("A", Status.PASS, Severity.HIGH)]
    verdict, g = gate(
        results,
        score(results, {}),
        DataRoom(verdict="breached"),
        fail_on=Severity.HIGH,
        min_score=0,
    )
    assert verdict == "fail" and "breached" in g.reasons[0]


def test_report_is_reproducible_from_stored_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")
    site = build_site({"site": "t"}, CERTS, "t.yaml")
    p = plan(site, AuditOptions(profiles=("ti-crypto",), as_of=AS_OF))
    evidence = certs("ecc/smcb-aut.pem", "broken/short-key.pem")
    first, second = report_from_evidence(p, evidence), report_from_evidence(p, evidence)
    assert first == second
    assert first.verdict == "fail" and first.summary["fail"] == 1
    assert [r.location.file for r in first.results if r.status is Status.FAIL] == [
        "broken/short-key.pem"
    ]


def test_collection_gathers_what_checks_and_collectors_read() -> None:
    from gemcheck.collect import _chosen
    from gemcheck.engine import needed_evidence
    from gemcheck.evidence.trust import OcspEvidence, TrustAnchorEvidence, TslEvidence

    _, rules = load(["ti-pki"], REGISTRY)
    chain_only = [r for r in rules if r.check.id == "cert.chain"]
    needed = needed_evidence(chain_only)
    assert {TslEvidence, TrustAnchorEvidence} <= needed  # read by cert.chain, judged by no rule
    names = [c.name for c in _chosen((OcspEvidence,))]
    # the OCSP collector builds on certificates, TSLs and anchors: they run first, once
    assert names == ["certificates", "tsl", "trust-anchors", "ocsp", "tls"]
