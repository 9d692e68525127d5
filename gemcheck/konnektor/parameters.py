"""Konnektor parameters: a YAML file keyed by gemSpec_Kon names, as the admin reads them.

The vendors' configuration exports are signed and encrypted (TIP1-A_4814-4816),
so the portable form is a file the admin fills in from the management UI::

    read_on: 2026-05-28
    ANCL_TLS_MANDATORY: Enabled
    ANLW_LAN_NETWORK_SEGMENT: 192.168.10.0/24
    ANLW_LEKTR_INTRANET_ROUTES:
      - {segment: 10.20.0.0/16, next_hop: 192.168.10.254}

``schemas/konnektor-params-1.schema.json`` fixes names, types and enumerations;
a value that breaks it is reported (without echoing it) and not judged, a
name it does not list is reported as unknown. YAML ``true``/``false`` is read
as ``Enabled``/``Disabled``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gemcheck import schemas
from gemcheck.errors import InputError
from gemcheck.evidence.konnektor import KonnektorParametersEvidence
from gemcheck.model import JSONValue, Location

SCHEMA = "konnektor-params-1"
META = frozenset({"read_on", "note"})
MAX_BYTES = 1024 * 1024

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _schema() -> dict[str, Any]:
    return schemas.schema(SCHEMA)


Check = tuple[Any, Callable[[Any], bool] | None]
"""A compiled validator, and a quick test that is True only for values it would accept."""


@functools.cache
def _validators() -> tuple[dict[str, Check], tuple[tuple[re.Pattern[str], Check], ...]]:
    """One compiled validator per property and per name pattern, ``$ref`` resolved up front.

    Validating each value on its own is several times faster than validating the
    whole mapping against the schema, and gives the same errors. Plain enumerations,
    strings and non-negative integers (most parameters) first get a quick test;
    the validator runs when it does not pass, so messages always come from it.
    """
    schema = _schema()
    defs = schema.get("$defs", {})
    properties = {name: _check(_inline(sub, defs)) for name, sub in schema["properties"].items()}
    patterns = tuple(
        (re.compile(pattern), _check(_inline(sub, defs)))
        for pattern, sub in schema.get("patternProperties", {}).items()
    )
    return properties, patterns


def _check(sub: Mapping[str, Any]) -> Check:
    from jsonschema import Draft202012Validator

    keys = set(sub) - {"description"}
    quick: Callable[[Any], bool] | None = None
    if keys == {"enum"} and all(isinstance(v, str) for v in sub["enum"]):
        quick = functools.partial(_one_of, frozenset(sub["enum"]))
    elif keys == {"type"} and sub["type"] == "string":
        quick = _is_string
    elif keys == {"type", "minimum"} and sub["type"] == "integer":
        quick = functools.partial(_integer_from, sub["minimum"])
    return Draft202012Validator(sub), quick


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _one_of(allowed: frozenset[str], value: Any) -> bool:
    return isinstance(value, str) and value in allowed


def _integer_from(low: int, value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    """``node`` with every local ``{"$ref": "#/$defs/x"}`` replaced by the definition."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**_inline(defs[ref.removeprefix("#/$defs/")], defs), **rest}
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _check_of(name: str) -> Check | None:
    properties, patterns = _validators()
    if name in properties:
        return properties[name]
    return next((c for pattern, c in patterns if pattern.match(name)), None)


@functools.cache
def known_names() -> frozenset[str]:
    """Every parameter name the schema knows (``FM_<fm>_LOG_LEVEL`` is a pattern, not listed)."""
    return frozenset(_schema()["properties"]) - META


def suggest(name: str) -> str | None:
    """The known name closest to a misspelt one, if any is close."""
    close = difflib.get_close_matches(name, sorted(known_names()), n=1, cutoff=0.8)
    return close[0] if close else None


def load_parameters(path: Path, shown: str) -> KonnektorParametersEvidence:
    """The parameter file as evidence; an unreadable or malformed file is error evidence."""
    location = Location(file=shown)
    try:
        if path.stat().st_size > MAX_BYTES:
            return _error(shown, location, f"file is larger than {MAX_BYTES} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        return _error(shown, location, f"cannot read: {exc.strerror or exc}")
    try:
        data = schemas.load_document(raw, shown)
    except InputError as exc:
        return _error(shown, location, "; ".join(p.message + f" ({p.where})" for p in exc.problems))
    return parameters_from_data(data, shown, location)


def parameters_from_data(
    data: Any, subject: str, location: Location, source: str = "parameters"
) -> KonnektorParametersEvidence:
    """Validate and normalise already-parsed parameter data."""
    if not isinstance(data, dict):
        return _error(
            subject,
            location,
            "expected a mapping of gemSpec_Kon parameter names to "
            f"values at $, got {type(data).__name__}",
        )
    values = {str(k): _normalise(str(k), v) for k, v in data.items()}
    invalid: dict[str, str] = {}
    unknown: list[str] = []
    for name, value in values.items():
        check = _check_of(name)
        if check is None:
            unknown.append(name)
            continue
        validator, quick = check
        error = None if quick and quick(value) else next(iter(validator.iter_errors(value)), None)
        if error is not None:
            where = "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
            )
            invalid[name] = f"at $.{name}{where}: {_message(error)}"
        elif problem := _semantic_problem(name, value):
            invalid[name] = f"at $.{name}: {problem}"
    read_on = values.get("read_on")
    return KonnektorParametersEvidence(
        subject=subject,
        location=location,
        source=source,
        values=MappingProxyType(
            {
                k: v
                for k, v in values.items()
                if k not in invalid and k not in META and k not in unknown
            }
        ),
        invalid=MappingProxyType(invalid),
        unknown=tuple(sorted(unknown)),
        read_on=dt.date.fromisoformat(read_on)
        if isinstance(read_on, str) and "read_on" not in invalid
        else None,
    )


def _normalise(name: str, value: Any) -> Any:
    """YAML booleans to the spelling the parameter's enumeration uses."""
    if not isinstance(value, bool):
        return value
    ref = _schema()["properties"].get(name, {}).get("$ref", "")
    if ref == "#/$defs/onoff":
        return "Enabled" if value else "Disabled"
    if ref == "#/$defs/ONOFF":
        return "ENABLED" if value else "DISABLED"
    return value


def _message(error: Any) -> str:
    """What is wrong, never the value itself (a misplaced secret must not be echoed)."""
    kind, expected = error.validator, error.validator_value
    if "propertyNames" in error.absolute_schema_path:
        return "holds a key that looks like a password; never write secrets into this file"
    if kind == "anyOf" and error.context:
        return _message(max(error.context, key=lambda e: len(e.absolute_schema_path)))
    if kind == "enum":
        return "must be one of " + ", ".join(str(v) for v in expected)
    if kind == "type":
        return f"must be of type {expected if isinstance(expected, str) else ' or '.join(expected)}"
    if kind in ("minimum", "maximum"):
        return f"must be {'at least' if kind == 'minimum' else 'at most'} {expected}"
    if kind == "pattern":
        return f"does not have the expected form ({error.schema.get('description', expected)})"
    if kind in ("required", "additionalProperties"):
        return str(error.message)
    return f"is not valid ({kind})"


def _semantic_problem(name: str, value: Any) -> str | None:
    """Addresses and networks the schema's patterns let through but ``ipaddress`` rejects."""
    try:
        list(_networks_of(name, value))
        if name.endswith(("_IP_ADDRESS", "_SUBNETMASK", "_IAG_ADDRESS")) and isinstance(value, str):
            ipaddress.ip_address(value)
        if name.endswith("_ROUTES") and isinstance(value, list):
            for route in value:
                ipaddress.ip_address(route["next_hop"])
    except ValueError as exc:
        return f"not a valid address or network: {exc}"
    return None


# -- networks --------------------------------------------------------------------------------

_NETWORK_LISTS = {
    "ANLW_LEKTR_INTRANET_ROUTES": "intranet route",
    "DHCP_ROUTES": "DHCP route",
    "ANLW_BESTANDSNETZE": "Bestandsnetz",
    "ANLW_AKTIVE_BESTANDSNETZE": "Bestandsnetz",
}


def _networks_of(name: str, value: Any) -> Iterator[tuple[str, Network]]:
    if name in ("ANLW_LAN_NETWORK_SEGMENT", "ANLW_WAN_NETWORK_SEGMENT") and isinstance(value, str):
        yield f"{name[5:8]} segment", ipaddress.ip_network(value, strict=False)
    elif name in _NETWORK_LISTS and isinstance(value, list):
        for item in value:
            cidr = item["segment"] if isinstance(item, dict) else item
            yield _NETWORK_LISTS[name], ipaddress.ip_network(cidr, strict=False)


def segments(values: Mapping[str, JSONValue]) -> list[tuple[str, str, Network]]:
    """Every network the parameters configure: (kind, parameter, network).

    Kinds: ``LAN segment``, ``WAN segment`` (from ``ANLW_*_NETWORK_SEGMENT``, or
    from address and mask), ``intranet route``, ``DHCP route``, ``Bestandsnetz``.
    Call with valid values only (:attr:`KonnektorParametersEvidence.values`).
    """
    out: list[tuple[str, str, Network]] = []
    seen: set[tuple[str, Network]] = set()
    for side in ("LAN", "WAN"):
        name = f"ANLW_{side}_NETWORK_SEGMENT"
        address, mask = values.get(f"ANLW_{side}_IP_ADDRESS"), values.get(f"ANLW_{side}_SUBNETMASK")
        if name not in values and isinstance(address, str) and isinstance(mask, str):
            net = ipaddress.ip_network(f"{address}/{mask}", strict=False)
            out.append((f"{side} segment", f"ANLW_{side}_IP_ADDRESS/SUBNETMASK", net))
    for name, value in values.items():
        for kind, net in _networks_of(name, value):
            if (kind, net) not in seen:
                seen.add((kind, net))
                out.append((kind, name, net))
    return out


def _error(subject: str, location: Location, message: str) -> KonnektorParametersEvidence:
    return KonnektorParametersEvidence(
        subject=subject,
        location=location,
        source="parameters",
        error=f"Konnektor parameters: {message}",
    )
