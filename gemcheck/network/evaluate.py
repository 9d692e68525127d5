"""What a firewall ruleset does with a packet: a pure, indexed evaluator.

Public API (used by the reachability analysis)::

    decide(ruleset, packet, hook) -> Decision
    dnat(ruleset, packet) -> list[Translation]      # prerouting destination NAT
    snat(ruleset, packet) -> list[Translation]      # postrouting source NAT / masquerade
    classes(ruleset) -> Classes                     # address/port equivalence classes
    evaluator(ruleset) -> Evaluator                 # the compiled form behind all of the above

Semantics of :func:`decide`:

* The base chains of ``hook`` whose family fits the packet's IP version (``ip``: IPv4,
  ``ip6``: IPv6, anything else: both) run in order of priority, then of appearance. As in
  nftables, the packet must be accepted by *every* one of them; a drop or reject anywhere is
  final. ``nat`` chains take part only for ``ct_state == "new"`` (NAT sees only the first
  packet of a connection); a ``dnat``/``snat``/``masquerade`` verdict counts as accept there.
  Within one hook, chains see the packet as given (call :func:`dnat` and build the translated
  packet yourself before asking about ``forward``/``input``).
* Rules run in order; the first match with a verdict decides the chain. ``jump`` runs the
  target chain and continues after the jump when it returns (``return`` or its end);
  ``goto`` runs the target and does not come back: its end returns to the chain that jumped
  to the current one, or applies the base chain's policy. No base chain on a hook = accept.
* Uncertain rules (:attr:`Rule.uncertain`) are fail-closed. Their ``match`` holds only what
  the importer understood, so when it does not match, the real rule does not either; when it
  does, both readings are explored: the rule applies, and it does not (and a rule with action
  ``unknown`` may accept, drop or do nothing). The answer is then:

  - ``action == "accept"`` if *some* reading of the uncertain rules accepts the packet
    (so the analysis treats the flow as allowed: "may allow"),
  - ``may_allow_uncertain == True`` if, in addition, some other reading drops it: the flow is
    allowed only if an uncertain rule means what we feared. ``accept`` with ``False`` is a
    certain accept; ``drop`` is always certain.

  Jump targets that do not exist, nesting deeper than :data:`MAX_DEPTH` and more than
  :data:`MAX_BRANCHES` explored readings are treated the same way ("may accept").
* ``Decision.path`` lists the rules that applied, in order, over all base chains (jumps,
  uncertain rules assumed to apply, the final verdict); ``Decision.rule`` is the rule that gave
  the verdict (for a drop: the dropping rule; for an accept: the accepting rule of the last
  base chain that accepted by a rule), ``None`` when a chain policy decided; ``detail`` says
  which chain and why in words.

Packets: ``in_iface``/``out_iface`` are interface names of the device; ``None`` means no
interface (``out_iface`` on ``input``, ``in_iface`` on ``output``) and only matches negated
interface conditions. ``dport`` is ``None`` for protocols without ports; such a packet does not
match a rule with ports.

Speed: :func:`evaluator` compiles a ruleset once (cached for the last
:data:`CACHE_SIZE` rulesets by identity). Each chain with more than :data:`INDEX_THRESHOLD`
rules gets an index: every rule is filed under the CIDR blocks of its more specific address
condition (destination or source) in a per-prefix-length hash table, rules without a usable
address condition go to a short "wild" list, and a lookup merges the few buckets that contain
the packet's addresses. A decision therefore looks at the rules that could match, not at all
of them. For sweeping many hosts, :func:`classes` splits addresses and ports into equivalence
classes: two addresses in the same class are treated identically by every rule of the
ruleset, so one representative per class and zone (:meth:`Classes.representatives`) is
enough.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import itertools
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

from gemcheck.network.addrset import WIDTH, AddrSet, cidr_blocks
from gemcheck.network.rules import (
    Address,
    Chain,
    Hook,
    Network,
    Rule,
    Ruleset,
    normalize_protocol,
)

MAX_DEPTH = 64
"""Deepest jump nesting followed (the kernel's limit is similar)."""

MAX_HOPS = 10_000
"""Most jumps and gotos followed for one packet (guards against goto loops)."""

MAX_BRANCHES = 4096
"""Most readings of uncertain rules explored per base chain before assuming "may accept"."""

INDEX_THRESHOLD = 16
"""Chains with more rules than this are indexed by address."""

CACHE_SIZE = 16

ACCEPTING = frozenset({"accept", "dnat", "snat", "masquerade"})
DROPPING = frozenset({"drop", "reject"})


@dataclass(frozen=True, slots=True)
class Packet:
    """The first packet of a flow as one firewall sees it on one hook."""

    src: Address
    dst: Address
    proto: str = "tcp"
    dport: int | None = None
    in_iface: str | None = None
    out_iface: str | None = None
    ct_state: str = "new"

    def __post_init__(self) -> None:
        if self.src.version != self.dst.version:
            raise ValueError(f"packet mixes IP versions: {self.src} -> {self.dst}")


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict of a ruleset for a packet on a hook; see the module docstring."""

    action: Literal["accept", "drop"]
    rule: Rule | None
    path: tuple[Rule, ...]
    may_allow_uncertain: bool
    detail: str = ""


class Translation(NamedTuple):
    """One possible NAT of a packet.

    ``address`` ``None`` means the device's own address (``redirect``/``REDIRECT`` for DNAT,
    ``masquerade`` for SNAT); ``port`` ``None`` means the port is unchanged (for a port range,
    the first port of the range is given).
    """

    rule: Rule
    address: Address | None
    port: int | None


def _iface_test(name: str | None, negate: bool) -> tuple[str, bool, bool] | None:
    if name is None:
        return None
    if name.endswith(("+", "*")):
        return name[:-1], True, negate
    return name, False, negate


def _iface_ok(test: tuple[str, bool, bool], name: str | None) -> bool:
    pattern, prefix, negate = test
    value = name or ""
    hit = value.startswith(pattern) if prefix else value == pattern
    return hit != negate


class _Ranges:
    """Membership in disjoint sorted intervals, one list per IP version."""

    __slots__ = ("ends", "starts")

    def __init__(self, addrs: AddrSet) -> None:
        self.starts = {4: [lo for lo, _ in addrs.v4], 6: [lo for lo, _ in addrs.v6]}
        self.ends = {4: [hi for _, hi in addrs.v4], 6: [hi for _, hi in addrs.v6]}

    def test(self, version: int, value: int) -> bool | None:
        """``None`` if the set has no address of that version."""
        starts = self.starts[version]
        if not starts:
            return None
        i = bisect.bisect_right(starts, value) - 1
        return i >= 0 and self.ends[version][i] >= value


@functools.lru_cache(maxsize=1 << 16)
def _ranges(addrs: AddrSet) -> _Ranges:
    return _Ranges(addrs)


@functools.lru_cache(maxsize=256)
def _protocols(names: frozenset[str]) -> frozenset[str]:
    return frozenset(normalize_protocol(p) for p in names)


class _Compiled:
    """One rule in the form the evaluator tests quickly."""

    __slots__ = (
        "dports",
        "dst",
        "dst_neg",
        "dst_set",
        "iif",
        "oif",
        "pos",
        "protocols",
        "rule",
        "src",
        "src_neg",
        "src_set",
        "states",
    )

    def __init__(self, pos: int, rule: Rule) -> None:
        m = rule.match
        self.pos = pos
        self.rule = rule
        self.src_set = AddrSet.of(m.src) if m.src else None
        self.dst_set = AddrSet.of(m.dst) if m.dst else None
        self.src = _ranges(self.src_set) if self.src_set else None
        self.dst = _ranges(self.dst_set) if self.dst_set else None
        self.src_neg = m.src_negate
        self.dst_neg = m.dst_negate
        self.protocols = _protocols(m.protocols)
        self.dports = m.dports
        self.iif = _iface_test(m.in_iface, m.in_iface_negate)
        self.oif = _iface_test(m.out_iface, m.out_iface_negate)
        self.states = m.ct_states

    def matches(self, p: _Pkt) -> bool:
        if self.src is not None:
            hit = self.src.test(p.version, p.src)
            if hit is None or hit == self.src_neg:
                return False
        if self.dst is not None:
            hit = self.dst.test(p.version, p.dst)
            if hit is None or hit == self.dst_neg:
                return False
        if self.protocols and p.proto not in self.protocols:
            return False
        if self.dports:
            port = p.dport
            if port is None or not any(lo <= port <= hi for lo, hi in self.dports):
                return False
        if self.iif is not None and not _iface_ok(self.iif, p.in_iface):
            return False
        if self.oif is not None and not _iface_ok(self.oif, p.out_iface):
            return False
        return not self.states or p.ct_state in self.states


class _Pkt:
    """A packet with integer addresses."""

    __slots__ = ("ct_state", "dport", "dst", "in_iface", "out_iface", "proto", "src", "version")

    def __init__(self, packet: Packet) -> None:
        self.version = packet.src.version
        self.src = int(packet.src)
        self.dst = int(packet.dst)
        self.proto = normalize_protocol(packet.proto)
        self.dport = packet.dport
        self.in_iface = packet.in_iface
        self.out_iface = packet.out_iface
        self.ct_state = packet.ct_state.lower()


def _size(addrs: AddrSet) -> float:
    """How much of the address space a set covers (0..2), for choosing what to index by."""
    return sum(hi - lo + 1 for lo, hi in addrs.v4) / (1 << 32) + sum(
        hi - lo + 1 for lo, hi in addrs.v6
    ) / (1 << 128)


class _Trie:
    """Rules filed under CIDR blocks: one hash table per prefix length and IP version."""

    def __init__(self) -> None:
        self.tables: dict[int, dict[int, dict[int, list[int]]]] = {4: {}, 6: {}}

    def add(self, addrs: AddrSet, pos: int) -> None:
        for version in (4, 6):
            width = WIDTH[version]
            for lo, hi in addrs.get(version):
                for first, prefixlen in cidr_blocks(lo, hi, width):
                    shift = width - prefixlen
                    table = self.tables[version].setdefault(shift, {})
                    table.setdefault(first >> shift, []).append(pos)

    def freeze(self) -> dict[int, tuple[tuple[int, dict[int, list[int]]], ...]]:
        return {v: tuple(sorted(t.items())) for v, t in self.tables.items()}


class _Chain:
    """A compiled chain with its optional index."""

    def __init__(self, chain: Chain, order: int) -> None:
        self.chain = chain
        self.order = order
        self.key = (chain.family, chain.table, chain.name)
        self.rules = [_Compiled(i, r) for i, r in enumerate(chain.rules)]
        self.positions = list(range(len(self.rules)))
        self.indexed = len(self.rules) > INDEX_THRESHOLD
        self.wild: list[int] = []
        by_src, by_dst = _Trie(), _Trie()
        if self.indexed:
            for c in self.rules:
                src = c.src_set if c.src_set is not None and not c.src_neg else None
                dst = c.dst_set if c.dst_set is not None and not c.dst_neg else None
                if dst is not None and (src is None or _size(dst) <= _size(src)):
                    by_dst.add(dst, c.pos)
                elif src is not None:
                    by_src.add(src, c.pos)
                else:
                    self.wild.append(c.pos)
        self.by_src = by_src.freeze()
        self.by_dst = by_dst.freeze()

    def candidates(self, p: _Pkt) -> list[int]:
        """Positions of the rules that may match ``p``, in order."""
        if not self.indexed:
            return self.positions
        found: list[list[int]] = []
        for tables, value in ((self.by_dst[p.version], p.dst), (self.by_src[p.version], p.src)):
            for shift, table in tables:
                bucket = table.get(value >> shift)
                if bucket:
                    found.append(bucket)
        if self.wild:
            found.append(self.wild)
        if len(found) == 1:
            return found[0]
        return sorted(itertools.chain.from_iterable(found))

    def describe(self) -> str:
        return f"{self.chain.family} {self.chain.table} {self.chain.name}"


class _Outcome(NamedTuple):
    verdict: Literal["accept", "drop"]
    path: tuple[Rule, ...]
    rule: Rule | None
    detail: str


_Frames = tuple["_Chain", int, "_Frames"] | None
_Path = tuple[Rule, "_Path"] | None


def _unwind(path: _Path) -> tuple[Rule, ...]:
    out: list[Rule] = []
    while path is not None:
        out.append(path[0])
        path = path[1]
    return tuple(reversed(out))


def _fits(chain: Chain, version: int) -> bool:
    wanted = {"ip": 4, "ip6": 6}.get(chain.family)
    return wanted is None or wanted == version


class Evaluator:
    """A compiled ruleset; build it with :func:`evaluator` (cached) or directly."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.chains: dict[tuple[str, str, str], _Chain] = {}
        for order, chain in enumerate(ruleset.chains):
            self.chains.setdefault((chain.family, chain.table, chain.name), _Chain(chain, order))
        self._classes: Classes | None = None
        self._bases: dict[tuple[str, int, tuple[str, ...]], list[_Chain]] = {}

    def _base(self, hook: Hook, version: int, kinds: tuple[str, ...]) -> list[_Chain]:
        key = (hook, version, kinds)
        found = self._bases.get(key)
        if found is None:
            found = sorted(
                (
                    c
                    for c in self.chains.values()
                    if c.chain.hook == hook and c.chain.kind in kinds and _fits(c.chain, version)
                ),
                key=lambda c: (c.chain.priority, c.order),
            )
            self._bases[key] = found
        return found

    def decide(self, packet: Packet, hook: Hook) -> Decision:
        """See the module docstring."""
        p = _Pkt(packet)
        kinds: tuple[str, ...] = ("filter", "nat") if p.ct_state == "new" else ("filter",)
        path: tuple[Rule, ...] = ()
        rule: Rule | None = None
        details: list[str] = []
        maybe = False
        for chain in self._base(hook, p.version, kinds):
            accept: _Outcome | None = None
            drop: _Outcome | None = None
            for outcome in self._explore(chain, p):
                if outcome.verdict == "accept":
                    accept = accept or outcome
                else:
                    drop = drop or outcome
                if accept and drop:
                    break
            if accept is None:
                assert drop is not None
                return Decision("drop", drop.rule, path + drop.path, False, drop.detail)
            maybe = maybe or drop is not None
            path += accept.path
            rule = accept.rule or rule
            details.append(accept.detail)
        detail = "; ".join(details) or f"no IPv{p.version} base chain on hook {hook}"
        return Decision("accept", rule, path, maybe, detail)

    def dnat(self, packet: Packet) -> list[Translation]:
        """Every destination NAT the prerouting ``nat`` chains may apply to ``packet``.

        Empty: no translation. With uncertain rules, several translations may be listed and
        the packet may also pass untranslated.
        """
        return self._translations(packet, "prerouting", frozenset({"dnat"}))

    def snat(self, packet: Packet) -> list[Translation]:
        """Every source NAT (``snat``/``masquerade``) the postrouting ``nat`` chains may apply."""
        return self._translations(packet, "postrouting", frozenset({"snat", "masquerade"}))

    def _translations(
        self, packet: Packet, hook: Hook, actions: frozenset[str]
    ) -> list[Translation]:
        p = _Pkt(packet)
        if p.ct_state != "new":
            return []
        found: list[Translation] = []
        for chain in self._base(hook, p.version, ("nat",)):
            untranslated = False
            for outcome in self._explore(chain, p):
                rule = outcome.rule
                if rule is not None and rule.action in actions:
                    address, ports = rule.nat_to or (None, None)
                    item = Translation(rule, address, ports[0] if ports else None)
                    if item not in found:
                        found.append(item)
                else:
                    untranslated = True
            if not untranslated:
                break
        return found

    def _explore(self, base: _Chain, p: _Pkt) -> Iterator[_Outcome]:
        """Every outcome of ``base`` for ``p`` under the readings of its uncertain rules."""
        work: list[tuple[_Chain, int, _Frames, _Path, int, int]] = [(base, 0, None, None, 0, 0)]
        branches = 0
        seen: dict[int, list[int]] = {}  # candidates per chain, for returns and re-entries
        while work:
            branches += 1
            if branches > MAX_BRANCHES:
                yield from self._unsure(None, work[-1][3], f"{base.describe()}: too many readings")
                return
            chain, pos, frames, path, depth, hops = work.pop()
            while True:
                cands = seen.get(id(chain))
                if cands is None:
                    cands = seen[id(chain)] = chain.candidates(p)
                hit: _Compiled | None = None
                for i in range(bisect.bisect_left(cands, pos), len(cands)):
                    c = chain.rules[cands[i]]
                    if c.matches(p):
                        hit = c
                        break
                if hit is None:
                    if frames is None:
                        yield self._policy(base, path)
                        break
                    chain, pos, frames = frames
                    depth -= 1
                    continue
                rule = hit.rule
                where = f"{chain.describe()} rule {rule.location or hit.pos}" + (
                    " (uncertain rule)" if rule.uncertain else ""
                )
                if rule.uncertain or rule.action == "unknown":
                    work.append((chain, hit.pos + 1, frames, path, depth, hops))
                path = (rule, path)
                action = rule.action
                if action in ACCEPTING:
                    yield _Outcome("accept", _unwind(path), rule, f"{action} by {where}")
                    break
                if action in DROPPING:
                    yield _Outcome("drop", _unwind(path), rule, f"{action} by {where}")
                    break
                if action == "return":
                    if frames is None:
                        yield self._policy(base, path)
                        break
                    chain, pos, frames = frames
                    depth -= 1
                    continue
                if action in ("jump", "goto"):
                    family, table = chain.chain.family, chain.chain.table
                    target = self.chains.get((family, table, rule.target or ""))
                    hops += 1
                    if target is None or depth >= MAX_DEPTH or hops > MAX_HOPS:
                        why = "missing chain" if target is None else "jumps nested too deep"
                        yield from self._unsure(rule, path, f"{why} at {where}")
                        break
                    if action == "jump":
                        frames = (chain, hit.pos + 1, frames)
                        depth += 1
                    chain, pos = target, 0
                    continue
                yield from self._unsure(rule, path, f"verdict not understood at {where}")
                break

    @staticmethod
    def _unsure(rule: Rule | None, path: _Path, why: str) -> Iterator[_Outcome]:
        full = _unwind(path)
        yield _Outcome("accept", full, rule, f"may accept: {why}")
        yield _Outcome("drop", full, rule, f"may drop: {why}")

    @staticmethod
    def _policy(base: _Chain, path: _Path) -> _Outcome:
        policy = base.chain.policy
        return _Outcome(policy, _unwind(path), None, f"policy {policy} of {base.describe()}")

    def classes(self) -> Classes:
        """The address and port classes of this ruleset (computed once)."""
        if self._classes is None:
            self._classes = _classes(self.chains.values())
        return self._classes


