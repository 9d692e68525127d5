"""Cut a large ruleset down to the rules that may match one class of packets.

The reachability analysis asks, at every firewall on a path, what happens to a whole class of
packets (an input interface, a set of sources, a set of destinations). Only the rules that
*may* match some packet of the class matter: :meth:`RuleIndex.select` finds them through
per-chain indexes on both addresses (a hash table per prefix length for the CIDRs that contain
a point, and the sorted starts for those that begin inside an interval), follows ``jump`` and
``goto`` only through rules that may match, and :meth:`RuleIndex.subset` builds the small
:class:`Ruleset` of the selected rules with the chains' structure and order kept, which the
evaluator (:mod:`gemcheck.network.evaluate`) then decides exactly.

Removing rules that cannot match any packet of the class does not change any decision for a
packet of the class: this is what makes the analysis of 100,000 rules fast.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from gemcheck.network.addrset import (
    WIDTH,
    AddrSet,
    Interval,
    _complement,
    _merge,
    cidr_blocks,
    interval,
)
from gemcheck.network.evaluate import _iface_ok, _iface_test, _protocols
from gemcheck.network.rules import Chain, Network, Rule, Ruleset

ChainKey = tuple[str, str, str]
Selection = tuple[tuple[ChainKey, tuple[int, ...]], ...]
"""Per chain (family, table, name) the positions of the selected rules, in order."""

_FAMILY_VERSION = {"ip": 4, "ip6": 6}


def _effective(addrs: Sequence[Network], negate: bool, version: int) -> tuple[Interval, ...] | None:
    """The intervals of ``version`` a rule's address condition matches; ``None``: any."""
    if not addrs:
        return None
    if len(addrs) == 1:  # the common case, without merging
        ivs: tuple[Interval, ...] = (interval(addrs[0]),) if addrs[0].version == version else ()
    else:
        ivs = _merge(interval(n) for n in addrs if n.version == version)
    if not negate:
        return ivs
    if not ivs:
        return ()
    return _complement(ivs, version)


def intersects(ivs: Sequence[Interval], starts: Sequence[int], ends: Sequence[int]) -> bool:
    """True if any interval of ``ivs`` meets the sorted disjoint intervals ``starts``/``ends``."""
    for lo, hi in ivs:
        i = bisect.bisect_right(starts, hi) - 1
        if i >= 0 and ends[i] >= lo:
            return True
    return False


class _Dim:
    """One address dimension (source or destination) of one chain, one IP version."""

    __slots__ = ("any", "ivs", "pos", "starts", "tables")

    def __init__(
        self, ivs: Sequence[tuple[Interval, ...] | None], negated: Sequence[bool], width: int
    ) -> None:
        self.ivs = ivs
        self.any: list[int] = []
        tables: dict[int, dict[int, list[int]]] = {}
        pairs: list[tuple[int, int]] = []
        for pos, (iv, neg) in enumerate(zip(ivs, negated, strict=True)):
            if iv is None or neg:
                self.any.append(pos)
                continue
            for lo, hi in iv:
                size = hi - lo + 1
                if size & (size - 1) == 0 and lo & (size - 1) == 0:  # one CIDR block
                    blocks: Iterable[tuple[int, int]] = ((lo, width - size.bit_length() + 1),)
                else:
                    blocks = cidr_blocks(lo, hi, width)
                for start, plen in blocks:
                    shift = width - plen
                    table = tables.get(shift)
                    if table is None:
                        table = tables[shift] = {}
                    bucket = table.get(start >> shift)
                    if bucket is None:
                        table[start >> shift] = [pos]
                    else:
                        bucket.append(pos)
                    pairs.append((start, pos))
        pairs.sort()
        self.starts = [s for s, _ in pairs]
        self.pos = [p for _, p in pairs]
        self.tables = sorted(tables.items())

    def query(self, q: Sequence[Interval]) -> set[int]:
        """Positions of rules whose set may meet ``q`` (a superset; exact test afterwards)."""
        found: set[int] = set(self.any)
        for lo, hi in q:
            for shift, table in self.tables:
                bucket = table.get(lo >> shift)
                if bucket:
                    found.update(bucket)
            i = bisect.bisect_left(self.starts, lo)
            j = bisect.bisect_right(self.starts, hi)
            found.update(self.pos[i:j])
        return found

    def estimate(self, q: Sequence[Interval]) -> int:
        """About how many positions :meth:`query` returns (cheap)."""
        n = len(self.any)
        for lo, hi in q:
            n += bisect.bisect_right(self.starts, hi) - bisect.bisect_left(self.starts, lo)
        return n


def _fits(
    protocols: frozenset[str],
    dports: Sequence[tuple[int, int]],
    proto: str | None,
    ports: Sequence[tuple[int, int]],
) -> bool:
    """False if a rule's protocol or port condition excludes the whole class."""
    if proto is not None and protocols and proto not in protocols:
        return False
    return not (dports and ports) or any(
        lo <= hi2 and lo2 <= hi for lo, hi in dports for lo2, hi2 in ports
    )


