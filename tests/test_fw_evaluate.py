"""Semantics of the firewall evaluator: chains, jumps, base chains, NAT, fail-closed rules."""

from __future__ import annotations

import ipaddress
import random

import pytest

from gemcheck.network import evaluate
from gemcheck.network.evaluate import Packet, classes, decide, dnat, evaluator, snat
from gemcheck.network.rules import Chain, Hook, Match, Rule, Ruleset


def net(*texts: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(t) for t in texts)


def pkt(src: str = "10.0.0.1", dst: str = "10.0.1.1", port: int | None = 443, **kw: str) -> Packet:
    return Packet(
        ipaddress.ip_address(src),
        ipaddress.ip_address(dst),
        kw.get("proto", "tcp"),
        port,
        kw.get("iif", "lan0"),
        kw.get("oif", "dmz0"),
        kw.get("state", "new"),
    )


def rule(action: str = "accept", name: str = "", **match: object) -> Rule:
    target = match.pop("target", None)
    uncertain = bool(match.pop("uncertain", False))
    nat_to = match.pop("nat_to", None)
    return Rule(
        Match(**match),  # type: ignore[arg-type]
        action,  # type: ignore[arg-type]
        target,  # type: ignore[arg-type]
        nat_to,  # type: ignore[arg-type]
        name or action,
        name,
        uncertain,
    )


def base(*rules: Rule, policy: str = "drop", hook: Hook = "forward", **kw: object) -> Chain:
    return Chain(
        str(kw.get("name", hook)),
        str(kw.get("table", "filter")),
        str(kw.get("family", "inet")),
        hook,
        kw.get("kind", "filter"),  # type: ignore[arg-type]
        int(kw.get("priority", 0)),  # type: ignore[call-overload]
        policy,  # type: ignore[arg-type]
        rules,
    )


def regular(name: str, *rules: Rule, family: str = "inet") -> Chain:
    return Chain(name, "filter", family, None, rules=rules)


def rs(*chains: Chain) -> Ruleset:
    return Ruleset("fw", "test", chains)


def test_first_match_and_policy() -> None:
    ruleset = rs(base(rule("drop", "no-ssh", dports=((22, 22),)), rule("accept", "all")))
    assert decide(ruleset, pkt(port=22), "forward").action == "drop"
    verdict = decide(ruleset, pkt(), "forward")
    assert (verdict.action, verdict.rule and verdict.rule.location) == ("accept", "all")
    empty = rs(base(policy="drop"))
    verdict = decide(empty, pkt(), "forward")
    assert verdict.action == "drop" and verdict.rule is None and "policy drop" in verdict.detail
    assert decide(empty, pkt(), "input").action == "accept"  # no base chain on that hook


def test_match_fields() -> None:
    r = rule(
        "accept",
        src=net("10.0.0.0/24"),
        dst=net("10.0.1.0/24"),
        dst_negate=True,
        protocols=frozenset({"tcp"}),
        dports=((80, 90), (443, 443)),
        in_iface="lan+",
        out_iface="wan0",
        out_iface_negate=True,
        ct_states=frozenset({"new"}),
    )
    ruleset = rs(base(r))

    def ok(**kw: object) -> bool:
        return decide(ruleset, pkt(**kw), "forward").action == "accept"  # type: ignore[arg-type]

    assert ok(dst="10.0.2.1")
    assert not ok(dst="10.0.1.1")  # negated destination
    assert not ok(src="10.0.3.1", dst="10.0.2.1")
    assert not ok(dst="10.0.2.1", proto="udp")
    assert ok(dst="10.0.2.1", port=85) and not ok(dst="10.0.2.1", port=91)
    assert not ok(dst="10.0.2.1", port=None)
    assert ok(dst="10.0.2.1", iif="lan7") and not ok(dst="10.0.2.1", iif="wlan0")
    assert not ok(dst="10.0.2.1", oif="wan0") and ok(dst="10.0.2.1", oif="wan1")
    assert not ok(dst="10.0.2.1", state="established")
    # protocol numbers and aliases are normalised
    assert decide(rs(base(rule(protocols=frozenset({"6"})))), pkt(), "forward").action == "accept"


