"""Observed reachability against real hosts: network namespaces, veth pairs, real nftables.

Three namespaces (client, firewall, server) joined by veth pairs, with addresses that exist
only inside them; the firewall forwards with a real nftables ruleset. gemcheck runs *inside*
the client namespace, so every probe stays there. Skipped without root or without the tools
(CI installs them: ``apt-get install -y nftables iproute2``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import AS_OF, REPO
from tests.net_support import netns_unavailable

pytestmark = pytest.mark.skipif(netns_unavailable() is not None, reason=str(netns_unavailable()))

SUFFIX = f"{os.getpid() % 100000}"
CLIENT, FW, SERVER = f"gcc{SUFFIX}", f"gcf{SUFFIX}", f"gcs{SUFFIX}"

RULESET = """\
flush ruleset
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "f0" oifname "f1" tcp dport 443 accept
    LEAK
  }
}
"""

TOPOLOGY = """\
version: 1
zones:
  - {id: clients, kind: lan, cidrs: [10.77.1.0/24], gateway: fw}
  - {id: servers, kind: dmz, cidrs: [10.77.2.0/24], gateway: fw}
hosts:
  - {id: pvs, address: 10.77.2.2, zone: servers, role: pvs, patient_data: true,
     services: [{port: 443, name: api}, {port: 5432, name: db}]}
gateways:
  - id: fw
    type: firewall
    interfaces:
      - {name: f0, zone: clients, address: 10.77.1.1}
      - {name: f1, zone: servers, address: 10.77.2.1}
"""

LISTENER = """\
import socket, threading, time
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.77.2.2", port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.close()
for p in (443, 5432):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
print("ready", flush=True)
time.sleep(120)
"""


def _ip(*args: str, ns: str | None = None, stdin: str | None = None) -> None:
    cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    subprocess.run(cmd, check=True, timeout=20, input=stdin, text=True, capture_output=True)


@pytest.fixture(scope="module")
def lab() -> Iterator[subprocess.Popen[str]]:
    """The three namespaces and a server listening on 443 and 5432 (stopped afterwards)."""
    made: list[str] = []
    server = None
    try:
        for ns in (CLIENT, FW, SERVER):
            _ip("ip", "netns", "add", ns)
            made.append(ns)
            _ip("ip", "link", "set", "lo", "up", ns=ns)
        _ip(
            "ip",
            "link",
            "add",
            "c0",
            "netns",
            CLIENT,
            "type",
            "veth",
            "peer",
            "name",
            "f0",
            "netns",
            FW,
        )
        _ip(
            "ip",
            "link",
            "add",
            "f1",
            "netns",
            FW,
            "type",
            "veth",
            "peer",
            "name",
            "s0",
            "netns",
            SERVER,
        )
        for ns, dev, addr in (
            (CLIENT, "c0", "10.77.1.2/24"),
            (FW, "f0", "10.77.1.1/24"),
            (FW, "f1", "10.77.2.1/24"),
            (SERVER, "s0", "10.77.2.2/24"),
        ):
            _ip("ip", "addr", "add", addr, "dev", dev, ns=ns)
            _ip("ip", "link", "set", dev, "up", ns=ns)
        _ip("ip", "route", "add", "default", "via", "10.77.1.1", ns=CLIENT)
        _ip("ip", "route", "add", "default", "via", "10.77.2.1", ns=SERVER)
        _ip("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=FW)
        server = subprocess.Popen(
            ["ip", "netns", "exec", SERVER, sys.executable, "-c", LISTENER],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield server
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=10)
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=20)


def _load_firewall(leak: bool) -> str:
    """Load the firewall's ruleset (leaking 5432 or not) and return its ``nft -j`` export."""
    rules = RULESET.replace(
        "LEAK", 'iifname "f0" oifname "f1" tcp dport 5432 accept' if leak else ""
    )
    _ip("nft", "-f", "-", ns=FW, stdin=rules)
    done = subprocess.run(
        ["ip", "netns", "exec", FW, "nft", "-j", "list", "ruleset"],
        check=True,
        timeout=20,
        capture_output=True,
        text=True,
    )
    return done.stdout


def _probe_audit(tmp_path: Path, declared: str) -> dict:
    (tmp_path / "network.yaml").write_text(TOPOLOGY, encoding="utf-8")
    (tmp_path / "fw.nft.json").write_text(declared, encoding="utf-8")
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            CLIENT,
            sys.executable,
            "-m",
            "gemcheck",
            "audit",
            "--topology",
            str(tmp_path / "network.yaml"),
            "--firewall",
            f"fw={tmp_path / 'fw.nft.json'}",
            "--probe-reachability",
            "--timeout",
            "1",
            "--profile",
            "ti-network",
            "--format",
            "json",
            "--as-of",
            AS_OF.isoformat(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.stdout.startswith("{"), done.stderr
    return json.loads(done.stdout)


def _obs(report: dict) -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (r["rule"], r["subject"]): (r["status"], r["evidence"].get("observed", ""))
        for r in report["results"]
        if r["rule"].startswith("NET-OBS")
    }


def test_blocked_configuration_agrees_with_its_description(
    lab: subprocess.Popen[str], tmp_path: Path
) -> None:
    declared = _load_firewall(leak=False)
    report = _probe_audit(tmp_path, declared)
    assert _obs(report) == {
        ("NET-OBS-001", "pvs 10.77.2.2:5432/tcp"): ("pass", "timeout"),
        ("NET-OBS-002", "pvs 10.77.2.2:443/tcp"): ("pass", "open"),
    }


def test_leaking_configuration_disagrees_with_its_description(
    lab: subprocess.Popen[str], tmp_path: Path
) -> None:
    declared = _load_firewall(leak=False)
    _load_firewall(leak=True)  # the real firewall is more open than its (stale) export
    report = _probe_audit(tmp_path, declared)
    obs = _obs(report)
    assert obs[("NET-OBS-001", "pvs 10.77.2.2:5432/tcp")] == ("fail", "open")
    fail = next(r for r in report["results"] if r["rule"] == "NET-OBS-001")
    assert fail["evidence"]["source"] == "10.77.1.2"
    assert fail["evidence"]["path"] == ["clients", "pvs 10.77.2.2:5432/tcp"]
    # the description itself says 5432 is blocked: the analysis alone would have passed
    assert not [
        r for r in report["results"] if r["rule"] == "NET-ISO-001" and r["status"] == "fail"
    ]
