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
    gates = audit.add_argument_group("gates and signatures")
    gates.add_argument(
        "--waivers",
        metavar="FILE",
        help="accepted risks (YAML): waived results do not fail the gate",
    )
    gates.add_argument(
        "--baseline",
        metavar="REPORT",
        help="earlier JSON report: gate only on results that are new or worse than in it",
    )
    gates.add_argument(
        "--sign-key", metavar="KEY", help="sign the JSON reports with this key (PEM or PKCS#12)"
    )
    gates.add_argument(
        "--sign-cert", metavar="CERT", help="the signer's certificate (optional with a PKCS#12 key)"
    )
    gates.add_argument(
        "--sign-password-env", metavar="NAME", help="environment variable holding the key password"
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
    inputs.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="[ROLE=]URL|HOST:PORT",
        help="TLS endpoint to probe, e.g. konnektor=https://10.0.0.1 (repeatable)",
    )
    inputs.add_argument("--tsl", metavar="FILE", help="the TI trust list (TSL XML)")
    inputs.add_argument(
        "--tsl-signer",
        action="append",
        default=[],
        metavar="FILE",
        help="trust anchor for the TSL's signature: the TSL-Signer-CA or signer (repeatable)",
    )
    inputs.add_argument(
        "--trust-anchor",
        action="append",
        default=[],
        metavar="FILE",
        help="root or intermediate CA trusted directly, for PKIs without a TSL (repeatable)",
    )
    inputs.add_argument(
        "--ocsp-responder",
        metavar="URL",
        help="OCSP responder to ask instead of the TSL's or certificate's",
    )
    inputs.add_argument("--sds", metavar="FILE", help="connector.sds saved from the Konnektor")
    inputs.add_argument(
        "--operating-data", metavar="FILE", help="Konnektor OperatingData (Betriebsdaten) XML"
    )
    inputs.add_argument(
        "--resource-information",
        metavar="FILE",
        help="saved EventService GetResourceInformationResponse",
    )
    inputs.add_argument(
        "--certificate-expiration",
        metavar="FILE",
        help="saved CheckCertificateExpirationResponse (asked with Crypt=ECC)",
    )
    inputs.add_argument(
        "--konnektor-params", metavar="FILE", help="Konnektor parameters (YAML, gemSpec_Kon names)"
    )
    inputs.add_argument(
        "--client-p12",
        metavar="FILE",
        help="client system's PKCS#12 for a live Konnektor audit (password: --p12-password-env)",
    )
    inputs.add_argument(
        "--context",
        metavar="M/CS/AP[/USER]",
        help="Konnektor call context: Mandant/ClientSystem/Workplace[/User]",
    )
    inputs.add_argument(
        "--basic-user", metavar="NAME", help="HTTP Basic user toward the Konnektor (no certificate)"
    )
    inputs.add_argument(
        "--basic-password-env", metavar="NAME", help="environment variable holding the password"
    )
    inputs.add_argument(
        "--konnektor-ca",
        action="append",
        default=[],
        metavar="FILE",
        help="CA certificate to verify the Konnektor's TLS certificate with (repeatable)",
    )
    inputs.add_argument(
        "--topology", metavar="FILE", help="network description (zones, hosts, gateways, routes)"
    )
    inputs.add_argument(
        "--firewall",
        action="append",
        default=[],
        metavar="[DEVICE=]FILE",
        help="firewall export (nft -j list ruleset, iptables-save, YAML) of gateway DEVICE "
        "(repeatable)",
    )
    inputs.add_argument(
        "--probe-reachability",
        action="store_true",
        help="also try TCP connections the network description says must be blocked",
    )
    fleet = audit.add_argument_group("fleets (many sites)")
    fleet.add_argument("--inventory", metavar="FILE", help="audit every site of a fleet inventory")
    fleet.add_argument(
        "--jobs", type=int, default=0, metavar="N", help="worker processes (default: CPU count)"
    )
    fleet.add_argument("--shard", metavar="N/M", help="audit only shard N of M (1-based)")
    fleet.add_argument(
        "--site-reports",
        default="gemcheck-site-reports",
        metavar="DIR",
        help="where each site's JSON report is written (default: ./gemcheck-site-reports)",
    )
    audit.set_defaults(func=_cmd_audit)

    attest = sub.add_parser("attest", help="sign a JSON report (vendor self-certification)")
    attest.add_argument("report", help="the JSON report to sign")
    attest.add_argument(
        "--key", required=True, metavar="KEY", help="ECDSA (brainpoolP256r1, P-256) or Ed25519 key"
    )
    attest.add_argument(
        "--cert", metavar="CERT", help="signer certificate [+ intermediates] (optional with .p12)"
    )
    attest.add_argument("--password-env", metavar="NAME", help="variable holding the key password")
    attest.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    attest.set_defaults(func=_cmd_attest)

    verify = sub.add_parser("verify", help="verify a signed report")
    verify.add_argument("signed", help="the signed report")
    verify.add_argument(
        "--trust",
        action="append",
        required=True,
        metavar="CERT",
        help="trust anchor: the signer's certificate or a CA above it (repeatable)",
    )
    verify.add_argument(
        "--as-of", metavar="YYYY-MM-DD", help="verify as at the end of this day, UTC (default: now)"
    )
    verify.set_defaults(func=_cmd_verify)

    merge = sub.add_parser("merge", help="merge shard reports of a fleet audit")
    merge.add_argument("reports", nargs="+", metavar="SHARD.json")
    merge.add_argument("-o", "--output", required=True, metavar="FILE")
    merge.set_defaults(func=_cmd_merge)

    restart = sub.add_parser("restart-plan", help="which services may restart now, wave by wave")
    restart.add_argument("plan", help="restart plan (YAML)")
    restart.add_argument(
        "--reports", nargs="+", required=True, metavar="FLEET.json", help="fleet report(s)"
    )
    restart.add_argument("--ti-status", metavar="FILE", help="TI-Lagebild status (YAML)")
    restart.add_argument(
        "--wave", type=int, metavar="N", help="exit 0 only if every service of wave N may go"
    )
    restart.add_argument("--format", choices=("text", "json"), default="text")
    restart.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT=PATH",
        help="also write the plan as text, json, or html (the fleet report with its waves)",
    )
    restart.set_defaults(func=_cmd_restart_plan)

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

    graph = sub.add_parser("graph", help="draw the site's network and its exposure paths")
    graph.add_argument("site", help="site file (gemcheck.yaml) with a network description")
    graph.add_argument(
        "--format",
        choices=("mermaid", "dot"),
        default="mermaid",
        help="output format (default: mermaid)",
    )
    graph.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    graph.set_defaults(func=_cmd_graph)

    certs = sub.add_parser("certs", help="work with certificate files")
    certs_sub = certs.add_subparsers(dest="certs_command", metavar="ACTION", required=True)
    inspect = certs_sub.add_parser(
        "inspect", help="show the TI view of certificates (type, Telematik-ID, roles, OCSP ...)"
    )
    inspect.add_argument("files", nargs="+", metavar="FILE", help="PEM, DER, PKCS#12 or folder")
    inspect.add_argument(
        "--p12-password-env", metavar="NAME", help="environment variable holding the password"
    )
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.set_defaults(func=_cmd_certs_inspect)
    return parser


