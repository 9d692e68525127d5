"""The data-room picture (``gemcheck.render.dataroom_svg``) and its place in the HTML report:
deterministic, escaped, well-formed XML without scripts or links, coloured by verdict, capped;
and in headless Chromium: it loads as an image, in the report's colours, and a screenshot."""

from __future__ import annotations

import base64
import dataclasses
import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from gemcheck.model import DataRoom, Exposure, Report, SystemRoom
from gemcheck.render.dataroom_svg import MAX_HOPS, MAX_ROWS, WIDTH, picture, summary
from gemcheck.render.html import asset
from gemcheck.render.html import render as render_html
from tests.chromium import Browser, executable
from tests.conftest import AS_OF
from tests.gate_reports import CONTROL, LONG, QUOTES, UNICODE, XSS_IMG, XSS_SCRIPT, sample_report

SVG = "{http://www.w3.org/2000/svg}"
CSS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", asset("report.css")))
RTL = "\u202e"
HOSTILE_HOP = f"{XSS_SCRIPT} {QUOTES} {RTL}gpj.exe{RTL} {CONTROL}"


def room(*systems: SystemRoom) -> DataRoom:
    verdicts = {s.verdict for s in systems}
    worst = next((v for v in ("breached", "at-risk") if v in verdicts), "contained")
    return DataRoom(worst, systems)


def exposure(*path: str, rule: str = "NET-PATH-001", message: str = "inbound") -> Exposure:
    return Exposure(path, rule, message)


def hostile_room() -> DataRoom:
    return room(
        SystemRoom(
            "pvs " + XSS_SCRIPT,
            0.0,
            "breached",
            (
                exposure("internet", "router", "FW rule router.iptables:12", "pvs:443/tcp"),
                exposure(HOSTILE_HOP, "router", XSS_IMG, rule="NET-" + QUOTES, message=XSS_IMG),
            ),
        ),
        SystemRoom(
            "archive",
            70.0,
            "at-risk",
            (exposure("archive", "internet:443/tcp", rule="NET-EGR-001"),),
        ),
        SystemRoom("epa " + UNICODE, 100.0, "contained"),
    )


def svg_of(data_room: DataRoom) -> bytes:
    drawn = picture(data_room)
    assert drawn is not None
    return drawn.svg


def tree(data_room: DataRoom) -> ET.Element:
    parsed: ET.Element = fromstring(svg_of(data_room))
    return parsed


def lane(root: ET.Element, verdict: str) -> ET.Element:
    (found,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == f"lane {verdict}"]
    return found


def shown(text: ET.Element) -> str:
    """What a ``<text>`` element shows (without its ``<title>`` tooltip)."""
    return (text.text or "") + "".join(child.tail or "" for child in text)


def exposures(element: ET.Element) -> list[ET.Element]:
    return [g for g in element.iter(f"{SVG}g") if g.get("class") == "exposure"]


# -- the drawing -----------------------------------------------------------------------------------


def test_nothing_to_draw_gives_no_picture() -> None:
    assert picture(DataRoom()) is None
    assert picture(DataRoom("breached", ())) is None
    assert picture(DataRoom("not-assessed", (SystemRoom("pvs", 0.0, "at-risk"),))) is None
    page = render_html(dataclasses.replace(sample_report(), data_room=DataRoom()))
    assert "<img" not in page and "<figure" not in page


def test_same_room_same_bytes() -> None:
    first = svg_of(hostile_room())
    assert svg_of(hostile_room()) == first  # fresh, equal objects
    assert svg_of(hostile_room()) == first  # and again (no caches that change the output)
    report = sample_report()
    assert render_html(report) == render_html(sample_report())


def test_well_formed_svg_without_scripts_links_or_fetches() -> None:
    data = svg_of(hostile_room())
    root = tree(hostile_room())
    assert root.tag == f"{SVG}svg"
    assert (
        root.get("width") == str(WIDTH)
        and root.get("viewBox") == f"0 0 {WIDTH} {root.get('height')}"
    )
    tags = {e.tag.removeprefix(SVG) for e in root.iter()}
    assert tags <= {"svg", "title", "g", "rect", "text", "line", "polygon"}
    attributes = {a for e in root.iter() for a in e.attrib}
    assert not [a for a in attributes if "href" in a or a.startswith("on") or a == "style"]
    lowered = data.lower()
    for banned in (
        b"<script",
        b"href",
        b"url(",
        b"javascript:",
        b"@import",
        b"<!doctype",
        b"<!entity",
    ):
        assert banned not in lowered
    data.decode("utf-8")


