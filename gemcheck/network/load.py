"""Load one firewall export, recognising its format by content.

``load_firewall(path, fmt=None, device=None)`` reads an ``nft -j list ruleset`` JSON export,
``iptables-save``/``ip6tables-save`` text or a gemcheck rule list (YAML/JSON, schema
``firewall-1``) into a :class:`~gemcheck.network.rules.Ruleset`. A file that cannot be read
or is none of these raises :class:`~gemcheck.errors.InputError` naming the file and the place;
rules that were read but not fully understood are kept (``uncertain``) and listed in
``Ruleset.problems``.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from gemcheck.errors import InputError
from gemcheck.network.iptables import parse_iptables
from gemcheck.network.nftables import parse_nftables
from gemcheck.network.rules import Ruleset
from gemcheck.network.yamlrules import parse_yaml_rules

FORMATS = ("nftables-json", "iptables-save", "yaml")
"""The format names, as the site file's ``network.firewalls[].format`` spells them."""

MAX_BYTES = 256 * 1024 * 1024
"""Larger files are refused (an nftables export of 100,000 rules is about 40 MB)."""

_PARSERS: dict[str, Callable[[str, str, str | None], Ruleset]] = {
    "nftables-json": parse_nftables,
    "iptables-save": parse_iptables,
    "yaml": parse_yaml_rules,
}

_IPTABLES = re.compile(r"^\s*(\*[a-z]+|:[^\s]+ (ACCEPT|DROP|-)|-A \S+)", re.MULTILINE)


def detect_format(head: str) -> str | None:
    """The format of a file from its first few kilobytes, or ``None``."""
    text = head.lstrip("\ufeff \t\r\n")
    if text.startswith(("{", "[")) and '"nftables"' in text[:4096]:
        return "nftables-json"
    if "iptables-save" in text[:4096] or _IPTABLES.search(text[:4096]):
        return "iptables-save"
    if re.search(r"^(format|rules|chains|device|policy|hook|family)\s*:", text, re.MULTILINE) or (
        text.startswith("{") and re.search(r'"(rules|chains)"\s*:', text)
    ):
        return "yaml"
    return None


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large export is parsed.

    Parsing creates millions of small acyclic objects; the collector would scan them again and
    again for nothing (about 30 % of the import time for 100,000 rules).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_firewall(
    path: Path | str,
    fmt: str | None = None,
    device: str | None = None,
    *,
    shown: str | None = None,
) -> Ruleset:
    """The ruleset in ``path``; ``fmt`` one of :data:`FORMATS` or ``None`` to detect it.

    ``shown`` is how the file is named in locations and problems (default: the path).
    """
    path = Path(path)
    name = shown or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError.single(name, "$", f"file is {size} bytes, more than {MAX_BYTES}")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError.single(name, "$", f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError.single(name, f"byte {exc.start}", "not UTF-8 text") from None
    if fmt is None:
        if text.lstrip("\ufeff \t\r\n").startswith("<"):
            raise InputError.single(name, "line 1", "XML firewall exports are not supported")
        fmt = detect_format(text)
    parser = _PARSERS.get(fmt or "")
    if parser is not None:
        with _no_gc():
            return parser(text, name, device)
    if fmt is not None:
        raise InputError.single(name, "$", f"format {fmt!r} unknown (one of {', '.join(FORMATS)})")
    raise InputError.single(
        name,
        "line 1",
        "format not recognised: expected `nft -j list ruleset` JSON, iptables-save text "
        "or a gemcheck firewall rule list (YAML)",
    )
