"""Konnektor checks on parameters keyed by gemSpec_Kon names (the admin's file, OperatingData).

A parameter a source does not give is skipped, a value that broke the
parameter schema is an ``error`` (it was reported by
``konnektor.parameters_valid``). The generic checks (``parameter``,
``parameter_range``, ``parameter_requires``) take the parameter names and the
values from the profile, so each rule of ``ti-konnektor`` says in data which
setting it judges.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from gemcheck.evidence.konnektor import KonnektorParametersEvidence
from gemcheck.konnektor.parameters import segments, suggest
from gemcheck.konnektor.zones import zones_for
from gemcheck.model import Finding, JSONValue
from gemcheck.registry import Context, check


@check("konnektor.parameters_valid", applies_to=KonnektorParametersEvidence)
def parameters_valid(
    ev: KonnektorParametersEvidence, params: object, ctx: Context
) -> Iterator[Finding]:
    """Every parameter name is a known gemSpec_Kon name and every value is well-formed.

    Names and value types come from ``schemas/konnektor-params-1.schema.json``.
    An unknown name is usually a typo, and the setting it meant then goes
    unjudged; a malformed value cannot be judged at all.
    """
    problems = [f"{name}: {why}" for name, why in sorted(ev.invalid.items())]
    for name in ev.unknown:
        close = suggest(name)
        problems.append(
            f"{name}: unknown parameter name" + (f" (did you mean {close}?)" if close else "")
        )
    if problems:
        yield Finding.fail(f"{len(problems)} problem(s): {problems[0]}", problems=problems)
    else:
        yield Finding.ok(f"{len(ev.values)} parameter(s), all known and well-formed")


@dataclass(frozen=True, slots=True)
class ParameterParams:
    name: str = field(default="", metadata={"doc": "parameter name (shell-style glob allowed)"})
    allowed: tuple[str, ...] = field(default=(), metadata={"doc": "values that pass"})


@check("konnektor.parameter", applies_to=KonnektorParametersEvidence, params=ParameterParams)
def parameter(
    ev: KonnektorParametersEvidence, params: ParameterParams, ctx: Context
) -> Iterator[Finding]:
    """A Konnektor parameter has one of the values the profile allows.

    The rule's ``name`` and ``allowed`` say which setting and which values; its
    ``references`` and ``source`` say where gemSpec_Kon defines the parameter
    and whether the allowed values are the spec default or a hardening choice.
    """
    names = _names(ev, params.name)
    if not names:
        yield from _absent(ev, params.name)
        return
    for name in names:
        value = ev.values[name]
        facts = {"parameter": name, "value": _shown(value)}
        if str(value) in params.allowed:
            yield Finding.ok(f"{name} = {_shown(value)}", **facts)
        else:
            yield Finding.fail(
                f"{name} = {_shown(value)} (allowed: {', '.join(params.allowed)})", **facts
            )


@dataclass(frozen=True, slots=True)
class ParameterRangeParams:
    name: str = field(default="", metadata={"doc": "parameter name (integer-valued)"})
    minimum: int | None = field(default=None, metadata={"doc": "smallest value that passes"})
    maximum: int | None = field(default=None, metadata={"doc": "largest value that passes"})


@check(
    "konnektor.parameter_range", applies_to=KonnektorParametersEvidence, params=ParameterRangeParams
)
def parameter_range(
    ev: KonnektorParametersEvidence, params: ParameterRangeParams, ctx: Context
) -> Iterator[Finding]:
    """A numeric Konnektor parameter lies within the range the profile allows.

    Retention periods, grace periods and warning horizons: the spec's range
    and the hardening value are profile data with their source.
    """
    names = _names(ev, params.name)
    if not names:
        yield from _absent(ev, params.name)
        return
    low = "" if params.minimum is None else str(params.minimum)
    high = "" if params.maximum is None else str(params.maximum)
    for name in names:
        value = ev.values[name]
        facts = {
            "parameter": name,
            "value": _shown(value),
            "minimum": params.minimum,
            "maximum": params.maximum,
        }
        if not isinstance(value, int):
            yield Finding.error(f"{name} is not a number", **facts)
        elif (params.minimum is not None and value < params.minimum) or (
            params.maximum is not None and value > params.maximum
        ):
            yield Finding.fail(f"{name} = {value} (allowed: {low}..{high})", **facts)
        else:
            yield Finding.ok(f"{name} = {value} (allowed: {low}..{high})", **facts)


@dataclass(frozen=True, slots=True)
class ParameterRequiresParams:
    when: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict,
        metadata={"doc": "the rule applies when every named parameter has one of these values"},
    )
    require: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict,
        metadata={"doc": "then every named parameter must have one of these values"},
    )


@check(
    "konnektor.parameter_requires",
    applies_to=KonnektorParametersEvidence,
    params=ParameterRequiresParams,
)
def parameter_requires(
    ev: KonnektorParametersEvidence, params: ParameterRequiresParams, ctx: Context
) -> Iterator[Finding]:
    """A setting is only used together with the settings it depends on.

    Example: comfort signature (SAK_COMFORT_SIGNATURE=Enabled) only with TLS
    and client authentication mandatory (gemSpec_Kon TAB_KON_596); Internet via
    IAG only in parallel deployment (TAB_KON_624).
    """
    condition = ", ".join(f"{n}={'|'.join(v)}" for n, v in params.when.items())
    for name in params.when:
        if name in ev.invalid:
            yield Finding.error(f"{name} cannot be judged: {ev.invalid[name]}")
            return
        if name not in ev.values:
            yield Finding.skip(f"{name} not given in this source")
            return
    if not all(str(ev.values[n]) in v for n, v in params.when.items()):
        shown = ", ".join(f"{n}={_shown(ev.values[n])}" for n in params.when)
        yield Finding.ok(f"not applicable: {shown}")
        return
    missing = [n for n in params.require if n not in ev.values]
    wrong = [
        f"{n}={_shown(ev.values[n])}"
        for n, v in params.require.items()
        if n in ev.values and str(ev.values[n]) not in v
    ]
    needed = ", ".join(f"{n}={'|'.join(v)}" for n, v in params.require.items())
    if wrong:
        yield Finding.fail(
            f"{condition} requires {needed}, but {', '.join(wrong)}", required=needed
        )
    elif missing:
        yield Finding.error(
            f"{condition} requires {needed}; {', '.join(missing)} not given, "
            "so it cannot be checked"
        )
    else:
        yield Finding.ok(f"{condition} with {needed}")


@dataclass(frozen=True, slots=True)
class AddressOverlapParams:
    zone_classes: tuple[str, ...] = field(
        default=(), metadata={"doc": "zone classes of ti-ipv4-zones.csv judged (empty: all)"}
    )
    between_segments: bool = field(
        default=True, metadata={"doc": "also fail when the site's own networks overlap"}
    )


@check(
    "konnektor.address_overlap", applies_to=KonnektorParametersEvidence, params=AddressOverlapParams
)
def address_overlap(
    ev: KonnektorParametersEvidence, params: AddressOverlapParams, ctx: Context
) -> Iterator[Finding]:
    """The site's networks overlap neither the TI address zones nor each other.

    LAN and WAN segment, intranet routes (ANLW_LEKTR_INTRANET_ROUTES), DHCP
    routes and Bestandsnetze must not overlap NET_TI_DEZENTRAL, NET_TI_ZENTRAL,
    the Fachdienst zones or NET_SIS of the site's TI environment (gemSpec_Kon
    TAB_KON_683, TAB_KON_624; zones per gemSpec_Net GS-A_4029-06 PU,
    GS-A_4850-04 TU), nor each other: overlapping networks break routing to
    the TI and can send patient data the wrong way.
    """
    nets = segments(ev.values)
    if not nets:
        yield Finding.skip("this source configures no network segments or routes")
        return
    zones = [
        z
        for z in zones_for(ctx.environment)
        if not params.zone_classes or z.zone_class in params.zone_classes
    ]
    problems: list[str] = []
    for kind, name, net in nets:
        hits = [z for z in zones if _overlaps(net, z.network)]
        if hits:
            names = ", ".join(f"{z.name} {z.network}" for z in hits[:3])
            problems.append(f"{kind} {net} ({name}) overlaps TI {ctx.environment} zone(s) {names}")
    if params.between_segments:
        for i, (kind_a, name_a, net_a) in enumerate(nets):
            for kind_b, name_b, net_b in nets[i + 1 :]:
                if _overlaps(net_a, net_b) and not {kind_a, kind_b} <= {"Bestandsnetz"}:
                    problems.append(
                        f"{kind_a} {net_a} ({name_a}) overlaps {kind_b} {net_b} ({name_b})"
                    )
    shown = [f"{kind} {net}" for kind, _, net in nets]
    if problems:
        yield Finding.fail(
            f"{len(problems)} overlap(s): {problems[0]}",
            overlaps=problems,
            networks=shown,
            environment=ctx.environment,
        )
    else:
        yield Finding.ok(
            f"{len(nets)} network(s) clear of the TI {ctx.environment} zones and of each other",
            networks=shown,
            environment=ctx.environment,
        )


def _overlaps(
    a: ipaddress.IPv4Network | ipaddress.IPv6Network,
    b: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> bool:
    return a.version == b.version and a.overlaps(b)


@check("konnektor.intranet_routes", applies_to=KonnektorParametersEvidence)
def intranet_routes(
    ev: KonnektorParametersEvidence, params: object, ctx: Context
) -> Iterator[Finding]:
    """Intranet routes are consistent: REDIRECT only with routes, next hops inside the LAN.

    ANLW_INTRANET_ROUTES_MODUS=REDIRECT is only settable when
    ANLW_LEKTR_INTRANET_ROUTES is defined (TAB_KON_624); a route whose next
    hop is not in the LAN segment cannot be reached and sends traffic to the
    default route instead [INFERRED].
    """
    mode = ev.values.get("ANLW_INTRANET_ROUTES_MODUS")
    routes = ev.values.get("ANLW_LEKTR_INTRANET_ROUTES")
    if mode is None and routes is None:
        yield from _absent(ev, "ANLW_INTRANET_ROUTES_MODUS")
        return
    route_list = routes if isinstance(routes, list) else []
    if mode == "REDIRECT" and not route_list:
        yield Finding.fail(
            "ANLW_INTRANET_ROUTES_MODUS=REDIRECT without any ANLW_LEKTR_INTRANET_ROUTES"
        )
        return
    lan = [net for kind, _, net in segments(ev.values) if kind == "LAN segment"]
    if not lan:
        yield Finding.ok(
            f"{len(route_list)} intranet route(s), mode {mode or 'not given'} "
            "(next hops not judged: no LAN segment given)"
        )
        return
    outside = [
        f"{r['segment']} via {r['next_hop']}"
        for r in route_list
        if not any(ipaddress.ip_address(r["next_hop"]) in net for net in lan)
    ]
    if outside:
        yield Finding.fail(
            f"next hop outside the LAN segment {lan[0]}: {outside[0]}", routes=outside
        )
    else:
        yield Finding.ok(f"{len(route_list)} intranet route(s), next hops inside {lan[0]}")


# -- helpers -----------------------------------------------------------------------------------


def _names(ev: KonnektorParametersEvidence, pattern: str) -> list[str]:
    if not any(c in pattern for c in "*?["):
        return [pattern] if pattern in ev.values else []
    return sorted(n for n in ev.values if fnmatch.fnmatchcase(n, pattern))


def _absent(ev: KonnektorParametersEvidence, pattern: str) -> Iterator[Finding]:
    bad = sorted(n for n in ev.invalid if fnmatch.fnmatchcase(n, pattern)) if ev.invalid else []
    if bad:
        yield Finding.error(f"{bad[0]} cannot be judged: {ev.invalid[bad[0]]}")
    else:
        yield Finding.skip(f"{pattern} not given in this source")


def _shown(value: JSONValue) -> str:
    if isinstance(value, list):
        return f"[{len(value)} entries]"
    if isinstance(value, dict):
        return f"{{{len(value)} entries}}"
    return str(value)
