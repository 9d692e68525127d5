"""OCSP throughput: 1,000 certificates against a local responder, connection reuse, bounded workers.

Run: ``python benchmarks/bench_ocsp.py [--certs 1000] [--concurrency 1,4,8,16]``

What is measured, in one run on this machine:

* collection (``gemcheck.collect.trust.collect_ocsp``: issuer lookup, request
  building, HTTP POST over kept-alive connections, SHA-256 CertID) for N
  certificates at several concurrency levels, with the number of TCP
  connections the responder saw;
* the same requests sent without connection reuse (a new connection each,
  ``requests.post``) at the default concurrency, for comparison;
* judging the N responses (``cert.ocsp``'s pure check: signature, signer,
  CertID, freshness, status).

The responder is a threaded Python HTTP/1.1 server built with
``cryptography``'s OCSP response builder (``tests/trust_support.py``), run in
its own process on 127.0.0.1 so that it does not share the client's GIL.
``openssl ocsp`` serves one request at a time and would measure itself.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from gemcheck.collect import CollectOptions  # noqa: E402
from gemcheck.collect.trust import collect_ocsp  # noqa: E402
from gemcheck.pki.ocsp import build_request, judge_response  # noqa: E402
from gemcheck.site import Site, build_site  # noqa: E402
from tests import trust_support as ts  # noqa: E402

FIRST_SERIAL = 700_000


def serve(port_queue: Any, stop: Any, count: int, connections: Any, cache: bool) -> None:
    """Responder process: every serial of the benchmark is good (``cache``: replay answers)."""
    from tests.trust_support import Answer, Responder, cert, key, python_responder

    answers = {FIRST_SERIAL + i: Answer() for i in range(count)}
    responder = Responder(
        cert("ca/smcb-ca1.pem"),
        cert("ecc/ocsp-smcb-ca1.pem"),
        key("ocsp-smcb-ca1"),
        answers,
        cache=cache,
    )
    seen: set[int] = set()
    with python_responder(responder, seen) as url:
        port_queue.put(url)
        while not stop.is_set():
            connections.value = len(seen)
            time.sleep(0.02)
        connections.value = len(seen)


def make_leaves(folder: Path, count: int) -> Path:
    ca, ca_key = ts.cert("ca/smcb-ca1.pem"), ts.key("smcb-ca1")
    leaf_key = ec.generate_private_key(ec.BrainpoolP256R1())
    bundle = folder / "leaves.pem"
    with bundle.open("wb") as out:
        for i in range(count):
            leaf = ts.make_cert(
                f"Bench {i} TEST-ONLY", ca, ca_key, leaf_key.public_key(), serial=FIRST_SERIAL + i
            )
            out.write(ts.pem(leaf))
    return bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certs", type=int, default=1000)
    parser.add_argument("--concurrency", default="1,4,8,16")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    print(
        f"OCSP benchmark: {args.certs} certificates; responders in their own process; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start"
    )
    with tempfile.TemporaryDirectory() as tmp:
        bundle = make_leaves(Path(tmp), args.certs)
        with responder(args.certs, cache=True) as (url, connections):
            site = _site(bundle, url, Path(tmp))
            list(collect_ocsp(site, CollectOptions(timeout=10, concurrency=8)))  # sign once
            print("\nA. client cost: the responder replays answers signed beforehand")
            _levels(site, levels, args.certs, connections)
        with responder(args.certs, cache=False) as (url, connections):
            site = _site(bundle, url, Path(tmp))
            print(
                "\nB. end to end: the responder builds and signs every answer "
                "(brainpoolP256r1, one Python process)"
            )
            evidence = _levels(site, levels, args.certs, connections)
            jobs = [(e.certificate, e.issuer) for e in evidence]
            started = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda job: _no_reuse(url, *job), jobs))
            elapsed = time.perf_counter() - started
            print(
                f"{'8, no reuse':>11}  {elapsed:>8.2f}  {args.certs / elapsed:>8.0f}  "
                f"{args.certs:>9}  (requests.post, Connection: close)"
            )
        started = time.perf_counter()
        verdicts = [
            judge_response(
                e.response, e.certificate, e.issuer, fetched_at=e.fetched_at, moment=e.fetched_at
            )
            for e in evidence
        ]
        elapsed = time.perf_counter() - started
        assert all(v.verdict == "good" for v in verdicts), verdicts[0]
        print(
            f"\nC. judging {len(verdicts)} responses (cert.ocsp, pure, one core): "
            f"{elapsed:.2f} s, {len(verdicts) / elapsed:.0f} responses/s"
        )


@contextlib.contextmanager
def responder(count: int, *, cache: bool) -> Iterator[tuple[str, Any]]:
    ctx = multiprocessing.get_context("fork")
    queue, stop = ctx.Queue(), ctx.Event()
    connections = ctx.Value("i", 0)
    proc = ctx.Process(target=serve, args=(queue, stop, count, connections, cache))
    proc.start()
    try:
        yield queue.get(timeout=30), connections
    finally:
        stop.set()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


def _site(bundle: Path, url: str, root: Path) -> Site:
    anchor = ts.CERTS / "ca" / "smcb-ca1.pem"
    data = {
        "site": "bench",
        "certificates": [str(bundle)],
        "trust": {"anchors": [str(anchor)], "ocsp": {"responder": url}},
    }
    return build_site(data, root, "<bench>")


def _levels(site: Site, levels: list[int], count: int, connections: Any) -> list[Any]:
    print(f"{'concurrency':>11}  {'seconds':>8}  {'certs/s':>8}  {'TCP conns':>9}")
    evidence: list[Any] = []
    for level in levels:
        before = connections.value
        started = time.perf_counter()
        evidence = list(collect_ocsp(site, CollectOptions(timeout=10, concurrency=level)))
        elapsed = time.perf_counter() - started
        time.sleep(0.1)  # let the responder count the connections
        errors = [e for e in evidence if e.error]
        assert not errors, errors[0].error
        conns = connections.value - before
        print(f"{level:>11}  {elapsed:>8.2f}  {count / elapsed:>8.0f}  {conns:>9}")
    return evidence


def _no_reuse(url: str, cert: Any, issuer: Any) -> None:
    import requests
    from cryptography.hazmat.primitives import hashes

    body = build_request(cert, issuer, hashes.SHA256())
    reply = requests.post(
        url,
        data=body,
        timeout=10,
        headers={"Content-Type": "application/ocsp-request", "Connection": "close"},
    )
    assert reply.status_code == 200


if __name__ == "__main__":
    main()
