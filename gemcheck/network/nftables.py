"""Import an nftables ruleset exported with ``nft -j list ruleset``.

Understood: tables of the ``ip``, ``ip6`` and ``inet`` families; base chains (``type``, ``hook``,
``prio`` as a number or a standard name, ``policy``) and regular chains; named sets and maps
(also interval sets) and anonymous sets, prefixes and ranges; the matches ``ip/ip6 saddr/daddr``,
``tcp/udp/sctp/dccp/udplite/th dport`` (also ``!=``, ``<``, ``>``, ``<=``, ``>=``),
``ip protocol``, ``ip6 nexthdr``, ``meta l4proto/nfproto/protocol/iifname/oifname/iif/oif``,
``ct state``; verdict maps (``tcp dport vmap { 22 : accept, 80 : jump web }``, split into one
rule per entry); the verdicts ``accept``, ``drop``, ``reject``, ``jump``, ``goto``,
``return``, ``continue``; ``dnat``/``snat`` (also ``dnat to tcp dport map {...}``),
``masquerade`` and ``redirect``. ``counter``, ``log``, ``mark``/``meta``/``ct`` setters,
``set add/update`` and ``notrack`` do not change a verdict and are ignored.

Anything else (``fib``, ``limit``, ``tcp flags``, ``icmp type``, source ports, marks,
concatenations, dynamic sets, ``xt`` compat expressions, ``queue`` ...) keeps its rule with
``uncertain=True`` and adds a problem line naming ``FILE#nftables[i]``, the index of the rule
object in the export. Tables of other families (``bridge``, ``arp``, ``netdev``) and
``ingress``/``egress`` chains are reported and left out: they can only drop more.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from gemcheck.errors import InputError
from gemcheck.network.addrset import AddrSet, parse_addresses
from gemcheck.network.build import MatchBuilder
from gemcheck.network.rules import (
    HOOKS,
    Action,
    Address,
    Chain,
    Hook,
    NatTarget,
    PortRange,
    Rule,
    Ruleset,
)

FAMILIES = frozenset({"ip", "ip6", "inet"})
PRIORITY_NAMES: Mapping[str, int] = {
    "raw": -300,
    "mangle": -150,
    "dstnat": -100,
    "filter": 0,
    "security": 50,
    "srcnat": 100,
}
PORT_PROTOCOLS = frozenset({"tcp", "udp", "sctp", "dccp", "udplite"})
IGNORED_STATEMENTS = frozenset({"counter", "log", "mangle", "set", "map", "notrack", "flow"})
IGNORED_OBJECTS = frozenset(
    {
        "metainfo",
        "table",
        "counter",
        "quota",
        "limit",
        "flowtable",
        "ct helper",
        "ct timeout",
        "ct expectation",
        "secmark",
        "synproxy",
        "element",
    }
)
ENDING_STATEMENTS = frozenset(
    {
        "accept",
        "drop",
        "reject",
        "return",
        "jump",
        "goto",
        "vmap",
        "dnat",
        "snat",
        "masquerade",
        "redirect",
        "queue",
        "fwd",
        "tproxy",
        "synproxy",
        "xt",
    }
)
"""Statements that end a rule: if one is not understood, the rule's verdict is ``unknown``."""
MAX_RENDER = 300


class _Unknown(Exception):
    """An expression the model cannot express; the message says which."""


Key = tuple[str, str, str]


@dataclass
class _NamedSet:
    elements: list[Any]
    dynamic: bool


@dataclass
class _ChainDraft:
    name: str
    table: str
    family: str
    hook: Hook | None = None
    kind: str = "filter"
    priority: int = 0
    policy: str = "accept"
    rules: list[Rule] = field(default_factory=list)

    def freeze(self) -> Chain:
        return Chain(
            name=self.name,
            table=self.table,
            family=self.family,
            hook=self.hook,
            kind="nat" if self.kind == "nat" else "filter",
            priority=self.priority,
            policy="drop" if self.policy == "drop" else "accept",
            rules=tuple(self.rules),
        )


