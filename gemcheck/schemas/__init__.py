"""The JSON Schemas gemcheck ships, and document loading that reports errors by file and place.

Schemas: ``profile-1`` (profiles), ``site-1`` (site files), ``report-1`` (the
JSON report, the contract for every consumer).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gemcheck.errors import InputError, Problem, json_path
from gemcheck.model import JSONValue

SCHEMA_DIR = Path(__file__).parent

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """The parsed schema ``<name>.schema.json``."""
    with (SCHEMA_DIR / f"{name}.schema.json").open(encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


@functools.cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def load_document(raw: bytes, file: str) -> Any:
    """Parse YAML (a superset of JSON) into plain JSON values; dates become ISO strings."""
    try:
        data = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "$"
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError([Problem(file, where, f"not valid YAML/JSON: {problem}")]) from None
    try:
        return _Plain().convert(data, ())
    except _TooBig as exc:
        raise InputError([Problem(file, "$", str(exc))]) from None


MAX_NODES = 2_000_000
"""More values than this (after YAML aliases are expanded) is refused: an alias bomb."""


class _TooBig(Exception):
    pass


class _Plain:
    """YAML values to plain JSON values, refusing alias loops and alias bombs."""

    def __init__(self) -> None:
        self.nodes = 0

    def convert(self, value: Any, open_ids: tuple[int, ...]) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(f"more than {MAX_NODES} values once YAML aliases are expanded")
        if isinstance(value, dict | list):
            if id(value) in open_ids:
                raise _TooBig("a YAML alias refers to a value that contains it (a loop)")
            inner = (*open_ids, id(value))
            if isinstance(value, dict):
                return {str(k): self.convert(v, inner) for k, v in value.items()}
            return [self.convert(v, inner) for v in value]
        if isinstance(value, dt.date):
            return value.isoformat()
        return value


def validate(data: Any, name: str, file: str) -> None:
    """Raise an InputError listing every place where ``data`` breaks schema ``name``."""
    problems = [
        Problem(file, json_path(path), message) for path, message in _errors(_validator(name), data)
    ]
    if problems:
        raise InputError(problems)


def errors_of(data: Any, schema_doc: Mapping[str, JSONValue]) -> list[tuple[list[str | int], str]]:
    """Every (path, message) where ``data`` breaks an ad-hoc schema (e.g. a check's params)."""
    return _errors(_adhoc_validator(json.dumps(schema_doc, sort_keys=True)), data)


@functools.lru_cache(maxsize=512)
def _adhoc_validator(schema_text: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(schema_text))


def _errors(validator: Any, data: Any) -> list[tuple[list[str | int], str]]:
    found = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [(list(e.absolute_path), _message(e)) for e in found]


def _message(error: Any) -> str:
    if error.validator == "type":
        return f"expected {error.validator_value}, got {json.dumps(error.instance)[:60]}"
    return str(error.message)
