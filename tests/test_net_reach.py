"""The reachability engine: multi-hop, NAT, classes, ports, routing modes, loops."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import yaml

from gemcheck.network.addrset import AddrSet
from gemcheck.network.iptables import parse_iptables
from gemcheck.network.reach import Reachability, has, shortest
from gemcheck.network.topology import build_topology

TWO_HOPS = """\
zones:
  - {id: internet, kind: internet}
  - {id: lan, kind: lan, cidrs: [10.1.0.0/24], gateway: r1}
  - {id: transfer, kind: dmz, cidrs: [10.2.0.0/24]}
  - {id: dmz, kind: dmz, cidrs: [10.3.0.0/24]}
hosts:
  - {id: web, address: 10.3.0.80, zone: dmz, services: [{port: 443}, {port: 22}]}
  - {id: db, address: 10.3.0.5, zone: dmz}
gateways:
  - id: r1
    type: router
    interfaces:
      - {name: lan0, zone: lan, address: 10.1.0.1}
      - {name: tr0, zone: transfer, address: 10.2.0.1}
    routes: [{to: 0.0.0.0/0, via: r2}]
  - id: r2
    type: firewall
    interfaces:
      - {name: tr0, zone: transfer, address: 10.2.0.2}
      - {name: dmz0, zone: dmz, address: 10.3.0.1}
    routes: [{to: 10.1.0.0/24, via: r1}]
"""

R1 = """\
*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o tr0 -j MASQUERADE
COMMIT
*filter
:FORWARD DROP [0:0]
-A FORWARD -i lan0 -s 10.1.0.0/25 -j ACCEPT
COMMIT
"""

R2 = """\
*filter
:FORWARD DROP [0:0]
-A FORWARD -s 10.2.0.1/32 -d 10.3.0.80/32 -p tcp --dport 443 -j ACCEPT
COMMIT
"""


def _analysis(topology: str, **rulesets: str) -> Reachability:
    topo = build_topology(yaml.safe_load(topology), "network.yaml", "PU", Path("."))
    return Reachability(
        topo, {d: parse_iptables(t, f"{d}.iptables", d) for d, t in rulesets.items()}
    )


def _endpoints(an: Reachability, flows: Any) -> set[str]:
    return {r.endpoint.label for r in an.reached(flows)}


def test_two_firewalls_masquerade_classes_and_ports() -> None:
    an = _analysis(TWO_HOPS, r1=R1, r2=R2)
    flows = [f for f in an.from_zone("lan") if f.end == "dmz"]
    # only the lower half of the LAN passes r1; r2 sees r1's address after masquerading
    assert {str(n) for f in flows for n in f.src.networks()} == {"10.1.0.0/25"}
    assert _endpoints(an, flows) == {"web:443/tcp"}
    best = shortest(an.reached(flows))
    assert best is not None
    assert best.witness() == (
        "lan",
        "r1",
        "r1.iptables:7 -A FORWARD -i lan0 -s 10.1.0.0/25 -j ACCEPT",
        "r2",
        "r2.iptables:3 -A FORWARD -s 10.2.0.1/32 -d 10.3.0.80/32 -p tcp --dport 443 -j ACCEPT",
        "web:443/tcp",
    )
    hop = best.flow.hops[0]
    assert hop.snat.startswith("r1.iptables:3") and hop.route == "route 0.0.0.0/0 via r2"


def test_without_masquerade_the_second_firewall_drops() -> None:
    an = _analysis(TWO_HOPS, r1=R1.replace("-A POSTROUTING -o tr0 -j MASQUERADE\n", ""), r2=R2)
    assert [f for f in an.from_zone("lan") if f.end == "dmz"] == []


def test_internet_reaches_only_public_destinations() -> None:
    topology = TWO_HOPS.replace(
        "      - {name: tr0, zone: transfer, address: 10.2.0.1}\n",
        "      - {name: tr0, zone: transfer, address: 10.2.0.1}\n"
        "      - {name: ppp0, zone: internet, address: 198.51.100.7}\n",
    )
    an = _analysis(topology)  # no firewalls at all: everything is forwarded
    ends = _endpoints(an, an.from_zone("internet"))
    assert ends == {"r1:any/tcp", "r1:any/udp"}  # its public address only
    topology = topology.replace("zones:\n", "options: {internet_reaches_private: true}\nzones:\n")
    topology = "version: 1\n" + topology
    an = _analysis(topology)
    assert {"web:443/tcp", "db:any/tcp"} <= _endpoints(an, an.from_zone("internet"))


def test_configured_routing_uses_only_the_declared_gateway() -> None:
    topology = TWO_HOPS.replace(
        "      - {name: dmz0, zone: dmz, address: 10.3.0.1}\n",
        "      - {name: dmz0, zone: dmz, address: 10.3.0.1}\n"
        "      - {name: lan9, zone: lan, address: 10.1.0.254}\n",
    )
    an = _analysis(topology)
    web = AddrSet.of([ipaddress.ip_network("10.3.0.80/32")])
    anyhop = an.from_zone("lan", web)
    configured = an.from_zone("lan", web, mode="configured")
    assert {f.hops[0].gateway for f in anyhop} == {"r1", "r2"}
    assert {f.hops[0].gateway for f in configured} == {"r1"}


def test_routing_loops_end() -> None:
    topology = TWO_HOPS.replace(
        "routes: [{to: 10.1.0.0/24, via: r1}]", "routes: [{to: 0.0.0.0/0, via: r1}]"
    )
    an = _analysis(topology)
    flows = an.from_zone("lan", AddrSet.of([ipaddress.ip_network("203.0.113.0/24")]))
    assert all(len(f.hops) <= 16 for f in flows)


def test_dnat_to_the_gateway_itself_and_preimages() -> None:
    r2 = """\
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i tr0 -p tcp --dport 80 -j REDIRECT --to-ports 8080
-A PREROUTING -i tr0 -d 10.2.0.2/32 -p tcp --dport 2222 -j DNAT --to-destination 10.3.0.80:22
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A INPUT -p tcp --dport 8080 -j ACCEPT
-A FORWARD -d 10.3.0.80/32 -p tcp --dport 22 -j ACCEPT
COMMIT
"""
    an = _analysis(TWO_HOPS, r1=R1, r2=r2)
    reached = list(an.reached(an.from_zone("lan")))
    forwarded = [r for r in reached if r.endpoint.label == "web:22/tcp"]
    assert {r.flow.ports for r in forwarded} == {((22, 22),), ((2222, 2222),)}
    via_dnat = next(r for r in forwarded if r.flow.ports == ((2222, 2222),))
    assert via_dnat.witness()[4].startswith("r2.iptables:4 ")  # the DNAT rule
    assert {str(n) for n in via_dnat.flow.dst.networks()} == {"10.2.0.2/32"}
    gw = [r for r in reached if r.endpoint.node == "r2"]
    assert {r.flow.end_ports for r in gw} == {((8080, 8080),)}
    assert {r.flow.ports for r in gw} == {((80, 80),), ((8080, 8080),)}
    web = AddrSet.of([ipaddress.ip_network("10.3.0.80/32")])
    pre = an.dnat_preimages(web)
    assert all(has(pre, 4, int(ipaddress.ip_address(a))) for a in ("10.3.0.80", "10.2.0.2"))
    plain = _analysis(TWO_HOPS, r1=R1, r2=R2)
    assert plain.dnat_preimages(web) == web
