"""The HTML report: self-contained, autoescaped, verdict first, data room, findings with
evidence; and in real headless Chromium: no console errors, no fetches, filters that work
with and without JavaScript, print styles, and a screenshot."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Collection, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gemcheck.model import DataRoom, Report, Severity, Status
from gemcheck.render import FORMATS, render
from gemcheck.render.html import render as render_html
from tests.chromium import Browser, executable
from tests.gate_reports import (
    QUOTES,
    UNICODE,
    XSS_IMG,
    XSS_SCRIPT,
    cert_report,
    sample_report,
)

DEFAULT_SHOWN = {Status.FAIL, Status.ERROR, Status.WAIVED}


def html_of(report: Report | None = None) -> str:
    return render(report or sample_report(), "html")


def test_registered() -> None:
    assert FORMATS["html"] == "gemcheck.render.html"


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, as a browser's tokenizer sees them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_self_contained_with_a_strict_csp() -> None:
    page = html_of()
    tags = Tags(page).tags
    names = {t for t, _ in tags}
    assert not names & {
        "link",
        "iframe",
        "object",
        "embed",
        "base",
        "audio",
        "video",
        "source",
        "frame",
        "svg",
        "math",
        "form-action",
    }
    (picture,) = [attrs for tag, attrs in tags if tag == "img"]  # the data-room picture
    assert (picture["src"] or "").startswith("data:image/svg+xml;base64,")
    attributes = {a for tag, attrs in tags if tag != "img" for a in attrs}
    assert not attributes & {"src", "href", "action", "srcset", "poster", "style", "formaction"}
    assert not [a for a in attributes if a.startswith("on")]
    assert [t for t, _ in tags].count("script") == 1 and [t for t, _ in tags].count("style") == 1
    assert "@import" not in page and "url(" not in page and "@font-face" not in page
    (policy,) = [a["content"] for t, a in tags if a.get("http-equiv") == "Content-Security-Policy"]
    assert policy is not None
    assert policy.startswith("default-src 'none'; ")
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.index("Content-Security-Policy") < page.index("<style>")
    for tag, directive in (("style", "style-src"), ("script", "script-src")):
        (body,) = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy
    assert "@media print" in page


def test_script_builds_no_html_from_data() -> None:
    (script,) = re.findall(r"<script>(.*?)</script>", html_of(), re.DOTALL)
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        'setTimeout("',
        "fetch(",
        "XMLHttpRequest",
    ):
        assert sink not in script


def test_untrusted_strings_are_escaped() -> None:
    page = html_of()
    tags = Tags(page).tags
    assert [t for t, _ in tags].count("script") == 1  # ours only
    assert [(a["src"] or "")[:26] for t, a in tags if t == "img"] == ["data:image/svg+xml;base64,"]
    assert "&lt;script&gt;console.error(&quot;xss-script&quot;)&lt;/script&gt;" in page
    assert "O&#x27;Brien &quot;Praxis&quot; &amp; &lt;Partner&gt;" in page
    assert UNICODE in page  # non-ASCII text stays as is (the file is UTF-8)
    assert r"bell\u0007 nul\u0000 esc\u001b[31m lone\ud800 end" in page
    page.encode("utf-8")
    for hostile in (XSS_SCRIPT, XSS_IMG, QUOTES):
        assert hostile not in page


def test_verdict_and_score_come_first() -> None:
    page = html_of()
    body = page[page.index("<body>") :]
    order = [
        body.index(x) for x in ("Verdict: ", "61.5", "Scores by domain", "Data room: ", "Findings")
    ]
    assert order == sorted(order)
    assert "Score without waivers: 58.25 / 100" in page
    assert "score 61.5 is below the minimum 90" in page


def test_data_room_systems_and_paths() -> None:
    page = html_of()
    assert 'class="system room-breached"' in page and 'class="system room-contained"' in page
    assert "<code>internet</code></li><li><code>wan-router</code>" in page
    assert "NET-PATH-002" in page and "guest Wi-Fi reaches the database" in page
    empty = html_of(sample_report_without_room())
    assert "Not assessed: the audit had no network description" in empty


def sample_report_without_room() -> Report:
    import dataclasses

    return dataclasses.replace(sample_report(), data_room=DataRoom())


def test_figure_hook_embeds_an_svg_as_an_inert_image() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect/></svg>'
    page = render_html(sample_report(), figure=svg)
    src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    images = [attrs for tag, attrs in Tags(page).tags if tag == "img"]
    assert [i["src"] for i in images] == [src] and "img-src data:" in page
    assert [t for t, _ in Tags(page).tags].count("script") == 1


def test_every_result_with_evidence_references_and_remediation() -> None:
    report = cert_report()
    page = html_of(report)
    assert page.count('class="finding"') == len(report.results)
    assert "References:" in page and "gemSpec_Krypt Tab_KRYPT_002a" in page
    assert "Remediation: </strong>Replace the certificate" in page
    assert "<dt>key</dt><dd>RSA-1024</dd>" in page


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


def open_report(
    browser: Browser, tmp_path: Path, report: Report, *, javascript: bool = True, height: int = 900
) -> Path:
    path = tmp_path / "report.html"
    path.write_text(html_of(report), encoding="utf-8")
    browser.open(path.as_uri(), javascript=javascript, height=height)
    return path


VISIBLE = "document.querySelectorAll('.finding:not([hidden])').length"
SHOWN = "Number(document.getElementById('shown-count').textContent)"
DISPLAYED = (
    "[...document.querySelectorAll('.finding')]"
    ".filter(e => getComputedStyle(e).display !== 'none').length"
)


def expected(
    report: Report,
    *,
    statuses: Collection[Status] = DEFAULT_SHOWN,
    without: Collection[Severity] = (),
) -> int:
    return sum(1 for r in report.results if r.status in statuses and r.severity not in without)


def test_page_loads_cleanly_and_fetches_nothing(browser: Browser, tmp_path: Path) -> None:
    report = sample_report()
    path = open_report(browser, tmp_path, report)
    assert browser.problems() == []
    requests = browser.requests()
    assert [u for u in requests if not u.startswith("data:image/svg+xml;")] == [path.as_uri()]
    assert browser.evaluate("document.documentElement.classList.contains('js')") is True
    assert browser.evaluate("document.scripts.length") == 1
    assert browser.evaluate("document.images.length") == 1  # the data-room picture
    assert XSS_SCRIPT in browser.evaluate("document.querySelector('h1').textContent")
    assert browser.evaluate("document.title").startswith("gemcheck: Praxis O'Brien")


def test_filters_work_with_javascript(browser: Browser, tmp_path: Path) -> None:
    report = sample_report()
    open_report(browser, tmp_path, report)
    assert browser.evaluate(VISIBLE) == browser.evaluate(SHOWN) == expected(report)
    browser.click("#f-severity-high")
    assert browser.evaluate("document.getElementById('f-severity-high').checked") is False
    want = expected(report, without={Severity.HIGH})
    assert want < expected(report)
    assert browser.evaluate(VISIBLE) == browser.evaluate(SHOWN) == want
    assert browser.evaluate(DISPLAYED) == want
    browser.click("#f-status-pass")
    want = expected(report, statuses=DEFAULT_SHOWN | {Status.PASS}, without={Severity.HIGH})
    assert browser.evaluate(VISIBLE) == want
    # a rule or domain with nothing left to show is hidden as a whole
    browser.click("button[data-group='domain'][data-set='none']")
    assert browser.evaluate(VISIBLE) == 0
    assert browser.evaluate("document.querySelectorAll('section.domain:not([hidden])').length") == 0
    browser.click("#f-domain-2")  # network
    assert browser.evaluate(VISIBLE) == sum(
        1
        for r in report.results
        if r.domain == "network"
        and r.status in DEFAULT_SHOWN | {Status.PASS}
        and r.severity is not Severity.HIGH
    )
    assert browser.problems() == []


def test_filters_work_without_javascript(browser: Browser, tmp_path: Path) -> None:
    report = sample_report()
    open_report(browser, tmp_path, report, javascript=False)
    assert browser.evaluate("document.documentElement.classList.contains('js')") is False
    assert browser.evaluate(DISPLAYED) == expected(report)
    browser.click("#f-severity-high")
    assert browser.evaluate(DISPLAYED) == expected(report, without={Severity.HIGH})
    browser.click("#f-domain-0")  # cert
    assert browser.evaluate(DISPLAYED) == sum(
        1
        for r in report.results
        if r.domain != "cert" and r.status in DEFAULT_SHOWN and r.severity is not Severity.HIGH
    )
    assert browser.problems() == []


def test_print_styles(browser: Browser, tmp_path: Path) -> None:
    open_report(browser, tmp_path, cert_report())
    browser.send("Emulation.setEmulatedMedia", {"media": "print"})
    assert browser.evaluate("getComputedStyle(document.getElementById('filters')).display") == (
        "none"
    )
    pdf = browser.send("Page.printToPDF", {"printBackground": False})
    assert base64.b64decode(pdf["data"]).startswith(b"%PDF")
    browser.send("Emulation.setEmulatedMedia", {"media": ""})
    assert browser.problems() == []


def test_screenshot(browser: Browser, tmp_path: Path) -> None:
    open_report(browser, tmp_path, sample_report(), height=1000)
    top = browser.screenshot(tmp_path / "report-top.png")
    browser.evaluate("document.getElementById('findings').scrollIntoView()")
    findings = browser.screenshot(tmp_path / "report-findings.png")
    for shot in (top, findings):
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    assert browser.problems() == []


def test_large_real_report_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    report = cert_report()
    open_report(browser, tmp_path, report)
    assert browser.evaluate(VISIBLE) == expected(report)
    browser.click("#f-status-pass")
    assert browser.evaluate(VISIBLE) == expected(report, statuses=DEFAULT_SHOWN | {Status.PASS})
    assert browser.problems() == []