def test_hostile_labels_are_escaped_and_shown_whole_in_titles() -> None:
    data = svg_of(hostile_room())
    text = data.decode("utf-8")
    assert "&lt;script&gt;console.error(&quot;xss-script&quot;)&lt;/script&gt;" in text
    assert "O&#x27;Brien &quot;Praxis&quot; &amp; &lt;Partner&gt;" in text
    assert XSS_SCRIPT not in text and XSS_IMG not in text and QUOTES not in text
    # direction controls and characters XML cannot carry are shown, not obeyed
    assert RTL not in text and "\\u202egpj.exe\\u202e" in text
    assert r"bell\u0007 nul\u0000 esc\u001b[31m lone\ud800 end" in text
    assert UNICODE.replace(RTL, "\\u202e").replace("\u202c", "\\u202c") in text
    root = tree(hostile_room())
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert any(t and t.startswith(XSS_SCRIPT + " " + QUOTES) for t in titles)  # the full hop
    assert f"NET-{QUOTES}: {XSS_IMG}" in titles  # the row: rule and message


def test_long_labels_are_shortened_with_the_full_text_as_title() -> None:
    hop = "FW rule " + "x" * 200 + " router.iptables:12"
    root = tree(room(SystemRoom(LONG, 50.0, "at-risk", (exposure("lan", hop, "pvs:443/tcp"),))))
    texts = {(t.findtext(f"{SVG}title"), shown(t)) for t in root.iter(f"{SVG}text")}
    (label,) = [full for title, full in texts if title == hop]
    assert label.startswith("FW rule xxx") and label.endswith("\u2026.iptables:12")
    assert len(label) < 60
    (name,) = [full for title, full in texts if title == LONG]
    assert "\u2026" in name and len(name) < 40
    plain = [full for title, full in texts if full in ("lan", "pvs:443/tcp")]
    assert sorted(plain) == ["lan", "pvs:443/tcp"]  # short labels whole, without a title


def test_paths_are_chains_of_boxes_with_arrows_into_the_system() -> None:
    root = tree(hostile_room())
    breached = lane(root, "breached")
    first = exposures(breached)[0]
    hops = [r for r in first.iter(f"{SVG}rect")]
    labels = [shown(t) for t in first.iter(f"{SVG}text")]
    assert labels[0] == "NET-PATH-001" and len(hops) == 4
    assert "internet" in labels and "pvs:443/tcp" in labels
    lines = list(first.iter(f"{SVG}line"))
    assert len(lines) == 4 and [ln.get("stroke-dasharray") for ln in lines] == [None] * 3 + ["5 3"]
    xs = [int(r.get("x") or 0) for r in hops]
    assert xs == sorted(xs)
    (box,) = [
        r
        for g in breached.iter(f"{SVG}g")
        if g.get("class") == "system"
        for r in g.iter(f"{SVG}rect")
    ]
    heads = list(first.iter(f"{SVG}polygon"))
    tip = int(heads[-1].get("points", "").split()[1].split(",")[0])
    assert int(box.get("x") or 0) - 1 == tip  # the dashed arrow ends at the system box


def test_colours_follow_the_verdict_and_the_report_css() -> None:
    root = tree(hostile_room())
    for verdict, rows in (("breached", 2), ("at-risk", 1)):
        element = lane(root, verdict)
        tone = CSS[verdict]
        (box,) = [
            r
            for g in element.iter(f"{SVG}g")
            if g.get("class") == "system"
            for r in g.iter(f"{SVG}rect")
        ]
        assert box.get("stroke") == tone
        drawn = exposures(element)
        assert len(drawn) == rows
        for row in drawn:
            strokes = {e.get("stroke") for e in row.iter() if e.tag in (f"{SVG}rect", f"{SVG}line")}
            assert strokes == {tone}
    calm = lane(root, "contained")
    assert {r.get("stroke") for r in calm.iter(f"{SVG}rect")} == {CSS["contained"], CSS["line"]}
    order = [g.get("class") for g in root if g.get("class", "").startswith("lane")]
    assert order == ["lane breached", "lane at-risk", "lane contained"]  # worst first


def test_long_paths_are_folded() -> None:
    path = [f"hop{i}" for i in range(12)]
    root = tree(room(SystemRoom("pvs", 0.0, "breached", (exposure(*path),))))
    (row,) = exposures(root)
    boxes = [t for t in row.iter(f"{SVG}text") if shown(t) != "NET-PATH-001"]
    assert len(boxes) == MAX_HOPS
    labels = [shown(t) for t in boxes]
    assert labels[:2] == ["hop0", "hop1"] and labels[-3:] == ["hop9", "hop10", "hop11"]
    (folded,) = [t for t in boxes if "hops" in shown(t)]
    assert shown(folded) == "\u2026 7 hops"
    assert folded.findtext(f"{SVG}title") == " \u2192 ".join(path[2:9])


