"""The native YAML rule list (schema firewall-1): model, decisions, errors with file and line."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from gemcheck.errors import InputError
from gemcheck.network.evaluate import Packet, decide, dnat
from gemcheck.network.load import load_firewall
from gemcheck.network.yamlrules import parse_yaml_rules

SIMPLE = """\
format: gemcheck-firewall/1
device: konnektor-lan-filter
policy: drop
rules:
  - {action: accept, state: [established, related]}
  - action: accept
    in: lan0
    out: wan0
    proto: tcp
    dport: [80, 443, "8000-8100"]
    comment: web egress
  - action: accept
    src: [10.0.9.0/24, 10.0.8.5]
    dst: 10.0.1.1-10.0.1.9
    dst_negate: true
    proto: [tcp, udp]
"""


def pkt(src: str, dst: str, port: int, iif: str = "lan0", oif: str = "wan0", **kw: str) -> Packet:
    return Packet(
        ipaddress.ip_address(src),
        ipaddress.ip_address(dst),
        kw.get("proto", "tcp"),
        port,
        iif,
        oif,
        kw.get("state", "new"),
    )


def test_shorthand_rules(tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(SIMPLE)
    rs = load_firewall(path)
    assert rs.device == "konnektor-lan-filter" and rs.problems == ()
    [chain] = rs.chains
    assert (chain.name, chain.hook, chain.policy, chain.family) == (
        "forward",
        "forward",
        "drop",
        "inet",
    )
    web = chain.rules[1]
    assert web.location == f"{path}:6"
    assert web.text == "accept in=lan0 out=wan0 proto=tcp dport=80,443,8000-8100 # web egress"
    assert web.match.dports == ((80, 80), (443, 443), (8000, 8100))
    assert decide(rs, pkt("10.0.0.5", "198.51.100.1", 8080), "forward").action == "accept"
    assert decide(rs, pkt("10.0.0.5", "198.51.100.1", 22), "forward").action == "drop"
    admin = pkt("10.0.8.5", "10.0.2.1", 22, "adm0", "lan0", proto="udp")
    assert decide(rs, admin, "forward").action == "accept"
    assert decide(rs, pkt("10.0.8.5", "10.0.1.5", 22, "adm0", "lan0"), "forward").action == "drop"
    # device given by the caller wins
    assert load_firewall(path, device="other").device == "other"


def test_chains_jumps_nat_and_uncertain() -> None:
    text = """\
family: ip
chains:
  - name: pre
    kind: nat
    hook: prerouting
    rules:
      - {action: dnat, in: wan0, proto: tcp, dport: 8443, to: "10.0.1.10:443"}
  - name: forward
    hook: forward
    policy: drop
    rules:
      - {action: jump, target: from-wan, in: wan0}
      - {action: accept, in: lan0}
  - name: from-wan
    rules:
      - {action: accept, dst: 10.0.1.10, proto: tcp, dport: 443}
      - {action: drop, src: 203.0.113.0/24, uncertain: true, comment: vendor GUI geo-block}
      - {action: return}
"""
    rs = parse_yaml_rules(text, "c.yaml")
    pre, _, from_wan = rs.chains
    assert (pre.table, pre.kind, pre.priority, pre.family) == ("nat", "nat", -100, "ip")
    assert from_wan.hook is None and from_wan.rules[1].uncertain
    [t] = dnat(rs, pkt("198.51.100.9", "192.0.2.1", 8443, "wan0", ""))
    assert (str(t.address), t.port) == ("10.0.1.10", 443)
    verdict = decide(rs, pkt("198.51.100.9", "10.0.1.10", 443, "wan0", "lan0"), "forward")
    assert verdict.action == "accept" and [r.location for r in verdict.path] == [
        "c.yaml:12",
        "c.yaml:16",
    ]
    assert (
        decide(rs, pkt("198.51.100.9", "10.0.1.11", 443, "wan0", "lan0"), "forward").action
        == "drop"
    )
    maybe = decide(rs, pkt("203.0.113.9", "10.0.1.11", 22, "wan0", "lan0"), "forward")
    assert maybe.action == "drop"  # either reading drops: uncertain drop or the policy


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("rules: [{action: allow}]", "$.rules[0].action", "allow"),
        ("rules: [{action: jump}]", "$.rules[0]", "target"),
        ("rules: [{action: dnat}]", "$.rules[0]", "to"),
        ("rules: [{action: accept, dport: 70000}]", "$.rules[0].dport", ""),
        ("rules: [{action: accept, colour: red}]", "$.rules[0]", "colour"),
        ("rules: []\nchains: []", "$", ""),
        ("policy: drop", "$", ""),
        ("rules:\n  - {action: accept, src: 10.0.0.300}", "c.yaml:2", "10.0.0.300"),
        ("rules:\n  - {action: accept, dport: '90-80'}", "c.yaml:2", "90-80"),
        ("rules:\n  - {action: dnat, to: '10.0.0.1-10.0.0.3'}", "c.yaml:2", "range"),
        ("chains:\n  - name: a\n    rules: [{action: goto, target: b}]", "c.yaml:3", "missing"),
        ("chains: [{name: a}, {name: a}]", "$", "twice"),
        ("rules: [{action: accept, src: 10.0.0.0/8, dst: 2001:db8::/32}]", "c.yaml:1", ""),
        ("a: &x [1]\nb: *x", "line 2, column 4", "aliases"),
        ("rules: [", "line 1, column 9", "YAML"),
        ("[" * 5000, "$", "nested"),
        ("- just\n- a list", "$", ""),
    ],
)
def test_errors_name_file_and_place(text: str, where: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_yaml_rules(text, "c.yaml")
    problem = info.value.problems[0]
    assert problem.file == "c.yaml"
    assert problem.where.startswith(where) or str(problem).startswith(where), str(problem)
    assert message in str(info.value)