@dataclass(frozen=True, slots=True)
class Classes:
    """Equivalence classes: addresses (ports) in one class are matched alike by every rule.

    ``v4``/``v6``/``ports`` are the sorted first values of the classes (each starts with 0);
    a class runs up to the next start.
    """

    v4: tuple[int, ...] = (0,)
    v6: tuple[int, ...] = (0,)
    ports: tuple[int, ...] = (0,)

    def address_class(self, address: Address) -> tuple[int, int]:
        """``(ip version, class number)`` of an address."""
        starts = self.v4 if address.version == 4 else self.v6
        return address.version, bisect.bisect_right(starts, int(address)) - 1

    def port_class(self, port: int) -> int:
        """The class number of a port."""
        return bisect.bisect_right(self.ports, port) - 1

    def representatives(self, network: Network) -> tuple[Address, ...]:
        """The first address of ``network`` in every class it overlaps."""
        starts = self.v4 if network.version == 4 else self.v6
        lo, hi = int(network.network_address), int(network.broadcast_address)
        first = bisect.bisect_right(starts, lo)
        last = bisect.bisect_right(starts, hi)
        make = ipaddress.IPv4Address if network.version == 4 else ipaddress.IPv6Address
        return tuple(make(v) for v in (lo, *starts[first:last]))

    def port_representatives(self, low: int = 0, high: int = 65535) -> tuple[int, ...]:
        """The first port of every class overlapping ``low..high``."""
        first = bisect.bisect_right(self.ports, low)
        last = bisect.bisect_right(self.ports, high)
        return (low, *self.ports[first:last])


