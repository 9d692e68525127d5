"""Combine the conditions an importer reads from one rule into :class:`Match` objects.

A rule may test the same field several times (``ip saddr 10.0.0.0/8 ip saddr != 10.1.0.0/16``),
name sets of interfaces, or negate ports and connection states. :class:`MatchBuilder` collects
the conditions as they come and :meth:`MatchBuilder.build` turns them into the model:

* address, port, protocol and state conditions are intersected exactly; a single negated
  address condition stays negated (readable witness paths), several become one positive set;
* a set of interface names becomes one :class:`Match` per name (the names are made disjoint
  first, so at most one of them matches a packet and the split rule means the same);
* what the model cannot express is *left out* of the match, which then matches more packets
  than the real rule, and a reason is recorded so the importer marks the rule ``uncertain``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, TypeVar

from gemcheck.network.addrset import CACHE_LIMIT, AddrSet
from gemcheck.network.rules import CT_STATES, Match, PortRange, normalize_protocol
from gemcheck.network.values import MAX_PORT


def _port_intersect(a: tuple[PortRange, ...], b: tuple[PortRange, ...]) -> tuple[PortRange, ...]:
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo <= hi:
                out.append((lo, hi))
    return _port_merge(out)


def _port_merge(ranges: Iterable[PortRange]) -> tuple[PortRange, ...]:
    out: list[PortRange] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return tuple(out)


def _port_complement(ranges: tuple[PortRange, ...]) -> tuple[PortRange, ...]:
    out: list[PortRange] = []
    nxt = 0
    for lo, hi in _port_merge(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_PORT:
        out.append((nxt, MAX_PORT))
    return tuple(out)


_Value = TypeVar("_Value", frozenset[str], tuple[PortRange, ...])
_SHARED: dict[frozenset[str] | tuple[PortRange, ...], Any] = {}


def _shared(value: _Value) -> _Value:
    """The one stored object equal to ``value``.

    Rules repeat the same few sets of protocols, ports and states: sharing them keeps large
    rulesets small and leaves the garbage collector fewer objects to visit.
    """
    found: _Value | None = _SHARED.get(value)
    if found is None:
        if len(_SHARED) >= CACHE_LIMIT:
            _SHARED.clear()
        _SHARED[value] = found = value
    return found


_ANY: frozenset[str] = frozenset()
"""No condition on the protocol or the connection state."""

_ANY_IFACE = ((None, False, None, False),)
"""No condition on the interfaces."""


def _key(name: str) -> tuple[str, bool]:
    wild = name.endswith(("+", "*"))
    return (name[:-1] if wild else name), wild


def disjoint_names(names: Iterable[str]) -> tuple[str, ...]:
    """Interface names without those another wildcard covers (``eth0`` under ``eth*``)."""
    by_key = {_key(n): n for n in sorted(set(names), reverse=True)}
    wild = [prefix for prefix, is_wild in by_key if is_wild]
    return tuple(
        sorted(
            name
            for (prefix, is_wild), name in by_key.items()
            if not any(prefix.startswith(w) and (w, True) != (prefix, is_wild) for w in wild)
        )
    )


class MatchBuilder:
    """Collects one rule's conditions; see the module docstring."""

    __slots__ = ("_dst", "_in", "_out", "_ports", "_protocols", "_src", "_states", "reasons")

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self._src: list[tuple[AddrSet, bool]] = []
        self._dst: list[tuple[AddrSet, bool]] = []
        self._protocols: frozenset[str] | None = None
        self._ports: tuple[PortRange, ...] | None = None
        self._in: list[tuple[tuple[str, ...], bool]] = []
        self._out: list[tuple[tuple[str, ...], bool]] = []
        self._states: frozenset[str] | None = None

    def copy(self) -> MatchBuilder:
        """An independent copy (for splitting a rule on a verdict map)."""
        return copy.deepcopy(self)

    def unknown(self, reason: str) -> None:
        """A condition the model cannot express: it is left out and the rule is uncertain."""
        self.reasons.append(reason)

    def address(self, direction: str, addresses: AddrSet, negate: bool = False) -> None:
        """``direction`` is ``"src"`` or ``"dst"``."""
        (self._src if direction == "src" else self._dst).append((addresses, negate))

    def ip_version(self, version: int) -> None:
        """Only packets of one IP version match (``meta nfproto ipv4``, ``ip protocol``)."""
        self._src.append((AddrSet.everything(version), False))

    def protocols(self, names: Iterable[str | int], negate: bool = False) -> None:
        """The packet's layer-4 protocol is (not) one of ``names``."""
        wanted = frozenset(map(normalize_protocol, names))
        if negate:
            if self._protocols is None:
                self.unknown("negated protocol condition")
                return
            wanted = self._protocols - wanted
        elif self._protocols is not None:
            wanted = self._protocols & wanted
        if not wanted:
            self.unknown("contradictory protocol conditions (can never match)")
            return
        self._protocols = wanted

    def dports(self, ranges: Iterable[PortRange], negate: bool = False) -> None:
        """The destination port is (not) in one of the inclusive ``ranges``."""
        wanted = tuple(ranges)
        if len(wanted) > 1:
            wanted = _port_merge(wanted)
        if negate:
            wanted = _port_complement(wanted)
        if self._ports is not None:
            wanted = _port_intersect(self._ports, wanted)
        if not wanted:
            self.unknown("contradictory port conditions (can never match)")
            return
        self._ports = wanted

    def iface(self, direction: str, names: Iterable[str], negate: bool = False) -> None:
        """The ``"in"`` or ``"out"`` interface is (not) one of ``names``."""
        listed = tuple(names)
        unique = listed if len(listed) == 1 else disjoint_names(listed)
        (self._in if direction == "in" else self._out).append((unique, negate))

    def ct_states(self, states: Iterable[str], negate: bool = False) -> None:
        """The connection-tracking state is (not) one of ``states``."""
        wanted = frozenset(s.lower() for s in states)
        bad = wanted - CT_STATES
        if bad:
            self.unknown(f"unknown connection state {', '.join(sorted(bad))}")
            wanted &= CT_STATES
            if negate or not wanted:
                return
        if negate:
            wanted = CT_STATES - wanted
        if self._states is not None:
            wanted &= self._states
        if not wanted:
            self.unknown("contradictory connection-state conditions (can never match)")
            return
        self._states = wanted

    def _addresses(self, name: str, conds: list[tuple[AddrSet, bool]]) -> tuple[AddrSet, bool]:
        if not conds:
            return AddrSet(), False
        if len(conds) == 1:
            return conds[0]
        result: AddrSet | None = None
        for addrs, negate in conds:
            part = addrs.complement() if negate else addrs
            result = part if result is None else result & part
        assert result is not None
        if result.is_empty():
            self.unknown(f"contradictory {name} address conditions (can never match)")
            return AddrSet(), False
        return result, False

    def _iface_options(self, direction: str) -> list[tuple[str | None, bool]]:
        conds = self._in if direction == "in" else self._out
        if not conds:
            return [(None, False)]
        if len(conds) > 1:
            self.unknown(f"several {direction}put interface conditions (only the first is used)")
        names, negate = conds[0]
        if negate and len(names) > 1:
            self.unknown(f"negated set of {direction}put interfaces")
            return [(None, False)]
        if not names:
            self.unknown(f"empty set of {direction}put interfaces")
            return [(None, False)]
        return [(n, negate) for n in names]

    def _iface_pairs(self) -> Iterable[tuple[str | None, bool, str | None, bool]]:
        """Input and output interface (with negation) of each match the rule splits into."""
        if not self._in and not self._out:
            return _ANY_IFACE  # the common case, without the work of splitting
        return [
            (iif, iif_neg, oif, oif_neg)
            for iif, iif_neg in self._iface_options("in")
            for oif, oif_neg in self._iface_options("out")
        ]

    def build(self) -> list[Match]:
        """The match (several if interface sets were split); see :attr:`reasons` afterwards."""
        src, src_neg = self._addresses("source", self._src)
        dst, dst_neg = self._addresses("destination", self._dst)
        if (
            (src.v4 or src.v6)
            and (dst.v4 or dst.v6)
            and not ((src.v4 and dst.v4) or (src.v6 and dst.v6))
        ):
            self.unknown("source and destination of different IP versions (can never match)")
        src_nets = src.networks() if src.v4 or src.v6 else ()
        dst_nets = dst.networks() if dst.v4 or dst.v6 else ()
        protocols = _shared(self._protocols) if self._protocols else _ANY
        ports = _shared(self._ports) if self._ports else ()
        states = _shared(self._states) if self._states else _ANY
        return [
            Match(
                src_nets,
                dst_nets,
                src_neg,
                dst_neg,
                protocols,
                ports,
                iif,
                oif,
                states,
                iif_neg,
                oif_neg,
            )
            for iif, iif_neg, oif, oif_neg in self._iface_pairs()
        ]
