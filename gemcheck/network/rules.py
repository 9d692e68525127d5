"""The firewall rule model shared by every importer and by the reachability analysis.

Importers (:mod:`gemcheck.network.nftables`, :mod:`gemcheck.network.iptables`,
:mod:`gemcheck.network.yamlrules`) translate a device's export into a :class:`Ruleset`;
:mod:`gemcheck.network.evaluate` decides what the ruleset does with a packet.

Conventions:

* an empty tuple/frozenset or ``None`` in a :class:`Match` field means "any";
* ``dports`` are inclusive ``(low, high)`` ranges;
* interface names ending in ``+`` (iptables) or ``*`` (nftables) are prefix wildcards;
  ``in_iface_negate``/``out_iface_negate`` (appended after the agreed fields, default ``False``)
  invert the interface test (``! -i lo``, ``iifname != "wan0"``);
* address sets hold networks of one or both IP versions; a packet is tested only against the
  networks of its own version, and a set with none of them does not match it, negated or not
  (``ip saddr != 10.0.0.0/8`` matches no IPv6 packet, as in nftables), so ``src=(0.0.0.0/0,)``
  means "any IPv4 packet";
* protocol names are normalised by :func:`normalize_protocol` (``6`` -> ``tcp``,
  ``ipv6-icmp`` -> ``icmpv6``);
* a rule the importer did not fully understand is kept with ``uncertain=True`` and a
  line in :attr:`Ruleset.problems`; the evaluator treats it fail-closed (it *may* match).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Literal, TypeAlias

Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
PortRange: TypeAlias = tuple[int, int]
NatTarget: TypeAlias = tuple[Address | None, PortRange | None]

Action: TypeAlias = Literal[
    "accept", "drop", "reject", "jump", "goto", "return", "dnat", "snat", "masquerade", "unknown"
]
Hook: TypeAlias = Literal["prerouting", "input", "forward", "output", "postrouting"]
ChainKind: TypeAlias = Literal["filter", "nat"]
Policy: TypeAlias = Literal["accept", "drop"]

HOOKS: tuple[Hook, ...] = ("prerouting", "input", "forward", "output", "postrouting")
CT_STATES: frozenset[str] = frozenset({"new", "established", "related", "invalid", "untracked"})


@dataclass(frozen=True, slots=True)
class Match:
    """What a rule matches; every empty/``None`` field matches anything."""

    src: tuple[Network, ...] = ()
    dst: tuple[Network, ...] = ()
    src_negate: bool = False
    dst_negate: bool = False
    protocols: frozenset[str] = frozenset()
    dports: tuple[PortRange, ...] = ()
    in_iface: str | None = None
    out_iface: str | None = None
    ct_states: frozenset[str] = frozenset()
    in_iface_negate: bool = False
    out_iface_negate: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: a match and what happens to a matching packet."""

    match: Match
    action: Action
    target: str | None = None
    nat_to: NatTarget | None = None
    location: str = ""
    text: str = ""
    uncertain: bool = False
    """The importer did not fully understand the rule: ``match`` then holds only the understood
    conditions (so it matches at least every packet the real rule matches) and ``action`` is
    ``"unknown"`` when the verdict itself was not understood."""


@dataclass(frozen=True, slots=True)
class Chain:
    """A chain; ``hook`` is ``None`` for a regular chain reached only by jump/goto."""

    name: str
    table: str
    family: str
    hook: Hook | None = None
    kind: ChainKind = "filter"
    priority: int = 0
    policy: Policy = "accept"
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, slots=True)
class Ruleset:
    """Everything one firewall export says; ``problems`` are importer notes with locations."""

    device: str | None
    source: str
    chains: tuple[Chain, ...]
    problems: tuple[str, ...] = ()


_PROTOCOL_ALIASES: dict[str, str] = {
    "1": "icmp",
    "2": "igmp",
    "4": "ipip",
    "6": "tcp",
    "17": "udp",
    "41": "ipv6",
    "47": "gre",
    "50": "esp",
    "51": "ah",
    "58": "icmpv6",
    "ipv6-icmp": "icmpv6",
    "icmp6": "icmpv6",
    "89": "ospf",
    "112": "vrrp",
    "132": "sctp",
    "33": "dccp",
    "136": "udplite",
}


@functools.lru_cache(maxsize=1024)
def normalize_protocol(name: str | int) -> str:
    """The canonical lower-case name of an IP protocol given by name or number."""
    key = str(name).strip().lower()
    return _PROTOCOL_ALIASES.get(key, key)