class _ChainIndex:
    """The indexes of one chain; what the index needs of each rule, in parallel lists."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.version = _FAMILY_VERSION.get(chain.family)
        self.targets = [r.target if r.action in ("jump", "goto") else None for r in chain.rules]
        self.dims: dict[tuple[str, int], _Dim] = {}
        self._facts: (
            tuple[
                list[tuple[str, bool, bool] | None],
                list[bool],
                list[frozenset[str]],
                list[tuple[tuple[int, int], ...]],
            ]
            | None
        ) = None

    def facts(
        self,
    ) -> tuple[
        list[tuple[str, bool, bool] | None],
        list[bool],
        list[frozenset[str]],
        list[tuple[tuple[int, int], ...]],
    ]:
        """Input-interface test, "a new packet may match", protocols and ports of each rule."""
        if self._facts is None:
            matches = [r.match for r in self.chain.rules]
            self._facts = (
                [_iface_test(m.in_iface, m.in_iface_negate) for m in matches],
                [not m.ct_states or "new" in m.ct_states for m in matches],
                [_protocols(m.protocols) for m in matches],
                [m.dports for m in matches],
            )
        return self._facts

    def dim(self, which: str, version: int) -> _Dim:
        key = (which, version)
        found = self.dims.get(key)
        if found is None:
            rules = self.chain.rules
            if which == "src":
                ivs = [_effective(r.match.src, r.match.src_negate, version) for r in rules]
                neg = [r.match.src_negate for r in rules]
            else:
                ivs = [_effective(r.match.dst, r.match.dst_negate, version) for r in rules]
                neg = [r.match.dst_negate for r in rules]
            found = self.dims[key] = _Dim(ivs, neg, WIDTH[version])
        return found

    def select(
        self,
        iface: str | None,
        version: int,
        src: AddrSet,
        dst: AddrSet,
        proto: str | None = None,
        ports: Sequence[tuple[int, int]] = (),
    ) -> list[int]:
        """Positions of the rules that may match a new packet of the class, in order."""
        if self.version is not None and self.version != version:
            return []
        sq, dq = src.get(version), dst.get(version)
        sdim, ddim = self.dim("src", version), self.dim("dst", version)
        first = sdim.query(sq) if sdim.estimate(sq) <= ddim.estimate(dq) else ddim.query(dq)
        s_starts, s_ends = _split(sq)
        d_starts, d_ends = _split(dq)
        ifaces, new_ok, protocols, dports = self.facts()
        out: list[int] = []
        for pos in sorted(first):
            if not new_ok[pos] or not _fits(protocols[pos], dports[pos], proto, ports):
                continue
            test = ifaces[pos]
            if test is not None and not _iface_ok(test, iface):
                continue
            ivs = sdim.ivs[pos]
            if ivs is not None and not intersects(ivs, s_starts, s_ends):
                continue
            ivs = ddim.ivs[pos]
            if ivs is not None and not intersects(ivs, d_starts, d_ends):
                continue
            out.append(pos)
        return out


def _split(q: Sequence[Interval]) -> tuple[list[int], list[int]]:
    return [lo for lo, _ in q], [hi for _, hi in q]


class RuleIndex:
    """The selection index of one ruleset (built once per firewall, chains indexed lazily)."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.chains: dict[ChainKey, _ChainIndex] = {}
        for chain in ruleset.chains:
            self.chains.setdefault((chain.family, chain.table, chain.name), _ChainIndex(chain))
        self.order = {key: i for i, key in enumerate(self.chains)}
        self.bases = [k for k, c in self.chains.items() if c.chain.hook is not None]
        self.hooks = frozenset(c.chain.hook for c in self.chains.values() if c.chain.hook)

    def select(
        self,
        iface: str | None,
        version: int,
        src: AddrSet,
        dst: AddrSet,
        proto: str | None = None,
        ports: Sequence[tuple[int, int]] = (),
    ) -> Selection:
        """The rules that may match a new packet from ``src`` to ``dst`` arriving on ``iface``
        (of protocol ``proto`` to one of ``ports``, when given)."""
        found: dict[ChainKey, tuple[int, ...]] = {}
        todo = list(self.bases)
        while todo:
            key = todo.pop()
            if key in found:
                continue
            index = self.chains[key]
            positions = tuple(index.select(iface, version, src, dst, proto, ports))
            found[key] = positions
            family, table, _ = key
            for pos in positions:
                target = index.targets[pos]
                if target is not None and (family, table, target) in self.chains:
                    todo.append((family, table, target))
        return tuple(sorted(found.items(), key=lambda kv: self.order[kv[0]]))

    def subset(self, selection: Selection) -> Ruleset:
        """The ruleset of the selected rules only (chain order, policies and hooks kept)."""
        chains: list[Chain] = []
        for key, positions in selection:
            c = self.chains[key].chain
            rules: tuple[Rule, ...] = tuple(c.rules[p] for p in positions)
            chains.append(
                Chain(c.name, c.table, c.family, c.hook, c.kind, c.priority, c.policy, rules)
            )
        rs = self.ruleset
        return Ruleset(rs.device, rs.source, tuple(chains), rs.problems)