def test_versions_and_families() -> None:
    negated_v4 = rs(base(rule("accept", src=net("10.0.0.0/8"), src_negate=True)))
    assert decide(negated_v4, pkt(src="192.0.2.1"), "forward").action == "accept"
    # `ip saddr != 10.0.0.0/8` does not match IPv6 packets
    assert decide(negated_v4, pkt(src="2001:db8::1", dst="2001:db8::2"), "forward").action == "drop"
    v4_only = rs(base(rule("drop"), family="ip", policy="accept"))
    assert decide(v4_only, pkt(), "forward").action == "drop"
    v6 = decide(v4_only, pkt(src="2001:db8::1", dst="2001:db8::2"), "forward")
    assert v6.action == "accept" and "IPv6" in v6.detail
    with pytest.raises(ValueError):
        pkt(src="10.0.0.1", dst="2001:db8::2")


def test_jump_return_and_goto() -> None:
    sub = regular("sub", rule("accept", "sub-accept", dports=((80, 80),)), rule("return", "ret"))
    jump = rs(sub, base(rule("jump", "j", target="sub"), rule("drop", "after")))
    assert decide(jump, pkt(port=80), "forward").action == "accept"
    verdict = decide(jump, pkt(port=81), "forward")
    assert verdict.action == "drop" and [r.location for r in verdict.path] == ["j", "ret", "after"]
    # goto does not come back: the end of `sub` applies the base chain's policy
    goto = rs(sub, base(rule("goto", "g", target="sub"), rule("drop", "after"), policy="accept"))
    verdict = decide(goto, pkt(port=81), "forward")
    assert verdict.action == "accept" and verdict.rule is None
    assert [r.location for r in verdict.path] == ["g", "ret"]
    # return inside a goto'd chain, itself reached by a jump, returns to the jumping chain
    inner = regular("inner", rule("return", "inner-ret"))
    outer = regular("outer", rule("goto", "to-inner", target="inner"))
    nested = rs(inner, outer, base(rule("jump", "j", target="outer"), rule("drop", "after")))
    verdict = decide(nested, pkt(), "forward")
    assert verdict.rule is not None and verdict.rule.location == "after"
    # chain lookup stays within the table: a same-named chain elsewhere is not used
    other = Chain("sub", "other", "inet", None, rules=(rule("accept"),))
    verdict = decide(rs(other, base(rule("jump", "j", target="sub"))), pkt(), "forward")
    assert verdict.may_allow_uncertain and "missing chain" in verdict.detail


def test_multiple_base_chains_all_must_accept() -> None:
    first = base(rule("accept", "first"), name="a", priority=-10)
    second = base(rule("drop", "second", dports=((22, 22),)), policy="accept", name="b")
    ruleset = rs(second, first)
    verdict = decide(ruleset, pkt(port=22), "forward")
    assert verdict.action == "drop" and verdict.rule is not None
    assert [r.location for r in verdict.path] == ["first", "second"]  # priority order
    verdict = decide(ruleset, pkt(port=443), "forward")
    assert (
        verdict.action == "accept" and verdict.rule is not None and verdict.rule.location == "first"
    )
    # a drop in the earlier chain is final
    early_drop = rs(base(rule("drop", "x"), name="a", priority=-10), base(rule("accept"), name="b"))
    assert decide(early_drop, pkt(), "forward").rule.location == "x"  # type: ignore[union-attr]


def test_uncertain_rules_fail_closed() -> None:
    maybe_accept = rule("accept", "maybe", dst=net("10.0.1.0/24"), uncertain=True)
    ruleset = rs(base(maybe_accept))
    verdict = decide(ruleset, pkt(), "forward")
    assert verdict.action == "accept" and verdict.may_allow_uncertain
    assert verdict.rule is maybe_accept and "uncertain" in verdict.detail
    # the understood part does not match: the real rule cannot match either
    certain = decide(ruleset, pkt(dst="10.0.2.1"), "forward")
    assert certain.action == "drop" and not certain.may_allow_uncertain
    # an uncertain drop may not apply: the packet may reach the accept behind it
    maybe_drop = rs(base(rule("drop", "maybe-drop", uncertain=True), rule("accept", "ok")))
    verdict = decide(maybe_drop, pkt(), "forward")
    assert verdict.action == "accept" and verdict.may_allow_uncertain
    assert verdict.rule is not None and verdict.rule.location == "ok"
    # ... but if every reading drops, the drop is certain
    both_drop = rs(base(rule("drop", "maybe-drop", uncertain=True), policy="drop"))
    verdict = decide(both_drop, pkt(), "forward")
    assert verdict.action == "drop" and not verdict.may_allow_uncertain
    # an uncertain accept followed by an accept-all is a certain accept
    sure = rs(base(maybe_accept, rule("accept", "all")))
    assert not decide(sure, pkt(), "forward").may_allow_uncertain
    # an unknown verdict may accept, drop or go on
    unknown = rs(base(rule("unknown", "queue", uncertain=True)))
    verdict = decide(unknown, pkt(), "forward")
    assert verdict.action == "accept" and verdict.may_allow_uncertain


