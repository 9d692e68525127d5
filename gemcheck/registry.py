"""The check registry: built-in checks and plugins from the entry-point group ``gemcheck.checks``.

A check is a function ``(evidence, params, ctx) -> Iterable[Finding]``
registered with :func:`check`. Its parameters are a frozen dataclass; the JSON
Schema a profile's ``params`` must match is derived from that dataclass, so the
two can never disagree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import pkgutil
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args, get_origin, get_type_hints

from gemcheck.evidence import Evidence, EvidenceSet
from gemcheck.model import Finding, JSONValue

ENTRY_POINT_GROUP = "gemcheck.checks"


@dataclass(frozen=True, slots=True)
class Context:
    """What a check may know besides its evidence: the evaluation date and the other evidence."""

    as_of: dt.date
    evidence: EvidenceSet
    environment: str = "PU"
    moment: dt.datetime = field(init=False)
    """The instant a check judges time-dependent facts at: ``as_of`` 00:00:00 UTC."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "moment", dt.datetime.combine(self.as_of, dt.time(0), dt.UTC))


class CheckFunction(Protocol):
    def __call__(self, evidence: Any, params: Any, ctx: Context, /) -> Iterable[Finding]: ...


@dataclass(frozen=True, slots=True)
class NoParams:
    """Parameters of a check that takes none."""


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A registered check: its id, what evidence it judges, its parameters and its documentation."""

    id: str
    func: CheckFunction
    applies_to: type[Evidence]
    params: type[Any]
    domain: str
    doc: str
    params_schema: Mapping[str, JSONValue]
    origin: str = "builtin"
    reads: tuple[type[Evidence], ...] = ()
    """Other evidence the check looks up through ``ctx.evidence`` (collected for it too)."""

    @property
    def summary(self) -> str:
        """The first line of the docstring."""
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""


@dataclass
class Registry:
    """Every known check, and every plugin that failed to load (with why)."""

    checks: dict[str, CheckSpec] = field(default_factory=dict)
    plugin_errors: list[str] = field(default_factory=list)

    def get(self, check_id: str) -> CheckSpec | None:
        return self.checks.get(check_id)


_BUILTIN: dict[str, CheckSpec] = {}


def check(
    check_id: str,
    *,
    applies_to: type[Evidence],
    params: type[Any] = NoParams,
    domain: str | None = None,
    reads: tuple[type[Evidence], ...] = (),
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check.

    ``check_id`` is stable API (``cert.key_algorithm``); its first dotted part is
    the domain unless ``domain`` says otherwise. ``reads`` names other evidence
    types the check looks up through ``ctx.evidence``, so that collection gathers
    them whenever the check runs. The function's docstring is what ``gemcheck
    explain`` shows and what SARIF uses as the rule description.
    """

    def register(func: CheckFunction) -> CheckFunction:
        if check_id in _BUILTIN:
            raise ValueError(f"check {check_id!r} is registered twice")
        _BUILTIN[check_id] = CheckSpec(
            id=check_id,
            func=func,
            applies_to=applies_to,
            params=params,
            domain=domain or check_id.split(".", 1)[0],
            doc=_clean_doc(func.__doc__),
            params_schema=params_schema(params),
            origin=func.__module__,
            reads=reads,
        )
        return func

    return register


def _clean_doc(doc: str | None) -> str:
    import inspect

    return inspect.cleandoc(doc or "")


def load_registry() -> Registry:
    """Import the built-in checks and every plugin of the entry-point group.

    A plugin that fails to import is recorded in ``plugin_errors`` and the rest
    load as usual.
    """
    import gemcheck.checks as builtin_pkg

    for info in pkgutil.iter_modules(builtin_pkg.__path__, builtin_pkg.__name__ + "."):
        importlib.import_module(info.name)
    registry = Registry()
    for ep in _entry_points():
        try:
            ep.load()
        except Exception as exc:  # a broken plugin must not stop the audit
            registry.plugin_errors.append(
                f"plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
            )
    registry.checks.update(_BUILTIN)
    return registry


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


# -- parameters: dataclass <-> JSON Schema ---------------------------------------------------------


def params_schema(cls: type[Any]) -> dict[str, JSONValue]:
    """The JSON Schema (2020-12) of a params dataclass: fields without default are required."""
    hints = get_type_hints(cls)
    props: dict[str, JSONValue] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        prop = _type_schema(hints[f.name])
        if f.metadata.get("doc"):
            prop = {**prop, "description": f.metadata["doc"]}
        props[f.name] = prop
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    schema: dict[str, JSONValue] = {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def _type_schema(tp: Any) -> dict[str, JSONValue]:
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (typing.Union, types.UnionType):
        options = [_type_schema(a) for a in args if a is not type(None)]
        schema: dict[str, JSONValue] = options[0] if len(options) == 1 else {"anyOf": options}
        if type(None) in args:
            return {"anyOf": [schema, {"type": "null"}]}
        return schema
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (tuple, list, frozenset) or tp in (tuple, list):
        item = args[0] if args else Any
        return {"type": "array", "items": _type_schema(item)}
    if origin in (dict, Mapping) or (origin is not None and origin.__name__ == "Mapping"):
        return {"type": "object", "additionalProperties": _type_schema(args[1])}
    simple: dict[Any, dict[str, JSONValue]] = {
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
        dt.date: {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        Any: {},
    }
    if tp in simple:
        return simple[tp]
    raise TypeError(f"unsupported parameter type {tp!r}")


def build_params(cls: type[Any], values: Mapping[str, JSONValue]) -> Any:
    """Instantiate a params dataclass from schema-valid JSON values (dates, tuples converted)."""
    hints = get_type_hints(cls)
    kwargs = {name: _convert(hints[name], value) for name, value in values.items()}
    return cls(**kwargs)


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if tp is dt.date:
        return dt.date.fromisoformat(value)
    if origin is tuple:
        return tuple(_convert(args[0], v) for v in value)
    if origin is frozenset:
        return frozenset(_convert(args[0], v) for v in value)
    if (origin is not None and origin.__name__ == "Mapping") or origin is dict:
        return types.MappingProxyType({k: _convert(args[1], v) for k, v in value.items()})
    if tp is float and isinstance(value, int):
        return float(value)
    return value


def params_as_json(params: Any) -> dict[str, JSONValue]:
    """A params dataclass back to JSON values (for ``explain`` and reports)."""
    return {f.name: _to_json(getattr(params, f.name)) for f in dataclasses.fields(params)}


def _to_json(value: Any) -> JSONValue:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset):
        items = [_to_json(v) for v in value]
        return sorted(items) if isinstance(value, frozenset) else items
    if isinstance(value, Mapping):
        return {k: _to_json(v) for k, v in value.items()}
    return value