# -- commands -----------------------------------------------------------------------------------


def _cmd_audit(args: argparse.Namespace) -> int:
    from gemcheck.audit import plan, run

    if args.inventory:
        return _cmd_fleet(args)
    options = _audit_options(args)
    reports = [_parse_report_arg(r) for r in args.report]
    signer = _signer(args)
    report = run(plan(_site_from_args(args), options))
    _emit(report, args.format, args.output, signer)
    for fmt, path in reports:
        _write(path, _render(report, fmt, color=False, signer=signer))
    return EXIT_PASS if report.verdict == "pass" else EXIT_FAIL


def _audit_options(args: argparse.Namespace) -> Any:
    import datetime as dt

    from gemcheck.audit import AuditOptions
    from gemcheck.collect import CollectOptions
    from gemcheck.errors import InputError
    from gemcheck.model import Severity

    try:
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise InputError.single(
            "--as-of", "$", f"not a date (YYYY-MM-DD): {args.as_of!r}"
        ) from None
    return AuditOptions(
        profiles=tuple(args.profile),
        as_of=as_of,
        fail_on=Severity(args.fail_on),
        min_score=args.min_score,
        collect=CollectOptions(offline=args.offline, timeout=args.timeout),
        waivers=_waivers(args.waivers),
        baseline=_baseline(args.baseline),
    )


