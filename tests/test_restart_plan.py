"""The restart plan: waves, gates per service, dependencies, TI status, errors in the plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

# the example's RSA SMC-B (praxis-sued) is past its type's RSA end date (2026-06-30) then
FLEET_AS_OF = "2026-07-01"

FLEET = REPO / "gemcheck" / "examples" / "fleet"


@pytest.fixture(scope="module")
def fleet_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gemcheck.cli import main

    tmp = tmp_path_factory.mktemp("fleet")
    out = tmp / "fleet.json"
    main(
        [
            "audit",
            "--inventory",
            str(FLEET / "fleet.yaml"),
            "--as-of",
            FLEET_AS_OF,
            "--format",
            "json",
            "-o",
            str(out),
            "--site-reports",
            str(tmp / "r"),
            "--jobs",
            "1",
        ]
    )
    return out


def plan_json(cli, plan: Path, report: Path, *extra: str) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    code, out, err = cli("restart-plan", plan, "--reports", report, "--format", "json", *extra)
    assert code in (0, 1), err
    return code, json.loads(out)


def states(data: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["status"] for w in data["waves"] for s in w["services"]}


def test_example_plan_waves(cli, fleet_report: Path) -> None:  # type: ignore[no-untyped-def]
    code, data = plan_json(
        cli, FLEET / "plan.yaml", fleet_report, "--ti-status", FLEET / "ti-status.yaml"
    )
    assert code == 1
    assert states(data) == {
        "vsdm": "ready",
        "eau": "ready",
        "epa": "blocked",
        "insurance": "ready",
        "payments": "blocked",
    }
    epa = next(s for w in data["waves"] for s in w["services"] if s["id"] == "epa")
    assert {b["site"] for b in epa["blocking"]} == {"praxis-sued"}
    assert any(b.get("rule") == "PKI-RSA-001" for b in epa["blocking"])
    assert epa["ti_down"] == ["Beispiel ePA-Aktensystem (CI-9000002) is down: Wartung bis 12:00"]
    assert [w["ready"] for w in data["waves"]] == [False, True, False]


def test_wave_gate_exit_codes(cli, fleet_report: Path) -> None:  # type: ignore[no-untyped-def]
    args = (
        "restart-plan",
        FLEET / "plan.yaml",
        "--reports",
        fleet_report,
        "--ti-status",
        FLEET / "ti-status.yaml",
    )
    assert cli(*args, "--wave", "2")[0] == 0
    assert cli(*args, "--wave", "1")[0] == 1
    code, _, err = cli(*args, "--wave", "9")
    assert code == 2 and "no wave 9" in err


def write_plan(tmp_path: Path, services: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text("plan: T\nservices:\n" + services)
    return path


def test_service_waits_for_a_down_ti_service(cli, fleet_report: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = write_plan(
        tmp_path,
        """\
  - {id: a, priority: 1, sites: [praxis-nord], ti_services: [{pdt: PDT43}], gate: {data_room: any}}
  - {id: b, priority: 1, depends_on: [a], sites: [mvz-west], gate: {data_room: any}}
  - {id: c, priority: 1, sites: [mvz-west], ti_services: [{pdt: PDT99}], gate: {data_room: any}}
""",
    )
    _, data = plan_json(cli, plan, fleet_report, "--ti-status", FLEET / "ti-status.yaml")
    assert states(data) == {"a": "waiting-ti", "b": "waiting-dependency", "c": "waiting-ti"}
    c = data["waves"][0]["services"][2]
    assert c["ti_down"] == ["pdt=PDT99: not reported by the TI status (counted as down)"]


def test_data_room_is_required_contained_by_default(
    cli, fleet_report: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    plan = write_plan(tmp_path, "  - {id: a, priority: 1, sites: [praxis-nord]}\n")
    _, data = plan_json(cli, plan, fleet_report)
    reasons = [b["reason"] for b in data["waves"][0]["services"][0]["blocking"]]
    assert any("contained required" in r for r in reasons)


@pytest.mark.parametrize(
    ("services", "message"),
    [
        (
            "  - {id: a, priority: 1, depends_on: [b]}\n"
            "  - {id: b, priority: 1, depends_on: [a]}\n",
            "dependency cycle: a -> b -> a",
        ),
        ("  - {id: a, priority: 1, depends_on: [nope]}\n", "unknown service 'nope'"),
        (
            "  - {id: a, priority: 1, depends_on: [b]}\n  - {id: b, priority: 2}\n",
            "depends on b of the later wave 2",
        ),
        (
            "  - {id: a, priority: 1, sites: [praxis-ost]}\n",
            "site 'praxis-ost' is not in the fleet",
        ),
        ("  - {id: a, priority: 0}\n", "$.services[0].priority"),
    ],
)
def test_plan_errors_exit_2(
    cli,
    fleet_report: Path,
    tmp_path: Path,
    services: str,  # type: ignore[no-untyped-def]
    message: str,
) -> None:
    plan = write_plan(tmp_path, services)
    code, _, err = cli("restart-plan", plan, "--reports", fleet_report)
    assert code == 2 and message in err, err


def test_plan_html_shows_the_waves_and_escapes(cli, fleet_report: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from html.parser import HTMLParser

    plan = write_plan(
        tmp_path,
        """\
  - {id: a, name: "<script>alert(1)</script>", priority: 1, sites: [praxis-sued],
     gate: {data_room: any}}
  - {id: b, priority: 2, depends_on: [a], sites: [mvz-west], gate: {data_room: any}}
""",
    )
    page = tmp_path / "fleet.html"
    code, _, err = cli("restart-plan", plan, "--reports", fleet_report, "--report", f"html={page}")
    assert code == 1, err
    text = page.read_text()
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Wave 1" in text and "Wave 2" in text and "BLOCKED" in text
    assert "PKI-RSA-001" in text  # the finding that blocks praxis-sued
    assert "http://" not in text and "https://" not in text  # nothing to fetch
    HTMLParser().feed(text)
