"""Renderers: one report, many formats. Renderers only render: filtering, scoring and
sorting happened in the core."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from gemcheck.model import Report

FORMATS: dict[str, str] = {
    "text": "gemcheck.render.text",
    "json": "gemcheck.render.json",
    "sarif": "gemcheck.render.sarif",
    "junit": "gemcheck.render.junit",
    "html": "gemcheck.render.html",
}
"""Format name -> module with ``render(report, *, color=False) -> str``."""


def renderer(fmt: str) -> Callable[..., str]:
    """The render function of a format (imported on first use)."""
    return importlib.import_module(FORMATS[fmt]).render  # type: ignore[no-any-return]


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    """The report in format ``fmt``."""
    return renderer(fmt)(report, color=color)