def test_size_grows_with_the_paths_up_to_the_cap() -> None:
    def height(paths: int, calm: int = 0) -> int:
        exps = tuple(exposure("lan", f"pvs:{i}/tcp", rule=f"NET-{i:03d}") for i in range(paths))
        calm_ones = (SystemRoom(f"calm-{i}", 100.0, "contained") for i in range(calm))
        systems = (SystemRoom("pvs", 0.0, "breached", exps), *calm_ones)
        root = tree(room(*systems))
        assert len(exposures(root)) == min(paths, MAX_ROWS)
        return int(root.get("height") or 0)

    assert height(1) < height(5) < height(20) < height(MAX_ROWS)
    assert height(MAX_ROWS + 1) == height(1000)
    many = room(
        SystemRoom("pvs", 0.0, "breached", tuple(exposure("lan", f"p{i}") for i in range(100))),
        SystemRoom("archive", 50.0, "at-risk", (exposure("archive", "internet"),)),
        *(SystemRoom(f"calm-{i}", 100.0, "contained") for i in range(3)),
    )
    text = svg_of(many).decode()
    assert "+61 more exposure paths and +4 more systems not drawn (at most 40 rows)" in text
    assert height(3, calm=200) < height(3) + 40 * 34 + 100  # contained systems wrap compactly


def test_alt_text_summarises_without_names() -> None:
    drawn = picture(hostile_room())
    assert drawn is not None and drawn.alt == summary(hostile_room())
    assert drawn.alt.startswith(
        "Data-room picture: 3 patient-record systems (1 breached, 1 at-risk, 1 contained) "
        "and 3 exposure paths into them"
    )
    assert "pvs" not in drawn.alt
    one = room(SystemRoom("pvs", 70.0, "at-risk", (exposure("lan", "pvs:22/tcp"),)))
    assert "1 patient-record system (1 at-risk) and 1 exposure path into" in summary(one)


# -- in the HTML report ----------------------------------------------------------------------------


def images(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<img src="([^"]*)" alt="([^"]*)">', page)


def test_html_report_embeds_the_picture_by_default() -> None:
    report = sample_report()
    page = render_html(report)
    drawn = picture(report.data_room)
    assert drawn is not None
    ((src, alt),) = images(page)
    assert src == "data:image/svg+xml;base64," + base64.b64encode(drawn.svg).decode()
    assert html.unescape(alt) == drawn.alt
    assert "img-src data:" in page
    body = page[page.index("<body>") :]
    assert body.index("Data room: ") < body.index("<figure") < body.index('class="systems"')


def test_a_given_figure_wins() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'
    ((src, alt),) = images(render_html(sample_report(), figure=svg))
    assert base64.b64decode(src.removeprefix("data:image/svg+xml;base64,")) == svg
    assert alt.startswith("Network picture")


# -- in Chromium -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if executable() is None:
        pytest.skip("chromium is not installed (CI installs the Debian package 'chromium')")
    b = Browser(tmp_path_factory.mktemp("chromium"))
    try:
        yield b
    finally:
        b.close()


PIXELS = """(() => {
  const img = document.querySelector('#data-room figure img');
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  const counts = {};
  for (let i = 0; i < d.length; i += 4) {
    const k = '#' + [d[i], d[i + 1], d[i + 2]].map(v => v.toString(16).padStart(2, '0')).join('');
    counts[k] = (counts[k] || 0) + 1;
  }
  return {w: img.naturalWidth, h: img.naturalHeight, shown: img.width,
          counts: counts};
})()"""


def show(browser: Browser, tmp_path: Path, report: Report, name: str) -> dict[str, object]:
    """Open ``report`` as HTML, check the picture loaded, screenshot it; the picture's pixels."""
    path = tmp_path / f"{name}.html"
    path.write_text(render_html(report), encoding="utf-8")
    browser.open(path.as_uri(), height=1000)
    assert browser.problems() == []
    assert [u for u in browser.requests() if not u.startswith("data:")] == [path.as_uri()]
    assert browser.evaluate("document.querySelector('#data-room img').complete") is True
    browser.evaluate("document.querySelector('#data-room').scrollIntoView()")
    shot = browser.screenshot(tmp_path / f"{name}.png")
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    pixels: dict[str, object] = browser.evaluate(PIXELS)
    return pixels


def test_picture_in_chromium(browser: Browser, tmp_path: Path) -> None:
    pixels = show(browser, tmp_path, sample_report(), "dataroom")
    assert pixels["w"] == WIDTH and int(str(pixels["h"])) > 200
    assert pixels["shown"] == WIDTH  # drawn at its natural size in the report's layout
    counts = pixels["counts"]
    assert isinstance(counts, dict)
    for verdict in ("breached", "at-risk", "contained"):
        assert counts.get(CSS[verdict], 0) > 500, verdict  # boxes, arrows and text in colour


def test_demo_report_in_chromium(browser: Browser, tmp_path: Path) -> None:
    from gemcheck.audit import AuditOptions, plan, run
    from gemcheck.collect import CollectOptions
    from gemcheck.site import EXAMPLE_SITE, build_site, load_site

    site = build_site(load_site(EXAMPLE_SITE), EXAMPLE_SITE.parent, str(EXAMPLE_SITE))
    options = AuditOptions(as_of=AS_OF, collect=CollectOptions(offline=True))
    report = run(plan(site, options))
    assert [(s.id, s.verdict) for s in report.data_room.systems] == [("pvs", "at-risk")]
    pixels = show(browser, tmp_path, report, "demo")
    counts = pixels["counts"]
    assert isinstance(counts, dict) and counts.get(CSS["at-risk"], 0) > 500
