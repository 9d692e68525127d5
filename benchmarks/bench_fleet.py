"""Fleet audit throughput and parent memory: ``--jobs 1`` vs ``--jobs 2``, 100 vs 1,000 sites.

Run: ``python benchmarks/bench_fleet.py [--sites 1000]``. Each generated site has 20
certificates plus the example practice's Konnektor exports and network (offline audit,
default profile). Targets (issue 7): ``--jobs 2`` at least 1.7x faster than ``--jobs 1``;
the parent's peak memory independent of the number of sites.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fleetgen import make_fleet

PARENT = (
    "import resource, sys; from gemcheck.cli import main; rc = main(sys.argv[1:]); "
    "print('PARENT_MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
    "file=sys.stderr)"
)


def audit(inventory: Path, jobs: int, tmp: Path) -> tuple[float, int]:
    cmd = [
        sys.executable,
        "-c",
        PARENT,
        "audit",
        "--inventory",
        str(inventory),
        "--offline",
        "--jobs",
        str(jobs),
        "--format",
        "json",
        "-o",
        str(tmp / f"fleet-{jobs}.json"),
        "--site-reports",
        str(tmp / f"reports-{jobs}"),
        "--as-of",
        "2026-06-01",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    rss = next(
        int(line.split()[1])
        for line in proc.stderr.splitlines()
        if line.startswith("PARENT_MAXRSS_KB")
    )
    return elapsed, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        small = make_fleet(tmp / "small", 100)
        big = make_fleet(tmp / "big", args.sites)
        t1, rss1 = audit(big, 1, tmp)
        t2, rss2 = audit(big, 2, tmp)
        _, rss_small = audit(small, 2, tmp)
    n = args.sites
    print(f"sites: {n} (20 certificates each, plus the example's Konnektor and network inputs)")
    print(f"--jobs 1: {t1:.1f} s  ({n / t1:.1f} sites/s), parent max RSS {rss1 / 1024:.0f} MB")
    print(f"--jobs 2: {t2:.1f} s  ({n / t2:.1f} sites/s), parent max RSS {rss2 / 1024:.0f} MB")
    print(f"speed-up jobs 2 / jobs 1: {t1 / t2:.2f}x")
    print(
        f"parent max RSS, --jobs 2: 100 sites {rss_small / 1024:.0f} MB, "
        f"{n} sites {rss2 / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
