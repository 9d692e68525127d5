"""The isolation rules on planted exposures and on clean configurations, witnesses exact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.net_support import (
    Cli,
    audit,
    failures,
    line_of,
    netns_unavailable,
    nft_json,
    parallel_site,
    results,
)


def _parallel(cli: Cli, tmp_path: Path, **kw: object) -> tuple[int, dict, str]:
    topology, router = parallel_site(**kw)  # type: ignore[arg-type]
    code, report = audit(cli, tmp_path, topology, {"router": ("router.iptables", router)})
    return code, report, router


def test_clean_parallel_site_has_no_finding(cli: Cli, tmp_path: Path) -> None:
    code, report, _ = _parallel(cli, tmp_path)
    assert failures(report) == []
    assert report["summary"]["error"] == 0
    assert report["data_room"] == {
        "verdict": "contained",
        "systems": [{"id": "pvs", "score": 100.0, "verdict": "contained", "exposures": []}],
    }
    assert code == 0


def test_forgotten_accept_from_guest_wifi(cli: Cli, tmp_path: Path) -> None:
    code, report, router = _parallel(cli, tmp_path, guest_leak=True)
    assert failures(report) == [("NET-ISO-001", "pvs")]
    fail = results(report, "NET-ISO-001")["pvs"]
    n = line_of(router, "-A FORWARD -i wlan1 -j ACCEPT")
    assert fail["evidence"]["path"] == [
        "gaeste",
        "router",
        f"router.iptables:{n} -A FORWARD -i wlan1 -j ACCEPT",
        "pvs:443/tcp",
    ]
    assert fail["evidence"]["sources"] == ["gaeste"]
    assert fail["evidence"]["endpoints"] == ["pvs:443/tcp", "pvs:5432/tcp"]
    assert fail["severity"] == "critical"
    room = report["data_room"]["systems"][0]
    assert (room["verdict"], room["score"]) == ("at-risk", 40.0)
    assert room["exposures"][0]["rule"] == "NET-ISO-001"
    assert code == 1


def test_pvs_with_direct_internet_egress(cli: Cli, tmp_path: Path) -> None:
    _, report, router = _parallel(cli, tmp_path, pvs_block=False)
    assert failures(report) == [("NET-EGR-001", "pvs")]
    n = line_of(router, "-A FORWARD -i eth0 -o ppp0 -j ACCEPT")
    assert results(report, "NET-EGR-001")["pvs"]["evidence"]["path"] == [
        "pvs",
        "router",
        f"router.iptables:{n} -A FORWARD -i eth0 -o ppp0 -j ACCEPT",
        "internet:any/tcp",
    ]
    assert report["data_room"]["systems"][0]["score"] == 60.0


def test_nat_port_forward_from_wan_to_pvs_breaches(cli: Cli, tmp_path: Path) -> None:
    code, report, router = _parallel(cli, tmp_path, port_forward=True)
    assert failures(report) == [("NET-ISO-001", "pvs")]
    dnat = line_of(router, "-j DNAT")
    fwd = line_of(router, "-A FORWARD -i ppp0 -o eth0")
    assert results(report, "NET-ISO-001")["pvs"]["evidence"]["path"] == [
        "internet",
        "router",
        f"router.iptables:{dnat} -A PREROUTING -i ppp0 -p tcp -m tcp --dport 8443 -j DNAT "
        "--to-destination 192.168.10.10:443",
        f"router.iptables:{fwd} -A FORWARD -i ppp0 -o eth0 -d 192.168.10.10/32 -p tcp -m tcp "
        "--dport 443 -j ACCEPT",
        "pvs:443/tcp",
    ]
    assert report["data_room"]["verdict"] == "breached"
    assert report["data_room"]["systems"][0]["score"] == 0.0
    assert any("data room is breached" in r for r in report["gate"]["reasons"])
    assert code == 1


def test_port_forward_without_forward_accept_exposes_nothing(cli: Cli, tmp_path: Path) -> None:
    topology, router = parallel_site(port_forward=True)
    router = router.replace(
        "-A FORWARD -i ppp0 -o eth0 -d 192.168.10.10/32 -p tcp -m tcp --dport 443 -j ACCEPT\n", ""
    )
    _, report = audit(cli, tmp_path, topology, {"router": ("router.iptables", router)})
    assert failures(report) == []


def test_parallel_konnektor_bypassed_by_a_router_route(cli: Cli, tmp_path: Path) -> None:
    _, report, router = _parallel(cli, tmp_path, ti_next_hop="198.51.100.1")
    assert failures(report) == [("NET-TI-001", "praxis")]
    fail = results(report, "NET-TI-001")["praxis"]
    n = line_of(router, "-A FORWARD -i eth0 -o ppp0 -j ACCEPT")
    assert fail["evidence"]["path"] == [
        "praxis",
        "router",
        "route 100.64.0.0/10 via 198.51.100.1",
        f"router.iptables:{n} -A FORWARD -i eth0 -o ppp0 -j ACCEPT",
        "internet:any/tcp",
    ]
    # the PVS's own traffic is blocked towards the internet line: not exposed by this route
    assert fail["evidence"]["exposed"] == []
    assert results(report, "NET-TI-001", "pass").keys() == set()


def test_route_through_the_konnektor_passes(cli: Cli, tmp_path: Path) -> None:
    _, report, _ = _parallel(cli, tmp_path)
    assert set(results(report, "NET-TI-001", "pass")) == {"praxis"}


INLINE = """\
version: 1
zones:
  - {id: internet, kind: internet}
  - {id: transfer, kind: dmz, cidrs: [192.168.178.0/24]}
  - {id: praxis, kind: lan, cidrs: [192.168.10.0/24], gateway: konnektor}
  - {id: kt, kind: lan, cidrs: [192.168.30.0/24], gateway: fw}
  - {id: admin, kind: admin, cidrs: [192.168.20.0/24], gateway: fw}
