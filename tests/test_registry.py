"""The check registry: params schemas from dataclasses, and third-party plugins via entry points."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from gemcheck import registry as reg
from gemcheck.registry import build_params, params_schema
from tests.conftest import CERTS

PLUGIN = '''
"""A tiny third-party check family for gemcheck."""
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.model import Finding
from gemcheck.registry import check


@check("acme.serial_even", applies_to=CertificateEvidence)
def serial_even(ev, params, ctx):
    """The serial number is even (a demonstration check)."""
    if ev.certificate.serial_number % 2:
        yield Finding.fail("odd serial")
'''


@dataclass(frozen=True)
class P:
    n: int
    when: dt.date | None = None
    names: tuple[str, ...] = ("a",)
    mode: Literal["x", "y"] = "x"


def test_params_schema_and_conversion() -> None:
    schema = params_schema(P)
    assert schema["required"] == ["n"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["mode"] == {"enum": ["x", "y"]}
    p = build_params(P, {"n": 3, "when": "2026-01-02", "names": ["b", "c"]})
    assert p == P(3, dt.date(2026, 1, 2), ("b", "c"))


def make_dist(site: Path, name: str, module_text: str) -> None:
    """Install a plugin distribution the way pip leaves it: a module plus its dist-info."""
    (site / f"{name}.py").write_text(textwrap.dedent(module_text), encoding="utf-8")
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[gemcheck.checks]\n{name} = {name}\n")


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    snapshot = dict(reg._BUILTIN)
    yield site
    reg._BUILTIN.clear()
    reg._BUILTIN.update(snapshot)


def test_plugin_checks_are_discovered_and_run(plugin_site: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    make_dist(plugin_site, "gemcheck_acme", PLUGIN)
    make_dist(plugin_site, "gemcheck_broken", "import does_not_exist\n")
    registry = reg.load_registry()
    assert registry.get("acme.serial_even") is not None
    assert any(
        "gemcheck_broken" in e and "ModuleNotFoundError" in e for e in registry.plugin_errors
    )

    profile = tmp_path / "acme.yaml"
    profile.write_text(
        'id: acme\nversion: "1"\ntitle: Acme\nrules:\n'
        "  - id: ACME-SER-001\n    check: acme.serial_even\n    severity: low\n"
    )
    code, out, err = cli(
        "audit",
        "--profile",
        profile,
        "--cert",
        CERTS / "ecc",
        "--as-of",
        "2026-06-01",
        "--format",
        "json",
    )
    assert code in (0, 1), err
    assert '"rule": "ACME-SER-001"' in out
    assert "gemcheck_broken" in out  # the broken plugin is a notice in the report