def _classes(chains: Iterable[_Chain]) -> Classes:
    cuts: dict[int, set[int]] = {4: {0}, 6: {0}}
    ports = {0}
    for chain in chains:
        for c in chain.rules:
            for addrs in (c.src_set, c.dst_set):
                if addrs is not None:
                    for version, ivs in ((4, addrs.v4), (6, addrs.v6)):
                        found = cuts[version]
                        for lo, hi in ivs:
                            found.add(lo)
                            found.add(hi + 1)
            for lo, hi in c.dports:
                ports.add(lo)
                ports.add(hi + 1)
    v4 = sorted(cuts[4])
    v6 = sorted(cuts[6])
    if v4[-1] == 1 << 32:
        v4.pop()
    if v6[-1] == 1 << 128:
        v6.pop()
    port_starts = sorted(ports)
    if port_starts[-1] == 65536:
        port_starts.pop()
    return Classes(tuple(v4), tuple(v6), tuple(port_starts))


_CACHE: OrderedDict[int, tuple[Ruleset, Evaluator]] = OrderedDict()


def evaluator(ruleset: Ruleset) -> Evaluator:
    """The compiled form of ``ruleset``, cached by identity for the last few rulesets."""
    key = id(ruleset)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is ruleset:
        _CACHE.move_to_end(key)
        return hit[1]
    compiled = Evaluator(ruleset)
    _CACHE[key] = (ruleset, compiled)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled


def decide(ruleset: Ruleset, packet: Packet, hook: Hook) -> Decision:
    """The verdict of ``ruleset`` for ``packet`` on ``hook`` (see the module docstring)."""
    return evaluator(ruleset).decide(packet, hook)


def dnat(ruleset: Ruleset, packet: Packet) -> list[Translation]:
    """Every destination NAT prerouting may apply to ``packet`` (see :meth:`Evaluator.dnat`)."""
    return evaluator(ruleset).dnat(packet)


def snat(ruleset: Ruleset, packet: Packet) -> list[Translation]:
    """Every source NAT that postrouting may apply to ``packet``."""
    return evaluator(ruleset).snat(packet)


def classes(ruleset: Ruleset) -> Classes:
    """The address and port equivalence classes of ``ruleset``."""
    return evaluator(ruleset).classes()
