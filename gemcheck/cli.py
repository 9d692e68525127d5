"""The ``gemcheck`` command line: argument parsing and wiring, nothing more.

Exit codes: 0 gate passed; 1 gate failed; 2 the audit could not start (bad
arguments, invalid profile or site file); 3 internal error. Heavy modules are
imported only by the command that needs them, so ``--help`` and ``--version``
answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gemcheck._version import __version__

EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
SEVERITIES = ("critical", "high", "medium", "low", "info")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gemcheck",
        description="Audit a site's connection to the German telematics infrastructure (TI).",
    )
    parser.add_argument("--version", action="version", version=f"gemcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    audit = sub.add_parser("audit", help="audit a site and gate on the result")
    audit.add_argument("site", nargs="?", help="site file (gemcheck.yaml); default: none")
    audit.add_argument("--demo", action="store_true", help="audit the bundled example site")
    audit.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME|PATH",
        help="profile to audit against (repeatable; default: ti-site)",
    )
    audit.add_argument(
        "--as-of", metavar="YYYY-MM-DD", help="evaluation date (default: today, UTC)"
    )
    audit.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="format of the main output (default: text)",
    )
    audit.add_argument("-o", "--output", metavar="FILE", help="write the main output to FILE")
    audit.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT=PATH",
        help="also write a report in FORMAT to PATH (repeatable)",
    )
    audit.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default="high",
        help="fail the gate on a failed rule of this severity or worse (default: high)",
    )
    audit.add_argument(
        "--min-score",
        type=float,
        default=0.0,
        metavar="N",
        help="fail the gate when the overall score is below N (0-100)",
    )
    audit.add_argument("--offline", action="store_true", help="no network: skip OCSP and probes")
    audit.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="per-connection timeout for probes and OCSP (default: 5)",
    )
    inputs = audit.add_argument_group("inputs without a site file (added to the site file's)")
    inputs.add_argument(
        "--cert",
        action="append",
        default=[],
        metavar="PATH",
        help="certificate file or folder (PEM, DER, PKCS#12; repeatable)",
    )
    inputs.add_argument(
        "--p12-password-env",
        metavar="NAME",
        help="environment variable that holds the PKCS#12 password",
    )
    inputs.add_argument(
        "--environment", choices=("PU", "TU", "RU"), help="TI environment of the site (default: PU)"
    )
    audit.set_defaults(func=_cmd_audit)

    checks = sub.add_parser("checks", help="list the available checks")
    checks.add_argument("--json", action="store_true", help="machine-readable list")
    checks.set_defaults(func=_cmd_checks)

    explain = sub.add_parser("explain", help="explain a check or a rule")
    explain.add_argument("id", help="check id (cert.key_algorithm) or rule id (CRY-KEY-001)")
    explain.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME|PATH",
        help="profile to look rules up in (default: ti-site)",
    )
    explain.set_defaults(func=_cmd_explain)

    profiles = sub.add_parser("profiles", help="list the bundled profiles")
    profiles.set_defaults(func=_cmd_profiles)

    profile = sub.add_parser("profile", help="work with profile files")
    profile_sub = profile.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    validate = profile_sub.add_parser("validate", help="validate a profile file and its bindings")
    validate.add_argument("file", help="profile file (YAML or JSON) or bundled name")
    validate.set_defaults(func=_cmd_profile_validate)
    return parser


# -- commands -----------------------------------------------------------------------------------


def _cmd_audit(args: argparse.Namespace) -> int:
    import datetime as dt

    from gemcheck.audit import AuditOptions, plan, run
    from gemcheck.collect import CollectOptions
    from gemcheck.errors import InputError
    from gemcheck.model import Severity

    try:
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise InputError.single(
            "--as-of", "$", f"not a date (YYYY-MM-DD): {args.as_of!r}"
        ) from None
    reports = [_parse_report_arg(r) for r in args.report]
    site = _site_from_args(args)
    options = AuditOptions(
        profiles=tuple(args.profile),
        as_of=as_of,
        fail_on=Severity(args.fail_on),
        min_score=args.min_score,
        collect=CollectOptions(offline=args.offline, timeout=args.timeout),
    )
    report = run(plan(site, options))
    _emit(report, args.format, args.output)
    for fmt, path in reports:
        _write(path, _render(report, fmt, color=False))
    return EXIT_PASS if report.verdict == "pass" else EXIT_FAIL


def _parse_report_arg(value: str) -> tuple[str, str]:
    from gemcheck.errors import InputError
    from gemcheck.render import FORMATS

    fmt, sep, path = value.partition("=")
    if not sep or not path or fmt not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise InputError.single(
            "--report", "$", f"expected FORMAT=PATH with FORMAT one of {known}, got {value!r}"
        )
    return fmt, path


def _site_from_args(args: argparse.Namespace) -> Any:
    from gemcheck.errors import InputError
    from gemcheck.site import EXAMPLE_SITE, build_site, load_site

    if args.demo and args.site:
        raise InputError.single("audit", "$", "give either a site file or --demo, not both")
    path = EXAMPLE_SITE if args.demo else (Path(args.site) if args.site else None)
    if path is not None:
        data, root, file = load_site(path), path.resolve().parent, str(path)
    else:
        data, root, file = {"site": "command line"}, Path.cwd(), "<command line>"
    if args.cert:
        entry: dict[str, str] = {}
        if args.p12_password_env:
            entry["password_env"] = args.p12_password_env
        data.setdefault("certificates", [])
        data["certificates"] += [{"path": _abs(p), **entry} for p in args.cert]
    if args.environment:
        data["environment"] = args.environment
    if path is None and len(data) == 1:
        raise InputError.single(
            "audit", "$", "nothing to audit: give a site file, --demo, or inputs such as --cert"
        )
    return build_site(data, root, file)


def _abs(value: str) -> str:
    return str(Path(value).resolve())


def _cmd_checks(args: argparse.Namespace) -> int:
    from gemcheck.registry import load_registry

    registry = load_registry()
    specs = sorted(registry.checks.values(), key=lambda s: s.id)
    if args.json:
        import json

        rows = [
            {
                "id": s.id,
                "domain": s.domain,
                "applies_to": s.applies_to.kind,
                "summary": s.summary,
                "params": s.params_schema,
                "origin": s.origin,
            }
            for s in specs
        ]
        print(json.dumps(rows, indent=2))
    else:
        width = max((len(s.id) for s in specs), default=0)
        for s in specs:
            print(f"{s.id:<{width}}  {s.summary}")
    for problem in registry.plugin_errors:
        print(f"warning: {problem}", file=sys.stderr)
    return EXIT_PASS


def _cmd_explain(args: argparse.Namespace) -> int:
    from gemcheck.explain import explain

    print(explain(args.id, args.profile))
    return EXIT_PASS


def _cmd_profiles(args: argparse.Namespace) -> int:
    from gemcheck.profile import bundled_profiles

    for pf in bundled_profiles():
        extends = f" (extends {', '.join(pf.extends)})" if pf.extends else ""
        print(f"{pf.id:<14} {pf.version:<8} {len(pf.rules):>3} rules  {pf.title}{extends}")
    return EXIT_PASS


def _cmd_profile_validate(args: argparse.Namespace) -> int:
    from gemcheck.profile import load
    from gemcheck.registry import load_registry

    resolved, rules = load([args.file], load_registry(), base_dir=Path.cwd())
    top = resolved.files[-1]
    print(
        f"{args.file}: valid profile {top.id} {top.version}, {len(rules)} rules bound "
        f"({len(resolved.files)} file(s))"
    )
    return EXIT_PASS


# -- output -------------------------------------------------------------------------------------


def _render(report: Any, fmt: str, *, color: bool) -> str:
    from gemcheck.render import render

    return render(report, fmt, color=color)


def _emit(report: Any, fmt: str, output: str | None) -> None:
    if output:
        _write(output, _render(report, fmt, color=False))
        if fmt != "text":
            sys.stdout.write(_render(report, "text", color=_use_colour()))
        return
    sys.stdout.write(_render(report, fmt, color=fmt == "text" and _use_colour()))


def _use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _write(path: str, text: str) -> None:
    from gemcheck.errors import InputError

    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError.single(path, "$", f"cannot write: {exc.strerror or exc}") from None


# -- entry point --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (never raises, never prints a traceback)."""
    import warnings

    warnings.simplefilter("ignore")  # library warnings are not for the user; findings are
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
        return int(exc.code or 0)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        print("gemcheck: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _handle(exc)


def _handle(exc: Exception) -> int:
    from gemcheck.errors import InputError

    if isinstance(exc, InputError):
        for problem in exc.problems:
            print(f"gemcheck: error: {problem}", file=sys.stderr)
        return EXIT_INPUT
    if os.environ.get("GEMCHECK_DEBUG"):
        import traceback

        traceback.print_exc()
    print(
        f"gemcheck: internal error: {type(exc).__name__}: {exc}\n"
        "(set GEMCHECK_DEBUG=1 for the traceback and report it as a bug)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL
