"""The fast schema test agrees with jsonschema on the network description schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from gemcheck import schemas
from gemcheck.network.fastschema import Unsupported, conforms
from tests.conftest import EXAMPLE

SCHEMA = schemas.schema("network-1")
VALIDATOR = Draft202012Validator(SCHEMA)
DOC = yaml.safe_load((EXAMPLE / "network" / "network.yaml").read_text(encoding="utf-8"))


def _agree(doc: Any) -> None:
    assert conforms(doc, SCHEMA) == VALIDATOR.is_valid(doc), doc


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(DOC)[1:]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["lan", "tcp", "in-line", "10.0.0.0/8", "a b"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def test_the_example_conforms() -> None:
    assert conforms(DOC, SCHEMA)


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(PATHS), JSON, st.booleans())
def test_any_mutation_is_judged_like_jsonschema(
    path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    doc = copy.deepcopy(DOC)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    _agree(doc)


@pytest.mark.parametrize("keyword", [{"not": {}}, {"$ref": "http://x/y"}, {"format": "ipv4"}])
def test_unknown_keywords_are_not_guessed(keyword: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        conforms({}, {"properties": {"a": keyword}})
