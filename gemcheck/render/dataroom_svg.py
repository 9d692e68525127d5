"""The data-room picture of the HTML report: a self-contained SVG drawn from ``report.data_room``.

What it shows:

- One lane per patient-record system with exposures, worst first (breached, at-risk, not
  assessed; the report's order within each). At the right of the lane is the system's box,
  coloured by its verdict with the report's colours (``report.css``): breached red, at-risk
  orange, not assessed grey, with the verdict, the score and the number of exposures.
  Contained systems (no exposure) share the last lane as small green boxes.
- One row per exposure: the rule id, then the exposure path as a chain of boxes joined by
  solid arrows in the order of the path (``guest -> router -> FW rule ... -> pvs:443/tcp``),
  and a dashed arrow from the chain into the system it exposes. The path of an *outgoing*
  exposure (a direct internet egress) starts at the host and reads the same way.
- Highlight colour: the report records whether a *system* is breached, not which of its
  exposures breaches, so every exposure of a breached system is drawn red and every exposure
  of any other system orange. The list under the picture names the rule of each.
- Long labels are shortened in the middle (``FW rule rou\u2026tables:12``: the start and the
  port or line number stay) and carry their full text in a ``<title>`` child: a tooltip when
  the SVG is opened on its own (a browser shows no tooltips inside an ``<img>``, so the list
  under the picture keeps every full text). A path of more than :data:`MAX_HOPS` hops keeps
  its first and last hops around a ``\u2026 N hops`` box.
- At most :data:`MAX_ROWS` rows are drawn (one per exposure, one per system without any,
  one per line of contained systems); a note says how many paths and systems were left out.

Safety and determinism: labels are untrusted (zone, host and rule names from site files and
firewall configurations). Every string is XML-escaped by :mod:`gemcheck.render.markup`;
characters XML cannot carry and bidirectional controls are shown as ``\\uXXXX`` (a label
cannot reorder itself or hide what it says). The SVG has no script, no link, no external
font or image, no style sheet and no ``url()`` reference. Coordinates are integers and
nothing depends on time, locale or hashing: the same data room gives the same bytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from gemcheck.model import DataRoom, Exposure, SystemRoom
from gemcheck.render._safe import printable
from gemcheck.render.markup import AttrValue, Markup, el, join

MAX_ROWS = 40
"""Rows drawn at most; the rest is counted in a note under the picture."""
MAX_HOPS = 6
"""Boxes per path at most; the middle hops of a longer path are folded into one box."""

WIDTH = 960
"""Width of the picture in px: the HTML report's figure shows it at its natural size."""
_PAD = 16
_RULE_W = 112  # the rule-id column
_SYS_W = 190  # the system box
_LINK_W = 34  # room for the dashed arrow into the system box
_CHAIN_X = _PAD + _RULE_W
_SYS_X = WIDTH - _PAD - _SYS_W
_CHAIN_W = _SYS_X - _LINK_W - _CHAIN_X
_HOP_GAP = 22  # an arrow between two hop boxes
_ROW_H = 26
_ROW_GAP = 8
_LANE_PAD = 8
_LANE_GAP = 10
_SYS_MIN_H = 64
_BOX_PAD = 6
_MAX_BOX = 260
_FOOT_H = 26
_MONO = 7.3  # px per column of 12px DejaVu Sans Mono (0.602 em), with some slack
_NAME = 8.2  # px per character of bold 13px sans-serif, generous

_VERDICTS = ("breached", "at-risk", "not-assessed", "contained")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CSS_VAR = re.compile(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})\b")
_FONT_MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
_FONT_SANS = "system-ui, DejaVu Sans, Segoe UI, Roboto, sans-serif"

_Style = Mapping[str, AttrValue]
_SANS: _Style = {"font-family": _FONT_SANS}
_SANS_BOLD: _Style = {"font-family": _FONT_SANS, "font-weight": 700}
_SANS_SMALL: _Style = {"font-family": _FONT_SANS, "font-size": 11}
_SANS_NAME: _Style = {"font-family": _FONT_SANS, "font-size": 13, "font-weight": 700}
_MONO_BOLD: _Style = {"font-weight": 700}
_PLAIN: _Style = {}


@dataclass(frozen=True, slots=True)
class Picture:
    """The SVG document (UTF-8) and a text alternative that summarises it."""

    svg: bytes
    alt: str


