"""Audit every site of an inventory, in parallel processes, streaming each site's report to disk.

- ``jobs`` worker processes (1: in this process); each audits one site at a time and
  writes that site's full JSON report atomically (temporary file, then rename);
- the parent keeps each site's outcome (verdict, score, findings) in a spool file, not
  in memory, so its memory does not grow with the number of sites;
- the output order is the inventory order, whatever the scheduling;
- a site that cannot be read or audited is an ``error`` outcome and the others go on;
- Ctrl-C: sites already running finish and are written, the rest are cancelled,
  and the fleet report says it is partial.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gemcheck._version import __version__
from gemcheck.audit import AuditOptions, generated_at, plan, run
from gemcheck.errors import InputError
from gemcheck.fleet.inventory import SiteEntry
from gemcheck.fleet.report import FleetReport, SiteOutcome
from gemcheck.fleet.spool import SiteSpool
from gemcheck.registry import Registry, load_registry
from gemcheck.site import build_site, load_site


@dataclass(frozen=True, slots=True)
class FleetOptions:
    """How to run a fleet: the audit options of every site, workers, where reports go."""

    audit: AuditOptions
    jobs: int
    reports_dir: Path | None = None


def audit_site(entry: SiteEntry, options: AuditOptions, reports_dir: Path | None) -> SiteOutcome:
    """Audit one site of the fleet; never raises (a failure is an ``error`` outcome)."""
    file = str(entry.path)
    try:
        data = load_site(entry.path)
        for key in ("profiles", "environment"):
            if key in entry.overrides:
                data[key] = entry.overrides[key]
        if "tailoring" in entry.overrides:
            data["tailoring"] = {**data.get("tailoring", {}), **entry.overrides["tailoring"]}
        site = build_site(data, entry.path.resolve().parent, file)
        report = run(plan(site, options, _registry()))
    except InputError as exc:
        return SiteOutcome(entry.index, entry.id, file, "error", entry.tags, error=str(exc))
    except Exception as exc:  # one broken site must not stop the fleet
        message = f"internal error: {type(exc).__name__}: {exc}"
        return SiteOutcome(entry.index, entry.id, file, "error", entry.tags, error=message)
    path = _write_report(report, reports_dir, entry) if reports_dir else None
    return SiteOutcome.from_report(entry.index, entry.id, file, entry.tags, report, path)


@functools.cache
def _registry() -> Registry:
    """One check registry per process: every site of the fleet uses the same checks."""
    return load_registry()


def _write_report(report: Any, reports_dir: Path, entry: SiteEntry) -> str:
    from gemcheck.render import render

    reports_dir.mkdir(parents=True, exist_ok=True)
    target = reports_dir / f"{entry.index:05d}-{entry.id}.json"
    tmp = target.with_suffix(".json.part")
    tmp.write_text(render(report, "json"), encoding="utf-8")
    os.replace(tmp, target)
    return str(target)


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means


def _audit_task(args: tuple[SiteEntry, AuditOptions, Path | None]) -> SiteOutcome:
    return audit_site(*args)


Progress = Callable[[int, int], None]


def audit_fleet(
    name: str,
    sites: Sequence[SiteEntry],
    options: FleetOptions,
    *,
    shard: str | None = None,
    progress: Progress | None = None,
) -> FleetReport:
    """Audit the given sites and return the fleet report (partial after Ctrl-C)."""
    outcomes = SiteSpool()

    def record(outcome: SiteOutcome) -> None:
        outcomes.add(outcome)
        if progress is not None:
            progress(len(outcomes), len(sites))

    partial = False
    try:
        _run_all(sites, options, record)
    except KeyboardInterrupt:
        partial = True
    return FleetReport(
        fleet=name,
        tool_version=__version__,
        generated_at=generated_at(),
        as_of=options.audit.as_of.isoformat(),
        sites=outcomes,
        shard=shard,
        partial=partial,
    )


def _run_all(
    sites: Sequence[SiteEntry], options: FleetOptions, record: Callable[[SiteOutcome], None]
) -> None:
    if options.jobs <= 1 or len(sites) <= 1:
        for entry in sites:
            record(audit_site(entry, options.audit, options.reports_dir))
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(
        max_workers=options.jobs,
        mp_context=multiprocessing.get_context(method),
        initializer=_worker_init,
    )
    pending: set[Future[SiteOutcome]] = set()
    queue = iter(sites)
    try:
        _fill(pool, pending, queue, options, limit=options.jobs * 4)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                record(future.result())
            _fill(pool, pending, queue, options, limit=options.jobs * 4)
    except KeyboardInterrupt:
        # let the running sites finish (their reports are written whole), cancel the rest
        pool.shutdown(wait=True, cancel_futures=True)
        for future in pending:
            if future.done() and not future.cancelled():
                record(future.result())
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _fill(
    pool: ProcessPoolExecutor,
    pending: set[Future[SiteOutcome]],
    queue: Iterator[SiteEntry],
    options: FleetOptions,
    limit: int,
) -> None:
    """Keep at most ``limit`` sites in flight, so the queue never holds the whole fleet."""
    while len(pending) < limit:
        entry = next(queue, None)
        if entry is None:
            return
        pending.add(pool.submit(_audit_task, (entry, options.audit, options.reports_dir)))


def progress_printer(stream: Any = sys.stderr) -> Progress:
    """A progress bar on a terminal; a plain line per tenth of the fleet otherwise (CI logs)."""
    tty = stream.isatty()

    def show(done: int, total: int) -> None:
        if tty:
            width = 30
            filled = width * done // max(total, 1)
            stream.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} sites")
            if done == total:
                stream.write("\n")
            stream.flush()
        elif done == total or done % max(1, total // 10) == 0:
            stream.write(f"gemcheck: {done}/{total} sites audited\n")
            stream.flush()

    return show