def test_uncertain_jump_and_missing_chain() -> None:
    sub = regular("sub", rule("drop", "sub-drop"))
    ruleset = rs(sub, base(rule("jump", "j", target="sub", uncertain=True), policy="accept"))
    verdict = decide(ruleset, pkt(), "forward")
    assert verdict.action == "accept" and verdict.may_allow_uncertain
    missing = rs(base(rule("jump", "j", target="nowhere")))
    verdict = decide(missing, pkt(), "forward")
    assert verdict.action == "accept" and verdict.may_allow_uncertain
    assert "missing chain" in verdict.detail


def test_loops_and_explosions_terminate() -> None:
    loop = rs(
        regular("a", rule("goto", "ga", target="b")), regular("b", rule("goto", "gb", target="a"))
    )
    ruleset = rs(*loop.chains, base(rule("jump", "j", target="a")))
    verdict = decide(ruleset, pkt(), "forward")
    assert verdict.action == "accept" and verdict.may_allow_uncertain
    selfjump = rs(regular("a", rule("jump", "ja", target="a")), base(rule("jump", "j", target="a")))
    assert decide(selfjump, pkt(), "forward").may_allow_uncertain
    # 40 uncertain jumps into a chain with uncertain returns: readings are bounded
    sub = regular("sub", rule("return", "r", uncertain=True), rule("drop", "d", uncertain=True))
    many = tuple(rule("jump", f"j{i}", target="sub", uncertain=True) for i in range(40))
    verdict = decide(rs(sub, base(*many, policy="drop")), pkt(), "forward")
    assert verdict.action == "accept" and verdict.may_allow_uncertain


def test_nat_chains_and_translations() -> None:
    pre = base(
        rule(
            "dnat",
            "fwd",
            dports=((8443, 8443),),
            in_iface="wan0",
            nat_to=(ipaddress.ip_address("10.0.1.10"), (443, 443)),
        ),
        rule("dnat", "redir", dports=((80, 80),), nat_to=(None, (3128, 3128))),
        policy="accept",
        hook="prerouting",
        kind="nat",
        table="nat",
        priority=-100,
    )
    post = base(
        rule("masquerade", "masq", out_iface="wan0", nat_to=(None, None)),
        policy="accept",
        hook="postrouting",
        kind="nat",
        table="nat",
        priority=100,
    )
    ruleset = rs(pre, post)
    [t] = dnat(ruleset, pkt(port=8443, iif="wan0"))
    assert (str(t.address), t.port, t.rule.location) == ("10.0.1.10", 443, "fwd")
    [t] = dnat(ruleset, pkt(port=80))
    assert t.address is None and t.port == 3128
    assert dnat(ruleset, pkt(port=8443, iif="lan0")) == []
    assert dnat(ruleset, pkt(port=8443, iif="wan0", state="established")) == []
    [m] = snat(ruleset, pkt(oif="wan0"))
    assert m.rule.location == "masq" and m.address is None
    # nat chains take part in decide only for new connections, and NAT counts as accept
    verdict = decide(ruleset, pkt(port=8443, iif="wan0"), "prerouting")
    assert verdict.action == "accept" and verdict.rule is not None
    assert decide(ruleset, pkt(state="established"), "prerouting").path == ()
    # an uncertain DNAT: it may or may not translate
    maybe = rs(
        base(
            rule("dnat", "maybe", uncertain=True, nat_to=(ipaddress.ip_address("10.0.1.10"), None)),
            rule("dnat", "other", nat_to=(ipaddress.ip_address("10.0.1.11"), None)),
            policy="accept",
            hook="prerouting",
            kind="nat",
        )
    )
    assert [t.rule.location for t in dnat(maybe, pkt())] == ["maybe", "other"]


