"""Benchmark: audit 500 saved Konnektor exports (sds + OperatingData + parameters) offline.

Run: ``python benchmarks/bench_konnektor.py [--count 500] [--repeat 3]``. Target: at least
200 exports per second. Each export is a folder with the three files, generated from the
example site's Konnektor files with varied addresses, versions, flags and dates, so parsing,
XSD validation, the parameter schema and all ti-konnektor rules run on different input each
time. Profiles are loaded and bound once (as ``gemcheck audit --inventory`` does per worker);
every export is then collected from disk, evaluated and scored.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from multiprocessing import Pool
from multiprocessing.pool import Pool as WorkerPool
from pathlib import Path

from gemcheck.audit import AuditOptions, Plan, plan, run
from gemcheck.site import Site, build_site

EXAMPLE = Path(__file__).resolve().parents[1] / "gemcheck" / "examples" / "praxis" / "konnektor"
AS_OF = dt.date(2026, 6, 1)


def make_exports(root: Path, count: int, seed: int = 4711) -> list[Path]:
    """``count`` export folders, each a variation of the example site's Konnektor files."""
    rng = random.Random(seed)
    sds = (EXAMPLE / "connector.sds").read_text(encoding="utf-8")
    od = (EXAMPLE / "operating-data.xml").read_text(encoding="utf-8")
    params = (EXAMPLE / "parameters.yaml").read_text(encoding="utf-8")
    folders = []
    for i in range(count):
        folder = root / f"konnektor-{i:04d}"
        folder.mkdir()
        lan = f"192.168.{rng.randrange(1, 250)}"
        ptv = rng.choice(["4.8.1", "5.1.0", "5.2.3", "6.0.0"])
        fw = f"{ptv[0]}.{rng.randrange(0, 9)}.{rng.randrange(0, 20)}"
        flag = rng.choice(["true", "true", "true", "false"])
        day = AS_OF - dt.timedelta(days=rng.randrange(0, 20))
        (folder / "connector.sds").write_text(
            sds.replace("192.168.20.2", f"{lan}.2")
            .replace("<ProductTypeVersion>5.1.0<", f"<ProductTypeVersion>{ptv}<")
            .replace("<FWVersion>5.1.8<", f"<FWVersion>{fw}<")
            .replace("<ns2:ClientAutMandatory>true<", f"<ns2:ClientAutMandatory>{flag}<")
            .replace("2026-05-29T07:45:12", f"{day.isoformat()}T07:45:12"),
            encoding="utf-8",
        )
        (folder / "operating-data.xml").write_text(
            od.replace("<OPD:DVDOpen>true<", f"<OPD:DVDOpen>{rng.choice(['true', 'false'])}<")
            .replace("2026-05-29T07:45:12", f"{day.isoformat()}T07:45:12")
            .replace(
                "<CONN:Value>false</CONN:Value>",
                f"<CONN:Value>{rng.choice(['false'] * 9 + ['true'])}</CONN:Value>",
                1,
            )
            .replace(
                "<OPD:validity>2026-07-15<",
                f"<OPD:validity>{(day + dt.timedelta(days=rng.randrange(10, 900)))}<",
            ),
            encoding="utf-8",
        )
        (folder / "parameters.yaml").write_text(
            params.replace("192.168.20.2", f"{lan}.2")
            .replace("SECURITY_LOG_DAYS: 180", f"SECURITY_LOG_DAYS: {rng.choice([90, 180, 365])}")
            .replace(
                "ANLW_INTERNET_MODUS: SIS",
                f"ANLW_INTERNET_MODUS: {rng.choice(['SIS', 'KEINER', 'IAG'])}",
            ),
            encoding="utf-8",
        )
        folders.append(folder)
    return folders


def _site(folder: Path) -> Site:
    konnektor = {
        "sds": "connector.sds",
        "operating_data": "operating-data.xml",
        "parameters": "parameters.yaml",
    }
    return build_site({"site": folder.name, "konnektor": konnektor}, folder, str(folder / "site"))


@functools.cache
def _base() -> Plan:
    """The profile loaded and bound once per process (the site is replaced per export)."""
    return plan(
        build_site({"site": "bench"}, Path.cwd(), "<bench>"),
        AuditOptions(profiles=("ti-konnektor",), as_of=AS_OF),
    )


def audit_all(folders: list[Path]) -> tuple[float, dict[str, int]]:
    """CPU seconds to audit every folder in this process, and the verdict counts.

    Each export is collected from disk, evaluated, scored and gated.
    """
    base = _base()
    verdicts: dict[str, int] = {}
    cpu = time.process_time()
    for folder in folders:
        report = run(replace(base, site=_site(folder)))
        verdicts[report.verdict] = verdicts.get(report.verdict, 0) + 1
    return time.process_time() - cpu, verdicts


def timed(
    folders: list[Path], pool: WorkerPool | None, jobs: int
) -> tuple[float, float, dict[str, int]]:
    """Wall seconds, CPU seconds (all workers) and verdicts of auditing ``folders`` once."""
    started = time.perf_counter()
    if pool is None:
        cpu, verdicts = audit_all(folders)
        return time.perf_counter() - started, cpu, verdicts
    parts = pool.map(audit_all, [folders[i::jobs] for i in range(jobs)], chunksize=1)
    wall = time.perf_counter() - started
    verdicts = {}
    for _, part in parts:
        for verdict, n in part.items():
            verdicts[verdict] = verdicts.get(verdict, 0) + n
    return wall, sum(cpu for cpu, _ in parts), verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes for the parallel run (default: CPU count)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folders = make_exports(Path(tmp), args.count)
        print(
            f"{args.count} saved exports (sds + OperatingData + parameters), profile "
            f"ti-konnektor, python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
            f"load average before: {os.getloadavg()[0]:.1f}"
        )
        rate = 0.0
        for jobs in sorted({1, args.jobs}):
            with contextlib.ExitStack() as stack:
                pool = stack.enter_context(Pool(jobs)) if jobs > 1 else None
                # warm-up outside the timing: imports, profile binding, XSD compilation
                if pool is None:
                    audit_all(folders[:5])
                else:
                    pool.map(audit_all, [[f] for f in folders[: 4 * jobs]], chunksize=1)
                runs = [timed(folders, pool, jobs) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            rate = args.count / wall
            print(
                f"  {jobs} process(es): median wall {wall:.2f} s = {rate:.0f} exports/s; "
                f"CPU {1000 * cpu / args.count:.2f} ms per export "
                f"({1000 * args.count / (1000 * cpu):.0f} exports per CPU second); "
                f"verdicts {runs[0][2]}"
            )
    print(
        f"target >= 200 exports/s: {'met' if rate >= 200 else 'NOT met'} ({args.jobs} process(es))"
    )
    return 0 if rate >= 200 else 1


if __name__ == "__main__":
    raise SystemExit(main())
