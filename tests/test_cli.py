"""The command line end to end: exit codes, reports, hostile inputs, the bundled demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from gemcheck.schemas import schema
from tests.conftest import AS_OF, CERTS

AS_OF_ARGS = ("--as-of", AS_OF.isoformat())


def report_of(out: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(out)
    jsonschema.Draft202012Validator(schema("report-1")).validate(data)
    return data


def test_version_and_help(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("gemcheck ")
    code, out, _ = cli("--help")
    assert code == 0 and "audit" in out


def test_usage_error_exits_2(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("audit", "--fail-on", "severe")
    assert code == 2 and "invalid choice" in err


def test_clean_certificates_pass_with_exit_0(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli(
        "audit",
        "--profile",
        "ti-crypto",
        "--cert",
        CERTS / "ecc" / "smcb-aut.pem",
        *AS_OF_ARGS,
        "--format",
        "json",
    )
    report = report_of(out)
    assert code == 0 and report["verdict"] == "pass"
    assert report["summary"] == {"pass": 4, "fail": 0, "error": 0, "skip": 0, "waived": 0}


@pytest.mark.parametrize(
    ("name", "rule", "message"),
    [
        ("short-key.pem", "CRY-KEY-001", "RSA-1024 is shorter than 2048 bits"),
        ("wrong-curve.pem", "CRY-KEY-001", "curve secp384r1 is not allowed"),
        ("sha1-signature.pem", "CRY-SIG-001", "sha1WithRSAEncryption uses sha1"),
        ("expired.pem", "CRY-VAL-001", "expired on 2024-12-31"),
        ("not-yet-valid.pem", "CRY-VAL-001", "not yet valid: valid from 2031-01-01"),
    ],
)
def test_each_broken_certificate_fails_for_its_defect(
    cli, name: str, rule: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    # 2025-06-01: inside every broken certificate's validity and before the RSA sunset
    code, out, _ = cli(
        "audit",
        "--profile",
        "ti-crypto",
        "--cert",
        CERTS / "broken" / name,
        "--as-of",
        "2025-06-01",
        "--format",
        "json",
    )
    report = report_of(out)
    failed = [r for r in report["results"] if r["status"] == "fail"]  # type: ignore[attr-defined]
    assert code == 1
    assert [(r["rule"], r["message"].startswith(message)) for r in failed] == [(rule, True)], failed


def test_rsa_sunset_is_profile_data_evaluated_at_as_of(cli) -> None:  # type: ignore[no-untyped-def]
    cert = CERTS / "rsa" / "smcb-aut.pem"
    args = ("audit", "--profile", "ti-crypto", "--cert", cert, "--format", "json")
    code, out, _ = cli(*args, "--as-of", "2025-12-31")
    assert code == 0
    code, out, _ = cli(*args, "--as-of", "2026-01-01")
    assert code == 1 and "RSA sunset" in out


def test_expiry_horizon_warns_before_not_after(cli) -> None:  # type: ignore[no-untyped-def]
    cert = CERTS / "ecc" / "smcb-aut.pem"  # notAfter 2030-01-01
    _, out, _ = cli("audit", "--cert", cert, "--as-of", "2029-11-01", "--format", "json")
    result = next(r for r in report_of(out)["results"] if r["rule"] == "CRY-EXP-001")  # type: ignore[attr-defined]
    assert result["status"] == "fail" and result["evidence"]["days_left"] == 61
    _, out, _ = cli("audit", "--cert", cert, "--as-of", "2029-10-01", "--format", "json")
    result = next(r for r in report_of(out)["results"] if r["rule"] == "CRY-EXP-001")  # type: ignore[attr-defined]
    assert result["status"] == "pass"


def test_hostile_files_are_errors_and_the_rest_is_audited(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "truncated.pem").write_text(
        (CERTS / "ecc" / "hba-aut.pem").read_text()[:300], encoding="ascii"
    )
    (folder / "random.pem").write_bytes(os.urandom(4096))
    (folder / "empty.pem").write_bytes(b"")
    (folder / "short.der").write_bytes(b"\x30\x82\x05\x00\x01")
    with (folder / "huge.pem").open("wb") as fh:
        for _ in range(50):
            fh.write(os.urandom(1024 * 1024))
    (folder / "good.pem").write_bytes((CERTS / "ecc" / "smcb-aut.pem").read_bytes())
    code, out, err = cli(
        "audit", "--profile", "ti-crypto", "--cert", folder, *AS_OF_ARGS, "--format", "json"
    )
    assert code == 1 and err == ""
    report = report_of(out)
    by_file: dict[str, set[str]] = {}
    for r in report["results"]:  # type: ignore[attr-defined]
        by_file.setdefault(Path(r["location"]["file"]).name, set()).add(r["status"])
    assert by_file["good.pem"] == {"pass"}
    for bad in ("truncated.pem", "random.pem", "empty.pem", "short.der", "huge.pem"):
        assert by_file[bad] == {"error"}, bad
    messages = {
        Path(r["location"]["file"]).name: r["message"]
        for r in report["results"]  # type: ignore[attr-defined]
        if r["status"] == "error"
    }
    assert "truncated PEM block" in messages["truncated.pem"]
    assert messages["empty.pem"] == "file is empty"
    assert "neither PEM nor DER" in messages["random.pem"]


def test_pkcs12_password_comes_from_the_environment(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    p12 = CERTS / "ecc" / "smcb-aut.p12"
    monkeypatch.setenv("SMCB_PW", "wrong")
    code, out, _ = cli(
        "audit",
        "--profile",
        "ti-crypto",
        "--cert",
        p12,
        "--p12-password-env",
        "SMCB_PW",
        *AS_OF_ARGS,
        "--format",
        "json",
    )
    assert code == 1 and "wrong password" in out and '"wrong"' not in out
    monkeypatch.setenv("SMCB_PW", "00")
    code, out, _ = cli(
        "audit",
        "--profile",
        "ti-crypto",
        "--cert",
        p12,
        "--p12-password-env",
        "SMCB_PW",
        *AS_OF_ARGS,
        "--format",
        "json",
    )
    assert code == 0, out


def test_profile_with_typo_exits_2_before_any_io(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    profile = tmp_path / "typo.yaml"
    profile.write_text(
        'id: typo\nversion: "1"\ntitle: T\nrules:\n  - id: T-VAL-001\n    check: cert.validty\n'
    )
    code, out, err = cli("audit", "--profile", profile, "--cert", tmp_path / "missing.pem")
    assert code == 2 and out == ""
    assert f"{profile} at $.rules[0].check: unknown check 'cert.validty'" in err
    assert "Traceback" not in err


def test_site_file_with_wrong_type_exits_2_naming_the_place(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = tmp_path / "gemcheck.yaml"
    site.write_text("site: Praxis\nenvironment: XU\ncertificates: certs/\n")
    code, _, err = cli("audit", site)
    assert code == 2
    assert f"{site} at $.certificates: expected array" in err
    assert f"{site} at $.environment:" in err


def test_disabling_a_rule_needs_a_justification(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = tmp_path / "gemcheck.yaml"
    site.write_text("site: P\ntailoring:\n  CRY-EXP-001: {disabled: true}\n")
    code, _, err = cli("audit", site)
    assert code == 2 and "$.tailoring.CRY-EXP-001" in err and "justification" in err


def test_site_file_paths_resolve_against_the_site_folder(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "smcb.pem").write_bytes((CERTS / "ecc" / "smcb-aut.pem").read_bytes())
    site = tmp_path / "gemcheck.yaml"
    site.write_text(
        "site: P\ncertificates: [{path: c/smcb.pem, role: smcb}]\n"
        "tailoring:\n  CRY-EXP-001: {disabled: true, justification: handled by MDM}\n"
    )
    code, out, _ = cli("audit", site, "--profile", "ti-crypto", *AS_OF_ARGS, "--format", "json")
    report = report_of(out)
    assert code == 0
    files = {r["location"].get("file") for r in report["results"]}  # type: ignore[attr-defined]
    assert files == {"c/smcb.pem", None}
    skipped = [r for r in report["results"] if r["status"] == "skip"]  # type: ignore[attr-defined]
    assert [r["message"] for r in skipped] == ["disabled by site tailoring: handled by MDM"]


def test_min_score_and_fail_on(cli) -> None:  # type: ignore[no-untyped-def]
    args = (
        "audit",
        "--profile",
        "ti-crypto",
        "--cert",
        CERTS / "ecc" / "smcb-aut.pem",
        "--cert",
        CERTS / "broken" / "wrong-curve.pem",
        *AS_OF_ARGS,
    )
    assert cli(*args)[0] == 1
    assert cli(*args, "--fail-on", "critical")[0] == 0
    assert cli(*args, "--fail-on", "critical", "--min-score", "95")[0] == 1


def test_json_is_byte_identical_with_fixed_clock(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")
    args = ("audit", "--cert", CERTS, *AS_OF_ARGS, "--format", "json")
    first, second = cli(*args)[1], cli(*args)[1]
    assert first == second
    assert report_of(first)["generated_at"] == "2026-05-28T20:26:40Z"


def test_output_file_and_extra_reports(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out_json = tmp_path / "r.json"
    out_text = tmp_path / "r.txt"
    code, out, _ = cli(
        "audit",
        "--profile",
        "ti-crypto",
        "--cert",
        CERTS / "ecc" / "hba-aut.pem",
        *AS_OF_ARGS,
        "--format",
        "json",
        "-o",
        out_json,
        "--report",
        f"text={out_text}",
    )
    assert code == 0
    assert "Verdict: PASS" in out  # the terminal still gets the text report
    report_of(out_json.read_text())
    assert out_text.read_text().startswith("gemcheck ")
    code, _, err = cli("audit", "--cert", CERTS / "ecc", "--report", "pdf=x.pdf")
    assert code == 2 and "FORMAT=PATH" in err


def test_text_report_fits_80_columns(cli) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = cli("audit", "--cert", CERTS, *AS_OF_ARGS)
    assert "Verdict: FAIL" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "\033[" not in out  # no colour when not a terminal


def test_explain_checks_profiles(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("explain", "cert.key_algorithm")
    assert code == 0 and "brainpoolP256r1" in out and "min_rsa_bits" in out
    code, out, _ = cli("explain", "CRY-KEY-001")
    assert code == 0 and "rsa_allowed_until" in out and "source:" in out
    code, _, err = cli("explain", "NOPE-001")
    assert code == 2 and "no check or rule" in err
    code, out, _ = cli("checks", "--json")
    assert code == 0 and {c["id"] for c in json.loads(out)} >= {"cert.validity"}
    code, out, _ = cli("profiles")
    assert code == 0 and "ti-site" in out and "ti-crypto" in out


def test_profile_validate(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("profile", "validate", "ti-site")
    assert code == 0 and "valid profile ti-site" in out
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"id": "bad", "version": "1", "title": "x", "rules": [{"id": "X-1", '
        '"check": "cert.nope"}]}'
    )
    code, _, err = cli("profile", "validate", bad)
    assert code == 2 and "$.rules[0].check" in err


def test_nothing_to_audit_is_an_input_error(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("audit")
    assert code == 2 and "nothing to audit" in err


def test_internal_errors_exit_3_without_traceback(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import gemcheck.audit

    def broken(*a: object, **k: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(gemcheck.audit, "run", broken)
    code, _, err = cli("audit", "--cert", CERTS / "ecc")
    assert code == 3 and "internal error: ZeroDivisionError: boom" in err
    assert "Traceback" not in err


def test_demo_runs_from_the_installed_package_in_any_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-m", "gemcheck", "audit", "--demo", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    report = report_of(proc.stdout)
    assert report["site"] == "Praxis Dr. Beispiel (TEST-ONLY example)"
    assert report["summary"]["error"] == 0  # type: ignore[index]
