"""Shared test fixtures: where things are, and running the CLI in-process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from gemcheck.cli import main

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CERTS = REPO / "certs"
EXAMPLE = REPO / "gemcheck" / "examples" / "praxis"
AS_OF = dt.date(2026, 6, 1)
"""The fixed evaluation date of every time-dependent test (inside the synthetic PKI's validity)."""


@pytest.fixture
def shared() -> Path:
    """The read-only reference material beside the checkout (``../shared``)."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


CliResult = tuple[int, str, str]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``gemcheck ARGS...`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
