"""The JSON report (``schemas/report-1.schema.json``): deterministic, UTF-8, two-space indent."""

from __future__ import annotations

import json

from gemcheck.model import Report


def render(report: Report, *, color: bool = False) -> str:
    """The report as JSON text; with a fixed ``--as-of`` and ``SOURCE_DATE_EPOCH``,
    two runs give byte-identical output."""
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"
