"""The model's data is frozen: results are built once and never changed, only replaced."""

from __future__ import annotations

import dataclasses

import pytest

from gemcheck.model import EMPTY, NOWHERE, Finding, Location, Result, Severity, Status


def _result() -> Result:
    return Result("R-1", "cert.x", "cert", "card", Status.FAIL, Severity.HIGH, "bad")


def test_result_defaults_and_keywords() -> None:
    r = _result()
    assert (r.references, r.location, r.evidence, r.obligation) == ((), NOWHERE, EMPTY, None)
    assert (r.title, r.remediation, r.waiver, r.baseline_state) == ("", "", None, None)
    by_keyword = Result(
        rule="R-1",
        check="cert.x",
        domain="cert",
        subject="card",
        status=Status.FAIL,
        severity=Severity.HIGH,
        message="bad",
    )
    assert by_keyword == r


@pytest.mark.parametrize("value", [_result(), Finding.ok("fine"), Location(file="a.pem")])
def test_frozen(value: object) -> None:
    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, "changed")


def test_replace_builds_a_new_result() -> None:
    r = _result()
    waived = dataclasses.replace(r, status=Status.WAIVED, location=Location(file="a.pem"))
    assert waived.status is Status.WAIVED and waived.location.file == "a.pem"
    assert r.status is Status.FAIL and waived.message == r.message
    assert [f.name for f in dataclasses.fields(Result)][:3] == ["rule", "check", "domain"]
