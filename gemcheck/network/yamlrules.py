"""Import a hand-written firewall rule list (YAML or JSON, schema ``firewall-1``).

For devices without an nftables or iptables export (appliances, the Konnektor's own packet
filter read off its admin UI). Example::

    format: gemcheck-firewall/1
    device: router
    policy: drop                 # of the single chain given by `rules` (hook: forward)
    rules:
      - {action: accept, state: [established, related]}
      - {action: accept, in: lan0, out: wan0, proto: tcp, dport: [80, 443]}
      - {action: accept, src: 10.0.50.0/24, dst: 10.0.1.10, proto: tcp, dport: "8000-8100"}

or ``chains:`` with ``name``, ``hook``, ``kind`` (filter/nat), ``priority``, ``policy``,
``family`` (ip/ip6/inet) and ``rules`` each; ``action: jump``/``goto`` name a ``target``
chain, ``dnat``/``snat`` a ``to`` (``10.0.1.10:443``). A rule marked ``uncertain: true`` is
treated fail-closed like an imported rule the importer did not understand. Every problem is
reported with the file and line; YAML aliases are refused (no expansion bombs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import yaml

from gemcheck import schemas
from gemcheck.errors import InputError, Problem
from gemcheck.network.addrset import AddrSet, parse_addresses
from gemcheck.network.build import MatchBuilder
from gemcheck.network.rules import (
    Action,
    Chain,
    ChainKind,
    Hook,
    NatTarget,
    Policy,
    Rule,
    Ruleset,
)
from gemcheck.network.values import parse_nat_target, parse_port_range

NAT_PRIORITY: Mapping[str | None, int] = {
    "prerouting": -100,
    "output": -100,
    "input": 100,
    "postrouting": 100,
}
"""Default priority of a ``nat`` chain per hook (nftables' ``dstnat``/``srcnat``)."""


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records the line of every mapping and refuses aliases."""

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self.lines: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in firewall files", event.start_mark
            )
        return super().compose_node(parent, index)


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> Any:
    data: dict[Any, Any] = {}
    loader.lines[id(data)] = node.start_mark.line + 1
    yield data
    data.update(loader.construct_mapping(node))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _mapping)


def parse_yaml_rules(text: str | bytes, source: str, device: str | None = None) -> Ruleset:
    """The ruleset in a ``firewall-1`` file; :class:`InputError` naming file and place."""
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "$"
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError.single(source, where, f"not valid YAML/JSON: {problem}") from None
    except RecursionError:
        raise InputError.single(source, "$", "nested too deeply") from None
    finally:
        loader.dispose()
    schemas.validate(data, "firewall-1", source)
    return _Reader(source, loader.lines).ruleset(data, device)


class _Reader:
    def __init__(self, source: str, lines: Mapping[int, int]) -> None:
        self.source = source
        self.lines = lines
        self.problems: list[Problem] = []

    def ruleset(self, data: Mapping[str, Any], device: str | None) -> Ruleset:
        family = data.get("family", "inet")
        if "rules" in data:
            specs: list[Mapping[str, Any]] = [
                {
                    "name": data.get("hook", "forward"),
                    "hook": data.get("hook", "forward"),
                    "policy": data.get("policy", "accept"),
                    "rules": data["rules"],
                }
            ]
        else:
            specs = data["chains"]
        chains = tuple(self._chain(spec, family) for spec in specs)
        seen: set[tuple[str, str]] = set()
        for chain in chains:
            if (chain.table, chain.name) in seen:
                self.problems.append(
                    Problem(self.source, "$", f"chain {chain.table} {chain.name} defined twice")
                )
            seen.add((chain.table, chain.name))
        for chain in chains:
            for rule in chain.rules:
                if rule.target is not None and (chain.table, rule.target) not in seen:
                    self.problems.append(
                        Problem(self.source, rule.location, f"{rule.action} to missing chain")
                    )
        if self.problems:
            raise InputError(self.problems)
        return Ruleset(device or data.get("device"), self.source, chains, ())

    def _chain(self, spec: Mapping[str, Any], family: str) -> Chain:
        kind = spec.get("kind", "filter")
        hook = spec.get("hook")
        default_priority = NAT_PRIORITY.get(hook, 0) if kind == "nat" else 0
        return Chain(
            name=spec["name"],
            table=spec.get("table", kind),
            family=spec.get("family", family),
            hook=cast(Hook | None, hook),
            kind=cast(ChainKind, kind),
            priority=spec.get("priority", default_priority),
            policy=cast(Policy, spec.get("policy", "accept")),
            rules=tuple(r for spec_rule in spec.get("rules", ()) for r in self._rule(spec_rule)),
        )

    def _rule(self, spec: Mapping[str, Any]) -> list[Rule]:
        line = self.lines.get(id(spec), 0)
        location = f"{self.source}:{line}"
        builder = MatchBuilder()
        nat_to: NatTarget | None = None
        try:
            for direction in ("src", "dst"):
                if direction in spec:
                    builder.address(
                        direction,
                        _addresses(_listed(spec[direction])),
                        bool(spec.get(f"{direction}_negate")),
                    )
            if "proto" in spec:
                builder.protocols(_listed(spec["proto"]))
            if "dport" in spec:
                builder.dports(parse_port_range(str(p), "-") for p in _listed(spec["dport"]))
            for direction in ("in", "out"):
                if direction in spec:
                    builder.iface(
                        direction, _listed(spec[direction]), bool(spec.get(f"{direction}_negate"))
                    )
            if "state" in spec:
                builder.ct_states(_listed(spec["state"]))
            if "to" in spec:
                nat_to, is_range = parse_nat_target(spec["to"])
                if is_range:
                    raise ValueError("NAT to an address range is not supported: give one address")
            matches = builder.build()
        except ValueError as exc:
            self.problems.append(Problem(self.source, location, str(exc)))
            return []
        if builder.reasons:
            self.problems.append(Problem(self.source, location, "; ".join(builder.reasons)))
            return []
        action = cast(Action, spec["action"])
        if action == "masquerade":
            nat_to = (None, nat_to[1] if nat_to else None)
        return [
            Rule(
                match=match,
                action=action,
                target=spec.get("target"),
                nat_to=nat_to,
                location=location,
                text=_text(spec),
                uncertain=bool(spec.get("uncertain")),
            )
            for match in matches
        ]


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _addresses(values: Iterable[str]) -> AddrSet:
    result = AddrSet()
    for value in values:
        try:
            result = result | parse_addresses(value)
        except ValueError:
            raise ValueError(f"address {value!r} not understood") from None
    return result


def _text(spec: Mapping[str, Any]) -> str:
    parts = [str(spec["action"])]
    for key, value in spec.items():
        if key not in ("action", "comment"):
            shown = ",".join(map(str, value)) if isinstance(value, list) else value
            parts.append(f"{key}={shown}")
    if "comment" in spec:
        parts.append(f"# {spec['comment']}")
    return " ".join(parts)