def picture(room: DataRoom) -> Picture | None:
    """The data-room picture, or None when there is nothing to draw (not assessed, no systems)."""
    if room.verdict == "not-assessed" or not room.systems:
        return None
    colours = _colours()
    calm = [s for s in room.systems if _calm(s)]
    lanes = sorted((s for s in room.systems if not _calm(s)), key=_rank)
    parts: list[Markup] = []
    top = _PAD
    budget = MAX_ROWS
    drawn_paths = drawn_systems = 0
    for system in lanes:
        if budget <= 0:
            break
        shown = system.exposures[:budget]
        lane, height = _lane(system, shown, top, colours)
        parts.append(lane)
        top += height + _LANE_GAP
        budget -= max(1, len(shown))
        drawn_paths += len(shown)
        drawn_systems += 1
    if calm and budget > 0:
        lane, height, drawn = _calm_lane(calm, top, budget, colours)
        parts.append(lane)
        top += height + _LANE_GAP
        drawn_systems += drawn
    total_paths = sum(len(s.exposures) for s in room.systems)
    note = _omitted(total_paths - drawn_paths, len(room.systems) - drawn_systems)
    if note:
        style = {**_SANS, "font-style": "italic"}
        parts.append(_text(_PAD, top + 12, note, colours["muted"], style))
        top += _FOOT_H
    parts.append(_legend(top, colours))
    height = top + _FOOT_H + _PAD
    alt = summary(room)
    svg = el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": WIDTH,
            "height": height,
            "viewBox": f"0 0 {WIDTH} {height}",
            "role": "img",
            "font-family": _FONT_MONO,
            "font-size": 12,
        },
        el("title", None, alt),
        el("rect", {"width": WIDTH, "height": height, "fill": colours["bg"]}),
        Markup("\n"),
        join(parts, "\n"),
        Markup("\n"),
    )
    return Picture((svg + "\n").encode("utf-8"), alt)


def summary(room: DataRoom) -> str:
    """A one-sentence description of the picture (its ``alt`` text): counts, no names."""
    verdicts = Counter(_verdict(s) for s in room.systems)
    counts = ", ".join(f"{verdicts[v]} {v}" for v in _VERDICTS if verdicts[v])
    paths = sum(len(s.exposures) for s in room.systems)
    return (
        f"Data-room picture: {_count(len(room.systems), 'patient-record system')} ({counts}) "
        f"and {_count(paths, 'exposure path')} into them, each drawn in its system's colour; "
        "the list below names every system and path."
    )


# -- lanes ----------------------------------------------------------------------------------------


def _calm(system: SystemRoom) -> bool:
    """A contained system without exposures: drawn small, in the last lane."""
    return _verdict(system) == "contained" and not system.exposures


def _rank(system: SystemRoom) -> int:
    return _VERDICTS.index(_verdict(system))


def _lane(
    system: SystemRoom, shown: Sequence[Exposure], top: int, colours: Mapping[str, str]
) -> tuple[Markup, int]:
    """A system's lane: its exposures (``shown``) in rows, its box at the right."""
    block = max(1, len(shown)) * (_ROW_H + _ROW_GAP) - _ROW_GAP
    inner = max(block, _SYS_MIN_H)
    height = inner + 2 * _LANE_PAD
    verdict = _verdict(system)
    first = top + _LANE_PAD + (inner - block) // 2
    items = [_lane_box(top, height, colours), _system_box(system, top + _LANE_PAD, inner, colours)]
    if not shown:
        items.append(_text(_CHAIN_X, first + 17, "no exposure found", colours["muted"], _SANS))
    for i, exposure in enumerate(shown):
        items.append(_row(exposure, first + i * (_ROW_H + _ROW_GAP), colours[verdict], colours))
    return el("g", {"class": f"lane {verdict}"}, *items), height


def _calm_lane(
    systems: Sequence[SystemRoom], top: int, budget: int, colours: Mapping[str, str]
) -> tuple[Markup, int, int]:
    """Contained systems as small green boxes, wrapped into at most ``budget`` rows; returns
    the lane, its height and how many systems it holds."""
    tone = colours["contained"]
    right = WIDTH - _PAD - 8
    boxes: list[Markup] = []
    x, row = _CHAIN_X, 0
    for system in systems:
        width = min(_SYS_W, _fit_width(_clean(system.id)))
        if x + width > right and x > _CHAIN_X:
            if row + 1 >= budget:
                break
            x, row = _CHAIN_X, row + 1
        y = top + _LANE_PAD + row * (_ROW_H + _ROW_GAP)
        boxes.append(
            el(
                "g",
                {"class": "system"},
                _box(x, y, width, _ROW_H, _tint(tone), tone, 2),
                _label(x + _BOX_PAD, y + 17, system.id, width - 2 * _BOX_PAD, _MONO, _PLAIN),
            )
        )
        x += width + 8
    height = (row + 1) * (_ROW_H + _ROW_GAP) - _ROW_GAP + 2 * _LANE_PAD
    head = top + _LANE_PAD + _ROW_H // 2
    lane = el(
        "g",
        {"class": "lane contained"},
        _lane_box(top, height, colours),
        _text(_PAD, head - 1, "CONTAINED", tone, _SANS_BOLD),
        _text(_PAD, head + 13, "no exposure found", colours["muted"], _SANS_SMALL),
        *boxes,
    )
    return lane, height, len(boxes)


