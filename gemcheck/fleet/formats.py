"""Fleet outputs: the formats ``audit --inventory``, ``merge`` and ``restart-plan`` write."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO

from gemcheck.fleet.report import FleetReport, render_text
from gemcheck.fleet.restart import Plan, ServiceState, plan_as_dict
from gemcheck.fleet.restart import render_text as plan_text

FLEET_FORMATS: tuple[str, ...] = ("html", "json", "text")


def write_fleet(fleet: FleetReport, fmt: str, out: IO[str]) -> None:
    """The fleet report as text, JSON (``fleet-1.schema.json``, streamed site by site) or
    HTML."""
    if fmt == "json":
        fleet.write_json(out)
    elif fmt == "html":
        from gemcheck.fleet.html import render

        out.write(render(fleet))
    else:
        out.write(render_text(fleet))


def render_plan(fleet: FleetReport, plan: Plan, states: Sequence[ServiceState], fmt: str) -> str:
    """A restart plan's waves as text or JSON, or the fleet HTML report with its waves."""
    if fmt == "json":
        return json.dumps(plan_as_dict(plan, states), indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        from gemcheck.fleet.html import render

        return render(fleet, states)
    return plan_text(plan, states)
