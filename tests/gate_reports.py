"""Reports for the renderer, waiver, baseline and signature tests.

``sample_report()`` is hand-built to cover every status, every severity, a data
room with systems and exposure paths, waived results, endpoint and file
locations, notices, and hostile strings. ``cert_report()`` is a real audit of
the synthetic test PKI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from gemcheck.audit import AuditOptions, plan, run
from gemcheck.model import (
    DataRoom,
    Exposure,
    Gate,
    Location,
    Obligation,
    ProfileRef,
    Report,
    Result,
    Score,
    Severity,
    Status,
    SystemRoom,
)
from gemcheck.scoring import summarize
from gemcheck.site import build_site
from tests.conftest import AS_OF, CERTS

XSS_SCRIPT = '<script>console.error("xss-script")</script>'
XSS_IMG = "<img src=x onerror=\"console.error('xss-img')\">"
QUOTES = 'O\'Brien "Praxis" & <Partner>'
UNICODE = (
    "Zahn\u00e4rztin M\u00fcller \u2013 \u00c6r\u00f8 \u2713 \U0001d518\U0001d52b \u202eRTL\u202c"
)
CONTROL = "bell\x07 nul\x00 esc\x1b[31m lone\ud800 end"
LONG = "CN=" + "sehr-langer-Name-" * 300
HOSTILE = (XSS_SCRIPT, XSS_IMG, QUOTES, UNICODE, CONTROL, LONG)


def result(
    rule: str,
    status: Status,
    severity: Severity,
    subject: str = "subject",
    *,
    domain: str = "cert",
    message: str = "",
    location: Location | None = None,
    waiver: Mapping[str, object] | None = None,
    evidence: Mapping[str, object] | None = None,
) -> Result:
    """One result with readable defaults."""
    return Result(
        rule=rule,
        check=f"{domain}.sample",
        domain=domain,
        subject=subject,
        status=status,
        severity=severity,
        message=message or f"{status.value} on {subject}",
        references=(f"gemSpec_Sample A_{rule[-3:]}", "gemSpec_Krypt GS-A_4384-03"),
        location=location or Location(file=f"certs/{rule.lower()}.pem", index=0),
        evidence=MappingProxyType(evidence or {"detail": subject}),
        obligation=Obligation.MUSS,
        title=f"Title of {rule}",
        remediation=f"Fix {rule}" if status in (Status.FAIL, Status.WAIVED) else "",
        waiver=MappingProxyType(waiver) if waiver else None,
    )


def sample_results() -> list[Result]:
    """Every status x severity, endpoints, hosts, a waived result and hostile strings."""
    out: list[Result] = []
    for i, sev in enumerate(Severity):
        for status in (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP):
            out.append(
                result(
                    f"SAM-{sev.value[:3].upper()}-{i:03d}",
                    status,
                    sev,
                    f"{status.value}-{sev.value}.example",
                )
            )
    waiver = {
        "original_status": "fail",
        "justification": "replacement card ordered " + QUOTES,
        "owner": "it@praxis.example",
        "approver": "dr.mueller@praxis.example",
        "expires": "2026-12-31",
        "source": "waivers.yaml:3",
    }
    out.append(result("SAM-WAI-001", Status.WAIVED, Severity.HIGH, "waived.example", waiver=waiver))
    out.append(
        result(
            "TLS-VER-001",
            Status.FAIL,
            Severity.HIGH,
            "https://konnektor.praxis.local",
            domain="tls",
            location=Location(uri="https://konnektor.praxis.local:443"),
        )
    )
    out.append(
        result(
            "NET-PATH-001",
            Status.FAIL,
            Severity.CRITICAL,
            "pvs-01",
            domain="network",
            location=Location(file="network.yaml", line=12),
        )
    )
    out.append(
        result(
            "KON-SDS-001",
            Status.PASS,
            Severity.MEDIUM,
            "connector.sds",
            domain="konnektor",
            location=Location(file="exports/connector.sds"),
        )
    )
    out.append(
        result(
            "SAM-RUL-001",
            Status.SKIP,
            Severity.LOW,
            "-",
            location=Location(),
            message="no certificate evidence in this audit to judge",
        )
    )
    for j, text in enumerate(HOSTILE):
        out.append(
            result(
                "HOS-STR-001",
                Status.FAIL,
                Severity.MEDIUM,
                text,
                message=text,
                location=Location(file=f"hostile dir/{j} {text[:20]}.pem", index=j),
                evidence={"value": text, "nested": {"list": [text, 1, None]}},
            )
        )
    return out


def sample_report(results: Sequence[Result] | None = None, *, verdict: str = "fail") -> Report:
    """A hand-built report with a data room and every kind of result."""
    rs = tuple(results if results is not None else sample_results())
    room = DataRoom(
        verdict="breached",
        systems=(
            SystemRoom(
                "pvs-01 " + XSS_SCRIPT,
                12.5,
                "breached",
                (
                    Exposure(
                        ("internet", "wan-router", "fw rule 7 " + XSS_IMG, "pvs-01:443"),
                        "NET-PATH-001",
                        "inbound from the internet " + QUOTES,
                    ),
                    Exposure(
                        ("guest-wifi", "lan", "pvs-01:5432"),
                        "NET-PATH-002",
                        "guest Wi-Fi reaches the database",
                    ),
                ),
            ),
            SystemRoom(
                "archive",
                71.0,
                "at-risk",
                (Exposure(("archive", "internet"), "NET-EGR-001", "direct egress " + UNICODE),),
            ),
            SystemRoom("epa-client", 100.0, "contained"),
        ),
    )
    return Report(
        tool_version="0.0.0-test",
        generated_at="2026-06-01T00:00:00Z",
        as_of=AS_OF.isoformat(),
        site="Praxis " + QUOTES + " " + XSS_SCRIPT,
        profiles=(ProfileRef("ti-site", "1.0.0", "ab" * 32),),
        verdict=verdict,
        score=Score(61.5, MappingProxyType({"cert": 55.0, "network": 10.0, "tls": 80.0})),
        data_room=room,
        summary=summarize(rs),
        results=rs,
        gate=Gate(
            Severity.HIGH,
            90.0,
            (
                "3 failed result(s) at severity high or worse " + QUOTES,
                "score 61.5 is below the minimum 90",
            ),
        ),
        score_without_waivers=Score(58.25, MappingProxyType({"cert": 50.0})),
        notices=("plugin 'broken' failed to load: " + XSS_IMG,),
    )


def cert_report(
    certs: Sequence[Path] = (CERTS / "ecc", CERTS / "broken", CERTS / "rsa"),
    *,
    as_of: dt.date = AS_OF,
    options: AuditOptions | None = None,
) -> Report:
    """A real audit (profile ti-crypto) of certificates of the synthetic test PKI, fixed date."""
    site = build_site(
        {"site": "cert audit", "certificates": [{"path": str(p)} for p in certs]},
        CERTS,
        "<test>",
    )
    opts = options or AuditOptions(profiles=("ti-crypto",), as_of=as_of)
    return run(plan(site, opts))
