"""Every row of the gate examples in the README, run through the CLI.

The table is read from the document itself, so the documentation and the
behaviour cannot drift apart: a row that no longer holds fails here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CERTS, REPO

DOC = REPO / "README.md"
CLI = Callable[..., tuple[int, str, str]]
COLUMNS = ["certificates", "--fail-on", "--min-score", "--waivers", "--baseline", "exit", "why"]

CERT_SETS = {
    "ECC SMC-B": ["ecc/smcb-aut.pem"],
    "RSA SMC-B": ["rsa/smcb-aut.pem"],
    "short key": ["broken/short-key.pem"],
    "expired": ["broken/expired.pem"],
    "PKCS#12 without password": ["ecc/smcb-aut.p12"],
}
WAIVER = """\
waivers:
  - rule: CRY-KEY-001
    subject: "*"
    location: "*/rsa/smcb-aut.pem"
    justification: RSA SMC-B until the replacement card arrives
    owner: it@praxis.example
    approver: dr.mueller@praxis.example
    expires: {expires}
"""
WAIVERS = {"RSA waiver": "2026-12-31", "RSA waiver, expired": "2026-05-31"}


def rows() -> list[dict[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- gate-table:start -->", 1)[1].split("<!-- gate-table:end -->", 1)[0]
    lines = [line.strip() for line in table.strip().splitlines()]
    header = [c.strip().strip("`") for c in lines[0].strip("|").split("|")]
    assert header == COLUMNS, header
    assert re.fullmatch(r"\|(-+\|)+", lines[1])
    return [
        dict(zip(COLUMNS, (c.strip() for c in line.strip("|").split("|")), strict=True))
        for line in lines[2:]
    ]


def certificates(name: str, tmp_path: Path) -> list[Path]:
    if name == "empty folder":
        empty = tmp_path / "empty"
        empty.mkdir(exist_ok=True)
        return [empty]
    return [CERTS / path for part in name.split(", ") for path in CERT_SETS[part]]


def audit_args(certs: list[Path]) -> list[str]:
    args = ["audit", "--profile", "ti-crypto", "--as-of", "2026-06-01"]
    for cert in certs:
        args += ["--cert", str(cert)]
    return args


def test_the_table_is_there_and_covers_every_input() -> None:
    table = rows()
    assert len(table) >= 15
    assert {r["--waivers"] for r in table} == {"-", *WAIVERS}
    assert {r["exit"] for r in table} == {"0", "1"}
    assert {r["--fail-on"] for r in table} >= {"critical", "high", "low", "info"}
    assert any(r["--baseline"] != "-" and r["--waivers"] != "-" for r in table)
    assert any(r["--baseline"] != "-" and r["--min-score"] != "0" for r in table)


@pytest.mark.parametrize("row", rows(), ids=lambda r: f"{r['certificates']}|{r['why']}"[:70])
def test_gate_example(row: dict[str, str], tmp_path: Path, cli: CLI) -> None:
    args = audit_args(certificates(row["certificates"], tmp_path))
    args += ["--fail-on", row["--fail-on"], "--min-score", row["--min-score"]]
    if row["--waivers"] != "-":
        waivers = tmp_path / "waivers.yaml"
        waivers.write_text(WAIVER.format(expires=WAIVERS[row["--waivers"]]), encoding="utf-8")
        args += ["--waivers", str(waivers)]
    if row["--baseline"] != "-":
        baseline = tmp_path / "baseline.json"
        base_args = audit_args(certificates(row["--baseline"], tmp_path))
        rc, _, err = cli(*base_args, "--report", f"json={baseline}")
        assert rc in (0, 1), err
        args += ["--baseline", str(baseline)]
    report = tmp_path / "report.json"
    rc, _, err = cli(*args, "--report", f"json={report}")
    gate = json.loads(report.read_text(encoding="utf-8"))["gate"]
    assert rc == int(row["exit"]), f"{row['why']}: {gate['reasons']}\n{err}"
