"""The HTML report: one self-contained file a person reads, filters and prints.

- Self-contained: the stylesheet and script (``render/assets/``) are inlined; no
  fonts, images or scripts are fetched, and the page's Content-Security-Policy
  (``default-src 'none'``, the inline style and script allowed by their SHA-256
  hashes, images only as ``data:``) forbids any fetch a hostile string could
  try to cause.
- Autoescaped: the page is built with :mod:`gemcheck.render.markup`, where every
  string is text unless produced by the builder itself; subjects, messages,
  evidence and configuration values are untrusted input. The script builds no
  HTML from data (no ``innerHTML``): it only toggles ``hidden``.
- Order: the verdict and the score first, then the scores per domain, the data
  room (systems, verdicts, exposure paths), notices, and the findings grouped by
  domain and rule, each with its evidence, references and remediation.
- Filters: severity, status and domain checkboxes. With JavaScript they hide
  and count findings and empty groups; without it, the same checkboxes filter
  through CSS ``:has()``. By default failed, errored and waived results show;
  passing and skipped ones are a tick away.
- Print: a print stylesheet; printing opens every group and prints what the
  filters show.

The data-room picture: above the systems, the page shows the SVG drawn by
:mod:`gemcheck.render.dataroom_svg` (one lane per system, exposure paths
highlighted), or the SVG given as ``render(report, figure=svg_bytes)`` (e.g. the
graph of ``gemcheck graph --format dot`` rendered by Graphviz), which takes its
place. Either is embedded as a ``data:`` image: a browser renders an SVG image
without running its scripts or loading anything it references, so the SVG needs
no sanitising and the page stays self-contained. A data room that was not
assessed, or has no systems, gets no picture.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources

from gemcheck.model import DataRoom, JSONValue, Report, Result, Severity, Status, SystemRoom
from gemcheck.render import dataroom_svg
from gemcheck.render.markup import Markup, definitions, el, escape, join, void

STATUS_ORDER = (Status.FAIL, Status.ERROR, Status.WAIVED, Status.SKIP, Status.PASS)
SHOWN_BY_DEFAULT = frozenset({Status.FAIL, Status.ERROR, Status.WAIVED})
_RANK = {Status.ERROR: 0, Status.FAIL: 1, Status.WAIVED: 2, Status.SKIP: 3, Status.PASS: 4}
_ROOM_VERDICTS = ("contained", "at-risk", "breached", "not-assessed")


@cache
def asset(name: str) -> str:
    return resources.files("gemcheck.render").joinpath("assets", name).read_text("utf-8")


def render(report: Report, *, color: bool = False, figure: bytes | None = None) -> str:
    """The whole HTML document; ``figure`` is an optional SVG picture of the data room."""
    domains = sorted({r.domain for r in report.results})
    style = asset("report.css") + _domain_css(domains)
    script = asset("report.js")
    csp = (
        "default-src 'none'; "
        f"style-src '{csp_hash(style)}'; script-src '{csp_hash(script)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    title = f"gemcheck: {report.site}: {report.verdict.upper()}, score {report.score.overall:g}"
    head = page_head(
        title,
        style,
        csp,
        void("meta", {"name": "referrer", "content": "no-referrer"}),
        void("meta", {"name": "generator", "content": f"gemcheck {report.tool_version}"}),
    )
    body = join(
        [
            _header(report),
            el(
                "main",
                None,
                _verdict(report),
                _domain_scores(report, domains),
                _data_room(report.data_room, figure),
                _notices(report.notices),
                _findings(report.results, domains, report.score.by_domain),
            ),
            el(
                "footer",
                None,
                f"gemcheck {report.tool_version} \u00b7 generated "
                f"{report.generated_at} \u00b7 a self-contained report: "
                "nothing on this page is loaded from elsewhere.",
            ),
            Markup(f"<script>{script}</script>"),
        ],
        "\n",
    )
    return (
        "<!DOCTYPE html>\n"
        + el(
            "html",
            {"lang": "en"},
            Markup("\n"),
            el("head", None, head),
            Markup("\n"),
            el("body", None, body),
        )
        + "\n"
    )


def page_head(title: str, style: str, csp: str, *extra: Markup) -> Markup:
    """The ``<head>`` content of a self-contained page: charset, the Content-Security-Policy,
    viewport, ``extra`` meta elements, the title and the inline stylesheet."""
    return join(
        [
            void("meta", {"charset": "utf-8"}),
            void("meta", {"http-equiv": "Content-Security-Policy", "content": csp}),
            void("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
            *extra,
            el("title", None, title),
            Markup(f"<style>{style}</style>"),
        ],
        "\n",
    )


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def _domain_css(domains: Sequence[str]) -> str:
    return (
        "".join(
            f'\nhtml:not(.js) #findings:has(#f-domain-{i}:not(:checked)) .finding[data-dix="{i}"] '
            "{ display: none; }"
            for i in range(len(domains))
        )
        + "\n"
    )


# -- top of the page ------------------------------------------------------------------------------


def _header(report: Report) -> Markup:
    profiles = (
        ", ".join(f"{p.id} {p.version} (sha256 {p.sha256[:12]}\u2026)" for p in report.profiles)
        or "none"
    )
    return el(
        "header",
        {"class": "top"},
        el("p", {"class": "brand"}, f"gemcheck {report.tool_version} \u00b7 TI site audit"),
        el("h1", None, report.site),
        el(
            "p",
            {"class": "meta"},
            f"as of {report.as_of} \u00b7 generated {report.generated_at}"
            f" \u00b7 profiles: {profiles}",
        ),
    )


def _verdict(report: Report) -> Markup:
    verdict = "pass" if report.verdict == "pass" else "fail"
    score = report.score.overall
    lines: list[object] = [
        el(
            "h2",
            {"id": "verdict-h"},
            "Verdict: ",
            el("span", {"class": "word"}, report.verdict.upper()),
        ),
        el(
            "p",
            {"class": "score-line"},
            el("span", {"class": "score-big"}, f"{score:g}"),
            el("span", None, "/ 100"),
            _meter(score, "overall score"),
        ),
    ]
    if report.score_without_waivers is not None:
        lines.append(
            el("p", None, f"Score without waivers: {report.score_without_waivers.overall:g} / 100")
        )
    gate = report.gate
    lines.append(
        el(
            "p",
            None,
            f"Gate: fail on {gate.fail_on.value} or worse, minimum score {gate.min_score:g}. ",
            "Passed." if verdict == "pass" else "Failed because:",
        )
    )
    if gate.reasons:
        lines.append(el("ul", {"class": "reasons"}, *(el("li", None, r) for r in gate.reasons)))
    lines.append(
        el(
            "dl",
            {"class": "summary"},
            *(
                el(
                    "div",
                    None,
                    el("dt", None, s.value),
                    el("dd", None, report.summary.get(s.value, 0)),
                )
                for s in STATUS_ORDER
            ),
        )
    )
    return el(
        "section",
        {"id": "verdict", "class": f"verdict verdict-{verdict}", "aria-labelledby": "verdict-h"},
        *lines,
    )


def _meter(value: float, label: str) -> Markup:
    return el(
        "meter",
        {
            "min": 0,
            "max": 100,
            "low": 50,
            "high": 90,
            "optimum": 100,
            "value": value,
            "aria-label": label,
        },
        f"{value:g} / 100",
    )


def _domain_scores(report: Report, domains: Sequence[str]) -> Markup:
    counts: dict[str, Counter[Status]] = defaultdict(Counter)
    for r in report.results:
        counts[r.domain][r.status] += 1
    head = el(
        "tr",
        None,
        el("th", None, "Domain"),
        el("th", None, "Score"),
        *(el("th", None, s.value) for s in STATUS_ORDER),
    )
    rows = []
    for domain in domains:
        value = report.score.by_domain.get(domain)
        score_cell = (
            el("td", None, "not scored")
            if value is None
            else el("td", {"class": "num"}, f"{value:g} ", _meter(value, f"{domain} score"))
        )
        rows.append(
            el(
                "tr",
                None,
                el("th", {"scope": "row"}, domain),
                score_cell,
                *(el("td", {"class": "num"}, counts[domain][s]) for s in STATUS_ORDER),
            )
        )
    table = (
        el("table", None, el("thead", None, head), el("tbody", None, *rows))
        if rows
        else el("p", {"class": "empty"}, "No results.")
    )
    return el("section", {"id": "domains"}, el("h2", None, "Scores by domain"), table)


# -- data room ------------------------------------------------------------------------------------


def _data_room(room: DataRoom, figure: bytes | None) -> Markup:
    verdict = room.verdict if room.verdict in _ROOM_VERDICTS else "not-assessed"
    parts: list[object] = [
        el(
            "h2",
            None,
            "Data room: ",
            el("span", {"class": f"room-word-{verdict}"}, room.verdict.upper()),
        ),
        _figure(room, figure),
    ]
    if room.verdict == "not-assessed" and not room.systems:
        parts.append(
            el(
                "p",
                {"class": "empty"},
                "Not assessed: the audit had no network description of the site.",
            )
        )
    else:
        parts.append(el("div", {"class": "systems"}, *(_system(s) for s in room.systems)))
    return el("section", {"id": "data-room"}, *parts)


def _figure(room: DataRoom, figure: bytes | None) -> Markup | None:
    """The picture above the systems: ``figure`` if given, else the drawn data room (if any)."""
    if figure is not None:
        svg = figure
        alt = "Network picture: zones, boundaries, patient-data hosts and exposure paths"
        caption = "Zones, boundaries and patient-data hosts; exposure paths highlighted."
    else:
        drawn = dataroom_svg.picture(room)
        if drawn is None:
            return None
        svg, alt = drawn.svg, drawn.alt
        caption = (
            "Each exposure path runs left to right into the system it exposes, in the colour "
            "of the system's verdict (red: breached, orange: at risk); the list below gives "
            "every shortened label in full."
        )
    src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    return el(
        "figure",
        {"class": "figure"},
        void("img", {"src": src, "alt": alt}),
        el("figcaption", None, caption),
    )


def _system(system: SystemRoom) -> Markup:
    verdict = system.verdict if system.verdict in _ROOM_VERDICTS else "not-assessed"
    exposures = [
        el(
            "li",
            None,
            el(
                "ol",
                {"class": "path", "aria-label": "exposure path"},
                *(el("li", None, el("code", None, hop)) for hop in e.path),
            ),
            el("span", None, el("code", None, e.rule), " ", e.message),
        )
        for e in system.exposures
    ]
    return el(
        "article",
        {"class": f"system room-{verdict}"},
        el("h3", None, system.id),
        el(
            "p",
            None,
            el("span", {"class": f"room-word-{verdict}"}, system.verdict),
            " \u00b7 score ",
            f"{system.score:g} ",
            _meter(system.score, f"{system.id} score"),
        ),
        el("ol", {"class": "exposures"}, *exposures)
        if exposures
        else el("p", {"class": "empty"}, "No exposure found."),
    )


def _notices(notices: Sequence[str]) -> Markup | None:
    if not notices:
        return None
    return el(
        "section",
        {"id": "notices"},
        el("h2", None, "Notices"),
        el("ul", None, *(el("li", None, n) for n in notices)),
    )


# -- findings -------------------------------------------------------------------------------------


def _findings(
    results: Sequence[Result], domains: Sequence[str], scores: Mapping[str, float]
) -> Markup:
    by_domain: dict[str, dict[str, list[Result]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        by_domain[r.domain][r.rule].append(r)
    dix = {d: i for i, d in enumerate(domains)}
    sections = []
    for domain in domains:
        rules = sorted(
            by_domain[domain].items(), key=lambda kv: (min(_RANK[r.status] for r in kv[1]), kv[0])
        )
        score = scores.get(domain)
        sections.append(
            el(
                "section",
                {"class": "domain", "id": f"domain-{dix[domain]}", "data-domain": domain},
                el("h3", None, domain, f" \u00b7 score {score:g}" if score is not None else ""),
                *(_rule(rule, rs, escape(domain), escape(dix[domain])) for rule, rs in rules),
            )
        )
    shown = sum(1 for r in results if r.status in SHOWN_BY_DEFAULT)
    return el(
        "section",
        {"id": "findings"},
        el("h2", None, "Findings"),
        el(
            "p",
            {"class": "hint"},
            "Grouped by domain and rule, problems first. Failed, errored "
            "and waived results are shown; tick skip and pass to see every result.",
        ),
        _filters(results, domains, shown),
        *sections,
        None if results else el("p", {"class": "empty"}, "No results."),
    )


def _filters(results: Sequence[Result], domains: Sequence[str], shown: int) -> Markup:
    severities = Counter(r.severity for r in results)
    statuses = Counter(r.status for r in results)
    per_domain = Counter(r.domain for r in results)
    groups = [
        _fieldset(
            "severity", "Severity", [(s.value, s.value, severities[s], True) for s in Severity]
        ),
        _fieldset(
            "status",
            "Status",
            [(s.value, s.value, statuses[s], s in SHOWN_BY_DEFAULT) for s in STATUS_ORDER],
        ),
        _fieldset(
            "domain", "Domain", [(str(i), d, per_domain[d], True) for i, d in enumerate(domains)]
        ),
    ]
    return el(
        "form",
        {"id": "filters", "class": "filters", "aria-label": "Filter findings"},
        *groups,
        el(
            "p",
            {"class": "shown", "aria-live": "polite"},
            "Showing ",
            el("output", {"id": "shown-count"}, shown),
            f" of {len(results)} results",
        ),
    )


def _fieldset(name: str, legend: str, options: Iterable[tuple[str, str, int, bool]]) -> Markup:
    """Checkboxes (id key, value, count, ticked) plus all/none buttons the script reveals."""
    labels = []
    for key, value, count, checked in options:
        box = void(
            "input",
            {
                "type": "checkbox",
                "name": name,
                "value": value,
                "id": f"f-{name}-{key}",
                "checked": checked,
            },
        )
        labels.append(
            el("label", None, box, f" {value} ", el("span", {"class": "n"}, f"({count})"))
        )
    buttons = [
        el(
            "button",
            {"type": "button", "data-set": which, "data-group": name, "hidden": True},
            which,
        )
        for which in ("all", "none")
    ]
    return el("fieldset", None, el("legend", None, legend), *labels, *buttons)


def _rule(rule: str, results: list[Result], domain: Markup, dix: Markup) -> Markup:
    results = sorted(results, key=lambda r: (_RANK[r.status], r.subject, str(r.location)))
    first = results[0]
    worst = results[0].status
    counts = Counter(r.status for r in results)
    count_text = ", ".join(f"{counts[s]} {s.value}" for s in STATUS_ORDER if counts[s])
    remediation = next((r.remediation for r in results if r.remediation), "")
    meta = [f"check {first.check}"]
    if first.obligation is not None:
        meta.append(f"obligation {first.obligation.value}")
    body: list[object] = [el("p", {"class": "rule-meta"}, " \u00b7 ".join(meta))]
    if first.references:
        body.append(el("p", {"class": "rule-meta"}, "References:"))
        body.append(el("ul", {"class": "refs"}, *(el("li", None, ref) for ref in first.references)))
    if remediation:
        body.append(el("p", {"class": "remedy"}, el("strong", None, "Remediation: "), remediation))
    body.append(el("ol", {"class": "finding-list"}, *(_finding(r, domain, dix) for r in results)))
    return el(
        "details",
        {"class": "rule", "open": worst in SHOWN_BY_DEFAULT},
        el(
            "summary",
            None,
            _BADGES[worst],
            el("code", None, rule),
            el("span", {"class": f"sev sev-{first.severity.value}"}, first.severity.value),
            el("span", None, first.title or first.check),
            el("span", {"class": "counts"}, f"({count_text})"),
        ),
        el("div", {"class": "rule-body"}, *body),
    )


_BADGES = {s: el("span", {"class": f"badge st-{s.value}"}, s.value.upper()) for s in Status}


def _finding(r: Result, domain: Markup, dix: Markup) -> Markup:
    where = str(r.location)
    head = el(
        "div",
        {"class": "finding-head"},
        _BADGES[r.status],
        el(
            "span", {"class": "subject"}, r.subject if r.subject != "-" else "(the rule as a whole)"
        ),
        el("span", {"class": "where"}, where) if where and where != r.subject else None,
    )
    parts: list[object] = [head, el("p", {"class": "message"}, r.message)]
    if r.evidence:
        parts.append(_evidence(r.evidence))
    if r.waiver is not None:
        parts.append(_waiver(r.waiver))
    return el(
        "li",
        {
            "class": "finding",
            "data-severity": Markup(r.severity.value),
            "data-status": Markup(r.status.value),
            "data-domain": domain,
            "data-dix": dix,
        },
        *parts,
    )


def _evidence(evidence: Mapping[str, JSONValue]) -> Markup:
    return el(
        "dl",
        {"class": "evidence"},
        definitions(
            (
                key,
                value
                if isinstance(value, str)
                else json.dumps(value, ensure_ascii=False, default=str),
            )
            for key, value in evidence.items()
        ),
    )


def _waiver(waiver: Mapping[str, JSONValue]) -> Markup:
    w = dict(waiver)
    facts = [f"{k}: {w[k]}" for k in ("owner", "approver", "expires", "ticket", "source") if k in w]
    return el(
        "div",
        {"class": "waiver"},
        el("strong", None, f"Waived (was {w.get('original_status', 'fail')}): "),
        str(w.get("justification", "")),
        void("br"),
        escape(" \u00b7 ".join(facts)),
    )
