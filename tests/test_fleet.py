"""Fleet audits: inventory, parallel runs, broken sites, shards and merge, interruption."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gemcheck.schemas import schema
from tests.conftest import AS_OF, CERTS, REPO

# the example's RSA SMC-B (praxis-sued) is past its type's RSA end date (2026-06-30) then
FLEET_AS_OF = "2026-07-01"

FLEET = REPO / "gemcheck" / "examples" / "fleet"


def fleet_json(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    jsonschema.Draft202012Validator(schema("fleet-1")).validate(data)
    return data


def without_timestamps(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data, generated_at=None, shard=None)
    out["sites"] = [dict(s, report=None) for s in data["sites"]]
    return out


def run_fleet(cli, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    out = tmp_path / f"fleet-{len(list(tmp_path.iterdir()))}.json"
    code, _, err = cli(
        "audit",
        "--inventory",
        FLEET / "fleet.yaml",
        "--as-of",
        FLEET_AS_OF,
        "--format",
        "json",
        "-o",
        out,
        "--site-reports",
        tmp_path / "sites",
        *extra,
    )
    assert "Traceback" not in err
    return code, fleet_json(out.read_text())


def test_example_fleet_in_parallel_equals_serial(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, serial = run_fleet(cli, tmp_path, "--jobs", "1")
    assert code == 1  # praxis-sued still has an RSA SMC-B
    _, parallel = run_fleet(cli, tmp_path, "--jobs", "2")
    assert without_timestamps(serial) == without_timestamps(parallel)
    assert [s["id"] for s in serial["sites"]] == ["praxis-nord", "praxis-sued", "mvz-west"]
    assert [s["verdict"] for s in serial["sites"]] == ["pass", "fail", "pass"]
    assert {"rule": "PKI-RSA-001", "sites": 1} in serial["rules"]
    site_report = json.loads(Path(serial["sites"][1]["report"]).read_text())
    assert site_report["site"] == "Praxis Sued (TEST-ONLY example)"


def test_shards_merge_to_the_unsharded_report(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, whole = run_fleet(cli, tmp_path)
    shards = []
    for n in (1, 2):
        code, part = run_fleet(cli, tmp_path, "--shard", f"{n}/2")
        assert part["shard"] == f"{n}/2"
        path = tmp_path / f"shard-{n}.json"
        path.write_text(json.dumps(part))
        shards.append(path)
    merged_path = tmp_path / "merged.json"
    code, _, _ = cli("merge", *shards, "-o", merged_path)
    assert code == 1
    merged = fleet_json(merged_path.read_text())
    assert without_timestamps(merged) == without_timestamps(whole)


def test_a_shard_of_zero_sites(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, part = run_fleet(cli, tmp_path, "--shard", "5/5")  # 3 sites: shard 5 is empty
    assert code == 0
    assert part["sites"] == [] and part["summary"]["sites"] == 0


def test_a_broken_site_is_an_error_entry_and_the_others_go_on(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(CERTS / "ecc" / "smcb-aut.pem", good / "smcb.pem")
    (good / "gemcheck.yaml").write_text("site: Good\ncertificates: [smcb.pem]\n")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "gemcheck.yaml").write_text("site: Bad\ncertificates: 42\n")
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text(
        "fleet: T\nsites:\n  - path: bad/gemcheck.yaml\n  - folder: good\n"
        "  - path: missing/gemcheck.yaml\n"
    )
    out = tmp_path / "f.json"
    code, _, _err = cli(
        "audit",
        "--inventory",
        inventory,
        "--profile",
        "ti-crypto",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        "-o",
        out,
        "--site-reports",
        tmp_path / "r",
    )
    data = fleet_json(out.read_text())
    assert code == 1
    assert [(s["id"], s["verdict"]) for s in data["sites"]] == [
        ("bad", "error"),
        ("good", "pass"),
        ("missing", "error"),
    ]
    assert "$.certificates: expected array" in data["sites"][0]["error"]
    assert "cannot read" in data["sites"][2]["error"]


def test_inventory_errors_exit_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text(
        "fleet: T\nsites:\n  - path: a/gemcheck.yaml\n    id: x\n"
        "  - path: b/gemcheck.yaml\n    id: x\n  - folder: nowhere\n"
    )
    code, _, err = cli("audit", "--inventory", inventory)
    assert code == 2
    assert "site id 'x' is used twice" in err and "$.sites[2].folder" in err
    code, _, err = cli("audit", "--inventory", inventory, "--shard", "0/3")
    assert code == 2
    code, _, err = cli("audit", "--inventory", FLEET / "fleet.yaml", "--sign-key", "k.pem")
    assert code == 2 and "not signed" in err


def test_interrupted_run_leaves_complete_reports_and_a_partial_summary(tmp_path: Path) -> None:
    sites = tmp_path / "sites"
    for i in range(60):
        d = sites / f"s{i:02d}"
        d.mkdir(parents=True)
        shutil.copy(CERTS / "ecc" / "smcb-aut.pem", d / "smcb.pem")
        (d / "gemcheck.yaml").write_text(f"site: S{i}\ncertificates: [smcb.pem]\n")
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text("fleet: Big\nsites:\n  - folder: sites\n")
    out, reports = tmp_path / "fleet.json", tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gemcheck",
            "audit",
            "--inventory",
            str(inventory),
            "--jobs",
            "2",
            "--format",
            "json",
            "-o",
            str(out),
            "--site-reports",
            str(reports),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(reports.glob("*.json"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    data = fleet_json(out.read_text())
    if not data["partial"] and len(data["sites"]) == 60:
        pytest.skip("the machine audited every site before the interrupt arrived")
    assert proc.returncode == 1, err
    assert "partial" in err and "Traceback" not in err
    assert data["partial"] is True
    assert 3 <= len(data["sites"]) < 60
    written = sorted(reports.glob("*.json"))
    assert not list(reports.glob("*.part"))
    for path in written:
        assert json.loads(path.read_text())["schema_version"] == 1  # whole, parseable reports
    assert {Path(s["report"]).name for s in data["sites"]} <= {p.name for p in written}


@pytest.mark.parametrize("count", [0, 3])
def test_spooled_sites_stream_the_same_json(count: int) -> None:
    import io

    from gemcheck.fleet.report import FleetReport, SiteOutcome
    from gemcheck.fleet.spool import SiteSpool

    spool = SiteSpool()
    finding = {
        "rule": "X-1",
        "subject": "s",
        "status": "fail",
        "severity": "high",
        "message": "m",
        "location": {},
    }
    for i in reversed(range(count)):  # arrival order differs from inventory order
        spool.add(SiteOutcome(i, f"s{i}", "f", "fail", findings=(finding,)))
    fleet = FleetReport("F", "0.1.0", "2026-06-01T00:00:00Z", "2026-06-01", spool)
    out = io.StringIO()
    fleet.write_json(out)
    data = fleet_json(out.getvalue())
    assert data == fleet.as_dict()
    assert [s["id"] for s in data["sites"]] == [f"s{i}" for i in range(count)]
