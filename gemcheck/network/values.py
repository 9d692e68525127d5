"""Textual values shared by the importers: port ranges and NAT targets."""

from __future__ import annotations

import ipaddress

from gemcheck.network.rules import NatTarget, PortRange

MAX_PORT = 65535


def parse_port_range(text: str, separator: str = ":") -> PortRange:
    """``22``, ``8000:8100`` (iptables) or ``8000-8100`` (``separator="-"``); open ends allowed
    with ``:`` (``:1023``, ``1024:``). ``ValueError`` if it is not a valid range."""
    lo, sep, hi = text.strip().partition(separator)
    try:
        first = int(lo) if lo or not sep else 0
        last = (int(hi) if hi else MAX_PORT) if sep else first
    except ValueError:
        raise ValueError(f"port {text!r} not understood (only numbers)") from None
    if not 0 <= first <= last <= MAX_PORT:
        raise ValueError(f"port range {text!r} out of bounds")
    return first, last


def parse_nat_target(text: str) -> tuple[NatTarget, bool]:
    """``ADDR[-ADDR][:PORT[-PORT]]`` (an IPv6 address with a port in brackets) as a NAT target,
    and whether it names an address range (of which only the first address is kept)."""
    if text.startswith("["):
        addr, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif text.count(":") > 1:
        addr, port = text, None
    else:
        addr, _, port_text = text.partition(":")
        port = port_text or None
    try:
        address = ipaddress.ip_address(addr.split("-")[0]) if addr else None
    except ValueError:
        raise ValueError(f"NAT address {addr!r} not understood") from None
    ports = parse_port_range(port, "-") if port else None
    return (address, ports), "-" in addr