def _linear(ruleset: Ruleset, packet: Packet, hook: Hook) -> str:
    """A straightforward reference evaluator for certain rules (no index, no uncertainty)."""
    chains = {(c.family, c.table, c.name): c for c in ruleset.chains}
    p = evaluate._Pkt(packet)
    for chain in sorted((c for c in ruleset.chains if c.hook == hook), key=lambda c: c.priority):
        stack: list[tuple[Chain, int]] = []
        current, i = chain, 0
        verdict = None
        while verdict is None:
            if i >= len(current.rules):
                if not stack:
                    verdict = chain.policy
                    break
                current, i = stack.pop()
                continue
            r = current.rules[i]
            i += 1
            if not evaluate._Compiled(0, r).matches(p):
                continue
            if r.action in ("accept", "drop"):
                verdict = r.action
            elif r.action == "return":
                if not stack:
                    verdict = chain.policy
                else:
                    current, i = stack.pop()
            elif r.action == "jump":
                stack.append((current, i))
                current, i = chains[(current.family, current.table, r.target or "")], 0
        if verdict == "drop":
            return "drop"
    return "accept"


def _random_ruleset(rng: random.Random, size: int) -> Ruleset:
    def cidr() -> tuple[ipaddress.IPv4Network, ...]:
        if rng.random() < 0.15:
            return ()
        length = rng.choice([20, 24, 26, 28, 30, 32])
        value = 0x0A000000 | rng.randrange(0, 1 << 12)
        return (ipaddress.IPv4Network((value, length), strict=False),)

    def random_rule(allow_jump: bool) -> Rule:
        action = rng.choice(["accept", "drop", "return"] + (["jump"] if allow_jump else []))
        port = rng.randrange(1, 100)
        return rule(
            action,
            target="sub" if action == "jump" else None,
            src=cidr(),
            dst=cidr(),
            src_negate=rng.random() < 0.1,
            dports=((port, port + rng.randrange(0, 30)),) if rng.random() < 0.5 else (),
        )

    sub = regular("sub", *(random_rule(False) for _ in range(size // 4)))
    main = base(*(random_rule(True) for _ in range(size)), policy=rng.choice(["accept", "drop"]))
    return rs(sub, main)


@pytest.mark.parametrize("seed", range(6))
def test_index_agrees_with_linear_reference(seed: int) -> None:
    rng = random.Random(seed)
    ruleset = _random_ruleset(rng, 300)
    ev = evaluator(ruleset)
    assert any(c.indexed for c in ev.chains.values())
    for _ in range(300):
        src = ipaddress.IPv4Address(0x0A000000 | rng.randrange(0, 1 << 12))
        dst = ipaddress.IPv4Address(0x0A000000 | rng.randrange(0, 1 << 12))
        packet = Packet(src, dst, "tcp", rng.randrange(1, 130), "lan0", "dmz0")
        assert ev.decide(packet, "forward").action == _linear(ruleset, packet, "forward")


def test_classes_are_equivalence_classes() -> None:
    rng = random.Random(7)
    ruleset = _random_ruleset(rng, 200)
    cls = classes(ruleset)
    assert cls.v4[0] == 0 and cls.ports[0] == 0
    for _ in range(200):
        a = ipaddress.IPv4Address(0x0A000000 | rng.randrange(0, 1 << 12))
        version, index = cls.address_class(a)
        start = cls.v4[index]
        end = cls.v4[index + 1] - 1 if index + 1 < len(cls.v4) else (1 << 32) - 1
        b = ipaddress.IPv4Address(rng.randint(start, end))
        assert cls.address_class(b) == (version, index)
        port = rng.randrange(1, 130)
        same_port = cls.ports[cls.port_class(port)]
        for x, y in ((a, b),):
            p1 = Packet(x, ipaddress.IPv4Address("10.1.2.3"), "tcp", port, "lan0", "dmz0")
            p2 = Packet(y, ipaddress.IPv4Address("10.1.2.3"), "tcp", same_port, "lan0", "dmz0")
            assert decide(ruleset, p1, "forward").action == decide(ruleset, p2, "forward").action
    reps = cls.representatives(ipaddress.ip_network("10.0.0.0/8"))
    assert reps[0] == ipaddress.ip_address("10.0.0.0")
    assert len({cls.address_class(r) for r in reps}) == len(reps)
    assert cls.port_representatives(0, 65535)[0] == 0
    v6 = classes(rs(base(rule(dst=net("2001:db8::/32")))))
    assert [str(r) for r in v6.representatives(ipaddress.ip_network("2001:db8::/31"))] == [
        "2001:db8::",
        "2001:db9::",
    ]


def test_evaluator_cache_is_by_identity() -> None:
    one = rs(base(rule()))
    assert evaluator(one) is evaluator(one)
    assert evaluator(rs(base(rule()))) is not evaluator(one)
