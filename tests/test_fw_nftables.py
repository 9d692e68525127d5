"""nftables import: the JSON comes from the real ``nft`` tool inside a network namespace.

The namespace ``gc-test-<random>`` is created for this module and deleted afterwards; nothing
is loaded into the host's own ruleset. Needs root, ``ip`` (iproute2) and ``nft`` (nftables).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gemcheck.network.evaluate import Packet, decide, dnat, snat
from gemcheck.network.load import load_firewall
from gemcheck.network.rules import Ruleset

Export = Callable[[str], Path]


def _run(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        args, input=stdin, capture_output=True, text=True, timeout=20, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    """A fresh network namespace, deleted in teardown."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace (ip netns add)")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` not installed (apt-get install -y nftables iproute2)")
    name = f"gc-test-{secrets.token_hex(4)}"
    try:
        _run("ip", "netns", "add", name)
    except RuntimeError as exc:
        pytest.skip(f"cannot create a network namespace here: {exc}")
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=20)


@pytest.fixture
def export(netns: str, tmp_path: Path) -> Export:
    """Load nft rules into the namespace and return the ``nft -j list ruleset`` file."""

    def run(rules: str) -> Path:
        source = tmp_path / "rules.nft"
        source.write_text("flush ruleset\n" + rules, encoding="utf-8")
        _run("ip", "netns", "exec", netns, "nft", "-f", str(source))
        out = tmp_path / "ruleset.json"
        out.write_text(_run("ip", "netns", "exec", netns, "nft", "-j", "list", "ruleset"))
        return out

    return run


def _a(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def _pkt(src: str, dst: str, port: int | None, iif: str, oif: str, **kw: str) -> Packet:
    return Packet(_a(src), _a(dst), kw.pop("proto", "tcp"), port, iif, oif, **kw)


ROUTER = """
table inet filter {
  set admins { type ipv4_addr; flags interval; elements = { 10.0.9.0/24, 10.0.8.5 } }
  set mgmt_ports { type inet_service; elements = { 22, 443 } }
  chain guest {
    ip daddr 10.0.0.0/8 drop
    tcp dport { 80, 443 } accept
    return
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    GUEST_LEAK
    iifname "wlan*" jump guest
    iifname "lan0" oifname "wan0" meta l4proto { tcp, udp } accept
    ip saddr @admins tcp dport @mgmt_ports counter accept
    iifname "wan0" oifname "lan0" ip daddr 10.0.1.10 tcp dport 443 accept
  }
}
table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan0" tcp dport 8443 dnat to 10.0.1.10:443
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade
  }
}
"""

GUEST = _pkt("10.0.50.7", "10.0.1.10", 443, "wlan0", "lan0")
"""A guest Wi-Fi client trying the PVS's HTTPS port."""


def _router(export: Export, leak: str = "") -> tuple[Ruleset, Path]:
    path = export(ROUTER.replace("GUEST_LEAK", leak))
    return load_firewall(path), path


def test_model_of_real_export(export: Export) -> None:
    rs, path = _router(export)
    assert rs.problems == ()
    chains = {(c.family, c.table, c.name): c for c in rs.chains}
    forward = chains[("inet", "filter", "forward")]
    assert (forward.hook, forward.kind, forward.priority, forward.policy) == (
        "forward",
        "filter",
        0,
        "drop",
    )
    assert chains[("inet", "filter", "guest")].hook is None
    pre = chains[("ip", "nat", "prerouting")]
    assert (pre.kind, pre.priority) == ("nat", -100)
    admins = forward.rules[4]
    assert {str(n) for n in admins.match.src} == {"10.0.9.0/24", "10.0.8.5/32"}
    assert admins.match.dports == ((22, 22), (443, 443))
    assert admins.match.protocols == {"tcp"}
    # the location points at the rule object in the export
    index = int(admins.location.rsplit("[", 1)[1].rstrip("]"))
    assert admins.location.startswith(f"{path}#nftables[")
    obj = json.loads(path.read_text())["nftables"][index]
    assert obj["rule"]["chain"] == "forward"
    assert "@admins" in admins.text and admins.text.endswith("accept")


def test_guest_wifi_contained_then_forgotten_accept(export: Export) -> None:
    clean, _ = _router(export)
    verdict = decide(clean, GUEST, "forward")
    assert verdict.action == "drop"
    assert verdict.rule is not None and verdict.rule.text == "ip daddr 10.0.0.0/8 drop"
    assert [r.action for r in verdict.path] == ["jump", "drop"]
    # guests reach the internet on web ports through the guest chain, nothing else
    assert (
        decide(clean, _pkt("10.0.50.7", "198.51.100.1", 443, "wlan0", "wan0"), "forward").action
        == "accept"
    )
    assert (
        decide(clean, _pkt("10.0.50.7", "198.51.100.1", 25, "wlan0", "wan0"), "forward").action
        == "drop"
    )

    leaky, _ = _router(export, leak='iifname "wlan0" oifname "lan0" accept')
    verdict = decide(leaky, GUEST, "forward")
    assert verdict.action == "accept" and not verdict.may_allow_uncertain
    assert verdict.rule is not None
    assert verdict.rule.text == 'iifname "wlan0" oifname "lan0" accept'
    assert verdict.path == (verdict.rule,)


def test_dnat_port_forward_wan_to_pvs(export: Export) -> None:
    rs, _ = _router(export)
    incoming = _pkt("203.0.113.9", "198.51.100.2", 8443, "wan0", "")
    [translation] = dnat(rs, incoming)
    assert translation.address == _a("10.0.1.10") and translation.port == 443
    assert translation.rule.action == "dnat" and "dnat to 10.0.1.10:443" in translation.rule.text
    assert decide(rs, incoming, "prerouting").action == "accept"
    forwarded = _pkt("203.0.113.9", "10.0.1.10", 443, "wan0", "lan0")
    assert decide(rs, forwarded, "forward").action == "accept"
    assert dnat(rs, _pkt("203.0.113.9", "198.51.100.2", 8444, "wan0", "")) == []
    [masq] = snat(rs, _pkt("10.0.0.5", "198.51.100.1", 443, "lan0", "wan0"))
    assert masq.rule.action == "masquerade" and masq.address is None


def test_conntrack_state(export: Export) -> None:
    rs, _ = _router(export)
    reply = _pkt("198.51.100.1", "10.0.0.5", 51000, "wan0", "lan0", ct_state="established")
    verdict = decide(rs, reply, "forward")
    assert verdict.action == "accept" and verdict.rule is not None
    assert verdict.rule.match.ct_states == {"established", "related"}
    assert (
        decide(rs, _pkt("198.51.100.1", "10.0.0.5", 51000, "wan0", "lan0"), "forward").action
        == "drop"
    )
    invalid = _pkt("10.0.9.1", "10.0.0.5", 22, "lan1", "lan0", ct_state="invalid")
    assert decide(rs, invalid, "forward").action == "drop"


def test_sets_and_ipv6(export: Export) -> None:
    rs, _ = _router(export)
    assert (
        decide(rs, _pkt("10.0.8.5", "10.0.0.1", 22, "adm0", "lan0"), "forward").action == "accept"
    )
    assert decide(rs, _pkt("10.0.8.6", "10.0.0.1", 22, "adm0", "lan0"), "forward").action == "drop"
    assert (
        decide(rs, _pkt("10.0.9.200", "10.0.0.1", 80, "adm0", "lan0"), "forward").action == "drop"
    )
    v6 = _pkt("2001:db8::1", "2001:db8:1::1", 22, "adm0", "lan0")
    assert decide(rs, v6, "forward").action == "drop"  # inet chain, v4-only admin set


def test_not_understood_is_kept_and_fail_closed(export: Export) -> None:
    rules = """
table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    meta mark 0x1 accept
    fib daddr type local tcp dport 8080 accept
    tcp dport 22 limit rate 5/minute accept
    tcp flags & (syn|ack) == syn tcp dport 25 drop
  }
}
"""
    path = export(rules)
    rs = load_firewall(path)
    objects = json.loads(path.read_text())["nftables"]
    assert len(rs.problems) == 4
    for problem in rs.problems:
        index = int(problem.split("#nftables[", 1)[1].split("]", 1)[0])
        assert "rule" in objects[index]
        assert "may match" in problem
    [chain] = rs.chains
    assert all(r.uncertain for r in chain.rules)
    assert "meta mark" in rs.problems[0]
    # mark unknown: any packet may be accepted, flagged as depending on an uncertain rule
    verdict = decide(rs, _pkt("192.0.2.1", "192.0.2.2", 443, "eth0", ""), "input")
    assert verdict.action == "accept" and verdict.may_allow_uncertain
    assert verdict.rule is not None and verdict.rule.uncertain


def test_vmap_goto_and_named_map(export: Export) -> None:
    rules = """
table inet filter {
  map svc { type inet_service : verdict; elements = { 22 : drop, 80 : goto web } }
  chain web { ip saddr 10.0.0.0/8 accept; }
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport vmap @svc
    tcp dport vmap { 443 : accept, 8000-8100 : drop }
    ip saddr 192.0.2.1 drop
  }
}
"""
    rs = load_firewall(export(rules))
    assert rs.problems == ()

    def action(src: str, port: int) -> str:
        return decide(rs, _pkt(src, "10.9.9.9", port, "eth0", ""), "input").action

    assert action("10.0.0.1", 22) == "drop"
    assert action("10.0.0.2", 80) == "accept"
    # goto: the end of `web` does not come back to `ip saddr 192.0.2.1 drop` -> policy accept
    assert action("192.0.2.1", 80) == "accept"
    assert action("192.0.2.1", 443) == "accept"
    assert action("10.0.0.1", 8050) == "drop"
    assert action("192.0.2.1", 9000) == "drop"
    assert action("10.0.0.2", 9000) == "accept"


# -- hostile JSON (no nft needed) ------------------------------------------------------------


def _doc(*objects: object) -> str:
    return json.dumps({"nftables": list(objects)})


CHAIN = {
    "chain": {
        "family": "inet",
        "table": "t",
        "name": "c",
        "hook": "input",
        "prio": 0,
        "policy": "drop",
        "type": "filter",
    }
}


def _rule(*expr: object) -> dict[str, object]:
    return {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": list(expr)}}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "line 1 column 1"),
        ("{not json", "line 1 column 2"),
        ("[]", "$"),
        ('{"nftables": {}}', "$"),
        ('{"other": []}', "$"),
        ("[" * 100_000 + "]" * 100_000, "$"),
    ],
)
def test_garbage_is_an_input_error(text: str, where: str) -> None:
    from gemcheck.errors import InputError
    from gemcheck.network.nftables import parse_nftables

    with pytest.raises(InputError) as info:
        parse_nftables(text, "x.json")
    problem = info.value.problems[0]
    assert (problem.file, problem.where) == ("x.json", where)


def test_wrong_types_and_unknown_expressions_become_problems() -> None:
    from gemcheck.network.nftables import parse_nftables

    weird_values = [
        {
            "match": {
                "op": "==",
                "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                "right": True,
            }
        },
        {
            "match": {
                "op": "==",
                "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                "right": 70000,
            }
        },
        {
            "match": {
                "op": "==",
                "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                "right": "not-an-ip",
            }
        },
        {
            "match": {
                "op": "==",
                "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                "right": "@missing",
            }
        },
        {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": {"set": [[1]]}}},
        {"match": "oops"},
        {"match": {"op": "~~", "left": {"ct": {"key": "state"}}, "right": "new"}},
        {"match": {"left": {"ct": {"key": "state"}}, "right": "sleepy"}},
        {"frobnicate": {}},
        {"jump": {"target": 7}},
        {"dnat": {"addr": {"map": "x"}}},
        {"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": 5}},
        [1, 2],
        {"a": 1, "b": 2},
    ]
    objects: list[object] = [
        {"metainfo": {"version": "1.0.6"}},
        "a string",
        {"rule": "not an object"},
        {"chain": {"family": "inet", "table": "t"}},
        {"chain": {"family": 4, "table": "t", "name": "z"}},
        {
            "chain": {
                **CHAIN["chain"],
                "prio": "sometimes",
                "policy": "maybe",
                "hook": "ingress",
                "name": "odd",
            }
        },
        CHAIN,
        {"set": {"family": "inet", "table": "t", "name": "s", "elem": "nope"}},
        {"add": {"rule": {}}},
        *(_rule(e, {"accept": None}) for e in weird_values),
        {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": "nope"}},
        {"rule": {"family": "inet", "table": "t", "chain": "ghost", "expr": [{"drop": None}]}},
        {"rule": {"family": "bridge", "table": "b", "chain": "c", "expr": [{"drop": None}]}},
    ]
    rs = parse_nftables(_doc(*objects), "w.json")
    rules = [r for c in rs.chains for r in c.rules]
    by_location = {r.location for r in rules}
    for index, obj in enumerate(objects):
        if isinstance(obj, dict) and "rule" in obj and isinstance(obj["rule"], dict):
            family = obj["rule"].get("family")
            if family == "inet":
                assert f"w.json#nftables[{index}]" in by_location, obj
    uncertain = [r for r in rules if r.location != f"w.json#nftables[{len(objects) - 2}]"]
    assert all(r.uncertain for r in uncertain)
    assert len(rs.problems) >= len(weird_values) + 8
    assert all(p.startswith("w.json#nftables[") for p in rs.problems)
    assert any("bridge" in p for p in rs.problems)
    assert any("undeclared chain 'ghost'" in p for p in rs.problems)
    assert any("'add'" in p for p in rs.problems)
    # the chain keeps working fail-closed: every packet may be accepted
    verdict = decide(rs, _pkt("192.0.2.1", "192.0.2.2", 22, "eth0", ""), "input")
    assert verdict.action == "accept" and verdict.may_allow_uncertain


def test_dynamic_sets_are_uncertain_and_text_is_bounded() -> None:
    from gemcheck.network.nftables import parse_nftables

    dyn = {
        "set": {
            "family": "inet",
            "table": "t",
            "name": "seen",
            "type": "ipv4_addr",
            "flags": ["dynamic"],
            "elem": ["10.0.0.1"],
        }
    }
    big = {"set": [str(ipaddress.IPv4Address(0x0A000000 + i)) for i in range(5000)]}
    rs = parse_nftables(
        _doc(
            dyn,
            CHAIN,
            _rule(
                {
                    "match": {
                        "op": "==",
                        "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                        "right": "@seen",
                    }
                },
                {"accept": None},
            ),
            _rule(
                {
                    "match": {
                        "op": "==",
                        "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                        "right": big,
                    }
                },
                {"drop": None},
            ),
        ),
        "d.json",
    )
    first, second = rs.chains[0].rules
    assert first.uncertain and "changes at run time" in rs.problems[0]
    assert not second.uncertain and len(second.match.dst) == 5
    assert sum(n.num_addresses for n in second.match.dst) == 5000
    assert len(second.text) <= 300