hosts:
  - {id: pvs, address: 192.168.10.10, zone: praxis, role: pvs, patient_data: true,
     services: [{port: 5432}]}
  - {id: ws1, address: 192.168.10.21, zone: praxis, role: workstation, services: []}
  - {id: kt1, address: 192.168.30.11, zone: kt, role: card-terminal,
     services: [{port: 4742, name: sicct}, {port: 443, name: web-ui, management: true}]}
  - {id: admin-pc, address: 192.168.20.5, zone: admin, role: admin-pc, services: []}
gateways:
  - id: router
    type: router
    interfaces:
      - {name: ppp0, zone: internet, address: 198.51.100.23}
      - {name: eth1, zone: transfer, address: 192.168.178.1}
  - id: konnektor
    type: konnektor
    mode: in-line
    interfaces:
      - {name: lan, zone: praxis, address: 192.168.10.1, role: lan}
      - {name: wan, zone: transfer, address: 192.168.178.2, role: wan}
    tunnels:
      - {name: vpn_ti, type: vpn-ti}
      - {name: vpn_sis, type: vpn-sis}
    routes:
      - {to: 0.0.0.0/0, via: 192.168.178.1}
      - {to: 192.168.20.0/23, via: fw}
    KONNEKTOR_SERVICES
  - id: fw
    type: firewall
    interfaces:
      - {name: lan0, zone: praxis, address: 192.168.10.254}
      - {name: adm0, zone: admin, address: 192.168.20.1}
      - {name: kt0, zone: kt, address: 192.168.30.1}
    routes:
      - {to: 0.0.0.0/0, via: konnektor}
