"""A full TLS probe of one loopback endpoint against sslyze 6 on the same server, same run.

Run::

    python -m venv /tmp/sslyze-venv && /tmp/sslyze-venv/bin/pip install 'sslyze>=6,<7'
    python benchmarks/bench_tls.py [--sslyze-python /tmp/sslyze-venv/bin/python] [--repeat 5]

For each server configuration (started in a child process on 127.0.0.1, from
``tests/tlsserver.py``) it times, in the same run:

- gemcheck: ``gemcheck.tls.probe.probe`` in-process (versions SSLv3..TLS 1.3, every TLS 1.2
  suite OpenSSL offers, TLS 1.3 suites, TLS 1.2 and 1.3 groups, renegotiation, handshake
  signature, the final OpenSSL handshake);
- sslyze: ``Scanner`` in-process in its own virtual environment (it pins an older
  ``cryptography``), scan commands SSL 2.0/3.0 and TLS 1.0-1.3 cipher suites and elliptic
  curves, timed from queueing to the last result (the connectivity test included);

(with ``--commands`` also the whole ``gemcheck audit`` and ``sslyze`` commands) and
compares what both found: accepted versions, TLS 1.2 suites, TLS 1.3 suites and
curves. Target (issue 4): gemcheck's median at most half of sslyze's. sslyze cannot
connect to a brainpool-only server; the script says so when it happens.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gemcheck.tls.catalog import GROUPS, TLS12_GROUPS  # noqa: E402
from gemcheck.tls.probe import probe  # noqa: E402

EC_CURVES = frozenset(GROUPS[g] for g in TLS12_GROUPS)
"""The curves sslyze knows (it does not test ffdhe or hybrid groups)."""

SERVERS = ("openssl-default", "legacy-tls1.0", "ti-compliant", "brainpool-only")

SERVE = """
import ssl, sys
sys.path.insert(0, {repo!r})
from tests.tlsserver import *
name = {name!r}
if name == "openssl-default":
    ctx = server_context((FD_NIST, KONNEKTOR_RSA))
elif name == "legacy-tls1.0":
    ctx = server_context(KONNEKTOR_RSA, min_version=ssl.TLSVersion.TLSv1, ciphers="ALL")
elif name == "ti-compliant":
    ctx = compliant_context()
else:
    ctx = server_context(KONNEKTOR_ECC, groups="brainpoolP256r1", tls13=False, ciphers=GCM_ECDHE)
with TlsServer(ctx) as server:
    print(server.port, flush=True)
    sys.stdin.read()
"""

SSLYZE = """
import json, sys, time
from sslyze import Scanner, ScanCommand, ServerNetworkLocation, ServerScanRequest
from sslyze import ServerScanStatusEnum, ScanCommandAttemptStatusEnum
port, repeat = int(sys.argv[1]), int(sys.argv[2])
versions = {
    "SSLv2": ScanCommand.SSL_2_0_CIPHER_SUITES, "SSLv3": ScanCommand.SSL_3_0_CIPHER_SUITES,
    "TLSv1.0": ScanCommand.TLS_1_0_CIPHER_SUITES, "TLSv1.1": ScanCommand.TLS_1_1_CIPHER_SUITES,
    "TLSv1.2": ScanCommand.TLS_1_2_CIPHER_SUITES, "TLSv1.3": ScanCommand.TLS_1_3_CIPHER_SUITES,
}
times, found = [], None
for _ in range(repeat):
    request = ServerScanRequest(
        server_location=ServerNetworkLocation(hostname="127.0.0.1", port=port),
        scan_commands={*versions.values(), ScanCommand.ELLIPTIC_CURVES},
    )
    start = time.perf_counter()
    scanner = Scanner()
    scanner.queue_scans([request])
    (result,) = list(scanner.get_results())
    times.append(time.perf_counter() - start)
    if result.scan_status != ServerScanStatusEnum.COMPLETED:
        found = {"error": str(result.connectivity_error_trace).strip().splitlines()[-1]}
        continue
    scan = result.scan_result
    def suites(cmd):
        attempt = getattr(scan, cmd.value)
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
            return None
        return [a.cipher_suite.name for a in attempt.result.accepted_cipher_suites]
    by_version = {v: suites(c) for v, c in versions.items()}
    curves = scan.elliptic_curves.result
    found = {
        "versions": [v for v, s in by_version.items() if s],
        "tls12": sorted(by_version["TLSv1.2"] or []),
        "tls13": sorted(by_version["TLSv1.3"] or []),
        "curves": sorted(c.name.lower() for c in curves.supported_curves) if curves else [],
    }