def _lane_box(top: int, height: int, colours: Mapping[str, str]) -> Markup:
    return _box(_PAD // 2, top, WIDTH - _PAD, height, colours["panel"], colours["line"], 1, 6)


def _system_box(system: SystemRoom, y: int, height: int, colours: Mapping[str, str]) -> Markup:
    verdict = _verdict(system)
    tone = colours[verdict]
    mid = y + height // 2
    x = _SYS_X + 10
    facts = f"score {system.score:g} \u00b7 {_count(len(system.exposures), 'exposure')}"
    return el(
        "g",
        {"class": "system"},
        _box(_SYS_X, y, _SYS_W, height, _tint(tone), tone, 2, 5),
        _label(x, mid - 9, system.id, _SYS_W - 20, _NAME, _SANS_NAME, fill=colours["fg"]),
        _text(x, mid + 8, verdict.upper(), tone, _SANS_BOLD),
        _text(x, mid + 24, facts, colours["muted"], _SANS_SMALL),
    )


# -- one exposure ---------------------------------------------------------------------------------


def _row(exposure: Exposure, y: int, tone: str, colours: Mapping[str, str]) -> Markup:
    """The rule id, the path's boxes joined by arrows, a dashed arrow into the system box."""
    mid = y + _ROW_H // 2
    hops = _fold(exposure.path or ("(no path)",))
    widths = _widths([label for label, _ in hops], _CHAIN_W - 8)
    items = [
        el("title", None, f"{_clean(exposure.rule)}: {_clean(exposure.message)}"),
        _label(_PAD, mid + 4, exposure.rule, _RULE_W - 12, _MONO, _MONO_BOLD, fill=tone),
    ]
    x = _CHAIN_X
    for i, ((label, full), width) in enumerate(zip(hops, widths, strict=True)):
        if i:
            items.append(_arrow(x - _HOP_GAP + 2, x - 1, mid, tone))
        items.append(
            el(
                "g",
                None,
                _box(x, y, width, _ROW_H, colours["bg"], tone, 1.5),
                _label(x + _BOX_PAD, mid + 4, label, width - 2 * _BOX_PAD, _MONO, _PLAIN, tip=full),
            )
        )
        x += width + _HOP_GAP
    items.append(_arrow(x - _HOP_GAP + 2, _SYS_X - 1, mid, tone, dashed=True))
    return el("g", {"class": "exposure"}, *items)


def _fold(path: Sequence[str]) -> list[tuple[str, str]]:
    """``(label, full text)`` per box: at most :data:`MAX_HOPS`, the middle folded into one."""
    hops = [(_clean(p), _clean(p)) for p in path]
    if len(hops) <= MAX_HOPS:
        return hops
    head = (MAX_HOPS - 1) // 2
    tail = MAX_HOPS - 1 - head
    hidden = hops[head : len(hops) - tail]
    folded = (f"\u2026 {len(hidden)} hops", " \u2192 ".join(full for _, full in hidden))
    return [*hops[:head], folded, *hops[len(hops) - tail :]]


def _widths(labels: Sequence[str], room: int) -> list[int]:
    """Box widths: each as wide as its label (at most :data:`_MAX_BOX`); when the chain would
    not fit into ``room``, the widest boxes give way first."""
    want = [min(_MAX_BOX, _fit_width(t)) for t in labels]
    space = room - _HOP_GAP * (len(labels) - 1)
    if sum(want) <= space:
        return want
    cap = left = space
    for i, w in enumerate(sorted(want)):
        share = left // (len(want) - i)
        if w > share:
            cap = share
            break
        left -= w
    return [min(w, cap) for w in want]


def _arrow(x1: int, x2: int, y: int, tone: str, *, dashed: bool = False) -> Markup:
    line: dict[str, AttrValue] = {"x1": x1, "y1": y, "x2": x2 - 6, "y2": y}
    line |= {"stroke": tone, "stroke-width": 1.5, "stroke-dasharray": "5 3" if dashed else None}
    head = f"{x2 - 7},{y - 4} {x2},{y} {x2 - 7},{y + 4}"
    return join([el("line", line), el("polygon", {"points": head, "fill": tone})])


def _box(
    x: int, y: int, width: int, height: int, fill: str, stroke: str, line: float, rx: int = 4
) -> Markup:
    attrs = {"x": x, "y": y, "width": width, "height": height, "rx": rx}
    return el("rect", {**attrs, "fill": fill, "stroke": stroke, "stroke-width": line})


# -- text -----------------------------------------------------------------------------------------


def _text(x: int, y: int, text: str, fill: str, style: _Style) -> Markup:
    return el("text", {"x": x, "y": y, "fill": fill, **style}, _clean(text))


def _label(
    x: int,
    y: int,
    text: str,
    width: int,
    per_char: float,
    style: _Style,
    *,
    fill: str | None = None,
    tip: str | None = None,
) -> Markup:
    """``text`` shortened to ``width`` px, with a ``<title>`` holding the full text (``tip``,
    by default ``text`` itself) when the label does not show all of it."""
    clean = _clean(text)
    short = _shorten(clean, max(2, int(width / per_char)))
    full = tip if tip is not None else clean
    title = el("title", None, full) if full != short else None
    return el("text", {"x": x, "y": y, "fill": fill, **style}, title, short)


def _clean(text: str) -> str:
    """XML-safe and bidi-inert: unencodable characters and direction controls as ``\\uXXXX``."""
    return _BIDI.sub(lambda m: f"\\u{ord(m.group()):04x}", printable(text))


def _fit_width(label: str) -> int:
    """The width of a monospace box that shows ``label`` whole."""
    return int(_columns(label) * _MONO) + 2 * _BOX_PAD + 2


def _columns(text: str) -> int:
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _shorten(text: str, columns: int) -> str:
    """``text`` in at most ``columns`` columns: its start and end around an ellipsis."""
    if _columns(text) <= columns:
        return text
    keep = columns - 1
    head = _take(text, keep - keep * 2 // 5)
    tail = _take(text[::-1], keep - _columns(head))[::-1]
    return f"{head}\u2026{tail}"


def _take(text: str, columns: int) -> str:
    """The longest start of ``text`` that fits into ``columns``."""
    used = 0
    for i, char in enumerate(text):
        used += _char_width(char)
        if used > columns:
            return text[:i]
    return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _omitted(paths: int, systems: int) -> str:
    bits = [f"+{_count(paths, 'more exposure path')}"] if paths > 0 else []
    if systems > 0:
        bits.append(f"+{_count(systems, 'more system')}")
    if not bits:
        return ""
    return f"{' and '.join(bits)} not drawn (at most {MAX_ROWS} rows); the list below has all."


def _legend(top: int, colours: Mapping[str, str]) -> Markup:
    y = top + 12
    items: list[Markup] = []
    for i, verdict in enumerate(("breached", "at-risk", "contained")):
        x = _PAD + 110 * i
        tone = colours[verdict]
        items.append(_box(x, y - 9, 12, 12, _tint(tone), tone, 2, 2))
        items.append(_text(x + 18, y + 1, verdict, colours["fg"], _SANS))
    muted = colours["muted"]
    x = _PAD + 330
    items.append(_arrow(x, x + 30, y - 3, muted))
    items.append(_text(x + 38, y + 1, "next hop on a path", muted, _SANS))
    x += 190
    items.append(_arrow(x, x + 30, y - 3, muted, dashed=True))
    items.append(_text(x + 38, y + 1, "exposes the system", muted, _SANS))
    return el("g", {"class": "legend"}, *items)


# -- colours --------------------------------------------------------------------------------------


def _verdict(system: SystemRoom) -> str:
    return system.verdict if system.verdict in _VERDICTS else "not-assessed"


@cache
def _colours() -> Mapping[str, str]:
    """The report's colours (``--name: #rrggbb`` in ``report.css``), so picture and page agree."""
    css = resources.files("gemcheck.render").joinpath("assets", "report.css").read_text("utf-8")
    found = dict(_CSS_VAR.findall(css))
    return {k: found[k] for k in ("fg", "muted", "line", "bg", "panel", *_VERDICTS)}


def _tint(colour: str, amount: float = 0.12) -> str:
    """``colour`` mixed with white (``amount`` of the colour, the rest white)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * amount):02x}" for c in rgb)
