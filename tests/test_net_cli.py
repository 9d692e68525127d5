"""The network inputs from the command line and the site file, the example site, the graph."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gemcheck import schemas
from tests.conftest import AS_OF, EXAMPLE
from tests.net_support import Cli, audit, failures, parallel_site, results, write

NET = EXAMPLE / "network"


def _example_site(tmp_path: Path) -> Path:
    """A site file for the bundled example network (the lines the example site file gets)."""
    site = tmp_path / "gemcheck.yaml"
    site.write_text(
        "site: Praxis (network only)\nenvironment: PU\nnetwork:\n"
        f"  topology: {NET / 'network.yaml'}\n  firewalls:\n"
        f"    - {{path: {NET / 'router.iptables'}, device: router}}\n"
        f"    - {{path: {NET / 'fw.nft.json'}, device: fw}}\n"
        "systems:\n  - {id: pvs, name: Primaersystem, kind: pvs, host: pvs}\n",
        encoding="utf-8",
    )
    return site


def _json_audit(cli: Cli, *args: str) -> tuple[int, dict]:
    code, out, err = cli(
        "audit", *args, "--profile", "ti-network", "--format", "json", "--as-of", AS_OF.isoformat()
    )
    assert out.startswith("{"), (code, out, err)
    report = json.loads(out)
    schemas.validate(report, "report-1", "report")
    return code, report


def test_example_site_is_realistic_and_mostly_contained(cli: Cli, tmp_path: Path) -> None:
    code, report = _json_audit(cli, str(_example_site(tmp_path)))
    assert failures(report) == [
        ("NET-MGT-001", "konnektor:8443/tcp"),
        ("NET-MGT-001", "pvs:3389/tcp"),
    ]
    assert report["summary"]["error"] == 0
    assert results(report, "NET-MGT-001")["pvs:3389/tcp"]["evidence"]["path"] == [
        "praxis",
        "same zone (no gateway in between)",
        "pvs:3389/tcp",
    ]
    assert report["data_room"] == {
        "verdict": "at-risk",
        "systems": [
            {
                "id": "pvs",
                "score": 70.0,
                "verdict": "at-risk",
                "exposures": [
                    {
                        "path": ["praxis", "same zone (no gateway in between)", "pvs:3389/tcp"],
                        "rule": "NET-MGT-001",
                        "message": "management interface reachable from praxis",
                    }
                ],
            }
        ],
    }
    assert set(results(report, "NET-IMP-001", "pass")) == {"router", "konnektor", "fw"}
    assert code == 0


def test_text_report_shows_the_data_room(cli: Cli, tmp_path: Path) -> None:
    _, out, _ = cli(
        "audit",
        str(_example_site(tmp_path)),
        "--profile",
        "ti-network",
        "--as-of",
        AS_OF.isoformat(),
    )
    assert "Data room: AT-RISK" in out
    assert "pvs: at-risk (score 70)" in out
    assert "praxis -> same zone (no gateway in between) -> pvs:3389/tcp [NET-MGT-001]" in out


def test_flags_map_into_the_site(cli: Cli, tmp_path: Path) -> None:
    topology, router = parallel_site(guest_leak=True)
    paths = write(tmp_path, {"network.yaml": topology, "router.iptables": router})
    # without DEVICE=, the file name names the gateway
    code, report = _json_audit(
        cli, "--topology", str(paths["network.yaml"]), "--firewall", str(paths["router.iptables"])
    )
    assert ("NET-ISO-001", "pvs") in failures(report)
    assert code == 1


def test_export_of_an_unknown_device_is_reported(cli: Cli, tmp_path: Path) -> None:
    topology, router = parallel_site()
    paths = write(tmp_path, {"network.yaml": topology, "edge.iptables": router})
    _, report = _json_audit(
        cli,
        "--topology",
        str(paths["network.yaml"]),
        "--firewall",
        f"nosuch={paths['edge.iptables']}",
    )
    desc = results(report, "NET-IMP-001")["description"]
    assert "no gateway 'nosuch'" in desc["message"]


def test_firewall_without_description_is_an_error(cli: Cli, tmp_path: Path) -> None:
    paths = write(tmp_path, {"router.iptables": parallel_site()[1]})
    code, report = _json_audit(cli, "--firewall", str(paths["router.iptables"]))
    assert report["summary"]["error"] >= 1
    assert any("no network description" in r["message"] for r in report["results"])
    assert report["data_room"]["verdict"] == "at-risk"
    assert code == 1


def test_broken_description_is_an_error_naming_the_place(cli: Cli, tmp_path: Path) -> None:
    code, report = audit(cli, tmp_path, "zones: [{id: lan, kind: lan, cidrs: [300.1.1.0/24]}]\n")
    messages = {r["message"] for r in report["results"] if r["status"] == "error"}
    assert any("$.zones[0].cidrs[0]: not a network: '300.1.1.0/24'" in m for m in messages)
    assert code == 1


def test_probe_is_skipped_offline(cli: Cli, tmp_path: Path) -> None:
    topology, router = parallel_site()
    _, report = audit(
        cli,
        tmp_path,
        topology,
        {"router": ("router.iptables", router)},
        "--probe-reachability",
        "--offline",
    )
    obs = [r for r in report["results"] if r["rule"].startswith("NET-OBS")]
    assert {r["status"] for r in obs} == {"skip"}


def test_explain_a_network_check(cli: Cli) -> None:
    code, out, _ = cli("explain", "network.untrusted_inbound")
    assert code == 0 and "No path leads from the internet" in out
    code, out, _ = cli("explain", "NET-TI-001")
    assert code == 0 and "TIP1-A_4730" in out


def test_graph_mermaid_marks_patient_data_and_exposures(cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli("graph", str(_example_site(tmp_path)), "--format", "mermaid")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    h_pvs[("pvs (pvs) 192.168.10.10 [patient data]")]' in lines
    assert '  z_praxis ==>|"NET-MGT-001"| h_pvs' in lines
    assert '  z_praxis ==>|"NET-MGT-001"| g_konnektor' in lines
    assert '  g_konnektor -.-|"vpn_ti"| z_ti_zentral' in lines
    assert "  class h_pvs patient" in lines
    assert any(line.startswith("  linkStyle ") and "stroke:#d00000" in line for line in lines)


def test_graph_dot_is_valid_graphviz(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "net.dot"
    code, _, _ = cli("graph", str(_example_site(tmp_path)), "--format", "dot", "-o", str(target))
    assert code == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("digraph network {")
    assert 'z_praxis -> h_pvs [color=red, penwidth=2.5, label="NET-MGT-001"];' in text
    if shutil.which("dot") is None:
        pytest.skip("graphviz is not installed: syntax not checked (apt-get install graphviz)")
    done = subprocess.run(["dot", "-Tsvg", str(target)], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_graph_of_a_site_without_network_is_an_input_error(cli: Cli, tmp_path: Path) -> None:
    site = tmp_path / "gemcheck.yaml"
    site.write_text("site: x\n", encoding="utf-8")
    code, _, err = cli("graph", str(site))
    assert code == 2
    assert "no network description" in err