print(json.dumps({"times": times, "found": found}))
"""


def serve(name: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE.format(repo=str(REPO), name=name)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def ours(port: int, repeat: int) -> tuple[list[float], dict[str, list[str]]]:
    times: list[float] = []
    ev = None
    for _ in range(repeat):
        start = time.perf_counter()
        ev = probe(f"127.0.0.1:{port}", timeout=5.0, concurrency=8)
        times.append(time.perf_counter() - start)
    assert ev is not None and ev.error is None, ev and ev.error
    # sslyze tests curves at the highest version the server supports: compare like with like.
    curves = ev.tls13_groups if "TLSv1.3" in ev.versions else ev.groups
    found = {
        "versions": list(ev.versions),
        "tls12": sorted(s.name for s in ev.tls12_suites),
        "tls13": sorted(s.name for s in ev.tls13_suites),
        "curves": sorted(g.lower() for g in curves if g in EC_CURVES),
        "tls12_groups": list(ev.groups),
    }
    return times, found


def theirs(python: str, port: int, repeat: int) -> dict[str, object]:
    out = subprocess.run(
        [python, "-c", SSLYZE, str(port), str(repeat)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def commands(python: str, port: int, repeat: int) -> tuple[float, float]:
    """Median wall time of the whole commands: ``gemcheck audit`` vs the ``sslyze`` CLI."""
    sslyze = str(Path(python).with_name("sslyze"))
    mine = [
        sys.executable,
        "-m",
        "gemcheck",
        "audit",
        "--profile",
        "ti-tls",
        "--endpoint",
        f"127.0.0.1:{port}",
        "--format",
        "json",
        "-o",
        "/dev/null",
    ]
    other = [
        sslyze,
        "--mozilla_config",
        "disable",
        "--sslv2",
        "--sslv3",
        "--tlsv1",
        "--tlsv1_1",
        "--tlsv1_2",
        "--tlsv1_3",
        "--elliptic_curves",
        "--quiet",
        f"127.0.0.1:{port}",
    ]
    medians = []
    for command in (mine, other):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, timeout=600, check=False)
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times))
    return medians[0], medians[1]


def compare(mine: dict[str, list[str]], other: dict[str, list[str]]) -> list[str]:
    lines = []
    for key in ("versions", "tls12", "tls13", "curves"):  # curves: at the highest version
        a, b = set(mine[key]), set(other.get(key) or [])
        if a == b:
            lines.append(f"    {key:<8} agree ({len(a)})")
        else:
            lines.append(
                f"    {key:<8} DIFFER: only gemcheck {sorted(a - b)}; only sslyze {sorted(b - a)}"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sslyze-python",
        default="/tmp/sslyze-venv/bin/python",
        help="python of the virtual environment that has sslyze 6",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per tool and server")
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=SERVERS)
    parser.add_argument(
        "--commands",
        action="store_true",
        help="also time the whole commands (gemcheck audit vs the sslyze CLI)",
    )
    args = parser.parse_args()
    print(f"gemcheck probe vs sslyze 6, median of {args.repeat} runs, loopback, one endpoint")
    for name in args.servers:
        proc, port = serve(name)
        try:
            mine_t, mine = ours(port, args.repeat)
            other = theirs(args.sslyze_python, port, args.repeat)
            whole = commands(args.sslyze_python, port, args.repeat) if args.commands else None
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(10)
        ours_s = statistics.median(mine_t)
        theirs_s = statistics.median(other["times"])  # type: ignore[arg-type]
        found = other["found"]
        assert isinstance(found, dict)
        ratio = "n/a: sslyze cannot connect" if "error" in found else f"{ours_s / theirs_s:.2f}"
        print(
            f"\n{name}: gemcheck {ours_s:.3f} s, sslyze {theirs_s:.3f} s, "
            f"ratio {ratio} (target <= 0.50)"
        )
        print(
            f"    gemcheck found: versions {mine['versions']}, {len(mine['tls12'])} TLS 1.2 "
            f"suites, {len(mine['tls13'])} TLS 1.3 suites, TLS 1.2 ECDHE groups "
            f"{mine['tls12_groups']}"
        )
        if whole:
            print(
                f"    whole commands: gemcheck audit {whole[0]:.3f} s, sslyze CLI "
                f"{whole[1]:.3f} s (interpreter start-up and imports included)"
            )
        if "error" in found:
            print(f"    sslyze could not connect: {found['error']}")
        else:
            print("\n".join(compare(mine, found)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
