"""``gemcheck restart-plan`` over 1,000 site reports and 50 services.

Run: ``python benchmarks/bench_restart.py [--sites 1000 --services 50]``. Builds a fleet
report of synthetic site outcomes (a quarter of them with failing findings) and a plan of
services in 5 waves with dependencies, tags and TI services, writes both to disk, and times
the whole command (process start, reading and validating both files, evaluating, printing),
median of 5. Target (issue 7): under 2 seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def fleet_report(sites: int) -> dict[str, object]:
    outcomes = []
    for i in range(sites):
        failing = i % 4 == 0
        findings = (
            [
                {
                    "rule": "CRY-KEY-001",
                    "subject": f"Praxis {i}",
                    "status": "fail",
                    "severity": "high",
                    "message": "RSA-2048: RSA is no longer accepted",
                    "location": {"file": "smcb.pem"},
                }
            ]
            if failing
            else []
        )
        outcomes.append(
            {
                "index": i,
                "id": f"site-{i:04d}",
                "file": f"sites/site-{i:04d}/gemcheck.yaml",
                "tags": [f"t{i % 10}"],
                "verdict": "fail" if failing else "pass",
                "score": 80.0 if failing else 100.0,
                "data_room": "contained",
                "summary": {
                    "pass": 200,
                    "fail": len(findings),
                    "error": 0,
                    "skip": 10,
                    "waived": 0,
                },
                "profiles": ["ti-site"],
                "reasons": [],
                "findings": findings,
            }
        )
    return {
        "schema_version": 1,
        "kind": "fleet",
        "tool": {"name": "gemcheck", "version": "0.1.0"},
        "generated_at": "2026-06-01T00:00:00Z",
        "as_of": "2026-06-01",
        "fleet": "bench",
        "shard": None,
        "partial": False,
        "summary": {"sites": sites, "pass": sites - sites // 4, "fail": sites // 4, "error": 0},
        "rules": [{"rule": "CRY-KEY-001", "sites": (sites + 3) // 4}],
        "sites": outcomes,
    }


def plan(services: int) -> dict[str, object]:
    entries = []
    for i in range(services):
        wave = 1 + i * 5 // services
        entry: dict[str, object] = {
            "id": f"svc-{i:02d}",
            "priority": wave,
            "site_tags": [f"t{i % 10}"],
            "ti_services": [{"pdt": "PDT09"}],
            "gate": {"profile": "ti-site", "fail_on": "high", "min_score": 70},
        }
        earlier = [f"svc-{j:02d}" for j in range(i) if 1 + j * 5 // services <= wave][-2:]
        if earlier:
            entry["depends_on"] = earlier
        entries.append(entry)
    return {"plan": "bench", "services": entries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "fleet.json"
        report.write_text(json.dumps(fleet_report(args.sites)))
        plan_file = Path(tmp) / "plan.yaml"
        plan_file.write_text(yaml.safe_dump(plan(args.services)))
        status = Path(tmp) / "status.yaml"
        status.write_text(
            yaml.safe_dump(
                [{"ci": "CI-1", "bu": "PU", "pdt": "PDT09", "availability": 1, "name": "VPN"}]
            )
        )
        cmd = [
            sys.executable,
            "-m",
            "gemcheck",
            "restart-plan",
            str(plan_file),
            "--reports",
            str(report),
            "--ti-status",
            str(status),
            "--format",
            "json",
        ]
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
        data = json.loads(proc.stdout)
    services = [s for w in data["waves"] for s in w["services"]]
    print(f"{args.sites} site reports, {args.services} services in {len(data['waves'])} waves")
    print(
        f"restart-plan (whole command): median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f} s) over {args.repeat} runs"
    )
    print(
        "statuses:",
        {
            s: sum(1 for x in services if x["status"] == s)
            for s in sorted({x["status"] for x in services})
        },
    )


if __name__ == "__main__":
    main()
