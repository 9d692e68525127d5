"""The fleet HTML report: every site's verdict at a glance, the most failed rules, and, when a
restart plan was evaluated, its waves. One self-contained, autoescaped file like the site report
(same stylesheet, no script, nothing fetched)."""

from __future__ import annotations

from collections.abc import Sequence

from gemcheck.fleet.report import FleetReport, SiteOutcome
from gemcheck.fleet.restart import ServiceState
from gemcheck.render.html import asset, csp_hash, page_head
from gemcheck.render.markup import Markup, el, join

_EXTRA_CSS = """
.waves li { margin: .25rem 0; }
.st-ready { background: var(--pass); } .st-blocked { background: var(--fail); }
.st-waiting-ti, .st-waiting-dependency { background: var(--at-risk); }
.partial { border: 2px solid var(--fail); padding: .5rem 1rem; border-radius: .4rem; }
"""


def render(fleet: FleetReport, plan: Sequence[ServiceState] | None = None) -> str:
    """The fleet page; ``plan`` adds the restart waves."""
    style = asset("report.css") + _EXTRA_CSS
    csp = f"default-src 'none'; style-src '{csp_hash(style)}'; base-uri 'none'; form-action 'none'"
    summary = fleet.head()["summary"]
    assert isinstance(summary, dict)
    title = f"gemcheck fleet: {fleet.fleet}: {summary['pass']}/{summary['sites']} sites pass"
    head = page_head(title, style, csp)
    parts: list[Markup | None] = [
        el(
            "header",
            {"class": "top"},
            el("p", {"class": "brand"}, f"gemcheck {fleet.tool_version} \u00b7 fleet audit"),
            el("h1", None, fleet.fleet),
            el(
                "p",
                {"class": "meta"},
                f"as of {fleet.as_of} \u00b7 generated {fleet.generated_at}"
                + (f" \u00b7 shard {fleet.shard}" if fleet.shard else ""),
            ),
        ),
        el("p", {"class": "partial"}, "Partial: the run was interrupted; sites are missing.")
        if fleet.partial
        else None,
        el(
            "p",
            None,
            f"{summary['sites']} sites: {summary['pass']} pass, {summary['fail']} fail, "
            f"{summary['error']} could not be audited.",
        ),
        _waves(plan) if plan is not None else None,
        _sites(fleet.sites),
        _rules(fleet),
    ]
    body = el("main", None, *parts)
    return (
        "<!DOCTYPE html>\n"
        + el("html", {"lang": "en"}, el("head", None, head), el("body", None, body))
        + "\n"
    )


def _badge(word: str) -> Markup:
    return el("span", {"class": f"badge st-{word}"}, word.upper())


def _sites(sites: Sequence[SiteOutcome]) -> Markup:
    rows = [
        el(
            "tr",
            None,
            el("td", None, s.id),
            el("td", None, _badge(s.verdict)),
            el("td", {"class": "num"}, f"{s.score:g}" if s.score is not None else "-"),
            el("td", None, s.data_room or "-"),
            el(
                "td",
                None,
                s.error
                or join(
                    [
                        el(
                            "div",
                            None,
                            f"{f['rule']} [{f['severity']}] {f['subject']}: {f['message']}",
                        )
                        for f in s.top_findings()
                    ]
                ),
            ),
        )
        for s in sites
    ]
    head = el(
        "tr",
        None,
        *(el("th", None, h) for h in ("site", "verdict", "score", "data room", "top findings")),
    )
    return el("section", None, el("h2", None, "Sites"), el("table", None, head, *rows))


def _rules(fleet: FleetReport) -> Markup:
    rows = [
        el("tr", None, el("td", None, rule), el("td", {"class": "num"}, n))
        for rule, n in fleet.rule_failures()
    ]
    if not rows:
        return el("section", None, el("h2", None, "Rules"), el("p", None, "No rule failed."))
    head = el("tr", None, el("th", None, "rule"), el("th", None, "sites failing it"))
    return el("section", None, el("h2", None, "Rules failed"), el("table", None, head, *rows))


def _waves(states: Sequence[ServiceState]) -> Markup:
    sections: list[Markup] = []
    for wave in sorted({st.service.priority for st in states}):
        items = []
        for st in (s for s in states if s.service.priority == wave):
            reasons = [
                f"{b['site']}: {b['rule']} [{b['severity']}] on {b['subject']}: {b['message']}"
                if "rule" in b
                else f"{b['site']}: {b['reason']}"
                for b in st.blocking
            ]
            reasons += [f"TI: {d}" for d in st.ti_down]
            if st.waiting_for:
                reasons.append("waits for: " + ", ".join(st.waiting_for))
            items.append(
                el(
                    "li",
                    None,
                    _badge(st.status),
                    f" {st.service.id}: {st.service.name}",
                    el("ul", None, *(el("li", None, r) for r in reasons)) if reasons else None,
                )
            )
        sections.append(el("h3", None, f"Wave {wave}"))
        sections.append(el("ul", {"class": "waves"}, *items))
    return el("section", None, el("h2", None, "Restart plan"), *sections)
