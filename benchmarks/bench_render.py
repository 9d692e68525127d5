"""Rendering all five formats (text, json, sarif, junit, html) for a report of 20,000 results.

Run: ``python benchmarks/bench_render.py [--results 20000] [--repeat 3]``. The report is
generated (40 rules in four domains, mostly passing, with failures, errors, skips and
waived results, a data room and evidence on every result) and rendered in a child process,
so that its peak memory (max RSS) is the rendering's and the report's alone. Prints the
best-of-N time per format, the total, the output sizes and the peak memory.

Targets (issue 6): all five formats together under 5 s, peak memory under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from types import MappingProxyType

FORMATS = ("text", "json", "sarif", "junit", "html")


def make_report(n: int) -> object:
    """A synthetic report of ``n`` results (the shape of a large fleet site)."""
    from gemcheck.model import (
        DataRoom,
        Exposure,
        Gate,
        Location,
        Obligation,
        ProfileRef,
        Report,
        Result,
        Severity,
        Status,
        SystemRoom,
    )
    from gemcheck.scoring import score, summarize

    domains = ("cert", "tls", "konnektor", "network")
    statuses = (Status.PASS,) * 14 + (Status.FAIL, Status.ERROR, Status.SKIP, Status.WAIVED)
    severities = tuple(Severity)
    results = []
    for i in range(n):
        rule = i % 40
        status = statuses[i % len(statuses)]
        waiver = (
            {
                "original_status": "fail",
                "justification": "accepted until the card swap",
                "owner": "it@praxis.example",
                "approver": "lead@praxis.example",
                "expires": "2026-12-31",
                "source": "waivers.yaml:3",
            }
            if status is Status.WAIVED
            else None
        )
        results.append(
            Result(
                rule=f"GEN-{rule:03d}",
                check=f"{domains[rule % 4]}.generated_{rule:03d}",
                domain=domains[rule % 4],
                subject=f'TEST-ONLY Praxis {i:06d} <&> "quoted"',
                status=status,
                severity=severities[rule % 5],
                message=f"generated {status.value} result {i} with some explanatory text",
                references=(f"gemSpec_Krypt GS-A_{4000 + rule}", "gemSpec_PKI GS-A_4652"),
                location=Location(file=f"certs/{i // 100:04d}/c{i:06d}.pem", index=i % 3),
                evidence=MappingProxyType(
                    {
                        "key": "brainpoolP256r1",
                        "bits": 256,
                        "serial": i,
                        "not_after": "2030-01-01T00:00:00Z",
                    }
                ),
                obligation=Obligation.MUSS,
                title=f"Generated rule {rule}",
                remediation="Replace the certificate." if status is not Status.PASS else "",
                waiver=MappingProxyType(waiver) if waiver else None,
            )
        )
    weights = {r.rule: 1.0 for r in results}
    systems = tuple(
        SystemRoom(
            f"pvs-{k:02d}",
            50.0,
            "at-risk",
            (
                Exposure(
                    ("internet", "router", f"rule {k}", f"pvs-{k:02d}:443"),
                    "NET-PATH-001",
                    "inbound path",
                ),
            ),
        )
        for k in range(20)
    )
    return Report(
        tool_version="bench",
        generated_at="2026-06-01T00:00:00Z",
        as_of="2026-06-01",
        site="benchmark site",
        profiles=(ProfileRef("ti-site", "1.0.0", "0" * 64),),
        verdict="fail",
        score=score(results, weights),
        data_room=DataRoom("at-risk", systems),
        summary=summarize(results),
        results=tuple(results),
        gate=Gate(Severity.HIGH, 90.0, ("generated",)),
        score_without_waivers=score(results, weights, count_waived_as_pass=False),
    )


def child(n: int, repeat: int) -> None:
    from gemcheck.render import render, renderer

    for fmt in FORMATS:  # import every renderer (and the check registry SARIF reads) first
        renderer(fmt)
    start = time.perf_counter()
    report = make_report(n)
    built = time.perf_counter() - start
    rss_report = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, cpu, sizes = {}, {}, {}
    for fmt in FORMATS:
        best = best_cpu = float("inf")
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            text = render(report, fmt)  # type: ignore[arg-type]
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
            sizes[fmt] = len(text.encode("utf-8"))
            del text
        times[fmt], cpu[fmt] = best, best_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "built": built,
                "times": times,
                "cpu": cpu,
                "sizes": sizes,
                "rss_report_kb": rss_report,
                "rss_peak_kb": peak,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.results, args.repeat)
        return
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--results",
            str(args.results),
            "--repeat",
            str(args.repeat),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(proc.stdout)
    total, total_cpu = sum(data["times"].values()), sum(data["cpu"].values())
    print(
        f"report of {args.results} results built in {data['built']:.2f} s "
        f"(best of {args.repeat} per format; load average {os.getloadavg()[0]:.1f})"
    )
    print("  format   wall s    CPU s   output")
    for fmt in FORMATS:
        print(
            f"  {fmt:<6} {data['times'][fmt]:8.3f} {data['cpu'][fmt]:8.3f}  "
            f"{data['sizes'][fmt] / 1e6:5.1f} MB"
        )
    print(f"  all five formats: {total:.2f} s wall, {total_cpu:.2f} s CPU (target < 5 s)")
    print(
        f"  peak memory (max RSS): {data['rss_peak_kb'] / 1024:.0f} MB "
        f"(after building the report: {data['rss_report_kb'] / 1024:.0f} MB; target < 500 MB)"
    )


if __name__ == "__main__":
    main()
