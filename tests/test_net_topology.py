"""The network description: defaults, validation, and every problem reported with its place."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from gemcheck.errors import InputError
from gemcheck.network.topology import load_topology, ti_ranges
from tests.conftest import EXAMPLE

MINIMAL = """\
zones:
  - {id: lan, kind: lan, cidrs: [192.168.1.0/24]}
"""


def _load(tmp_path: Path, text: str, env: str = "PU") -> object:
    path = tmp_path / "network.yaml"
    path.write_text(text, encoding="utf-8")
    return load_topology(path, env)


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        _load(tmp_path, text)
    return [str(p) for p in info.value.problems]


def test_ti_and_internet_zones_are_added_with_the_environments_ranges(tmp_path: Path) -> None:
    topo = _load(tmp_path, MINIMAL)
    zones = {z.id: z for z in topo.zones}  # type: ignore[attr-defined]
    assert set(zones) == {
        "lan",
        "internet",
        "ti-dezentral",
        "ti-zentral",
        "ti-gesicherte-fd",
        "ti-offene-fd",
        "sis",
    }
    assert zones["ti-zentral"].networks == (ipaddress.ip_network("100.96.0.0/14"),)
    assert zones["ti-zentral"].implicit
    assert zones["sis"].networks == (ipaddress.ip_network("100.104.0.0/14"),)
    tu = _load(tmp_path, MINIMAL, "TU")
    tu_zones = {z.id: z for z in tu.zones}  # type: ignore[attr-defined]
    assert tu_zones["ti-zentral"].networks == (ipaddress.ip_network("172.24.0.0/14"),)


def test_declared_ti_zone_defaults_to_the_csv_ranges(tmp_path: Path) -> None:
    topo = _load(tmp_path, MINIMAL + "  - {id: ti, kind: ti-gesicherte-fd}\n")
    zone = next(z for z in topo.zones if z.id == "ti")  # type: ignore[attr-defined]
    assert zone.networks == ti_ranges("PU")["ti-gesicherte-fd"]
    assert not zone.implicit


def test_example_description_loads() -> None:
    topo = load_topology(EXAMPLE / "network" / "network.yaml")
    assert {g.id: g.mode for g in topo.gateways} == {
        "router": None,
        "konnektor": "in-line",
        "fw": None,
    }
    assert [h.id for h in topo.hosts if h.patient_data] == ["pvs"]


def test_every_semantic_problem_is_reported_with_its_place(tmp_path: Path) -> None:
    text = """\
zones:
  - {id: lan, kind: lan, cidrs: [192.168.1.0/24, 10.0.0.0/33]}
  - {id: lan, kind: dmz, cidrs: [10.1.0.0/24]}
  - {id: nowhere, kind: admin, gateway: k}
hosts:
  - {id: pvs, address: 192.168.2.10, zone: lan}
  - {id: ws, address: not-an-ip, zone: missing}
gateways:
  - id: k
    type: konnektor
    mode: parallel
    interfaces:
      - {name: eth0, zone: lan, address: 192.168.1.1, role: wan}
      - {name: eth0, zone: lan}
    routes:
      - {to: 0.0.0.0/0, dev: ppp9}
  - id: pvs
    type: router
    mode: in-line
    interfaces: [{name: a, zone: lan}]
    tunnels: [{name: t, type: vpn-ti}]
"""
    problems = _problems(tmp_path, text)
    expected = [
        "$.zones[0].cidrs[1]: not a network: '10.0.0.0/33'",
        "$.zones[1].id: zone 'lan' is defined twice",
        "$.zones[2]: zone 'nowhere' of kind admin needs cidrs",
        "$.hosts[0]: host 'pvs': 192.168.2.10 is not inside zone 'lan'",
        "$.hosts[1].address: not an IP address: 'not-an-ip'",
        "$.hosts[1].zone: unknown zone 'missing'",
        "interface/tunnel name 'eth0' used twice",
        "needs an interface with role: lan",
        "no role: wan",
        "$.gateways[0].routes[0].dev: gateway 'k' has no interface or tunnel 'ppp9'",
        "$.gateways[1].tunnels: only a Konnektor has VPN_TI/VPN_SIS tunnels",
        "$.gateways[1].mode: a deployment mode applies to a Konnektor only",
        "id 'pvs' is used twice",
        "$.zones[2].gateway: gateway 'k' has no interface in zone 'nowhere'",
    ]
    for e in expected:
        assert any(e in p for p in problems), (e, problems)
    assert all(p.startswith(str(tmp_path / "network.yaml")) for p in problems)


@pytest.mark.parametrize(
    "text, where",
    [
        ("zones: {}", "$.zones"),
        ("zones: [{id: a, kind: moon}]", "$.zones[0].kind"),
        ("zones: []\nhosts: [{id: h, zone: a}]", "$.hosts[0]"),
        ("zones: []\nextra: 1", "'extra' was unexpected"),
        ("zones: [{id: 'bad id', kind: lan, cidrs: []}]", "$.zones[0].id"),
        (
            "zones: []\ngateways: [{id: g, type: router, interfaces: []}]",
            "$.gateways[0].interfaces",
        ),
    ],
)
def test_schema_violations_name_the_place(tmp_path: Path, text: str, where: str) -> None:
    problems = _problems(tmp_path, text)
    assert any(f" at {where}:" in p or where in p for p in problems), problems


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff\xfe garbage", b"zones: [unclosed", b"- just\n- a list\n", b"a: &x [*x]\n"],
)
def test_hostile_files_are_input_errors(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "network.yaml"
    path.write_bytes(raw)
    with pytest.raises(InputError):
        load_topology(path)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_topology(tmp_path / "nope.yaml")


def test_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gemcheck.network.topology as topology

    monkeypatch.setattr(topology, "MAX_BYTES", 100)
    path = tmp_path / "network.yaml"
    path.write_text(MINIMAL + "#" * 200, encoding="utf-8")
    with pytest.raises(InputError, match="more than 100"):
        load_topology(path)


def test_unusable_host_route_is_a_problem(tmp_path: Path) -> None:
    from gemcheck.network.reach import Reachability

    topo = _load(
        tmp_path,
        MINIMAL + "hosts:\n  - {id: h, address: 192.168.1.5, zone: lan,"
        " routes: [{to: 10.0.0.0/8, via: 192.168.1.99}]}\n",
    )
    problems = Reachability(topo, {}).problems  # type: ignore[arg-type]
    assert problems == [
        "zone lan: route 10.0.0.0/8 via 192.168.1.99: next hop is no gateway of the zone"
    ]
