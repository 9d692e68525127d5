"""Start-up time of ``gemcheck --version`` and ``--help`` against ``python3 -c pass``.

Run: ``python benchmarks/bench_startup.py [--runs 40]``. Prints the median wall time
of each command over the same number of alternating runs, and the ratio to
``python3 -c pass``. The issue's target: at most 1.5x.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    exe = shutil.which("gemcheck")
    commands = {
        "python3 -c pass": [sys.executable, "-c", "pass"],
        "gemcheck --version": [exe or "gemcheck", "--version"],
        "gemcheck --help": [exe or "gemcheck", "--help"],
        "python -m gemcheck --version": [sys.executable, "-m", "gemcheck", "--version"],
    }
    for cmd in commands.values():  # warm the page cache
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    base = median_seconds(commands["python3 -c pass"], args.runs)
    print(f"{'command':<30} {'median ms':>10} {'ratio':>6}")
    for name, cmd in commands.items():
        t = base if name == "python3 -c pass" else median_seconds(cmd, args.runs)
        print(f"{name:<30} {t * 1000:>10.1f} {t / base:>6.2f}")


if __name__ == "__main__":
    main()
