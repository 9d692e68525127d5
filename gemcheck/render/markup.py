"""Autoescaping HTML construction: every string is text unless it is :class:`Markup`.

:func:`el` builds an element; its attribute values and any child that is a plain
``str`` (or number) are escaped, so untrusted data (subjects, messages,
evidence, configuration values) can never become markup. Only the output of
this module's functions is :class:`Markup` (an escaped value can be kept as
Markup to avoid escaping it again). Tag and attribute names are code, never
data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from html import escape as _escape

from gemcheck.render._safe import printable

AttrValue = str | int | float | bool | None


class Markup(str):
    """A string that is already safe HTML."""

    __slots__ = ()


def escape(value: object) -> Markup:
    """``value`` as HTML text: ``& < > " '`` escaped, unencodable characters made visible."""
    if isinstance(value, Markup):
        return value
    return Markup(_text(value))


def _text(value: object) -> str:
    return _escape(printable(value if isinstance(value, str) else str(value)), quote=True)


def el(tag: str, attrs: Mapping[str, AttrValue] | None = None, *children: object) -> Markup:
    """``<tag attrs>children</tag>``; ``True`` attributes are written bare, ``None``/``False``
    left out. Children that are None are skipped."""
    head = f"<{tag}{_attributes(attrs)}>" if attrs else f"<{tag}>"
    body = "".join([c if isinstance(c, Markup) else _text(c) for c in children if c is not None])
    return Markup(f"{head}{body}</{tag}>")


def _attributes(attrs: Mapping[str, AttrValue]) -> str:
    return "".join(
        f" {name}"
        if value is True
        else f' {name}="{value if isinstance(value, Markup) else _short(value)}"'
        for name, value in attrs.items()
        if value is not None and value is not False
    )


@lru_cache(maxsize=4096, typed=True)
def _short(value: object) -> str:
    """:func:`_text` for the short values that repeat (class names, evidence keys)."""
    return _text(value)


def void(tag: str, attrs: Mapping[str, AttrValue] | None = None) -> Markup:
    """A void element (``<input>``, ``<meta>``): attributes only, no end tag."""
    return Markup(f"<{tag}{_attributes(attrs) if attrs else ''}>")


def definitions(pairs: Iterable[tuple[object, object]]) -> Markup:
    """``<dt>term</dt><dd>description</dd>`` for each pair (both escaped unless Markup)."""
    return Markup(
        "".join(
            f"<dt>{escape(term) if isinstance(term, Markup) else _short(term)}</dt>"
            f"<dd>{escape(description)}</dd>"
            for term, description in pairs
        )
    )


def join(items: Iterable[object], sep: str = "") -> Markup:
    """Children in a row (each escaped unless Markup)."""
    return Markup(escape(sep).join(escape(i) for i in items if i is not None))