def parse_nftables(text: str | bytes, source: str, device: str | None = None) -> Ruleset:
    """The ruleset in an ``nft -j list ruleset`` export; :class:`InputError` if unreadable."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InputError.single(source, where, f"not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError.single(source, "$", "JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError.single(source, "$", f"not JSON text: {exc}") from None
    objects = data.get("nftables") if isinstance(data, dict) else None
    if not isinstance(objects, list):
        raise InputError.single(
            source, "$", 'not an nftables JSON export: expected {"nftables": [...]}'
        )
    return _Importer(source, objects).run(device)


class _Importer:
    def __init__(self, source: str, objects: list[Any]) -> None:
        self.source = source
        self.objects = objects
        self.problems: list[str] = []
        self.sets: dict[Key, _NamedSet] = {}
        self.chains: dict[Key, _ChainDraft] = {}
        self.skipped_tables: set[tuple[str, str]] = set()

    def where(self, index: int) -> str:
        return f"{self.source}#nftables[{index}]"

    def note(self, index: int, message: str) -> None:
        self.problems.append(f"{self.where(index)}: {message}")

    def run(self, device: str | None) -> Ruleset:
        items = list(self._items())
        for index, kind, body in items:
            if kind in ("set", "map"):
                self._named_set(index, body)
        for _, kind, body in items:
            if kind == "rule":
                self._mark_dynamic_sets(body)
        for index, kind, body in items:
            if kind == "chain":
                self._chain(index, body)
            elif kind == "rule":
                self._rule(index, body)
            elif kind not in IGNORED_OBJECTS and kind not in ("set", "map"):
                self.note(index, f"object {kind!r} not understood, ignored")
        for (family, table, _), draft in self.chains.items():
            for rule in draft.rules:
                if rule.action in ("jump", "goto") and (
                    (family, table, rule.target or "") not in self.chains
                ):
                    self.problems.append(
                        f"{rule.location}: {rule.action} to missing chain {rule.target!r}"
                        " (treated as 'may accept')"
                    )
        chains = tuple(d.freeze() for d in self.chains.values())
        return Ruleset(device, self.source, chains, tuple(sorted(self.problems, key=self._order)))

    def _order(self, problem: str) -> int:
        """The object index of a problem line (they are collected in several passes)."""
        start = len(self.where(0)) - 2
        return int(problem[start : problem.index("]", start)])

    def _items(self) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
        for index, obj in enumerate(self.objects):
            if not isinstance(obj, dict) or len(obj) != 1:
                self.note(index, "expected an object with one key, ignored")
                continue
            kind, body = next(iter(obj.items()))
            if not isinstance(body, dict):
                self.note(index, f"{kind!r} is not an object, ignored")
                continue
            yield index, str(kind), body

    def _owner(self, index: int, body: Mapping[str, Any]) -> tuple[str, str] | None:
        family, table = body.get("family"), body.get("table")
        if not isinstance(family, str) or not isinstance(table, str):
            self.note(index, "missing family or table, ignored")
            return None
        if family not in FAMILIES:
            if (family, table) not in self.skipped_tables:
                self.skipped_tables.add((family, table))
                self.note(
                    index,
                    f"table {family} {table} not analysed (only ip, ip6 and inet; "
                    "other families can only drop more)",
                )
            return None
        return family, table

    def _named_set(self, index: int, body: Mapping[str, Any]) -> None:
        family, table, name = body.get("family"), body.get("table"), body.get("name")
        if not all(isinstance(x, str) for x in (family, table, name)):
            self.note(index, "set without family, table or name, ignored")
            return
        elements = body.get("elem", [])
        flags = body.get("flags", [])
        flags = [flags] if isinstance(flags, str) else flags
        dynamic = isinstance(flags, list) and bool({"dynamic", "timeout"} & set(map(str, flags)))
        if not isinstance(elements, list):
            self.note(index, "set elements are not a list: set treated as unknown")
            dynamic = True
            elements = []
        self.sets[(str(family), str(table), str(name))] = _NamedSet(elements, dynamic)

    def _mark_dynamic_sets(self, body: Mapping[str, Any]) -> None:
        exprs = body.get("expr")
        if not isinstance(exprs, list):
            return
        for stmt in exprs:
            if isinstance(stmt, dict) and ("set" in stmt or "map" in stmt):
                inner = stmt.get("set", stmt.get("map"))
                ref = inner.get("set", inner.get("map")) if isinstance(inner, dict) else None
                named = self.sets.get(
                    (str(body.get("family")), str(body.get("table")), str(ref).lstrip("@"))
                )
                if named is not None:
                    named.dynamic = True

    def _chain(self, index: int, body: Mapping[str, Any]) -> None:
        owner = self._owner(index, body)
        name = body.get("name")
        if owner is None:
            return
        if not isinstance(name, str):
            self.note(index, "chain without a name, ignored")
            return
        draft = self.chains.setdefault((*owner, name), _ChainDraft(name, owner[1], owner[0]))
        hook = body.get("hook")
        if hook is None:
            return
        if hook not in HOOKS:
            self.note(index, f"hook {hook!r} not analysed, chain treated as a regular chain")
            return
        draft.hook = cast(Hook, hook)
        draft.kind = "nat" if body.get("type") == "nat" else "filter"
        draft.priority = self._priority(index, body.get("prio", 0))
        policy = body.get("policy", "accept")
        if policy not in ("accept", "drop"):
            self.note(index, f"policy {policy!r} not understood, taken as accept")
            policy = "accept"
        draft.policy = policy

    def _priority(self, index: int, prio: Any) -> int:
        if isinstance(prio, int) and not isinstance(prio, bool):
            return prio
        match = re.fullmatch(r"\s*([a-z]+)\s*(?:([+-])\s*(\d+))?\s*", str(prio))
        if match and match.group(1) in PRIORITY_NAMES:
            base = PRIORITY_NAMES[match.group(1)]
            offset = int(match.group(3) or 0)
            return base - offset if match.group(2) == "-" else base + offset
        self.note(index, f"priority {prio!r} not understood, taken as 0")
        return 0

    def _rule(self, index: int, body: Mapping[str, Any]) -> None:
        owner = self._owner(index, body)
        chain = body.get("chain")
        if owner is None:
            return
        if not isinstance(chain, str):
            self.note(index, "rule without a chain, ignored")
            return
        draft = self.chains.get((*owner, chain))
        if draft is None:
            self.note(index, f"rule of undeclared chain {chain!r}: chain added as regular chain")
            draft = self.chains.setdefault((*owner, chain), _ChainDraft(chain, owner[1], owner[0]))
        exprs = body.get("expr")
        reader = _RuleReader(self, owner, index)
        if not isinstance(exprs, list):
            reader.builder.unknown("rule has no expression list")
            exprs = []
        comment = body.get("comment")
        text = render_rule(exprs) + (f' comment "{comment}"' if isinstance(comment, str) else "")
        draft.rules.extend(reader.read(exprs, text))


_VERDICTS: Mapping[str, Action] = {
    "accept": "accept",
    "drop": "drop",
    "reject": "reject",
    "return": "return",
    "jump": "jump",
    "goto": "goto",
}


@dataclass
class _Outcome:
    action: Action = "unknown"
    target: str | None = None
    nat_to: NatTarget | None = None


class _RuleReader:
    """Reads one rule's expressions into a :class:`MatchBuilder` and a verdict."""

    def __init__(self, importer: _Importer, owner: tuple[str, str], index: int) -> None:
        self.importer = importer
        self.family, self.table = owner
        self.index = index
        self.builder = MatchBuilder()

    def read(self, exprs: list[Any], text: str) -> list[Rule]:
        variants: list[tuple[MatchBuilder, _Outcome]] | None = None
        for stmt in exprs:
            if not isinstance(stmt, dict) or len(stmt) != 1:
                self.builder.unknown(f"statement {_short(stmt)} not understood")
                continue
            kind, value = next(iter(stmt.items()))
            try:
                variants = self._statement(str(kind), value)
            except _Unknown as exc:
                self.builder.unknown(str(exc))
                if kind in ENDING_STATEMENTS:
                    variants = [(self.builder, _Outcome())]
            if variants is not None:
                break
        if variants is None:
            if not self.builder.reasons:
                return []  # no verdict and nothing unknown: the rule only counts or logs
            variants = [(self.builder, _Outcome())]
        return self._rules(variants, text)

    def _rules(self, variants: list[tuple[MatchBuilder, _Outcome]], text: str) -> list[Rule]:
        where = self.importer.where(self.index)
        rules = []
        reasons: list[str] = []
        for builder, outcome in variants:
            matches = builder.build()
            for reason in builder.reasons:
                if reason not in reasons:
                    reasons.append(reason)
            uncertain = bool(builder.reasons) or outcome.action == "unknown"
            for match in matches:
                rules.append(
                    Rule(
                        match=match,
                        action=outcome.action,
                        target=outcome.target,
                        nat_to=outcome.nat_to,
                        location=where,
                        text=text,
                        uncertain=uncertain,
                    )
                )
        if reasons:
            self.importer.note(self.index, "; ".join(reasons) + " (rule treated as 'may match')")
        elif any(r.action == "unknown" for r in rules):
            self.importer.note(self.index, "verdict not understood (rule treated as 'may accept')")
        return rules

    # -- statements ----------------------------------------------------------------------

    def _statement(self, kind: str, value: Any) -> list[tuple[MatchBuilder, _Outcome]] | None:
        """Variants ending the rule (a verdict), or ``None`` to go on with the next statement."""
        if kind == "match":
            self._match(value)
            return None
        if kind in IGNORED_STATEMENTS or kind == "continue":
            return None
        if kind in _VERDICTS:
            return [(self.builder, self._verdict(kind, value))]
        if kind in ("dnat", "snat", "masquerade", "redirect"):
            return self._nat(kind, value)
        if kind == "vmap":
            return self._vmap(value)
        raise _Unknown(f"statement {kind!r} not understood")

    def _verdict(self, kind: str, value: Any) -> _Outcome:
        action = _VERDICTS.get(kind)
        if action is None:
            raise _Unknown(f"verdict {kind!r} not understood")
        if action in ("jump", "goto"):
            target = value.get("target") if isinstance(value, dict) else None
            if not isinstance(target, str):
                raise _Unknown(f"{kind} without a target chain")
            return _Outcome(action, target)
        return _Outcome(action)

    def _nat(self, kind: str, value: Any) -> list[tuple[MatchBuilder, _Outcome]]:
        spec = value if isinstance(value, dict) else {}
        action: Action = "dnat" if kind == "redirect" else cast(Action, kind)
        port = self._nat_port(spec.get("port"))
        addr = spec.get("addr")
        if kind in ("masquerade", "redirect") or addr is None:
            return [(self.builder, _Outcome(action, nat_to=(None, port)))]
        if isinstance(addr, dict) and "map" in addr:
            mapping = addr["map"]
            if not isinstance(mapping, dict):
                raise _Unknown(f"{kind} map not understood")
            return [
                (builder, _Outcome(action, nat_to=(self._nat_address(data), port)))
                for builder, data in self._map_entries(mapping.get("key"), mapping.get("data"))
            ]
        return [(self.builder, _Outcome(action, nat_to=(self._nat_address(addr), port)))]

    def _nat_address(self, addr: Any) -> Address:
        if isinstance(addr, dict) and "range" in addr:
            self.builder.unknown("NAT to an address range: only its first address is analysed")
            addr = _pair(addr["range"])[0]
        try:
            return ipaddress.ip_address(str(addr))
        except ValueError:
            raise _Unknown(f"NAT address {_short(addr)} not understood") from None

    def _nat_port(self, port: Any) -> PortRange | None:
        if port is None:
            return None
        if isinstance(port, dict) and "range" in port:
            lo, hi = _pair(port["range"])
            return _port(lo), _port(hi)
        return _port(port), _port(port)

    def _vmap(self, value: Any) -> list[tuple[MatchBuilder, _Outcome]]:
        if not isinstance(value, dict):
            raise _Unknown("vmap not understood")
        return [
            (builder, self._verdict(*_single(data)))
            for builder, data in self._map_entries(value.get("key"), value.get("data"))
        ]

    def _map_entries(self, key: Any, data: Any) -> Iterator[tuple[MatchBuilder, Any]]:
        """One builder per map entry, each with the condition ``key == entry key``."""
        if isinstance(data, str) and data.startswith("@"):
            elements = self._named(data)
        elif isinstance(data, dict) and isinstance(data.get("set"), list):
            elements = data["set"]
        else:
            raise _Unknown("map data not understood")
        for element in elements:
            pair = element.get("elem", {}).get("val") if isinstance(element, dict) else element
            if not isinstance(pair, list) or len(pair) != 2:
                raise _Unknown(f"map element {_short(element)} not understood")
            builder = self.builder.copy()
            self._condition(builder, key, "==", pair[0])
            yield builder, pair[1]

    # -- matches -------------------------------------------------------------------------

    def _match(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise _Unknown(f"match {_short(value)} not understood")
        self._condition(
            self.builder, value.get("left"), str(value.get("op", "==")), value.get("right")
        )

    def _condition(self, builder: MatchBuilder, left: Any, op: str, right: Any) -> None:
        try:
            self._condition_or_raise(builder, left, op, right)
        except _Unknown as exc:
            builder.unknown(str(exc))

    def _condition_or_raise(self, builder: MatchBuilder, left: Any, op: str, right: Any) -> None:
        kind, what = _single(left) if isinstance(left, dict) else ("", None)
        negate = op == "!="
        if op not in ("==", "!=", "in") and not (
            op in ("<", ">", "<=", ">=") and kind == "payload" and _field(what) == "dport"
        ):
            raise _Unknown(f"operator {op!r} on {render(left)}")
        if kind == "payload" and isinstance(what, dict):
            self._payload(builder, what, op, right)
        elif kind == "meta" and isinstance(what, dict):
            self._meta(builder, str(what.get("key")), negate, right)
        elif kind == "ct" and isinstance(what, dict) and what.get("key") == "state":
            builder.ct_states(self._strings(right), negate)
        else:
            raise _Unknown(f"condition on {render(left)} not understood")

    def _payload(self, builder: MatchBuilder, what: Mapping[str, Any], op: str, right: Any) -> None:
        proto, fld = what.get("protocol"), what.get("field")
        negate = op == "!="
        if proto in ("ip", "ip6") and fld in ("saddr", "daddr"):
            builder.address("src" if fld == "saddr" else "dst", self._addresses(right), negate)
        elif (proto == "ip" and fld == "protocol") or (proto == "ip6" and fld == "nexthdr"):
            if self.family == "inet":
                builder.ip_version(4 if proto == "ip" else 6)
            builder.protocols(self._strings(right), negate)
        elif fld == "dport" and (proto in PORT_PROTOCOLS or proto == "th"):
            if proto != "th":
                builder.protocols([str(proto)])
            if op in ("<", ">", "<=", ">="):
                limit = _port(right)
                ranges = {
                    "<": (0, limit - 1),
                    "<=": (0, limit),
                    ">": (limit + 1, 65535),
                    ">=": (limit, 65535),
                }
                lo, hi = ranges[op]
                builder.dports([(lo, hi)] if lo <= hi else [], False)
            else:
                builder.dports(self._ports(right), negate)
        else:
            raise _Unknown(f"condition on {proto} {fld} not understood")

    def _meta(self, builder: MatchBuilder, key: str, negate: bool, right: Any) -> None:
        if key in ("iifname", "oifname", "iif", "oif"):
            builder.iface("in" if key.startswith("i") else "out", self._strings(right), negate)
        elif key == "l4proto":
            builder.protocols(self._strings(right), negate)
        elif key in ("nfproto", "protocol") and not negate:
            versions = {"ipv4": 4, "ip": 4, "ipv6": 6, "ip6": 6}
            found = {versions.get(s) for s in self._strings(right)}
            if len(found) != 1 or None in found:
                raise _Unknown(f"meta {key} {render(right)} not understood")
            if self.family == "inet":
                builder.ip_version(cast(int, found.pop()))
        else:
            raise _Unknown(f"condition on meta {key} not understood")

    # -- values --------------------------------------------------------------------------

    def _elements(self, right: Any) -> list[Any]:
        """The values a right-hand side stands for (a set, a named set, a list or one value)."""
        if isinstance(right, str) and right.startswith("@"):
            return self._named(right)
        if isinstance(right, dict) and "set" in right:
            inner = right["set"]
            return inner if isinstance(inner, list) else [inner]
        if isinstance(right, list):
            return right
        return [right]

    def _named(self, ref: str) -> list[Any]:
        named = self.importer.sets.get((self.family, self.table, ref[1:]))
        if named is None:
            raise _Unknown(f"set {ref} not found")
        if named.dynamic:
            raise _Unknown(f"set {ref} changes at run time (dynamic or with timeouts)")
        return named.elements

    def _addresses(self, right: Any) -> AddrSet:
        elements = self._elements(right)
        if len(elements) == 1:
            return _address_value(_unwrap(elements[0]))
        result = AddrSet()
        for element in elements:
            result = result | _address_value(_unwrap(element))
        return result

    def _ports(self, right: Any) -> list[PortRange]:
        out = []
        for element in self._elements(right):
            value = _unwrap(element)
            if isinstance(value, dict) and "range" in value:
                lo, hi = _pair(value["range"])
                out.append((_port(lo), _port(hi)))
            else:
                out.append((_port(value), _port(value)))
        return out

    def _strings(self, right: Any) -> list[str]:
        out = []
        for element in self._elements(right):
            value = _unwrap(element)
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise _Unknown(f"value {_short(value)} not understood")
            out.append(str(value))
        return out


def _unwrap(element: Any) -> Any:
    """A set element without its ``elem`` wrapper (timeouts, comments)."""
    if isinstance(element, dict) and isinstance(element.get("elem"), dict):
        return element["elem"].get("val")
    return element


def _address_value(value: Any) -> AddrSet:
    try:
        if isinstance(value, str):
            return parse_addresses(value)
        if isinstance(value, dict) and isinstance(value.get("prefix"), dict):
            prefix = value["prefix"]
            return parse_addresses(f"{prefix.get('addr')}/{prefix.get('len')}")
        if isinstance(value, dict) and "range" in value:
            lo, hi = _pair(value["range"])
            return AddrSet.span(ipaddress.ip_address(str(lo)), ipaddress.ip_address(str(hi)))
    except ValueError:
        pass
    raise _Unknown(f"address {_short(value)} not understood")


def _port(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535:
        return value
    raise _Unknown(f"port {_short(value)} not understood")


def _pair(value: Any) -> tuple[Any, Any]:
    if isinstance(value, list) and len(value) == 2:
        return value[0], value[1]
    raise _Unknown(f"range {_short(value)} not understood")


def _single(value: Any) -> tuple[str, Any]:
    if isinstance(value, dict) and len(value) == 1:
        key, inner = next(iter(value.items()))
        return str(key), inner
    raise _Unknown(f"expression {_short(value)} not understood")


def _field(what: Any) -> Any:
    return what.get("field") if isinstance(what, dict) else None


def _short(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# -- rendering (rule text for witness paths) -----------------------------------------------

_IFACE_KEYS = frozenset({"iifname", "oifname", "iif", "oif"})


def render_rule(exprs: Iterable[Any]) -> str:
    """An nft-like one-line rendering of a rule's expressions."""
    text = " ".join(render(e) for e in exprs)
    return text if len(text) <= MAX_RENDER else text[: MAX_RENDER - 3] + "..."


def render(expr: Any, quote: bool = False) -> str:
    """An nft-like rendering of one expression (compact JSON for what it does not know)."""
    if type(expr) is dict and len(expr) == 1:
        ((kind, value),) = expr.items()
        renderer = _RENDERERS.get(kind)
        text = renderer(kind, value, quote) if renderer is not None else None
        return _short(expr) if text is None else text
    if isinstance(expr, str):
        return f'"{expr}"' if quote and not expr.startswith("@") else expr
    if isinstance(expr, bool) or expr is None:
        return json.dumps(expr)
    if isinstance(expr, int):
        return str(expr)
    if isinstance(expr, list):
        return "{ " + ", ".join(_render_element(e, quote) for e in expr) + " }"
    return _short(expr)


def _r_match(_: str, v: Any, quote: bool) -> str | None:
    if type(v) is not dict:
        return None
    left = v.get("left")
    meta = left.get("meta") if type(left) is dict else None
    is_iface = type(meta) is dict and meta.get("key") in _IFACE_KEYS
    op = v.get("op", "==")
    op_text = "" if op in ("==", "in") else f"{op} "
    return f"{render(left)} {op_text}{render(v.get('right'), is_iface)}"


def _r_payload(_: str, v: Any, quote: bool) -> str | None:
    return f"{v.get('protocol')} {v.get('field')}" if type(v) is dict else None


def _r_meta(_: str, v: Any, quote: bool) -> str | None:
    if type(v) is not dict:
        return None
    key = v.get("key")
    return str(key) if key in _IFACE_KEYS else f"meta {key}"


def _r_ct(_: str, v: Any, quote: bool) -> str | None:
    return f"ct {v.get('key')}" if type(v) is dict else None


def _r_prefix(_: str, v: Any, quote: bool) -> str | None:
    return f"{v.get('addr')}/{v.get('len')}" if type(v) is dict else None


def _r_range(_: str, v: Any, quote: bool) -> str | None:
    if type(v) is list and len(v) == 2:
        return f"{render(v[0])}-{render(v[1])}"
    return None


def _r_set(_: str, v: Any, quote: bool) -> str | None:
    if type(v) is dict:  # the statement that adds to a set
        return f"{v.get('op')} {v.get('set')} {{ {render(v.get('elem'))} }}"
    return render(v if type(v) is list else [v], quote)


def _r_concat(_: str, v: Any, quote: bool) -> str | None:
    return " . ".join(render(e) for e in v) if type(v) is list else None


def _r_word(kind: str, v: Any, quote: bool) -> str | None:
    return kind


def _r_jump(kind: str, v: Any, quote: bool) -> str | None:
    return f"{kind} {v.get('target')}" if type(v) is dict else None


def _r_nat(kind: str, v: Any, quote: bool) -> str | None:
    spec = v if type(v) is dict else {}
    addr = render(spec["addr"]) if "addr" in spec else ""
    port = f":{render(spec['port'])}" if "port" in spec else ""
    return f"{kind} to {addr}{port}"


def _r_map(kind: str, v: Any, quote: bool) -> str | None:
    if type(v) is not dict:
        return None
    return f"{render(v.get('key'))} {kind} {render(v.get('data'))}"


def _r_elem(_: str, v: Any, quote: bool) -> str | None:
    return render(v.get("val"), quote) if type(v) is dict else None


_RENDERERS: Mapping[str, Callable[[str, Any, bool], str | None]] = {
    "match": _r_match,
    "payload": _r_payload,
    "meta": _r_meta,
    "ct": _r_ct,
    "prefix": _r_prefix,
    "range": _r_range,
    "set": _r_set,
    "concat": _r_concat,
    **dict.fromkeys(
        ("accept", "drop", "return", "continue", "reject", "masquerade", "counter", "log"),
        _r_word,
    ),
    "jump": _r_jump,
    "goto": _r_jump,
    **dict.fromkeys(("dnat", "snat", "redirect"), _r_nat),
    "vmap": _r_map,
    "map": _r_map,
    "elem": _r_elem,
}


def _render_element(element: Any, quote: bool) -> str:
    if isinstance(element, list) and len(element) == 2:
        return f"{render(element[0], quote)} : {render(element[1])}"
    return render(element, quote)