"""

FW = """\
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "adm0" ip saddr 192.168.20.0/24 accept
    iifname "lan0" oifname "kt0" ip saddr 192.168.10.1 tcp dport 4742 accept
    LEAK
  }
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
  }
}
"""


CLOSED_FW = "format: gemcheck-firewall/1\ndevice: fw\npolicy: drop\nrules: []\n"


def _inline(konnektor_services: str = "services: [{port: 443, name: soap}]") -> str:
    return INLINE.replace("KONNEKTOR_SERVICES", konnektor_services)


def test_konnektor_admin_ui_reachable_from_the_lan(cli: Cli, tmp_path: Path) -> None:
    topology = _inline("services: [{port: 443}, {port: 8443, name: admin, management: true}]")
    fw = CLOSED_FW
    code, report = audit(cli, tmp_path, topology, {"fw": ("fw.yaml", fw)})
    assert failures(report) == [("NET-MGT-001", "konnektor:8443/tcp")]
    fail = results(report, "NET-MGT-001")["konnektor:8443/tcp"]
    assert fail["evidence"]["path"] == [
        "praxis",
        "model TIP1-A_4806 services and management from the LAN side (lan)",
        "konnektor:8443/tcp",
    ]
    assert fail["evidence"]["sources"] == ["praxis"]
    assert set(results(report, "NET-MGT-001", "pass")) == {"kt1:443/tcp"}
    assert report["data_room"]["verdict"] == "contained"  # the Konnektor holds no records
    assert code == 0  # medium severity: below the default --fail-on high


@pytest.mark.skipif(netns_unavailable() is not None, reason=str(netns_unavailable()))
def test_card_terminal_ui_opened_to_the_lan_in_a_real_nft_export(cli: Cli, tmp_path: Path) -> None:
    clean = nft_json(FW.replace("LEAK", ""), f"gcnet{os.getpid()}a")
    code, report = audit(cli, tmp_path, _inline(), {"fw": ("fw.nft.json", clean)})
    assert failures(report) == [] and report["summary"]["error"] == 0, failures(report)
    assert set(results(report, "NET-MGT-001", "pass")) == {"kt1:443/tcp"}
    assert code == 0

    leak = nft_json(
        FW.replace("LEAK", 'iifname "lan0" oifname "kt0" accept'), f"gcnet{os.getpid()}b"
    )
    _, report = audit(cli, tmp_path, _inline(), {"fw": ("fw.nft.json", leak)})
    assert failures(report) == [("NET-MGT-001", "kt1:443/tcp")]
    path = results(report, "NET-MGT-001")["kt1:443/tcp"]["evidence"]["path"]
    assert path[:2] == ["praxis", "fw"]
    assert path[2].startswith("fw.nft.json#nftables[") and path[2].endswith(
        'iifname "lan0" oifname "kt0" accept'
    ), path
    assert path[3] == "kt1:443/tcp"


def test_ti_may_not_open_connections_into_the_lan(cli: Cli, tmp_path: Path) -> None:
    topology = _inline().replace("      - {name: vpn_sis, type: vpn-sis}\n", "")
    konnektor = (
        "format: gemcheck-firewall/1\ndevice: konnektor\npolicy: drop\nrules:\n"
        "  - {action: accept, in: lan, out: vpn_ti}\n"
        "  - {action: accept, in: vpn_ti, out: lan, dst: 192.168.10.10}\n"
    )
    fw = CLOSED_FW
    _, report = audit(
        cli, tmp_path, topology, {"konnektor": ("konnektor.yaml", konnektor), "fw": ("fw.yaml", fw)}
    )
    assert ("NET-TIIN-001", "praxis") in failures(report)
    fail = results(report, "NET-TIIN-001")["praxis"]
    assert fail["evidence"]["path"][0] in {
        "ti-dezentral",
        "ti-zentral",
        "ti-gesicherte-fd",
        "ti-offene-fd",
    }
    assert fail["evidence"]["path"][1:3] == ["konnektor", fail["evidence"]["path"][2]]
    assert fail["evidence"]["path"][-1] == "pvs:5432/tcp"
    assert fail["evidence"]["exposed"] == ["pvs"]


def test_default_konnektor_model_blocks_the_ti(cli: Cli, tmp_path: Path) -> None:
    fw = CLOSED_FW
    _, report = audit(cli, tmp_path, _inline(), {"fw": ("fw.yaml", fw)})
    assert set(results(report, "NET-TIIN-001", "pass")) == {"praxis", "kt", "admin", "transfer"}


def test_ti_overlap_lan_cgnat_wan_and_other_environment(cli: Cli, tmp_path: Path) -> None:
    topology = (
        _inline()
        .replace("cidrs: [192.168.30.0/24]", "cidrs: [100.70.30.0/24]")
        .replace("192.168.30.", "100.70.30.")
        .replace("address: 198.51.100.23", "address: 100.80.1.2")
        .replace("cidrs: [192.168.20.0/24]", "cidrs: [172.20.20.0/24]")
        .replace("192.168.20.", "172.20.20.")
        .replace("192.168.20.0/23", "172.20.20.0/24")
        .replace("ip saddr 192.168.20.0/24", "ip saddr 172.20.20.0/24")
    )
    fw = CLOSED_FW
    _, report = audit(cli, tmp_path, topology, {"fw": ("fw.yaml", fw)})
    adr = results(report, "NET-ADR-001")
    assert set(adr) == {"kt", "router/ppp0"}
    assert adr["kt"]["message"] == "100.70.30.0/24 overlaps PU TI range 100.64.0.0/10"
    assert adr["router/ppp0"]["message"] == "100.80.1.2/32 overlaps PU TI range 100.64.0.0/10"
    info = results(report, "NET-ADR-002")
    assert set(info) == {"admin"}
    assert info["admin"]["severity"] == "info"
    assert "172.16.0.0/12" in info["admin"]["message"]


def test_patient_data_behind_a_proxy_passes(cli: Cli, tmp_path: Path) -> None:
    topology, router = parallel_site()
    topology = topology.replace(
        "  - {id: ws1,",
        "  - {id: proxy, address: 192.168.10.30, zone: praxis, role: proxy,"
        " services: [{port: 3128}]}\n  - {id: ws1,",
    )
    _, report = audit(cli, tmp_path, topology, {"router": ("router.iptables", router)})
    assert set(results(report, "NET-EGR-001", "pass")) == {"pvs"}


def test_uncertain_rule_is_fail_closed_and_reported(cli: Cli, tmp_path: Path) -> None:
    topology, router = parallel_site()
    router = router.replace(
        "-A FORWARD -i wlan1 -o ppp0 -j ACCEPT\n",
        "-A FORWARD -i wlan1 -o ppp0 -j ACCEPT\n"
        "-A FORWARD -i wlan1 -m set --match-set trusted src -j ACCEPT\n",
    )
    _, report = audit(cli, tmp_path, topology, {"router": ("router.iptables", router)})
    assert set(failures(report)) == {("NET-ISO-001", "pvs"), ("NET-IMP-001", "router")}
    iso = results(report, "NET-ISO-001")["pvs"]
    assert iso["evidence"]["uncertain"] is True
    assert "may allow" in iso["message"]
    n = line_of(router, "--match-set")
    assert iso["evidence"]["path"][2] == (
        f"router.iptables:{n} -A FORWARD -i wlan1 -m set --match-set trusted src -j ACCEPT "
        "(uncertain rule: may allow)"
    )
    imp = results(report, "NET-IMP-001")["router"]
    assert any(f"router.iptables:{n}" in p for p in imp["evidence"]["problems"])


def test_unreadable_export_is_assumed_open(cli: Cli, tmp_path: Path) -> None:
    topology, _ = parallel_site()
    _, report = audit(cli, tmp_path, topology, {"router": ("router.iptables", "\x00garbage")})
    fails = dict(failures(report))
    assert fails["NET-IMP-001"] == "router"
    iso = results(report, "NET-ISO-001")["pvs"]
    assert iso["evidence"]["uncertain"] is True
    assert iso["evidence"]["sources"] == ["gaeste", "internet"] or iso["evidence"]["sources"] == [
        "gaeste"
    ]


def test_firewall_without_export_is_reported(cli: Cli, tmp_path: Path) -> None:
    _, report = audit(cli, tmp_path, _inline())
    imp = results(report, "NET-IMP-001")
    assert "fw" in imp
    assert "no ruleset" in imp["fw"]["message"]


def test_ipv6_left_open_behind_an_ipv4_only_firewall(cli: Cli, tmp_path: Path) -> None:
    topology, router = parallel_site()
    topology = (
        topology.replace("cidrs: [192.168.10.0/24]", "cidrs: [192.168.10.0/24, 2001:db8:10::/64]")
        .replace("address: 192.168.10.10", "addresses: [192.168.10.10, '2001:db8:10::10']")
        .replace(
            "address: 192.168.10.254}",
            "address: 192.168.10.254}\n"
            "      - {name: eth0v6, zone: praxis, address: '2001:db8:10::1'}",
        )
    )
    code, report = audit(cli, tmp_path, topology, {"router": ("router.iptables", router)})
    # the export is iptables-save only: IPv6 is not filtered at all
    assert failures(report) == [("NET-EGR-001", "pvs"), ("NET-ISO-001", "pvs")]
    assert results(report, "NET-ISO-001")["pvs"]["evidence"]["path"] == [
        "internet",
        "router",
        "no IPv6 base chain on hook forward",
        "pvs:443/tcp",
    ]
    assert report["data_room"]["verdict"] == "breached"
    assert code == 1
