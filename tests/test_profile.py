"""Profiles: schema validation, extends, tailoring, effective dates, binding errors, hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gemcheck.errors import InputError
from gemcheck.profile import bind, bundled_profiles, load, resolve, tailor
from gemcheck.registry import load_registry

REGISTRY = load_registry()


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


BASE = """\
id: base
version: "1"
title: Base
rules:
  - id: T-KEY-001
    check: cert.key_algorithm
    severity: high
    params: {allowed_curves: [brainpoolP256r1], min_rsa_bits: 2048}
  - id: T-EXP-001
    check: cert.expiry_horizon
    severity: medium
    params: {warn_days: 90}
"""


def test_bundled_profiles_are_valid_and_bind() -> None:
    files = bundled_profiles()
    assert {"ti-site", "ti-crypto"} <= {f.id for f in files}
    for pf in files:
        _, rules = load([pf.id], REGISTRY)
        assert rules or pf.extends, pf.id


def test_extends_is_multi_level_and_child_overrides_params_key_by_key(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(
        tmp_path,
        "mid.yaml",
        'id: mid\nversion: "1"\ntitle: Mid\nextends: [base.yaml]\n'
        "rules:\n  - id: T-KEY-001\n    params: {min_rsa_bits: 3072}\n",
    )
    top = write(
        tmp_path,
        "top.yaml",
        'id: top\nversion: "2"\ntitle: Top\nextends: [mid.yaml]\n'
        "rules:\n  - id: T-EXP-001\n    severity: low\n",
    )
    resolved = resolve([str(top)])
    assert [f.id for f in resolved.files] == ["base", "mid", "top"]
    rules = {r.id: r for r in bind(resolved, REGISTRY)}
    assert rules["T-KEY-001"].params.min_rsa_bits == 3072
    assert rules["T-KEY-001"].params.allowed_curves == ("brainpoolP256r1",)
    assert rules["T-EXP-001"].severity.value == "low"
    assert resolved.files[2].sha256 == hashlib.sha256(top.read_bytes()).hexdigest()


def test_extends_cycle_is_an_input_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", 'id: a\nversion: "1"\ntitle: A\nextends: [b.yaml]\n')
    write(tmp_path, "b.yaml", 'id: b\nversion: "1"\ntitle: B\nextends: [a.yaml]\n')
    with pytest.raises(InputError, match="extends cycle"):
        resolve([str(tmp_path / "a.yaml")])


def test_binding_reports_every_problem_with_file_and_json_path(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "bad.yaml",
        """\
id: bad
version: "1"
title: Bad
rules:
  - id: T-A-001
    check: cert.key_algoritm
  - id: T-B-001
    check: cert.expiry_horizon
    params: {warn_days: "ninety", colour: red}
""",
    )
    with pytest.raises(InputError) as info:
        load([str(bad)], REGISTRY)
    text = [str(p) for p in info.value.problems]
    assert any("$.rules[0].check" in t and "did you mean 'cert.key_algorithm'" in t for t in text)
    assert any("$.rules[1].params.warn_days" in t for t in text)
    assert any("$.rules[1].params" in t and "colour" in t for t in text)
    assert all(t.startswith(str(bad)) for t in text)


def test_schema_errors_name_the_place(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", 'id: Bad Id\nversion: "1"\ntitle: x\nrules: [{id: lower}]\n')
    with pytest.raises(InputError) as info:
        load([str(bad)], REGISTRY)
    wheres = {p.where for p in info.value.problems}
    assert "$.id" in wheres and "$.rules[0].id" in wheres


def test_broken_yaml_names_line(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", "id: x\nrules: [\n  - nope: : :\n")
    with pytest.raises(InputError, match=r"bad.yaml at line \d+"):
        load([str(bad)], REGISTRY)


def test_unknown_bundled_name_lists_known_ones() -> None:
    with pytest.raises(InputError, match=r"known: .*ti-crypto"):
        load(["ti-nope"], REGISTRY)


def test_tailoring_overrides_params_severity_and_disables_with_justification(
    tmp_path: Path,
) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    resolved = tailor(
        resolve([str(base)]),
        {
            "T-KEY-001": {"params": {"min_rsa_bits": 4096}, "severity": "critical"},
            "T-EXP-001": {"disabled": True, "justification": "renewal is contracted out"},
        },
        "site.yaml",
    )
    rules = {r.id: r for r in bind(resolved, REGISTRY)}
    assert rules["T-KEY-001"].params.min_rsa_bits == 4096
    assert rules["T-KEY-001"].severity.value == "critical"
    assert rules["T-EXP-001"].disabled == "renewal is contracted out"


def test_tailoring_bad_params_point_into_the_site_file(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    resolved = tailor(
        resolve([str(base)]), {"T-KEY-001": {"params": {"min_rsa_bits": "x"}}}, "site.yaml"
    )
    with pytest.raises(InputError) as info:
        bind(resolved, REGISTRY)
    assert str(info.value.problems[0]).startswith(
        "site.yaml at $.tailoring.T-KEY-001.params.min_rsa_bits"
    )


def test_tailoring_of_unknown_rule_is_an_error(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    with pytest.raises(InputError, match=r"\$.tailoring.T-NOPE-001"):
        tailor(resolve([str(base)]), {"T-NOPE-001": {"severity": "low"}}, "site.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [*x]\n", "loop"),
        (
            "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
            "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
            "aliases are expanded",
        ),
    ],
)
def test_yaml_alias_loops_and_bombs_are_input_errors(
    tmp_path: Path, text: str, message: str
) -> None:
    bad = write(tmp_path, "bomb.yaml", text)
    with pytest.raises(InputError, match=message):
        load([str(bad)], REGISTRY)
