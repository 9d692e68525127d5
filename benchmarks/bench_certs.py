"""Throughput of the ``ti-crypto`` certificate checks over 10,000 certificates in one audit.

Run: ``python benchmarks/bench_certs.py [--count 10000]``. Measures, in the same run and
on one core:

- parse only: ``cryptography.x509.load_pem_x509_certificates`` over the bundle
  (lazy: it decodes no field);
- parse + decode: the same, then reading the fields the checks judge (subject, public
  key, signature algorithm, validity), to show what the lazy baseline leaves out;
- the ceiling: parse + decode + four frozen ``Result`` objects per certificate (the
  issue's model), with no check logic, scoring or report: no audit that judges these
  fields and reports one result per rule and certificate can be faster;
- audit: gemcheck's collect + evaluate + score + report (in-process, profile ti-crypto);
- peak memory (max RSS) of ``gemcheck audit --cert BUNDLE --format json -o /dev/null``
  in a child process.

Targets (issue 2): >= 3,000 certificates/s, >= 30 % of parse-only speed, < 300 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509

sys.path.insert(0, str(Path(__file__).parent))
from certgen import write_bundle

from gemcheck.audit import AuditOptions, plan, run
from gemcheck.model import EMPTY, Location, Result, Severity, Status
from gemcheck.site import build_site


def best_of(repeat: int, func: object) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def four_results(count: int) -> list[Result]:
    """Four frozen results per certificate, as the engine makes for ti-crypto's four rules."""
    return [
        Result(
            rule="TI-CRYPTO-001",
            check="cert.key_algorithm",
            domain="cert",
            subject="Praxis TEST-ONLY",
            status=Status.PASS,
            severity=Severity.HIGH,
            message="EC brainpoolP256r1 is an allowed curve",
            references=(),
            location=Location(file="bundle.pem", index=i),
            evidence=EMPTY,
        )
        for i in range(4 * count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = write_bundle(Path(tmp) / "bundle.pem", args.count)
        data = bundle.read_bytes()
        parse = best_of(args.repeat, lambda: x509.load_pem_x509_certificates(data))
        decode = best_of(
            args.repeat,
            lambda: [
                (c.subject, c.public_key(), c.signature_algorithm_oid, c.not_valid_after_utc)
                for c in x509.load_pem_x509_certificates(data)
            ],
        )
        results = best_of(args.repeat, lambda: four_results(args.count))
        site = build_site({"site": "bench", "certificates": [str(bundle)]}, Path(tmp), "bench")
        p = plan(site, AuditOptions(profiles=("ti-crypto",), as_of=dt.date(2026, 6, 1)))
        report = run(p)
        assert report.summary["pass"] == 4 * args.count, report.summary
        audit = best_of(args.repeat, lambda: run(p))
        cmd = [
            sys.executable,
            "-m",
            "gemcheck",
            "audit",
            "--profile",
            "ti-crypto",
            "--cert",
            str(bundle),
            "--as-of",
            "2026-06-01",
            "--format",
            "json",
            "-o",
            "/dev/null",
        ]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False)
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    n = args.count
    print(f"certificates:            {n}")
    print(f"parse only (cryptography): {parse:.3f} s  {n / parse:,.0f} certs/s")
    print(f"parse + decode fields:     {decode:.3f} s  {n / decode:,.0f} certs/s")
    print(f"4 frozen Results per cert:  {results:.3f} s")
    print(f"ceiling speed / parse speed: {parse / (decode + results):.0%}")
    print(f"gemcheck audit ti-crypto:  {audit:.3f} s  {n / audit:,.0f} certs/s")
    print(f"audit speed / parse speed: {parse / audit:.0%}")
    print(f"audit speed / decode speed: {decode / audit:.0%}")
    print(f"peak RSS of CLI audit:     {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
