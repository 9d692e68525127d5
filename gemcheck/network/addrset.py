"""Sets of IP addresses as sorted, disjoint integer intervals, one list per IP version.

Importers use them to combine several address conditions of one rule into a single set
(``-s 10.0.0.0/8 -m iprange ! --src-range ...``); the evaluator uses them for fast membership
tests and to split the address space into classes.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gemcheck.network.rules import Address, Network

Interval = tuple[int, int]
"""Inclusive ``(first, last)`` address as integers."""

WIDTH: dict[int, int] = {4: 32, 6: 128}


def _merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def _intersect(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _complement(a: tuple[Interval, ...], version: int) -> tuple[Interval, ...]:
    out: list[Interval] = []
    nxt = 0
    for lo, hi in a:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    top = (1 << WIDTH[version]) - 1
    if nxt <= top:
        out.append((nxt, top))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class AddrSet:
    """A set of IPv4 and/or IPv6 addresses."""

    v4: tuple[Interval, ...] = ()
    v6: tuple[Interval, ...] = ()

    @classmethod
    def of(cls, networks: Iterable[Network]) -> AddrSet:
        """The union of some networks."""
        return _union(tuple(networks))

    @classmethod
    def span(cls, first: Address, last: Address) -> AddrSet:
        """The addresses from ``first`` to ``last`` inclusive (same version, ``first <= last``)."""
        if first.version != last.version or int(first) > int(last):
            raise ValueError(f"{first}-{last} is not an address range")
        ivs = ((int(first), int(last)),)
        return cls(ivs, ()) if first.version == 4 else cls((), ivs)

    @classmethod
    def everything(cls, version: int) -> AddrSet:
        """Every address of one IP version."""
        ivs = ((0, (1 << WIDTH[version]) - 1),)
        return cls(ivs, ()) if version == 4 else cls((), ivs)

    def get(self, version: int) -> tuple[Interval, ...]:
        """The intervals of one version."""
        return self.v4 if version == 4 else self.v6

    @property
    def versions(self) -> frozenset[int]:
        """The IP versions this set has addresses of."""
        return frozenset(v for v in (4, 6) if self.get(v))

    def is_empty(self) -> bool:
        """True if the set holds no address."""
        return not self.v4 and not self.v6

    def __and__(self, other: AddrSet) -> AddrSet:
        return AddrSet(_intersect(self.v4, other.v4), _intersect(self.v6, other.v6))

    def __or__(self, other: AddrSet) -> AddrSet:
        return AddrSet(_merge(self.v4 + other.v4), _merge(self.v6 + other.v6))

    def complement(self) -> AddrSet:
        """Every address *of this set's versions* that is not in it (nftables ``!=``)."""
        return AddrSet(
            _complement(self.v4, 4) if self.v4 else (),
            _complement(self.v6, 6) if self.v6 else (),
        )

    def networks(self) -> tuple[Network, ...]:
        """The set as a minimal list of CIDR networks."""
        return _networks(self)


def interval(net: Network) -> Interval:
    """The first and last address of a network as integers."""
    lo = int(net.network_address)
    return lo, lo | ((1 << (WIDTH[net.version] - net.prefixlen)) - 1)


def cidr_blocks(lo: int, hi: int, width: int) -> Iterator[tuple[int, int]]:
    """``(first address, prefix length)`` of the fewest CIDR blocks covering ``lo..hi``."""
    while lo <= hi:
        bits = (lo & -lo).bit_length() - 1 if lo else width
        bits = min(bits, (hi - lo + 1).bit_length() - 1)
        yield lo, width - bits
        lo += 1 << bits


CACHE_LIMIT = 1 << 17
"""Entries kept in each conversion cache (addresses repeat a lot across large rulesets)."""

_UNIONS: dict[tuple[Network, ...], AddrSet] = {}
_NETWORKS: dict[AddrSet, tuple[Network, ...]] = {}


def _remember(networks: tuple[Network, ...], addrs: AddrSet) -> None:
    """Both directions of a conversion, so a round trip builds no new objects."""
    if len(_UNIONS) >= CACHE_LIMIT or len(_NETWORKS) >= CACHE_LIMIT:
        _UNIONS.clear()
        _NETWORKS.clear()
    _UNIONS[networks] = addrs
    _NETWORKS.setdefault(addrs, networks)


def _union(networks: tuple[Network, ...]) -> AddrSet:
    found = _UNIONS.get(networks)
    if found is None:
        parts: dict[int, list[Interval]] = {4: [], 6: []}
        for net in networks:
            parts[net.version].append(interval(net))
        found = AddrSet(_merge(parts[4]), _merge(parts[6]))
        _remember(networks, found)
    return found


def _networks(addrs: AddrSet) -> tuple[Network, ...]:
    found = _NETWORKS.get(addrs)
    if found is None:
        out: list[Network] = []
        for version, factory in ((4, ipaddress.IPv4Network), (6, ipaddress.IPv6Network)):
            for lo, hi in addrs.get(version):
                out.extend(factory(block) for block in cidr_blocks(lo, hi, WIDTH[version]))
        found = tuple(out)
        _remember(found, addrs)
    return found


def parse_network(text: str) -> Network:
    """A network from ``1.2.3.4``, ``10.0.0.0/8``, ``10.0.0.0/255.0.0.0`` or ``2001:db8::/32``.

    Host bits are allowed (``10.1.2.3/8`` is ``10.0.0.0/8``), as firewalls accept them.
    """
    return ipaddress.ip_network(text.strip(), strict=False)


@functools.lru_cache(maxsize=1 << 16)
def parse_addresses(text: str) -> AddrSet:
    """An address, a network or an ``first-last`` range; ``ValueError`` if it is none of them."""
    text = text.strip()
    if "-" in text and "/" not in text:
        first, _, last = text.partition("-")
        return AddrSet.span(ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip()))
    return AddrSet.of((parse_network(text),))