def _waivers(path: str | None) -> Any:
    from gemcheck.waivers import load

    return load(Path(_abs(path))) if path else None


def _baseline(path: str | None) -> Any:
    from gemcheck.baseline import load

    return load(Path(_abs(path))) if path else None


def _signer(args: argparse.Namespace) -> Any:
    from gemcheck.errors import InputError

    if not args.sign_key:
        if args.sign_cert or args.sign_password_env:
            raise InputError.single("--sign-cert", "$", "signing needs --sign-key")
        return None
    from gemcheck.attest import load_signer, signing_time

    cert = Path(args.sign_cert) if args.sign_cert else None
    return load_signer(Path(args.sign_key), cert, args.sign_password_env, at=signing_time())


def _cmd_attest(args: argparse.Namespace) -> int:
    from gemcheck.attest import attest_file

    cert = Path(args.cert) if args.cert else None
    text = attest_file(Path(args.report), Path(args.key), cert, args.password_env)
    if args.output:
        _write(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_PASS


def _cmd_verify(args: argparse.Namespace) -> int:
    import datetime as dt

    from gemcheck.attest import VerificationError, describe, verify_file
    from gemcheck.errors import InputError

    try:
        day = dt.date.fromisoformat(args.as_of) if args.as_of else None
    except ValueError:
        raise InputError.single(
            "--as-of", "$", f"not a date (YYYY-MM-DD): {args.as_of!r}"
        ) from None
    at = dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC) if day else dt.datetime.now(dt.UTC)
    try:
        verified = verify_file(Path(args.signed), [Path(t) for t in args.trust], at)
    except VerificationError as exc:
        print(f"gemcheck: verify: FAILED: {args.signed}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    sys.stdout.write(describe(verified))
    return EXIT_PASS


def _cmd_fleet(args: argparse.Namespace) -> int:
    """``audit --inventory``: every site of the fleet (or one shard), in parallel."""
    from gemcheck.errors import InputError
    from gemcheck.fleet.inventory import load_inventory
    from gemcheck.fleet.run import FleetOptions, audit_fleet, progress_printer

    if args.site or args.demo:
        raise InputError.single("audit", "$", "give a site file or --inventory, not both")
    if args.sign_key:
        raise InputError.single(
            "--sign-key", "$", "a fleet report is not signed: sign the site reports with attest"
        )
    reports = [_parse_report_arg(r, fleet=True) for r in args.report]
    inventory = load_inventory(Path(args.inventory))
    sites, shard = inventory.sites, None
    if args.shard:
        number, total = _parse_shard(args.shard)
        sites, shard = inventory.shard(number, total), f"{number}/{total}"
    jobs = args.jobs or os.cpu_count() or 1
    options = FleetOptions(_audit_options(args), jobs, Path(args.site_reports))
    fleet = audit_fleet(
        inventory.name, sites, options, shard=shard, progress=progress_printer(sys.stderr)
    )
    if args.output:
        _write_fleet(args.output, fleet, args.format)
    if not args.output or args.format != "text":
        _write_fleet(None, fleet, "text")
    for fmt, path in reports:
        _write_fleet(path, fleet, fmt)
    if fleet.partial:
        print("gemcheck: interrupted: the fleet report is partial", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_PASS if all(s.verdict == "pass" for s in fleet.sites) else EXIT_FAIL


def _write_fleet(path: str | None, fleet: Any, fmt: str) -> None:
    """A fleet report to a file (or standard output), streamed where the format allows."""
    from gemcheck.errors import InputError
    from gemcheck.fleet.formats import write_fleet

    if path is None:
        write_fleet(fleet, fmt, sys.stdout)
        return
    try:
        with open(path, "w", encoding="utf-8") as out:
            write_fleet(fleet, fmt, out)
    except OSError as exc:
        raise InputError.single(path, "$", f"cannot write: {exc.strerror or exc}") from None


def _parse_shard(value: str) -> tuple[int, int]:
    from gemcheck.errors import InputError

    number, _, total = value.partition("/")
    if not (number.isdigit() and total.isdigit() and 1 <= int(number) <= int(total)):
        raise InputError.single("--shard", "$", f"expected N/M with 1 <= N <= M, got {value!r}")
    return int(number), int(total)


def _cmd_merge(args: argparse.Namespace) -> int:
    from gemcheck.audit import generated_at
    from gemcheck.fleet.report import load_fleet_report, merge
    from gemcheck.profile import read_bytes

    parts = [load_fleet_report(read_bytes(Path(p)), p) for p in args.reports]
    fleet = merge(parts, generated_at())
    _write_fleet(args.output, fleet, "json")
    _write_fleet(None, fleet, "text")
    return EXIT_PASS if all(s.verdict == "pass" for s in fleet.sites) else EXIT_FAIL


def _cmd_restart_plan(args: argparse.Namespace) -> int:
    from gemcheck import schemas
    from gemcheck.errors import InputError
    from gemcheck.fleet.formats import render_plan
    from gemcheck.fleet.report import load_fleet_report, merge
    from gemcheck.fleet.restart import evaluate_plan, load_plan
    from gemcheck.profile import read_bytes

    reports = [_parse_report_arg(r, fleet=True) for r in args.report]
    plan = load_plan(schemas.load_document(read_bytes(Path(args.plan)), args.plan), args.plan)
    fleet = merge([load_fleet_report(read_bytes(Path(p)), p) for p in args.reports], "")
    ti_status = None
    if args.ti_status:
        ti_status = schemas.load_document(read_bytes(Path(args.ti_status)), args.ti_status)
        if not isinstance(ti_status, list):
            raise InputError.single(args.ti_status, "$", "expected a list of TI-Lagebild rows")
    states = evaluate_plan(plan, fleet, ti_status, args.plan)
    sys.stdout.write(render_plan(fleet, plan, states, args.format))
    for fmt, path in reports:
        _write(path, render_plan(fleet, plan, states, fmt))
    chosen = [s for s in states if args.wave is None or s.service.priority == args.wave]
    if args.wave is not None and not chosen:
        raise InputError.single(args.plan, "$.services", f"the plan has no wave {args.wave}")
    return EXIT_PASS if all(s.status == "ready" for s in chosen) else EXIT_FAIL


def _parse_report_arg(value: str, *, fleet: bool = False) -> tuple[str, str]:
    from gemcheck.errors import InputError
    from gemcheck.render import FORMATS

    if fleet:
        from gemcheck.fleet.formats import FLEET_FORMATS as formats
    else:
        formats = tuple(FORMATS)
    fmt, sep, path = value.partition("=")
    if not sep or not path or fmt not in formats:
        known = ", ".join(sorted(formats))
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
    if args.endpoint:
        data["endpoints"] = [*data.get("endpoints", []), *map(_endpoint_entry, args.endpoint)]
    _trust_from_args(args, data)
    _konnektor_from_args(args, data)
    _network_from_args(args, data)
    if path is None and len(data) == 1:
        raise InputError.single(
            "audit", "$", "nothing to audit: give a site file, --demo, or inputs such as --cert"
        )
    return build_site(data, root, file)


def _trust_from_args(args: argparse.Namespace, data: dict[str, Any]) -> None:
    """Merge --tsl, --tsl-signer, --trust-anchor and --ocsp-responder into the site's ``trust``."""
    if not (args.tsl or args.tsl_signer or args.trust_anchor or args.ocsp_responder):
        return
    trust = data.setdefault("trust", {})
    if args.tsl:
        trust["tsl"] = _abs(args.tsl)
    trust["tsl_signer"] = [*trust.get("tsl_signer", []), *map(_abs, args.tsl_signer)]
    trust["anchors"] = [*trust.get("anchors", []), *map(_abs, args.trust_anchor)]
    if args.ocsp_responder:
        trust.setdefault("ocsp", {})["responder"] = args.ocsp_responder


def _konnektor_from_args(args: argparse.Namespace, data: dict[str, Any]) -> None:
    """Merge the Konnektor flags into the site's ``konnektor`` section.

    The Konnektor's live endpoint is the first ``--endpoint`` with role
    ``konnektor``, else the first https URL without a role; it is taken only
    when credentials or a call context say a live Konnektor audit is wanted.
    """
    from gemcheck.errors import InputError

    section: dict[str, Any] = dict(data.get("konnektor", {}))
    for flag, key in (
        ("sds", "sds"),
        ("operating_data", "operating_data"),
        ("resource_information", "resource_information"),
        ("certificate_expiration", "certificate_expiration"),
        ("konnektor_params", "parameters"),
        ("client_p12", "client_p12"),
    ):
        if getattr(args, flag):
            section[key] = _abs(getattr(args, flag))
    if args.client_p12 and args.p12_password_env:
        section["p12_password_env"] = args.p12_password_env
    if args.basic_user:
        section["basic_user"] = args.basic_user
    if args.basic_password_env:
        section["basic_password_env"] = args.basic_password_env
    if args.konnektor_ca:
        section["ca"] = [*section.get("ca", []), *map(_abs, args.konnektor_ca)]
    if args.context:
        parts = args.context.split("/")
        if len(parts) not in (3, 4) or not all(parts):
            raise InputError.single(
                "--context",
                "$",
                f"expected MANDANT/CLIENTSYSTEM/WORKPLACE[/USER], got {args.context!r}",
            )
        section["context"] = dict(
            zip(("mandant", "client_system", "workplace", "user"), parts, strict=False)
        )
    if args.client_p12 or args.context or args.basic_user:
        entries = [_endpoint_entry(e) for e in args.endpoint]
        chosen = next((e["url"] for e in entries if e.get("role") == "konnektor"), None) or next(
            (e["url"] for e in entries if "role" not in e and e["url"].startswith("https://")), None
        )
        if chosen:
            section["endpoint"] = chosen
    if section:
        data["konnektor"] = section


def _endpoint_entry(value: str) -> dict[str, str]:
    """``--endpoint [ROLE=]URL``: the site file's endpoint entry (``role`` only when given)."""
    role, sep, url = value.partition("=")
    if sep and url and role.replace("-", "").replace("_", "").isalnum():
        return {"url": url, "role": role}
    return {"url": value}


def _network_from_args(args: argparse.Namespace, data: dict[str, Any]) -> None:
    """Merge --topology, --firewall [DEVICE=]FILE and --probe-reachability into ``network``."""
    if not (args.topology or args.firewall or args.probe_reachability):
        return
    section: dict[str, Any] = dict(data.get("network", {}))
    if args.topology:
        section["topology"] = _abs(args.topology)
    for value in args.firewall:
        device, sep, file = value.partition("=")
        entry = (
            {"path": _abs(file), "device": device}
            if sep and device and file
            else {"path": _abs(value)}
        )
        section["firewalls"] = [*section.get("firewalls", []), entry]
    if args.probe_reachability:
        section["probe_reachability"] = True
    data["network"] = section


def _abs(value: str) -> str:
    return str(Path(value).resolve())


def _cmd_graph(args: argparse.Namespace) -> int:
    from gemcheck.network.graph import graph_site

    text = graph_site(Path(args.site), args.format)
    if args.output:
        _write(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_PASS


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


def _cmd_certs_inspect(args: argparse.Namespace) -> int:
    from gemcheck.pki.inspect import inspect_paths, render_json, render_text

    items = inspect_paths([Path(f) for f in args.files], password_env=args.p12_password_env)
    sys.stdout.write(render_json(items) if args.json else render_text(items))
    return EXIT_FAIL if any("error" in item for item in items) else EXIT_PASS


# -- output -------------------------------------------------------------------------------------


def _render(report: Any, fmt: str, *, color: bool, signer: Any = None) -> str:
    if signer is not None and fmt == "json":
        from gemcheck.attest import signing_time

        return str(signer.render(report.as_dict(), signing_time()))
    from gemcheck.render import render

    return render(report, fmt, color=color)


def _emit(report: Any, fmt: str, output: str | None, signer: Any = None) -> None:
    if output:
        _write(output, _render(report, fmt, color=False, signer=signer))
        if fmt != "text":
            sys.stdout.write(_render(report, "text", color=_use_colour()))
        return
    sys.stdout.write(_render(report, fmt, color=fmt == "text" and _use_colour(), signer=signer))


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
