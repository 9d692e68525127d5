"""A fast yes/no test of a document against a JSON Schema, for large network descriptions.

``jsonschema`` explains every error, but spends about a millisecond per host: a generated
description of 10,000 hosts would take ten seconds to validate. :func:`conforms` interprets the
keywords ``network-1`` uses and only answers *whether* a document conforms; when it does not,
the caller validates again with ``jsonschema`` to report each problem with its place. A schema
with any other keyword is not interpreted here (:class:`Unsupported`), so the answer is never a
guess.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

Test = Callable[[Any], bool]

_IGNORED = frozenset({"$schema", "$id", "title", "description", "default", "$defs", "$comment"})
_TYPES: Mapping[str, Test] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Unsupported(ValueError):
    """The schema uses a keyword this module does not interpret."""


def conforms(document: Any, schema: Mapping[str, Any]) -> bool:
    """True if ``document`` conforms to ``schema`` (raises :class:`Unsupported`)."""
    return _compiled(json.dumps(schema, sort_keys=True))(document)


@functools.cache
def _compiled(text: str) -> Test:
    root = json.loads(text)
    refs: dict[str, Test] = {}
    return _compile(root, root, refs)


def _compile(schema: Any, root: Mapping[str, Any], refs: dict[str, Test]) -> Test:
    if schema is True:
        return lambda v: True
    if schema is False:
        return lambda v: False
    tests: list[Test] = []
    for key, value in schema.items():
        if key in _IGNORED:
            continue
        tests.append(_keyword(key, value, schema, root, refs))
    if len(tests) == 1:
        return tests[0]
    return lambda v: all(t(v) for t in tests)


def _keyword(
    key: str,
    value: Any,
    schema: Mapping[str, Any],
    root: Mapping[str, Any],
    refs: dict[str, Test],
) -> Test:
    if key == "type":
        names = value if isinstance(value, list) else [value]
        checks = [_TYPES[n] for n in names]
        return lambda v: any(c(v) for c in checks)
    if key == "enum":
        options = [json.dumps(o, sort_keys=True) for o in value]
        return lambda v: _same(v, options)
    if key == "const":
        options = [json.dumps(value, sort_keys=True)]
        return lambda v: _same(v, options)
    if key == "pattern":
        rx = re.compile(value)
        return lambda v: not isinstance(v, str) or rx.search(v) is not None
    if key == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= value
    if key == "minItems":
        return lambda v: not isinstance(v, list) or len(v) >= value
    if key == "minimum":
        return lambda v: not _TYPES["number"](v) or v >= value
    if key == "maximum":
        return lambda v: not _TYPES["number"](v) or v <= value
    if key == "required":
        return lambda v: not isinstance(v, dict) or all(k in v for k in value)
    if key == "properties":
        props = {k: _compile(s, root, refs) for k, s in value.items()}
        return lambda v: (
            not isinstance(v, dict) or all(props[k](x) for k, x in v.items() if k in props)
        )
    if key == "additionalProperties":
        known = set(schema.get("properties", {}))
        extra = _compile(value, root, refs)
        return lambda v: (
            not isinstance(v, dict) or all(extra(x) for k, x in v.items() if k not in known)
        )
    if key == "items":
        item = _compile(value, root, refs)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)
    if key in ("anyOf", "oneOf"):
        options_t = [_compile(s, root, refs) for s in value]
        if key == "anyOf":
            return lambda v: any(t(v) for t in options_t)
        return lambda v: sum(1 for t in options_t if t(v)) == 1
    if key == "$ref":
        return _ref(value, root, refs)
    raise Unsupported(f"keyword {key!r} is not interpreted")


def _ref(pointer: str, root: Mapping[str, Any], refs: dict[str, Test]) -> Test:
    if not pointer.startswith("#/"):
        raise Unsupported(f"reference {pointer!r} is not local")
    if pointer not in refs:
        holder: list[Test] = []
        refs[pointer] = lambda v: holder[0](v)  # a recursive schema refers to itself
        target: Any = root
        for part in pointer[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        holder.append(_compile(target, root, refs))
        refs[pointer] = holder[0]
    return refs[pointer]


def _same(value: Any, options: list[str]) -> bool:
    if isinstance(value, bool | type(None) | str):
        return json.dumps(value) in options
    return json.dumps(value, sort_keys=True) in options
