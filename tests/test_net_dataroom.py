"""The data-room formula, result by result."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from gemcheck.evidence import EvidenceSet
from gemcheck.evidence.network import NetworkEvidence, SystemRef
from gemcheck.model import DataRoom, Result, Severity, Status
from gemcheck.network.dataroom import ERROR_WEIGHT, assess, site_score
from gemcheck.network.topology import build_topology

TOPO = build_topology(
    {
        "zones": [{"id": "lan", "kind": "lan", "cidrs": ["10.1.0.0/24"]}],
        "hosts": [
            {"id": "pvs", "address": "10.1.0.10", "zone": "lan", "patient_data": True},
            {"id": "archive", "address": "10.1.0.11", "zone": "lan", "patient_data": True},
        ],
    },
    "network.yaml",
    "PU",
    Path("."),
)
SYSTEMS = (SystemRef("archive", "archive", host="archive"), SystemRef("pvs", "pvs", host="pvs"))


def _ev(**kw: Any) -> EvidenceSet:
    return EvidenceSet(
        [NetworkEvidence(subject="network.yaml", topology=TOPO, systems=SYSTEMS, **kw)]
    )


def _result(
    rule: str,
    status: Status,
    exposed: list[str],
    weight: float,
    breach: bool = False,
    subject: str = "pvs",
    check: str = "network.x",
) -> Result:
    return Result(
        rule=rule,
        check=check,
        domain="network",
        subject=subject,
        status=status,
        severity=Severity.HIGH,
        message=f"{rule} message",
        evidence=MappingProxyType(
            {
                "exposed": exposed,
                "data_room_weight": weight,
                "data_room_breach": breach,
                "path": ["z", subject],
            }
        ),
    )


def test_no_network_evidence_is_not_assessed() -> None:
    assert assess(EvidenceSet(), []) == DataRoom()


def test_no_exposure_is_contained_with_full_score() -> None:
    room = assess(_ev(), [_result("R1", Status.PASS, ["pvs"], 40)])
    assert room.verdict == "contained"
    assert [(s.id, s.score, s.verdict) for s in room.systems] == [
        ("archive", 100.0, "contained"),
        ("pvs", 100.0, "contained"),
    ]


def test_weights_add_up_once_per_rule_with_the_heaviest_exposure() -> None:
    results = [
        _result("R1", Status.FAIL, ["pvs"], 30, subject="a"),
        _result("R1", Status.FAIL, ["pvs"], 40, subject="b"),
        _result("R2", Status.FAIL, ["pvs", "archive"], 25),
        _result("R3", Status.WAIVED, ["pvs"], 10),
    ]
    room = assess(_ev(), results)
    pvs = next(s for s in room.systems if s.id == "pvs")
    assert (pvs.score, pvs.verdict) == (100 - 40 - 25 - 10, "at-risk")
    assert [e.rule for e in pvs.exposures] == ["R1", "R1", "R2", "R3"]
    assert pvs.exposures[-1].message.endswith("(waived)")
    archive = next(s for s in room.systems if s.id == "archive")
    assert (archive.score, archive.verdict) == (75.0, "at-risk")
    assert room.verdict == "at-risk"


def test_a_single_breaching_exposure_breaches_whatever_else_passes() -> None:
    results = [_result(f"P{i}", Status.PASS, ["pvs"], 100) for i in range(20)]
    results.append(_result("ISO", Status.FAIL, ["pvs"], 1, breach=True))
    room = assess(_ev(), results)
    pvs = next(s for s in room.systems if s.id == "pvs")
    assert (pvs.score, pvs.verdict) == (0.0, "breached")
    assert room.verdict == "breached"


def test_score_never_goes_below_zero() -> None:
    results = [_result(f"R{i}", Status.FAIL, ["pvs"], 60) for i in range(3)]
    assert next(s for s in assess(_ev(), results).systems if s.id == "pvs").score == 0.0


def test_a_rule_that_could_not_check_puts_every_system_at_risk() -> None:
    err = Result(
        rule="R9",
        check="network.y",
        domain="network",
        subject="-",
        status=Status.ERROR,
        severity=Severity.HIGH,
        message="boom",
    )
    room = assess(_ev(), [err, err])
    assert {(s.id, s.score, s.verdict) for s in room.systems} == {
        ("pvs", 100 - ERROR_WEIGHT, "at-risk"),
        ("archive", 100 - ERROR_WEIGHT, "at-risk"),
    }
    probe = Result(
        rule="OBS",
        check="network.observed_reachability",
        domain="network",
        subject="-",
        status=Status.ERROR,
        severity=Severity.HIGH,
        message="no zone",
    )
    assert assess(_ev(), [probe]).verdict == "contained"


def test_unknown_system_host_and_broken_evidence_are_never_contained() -> None:
    ev = EvidenceSet(
        [NetworkEvidence(subject="n", topology=TOPO, systems=(SystemRef("kis", host="nowhere"),))]
    )
    room = assess(ev, [])
    assert (room.verdict, room.systems[0].score) == ("at-risk", 50.0)
    broken = EvidenceSet([NetworkEvidence(subject="n", error="cannot read")])
    assert assess(broken, []).verdict == "at-risk"


def test_site_score_is_the_weakest_systems() -> None:
    results = [_result("R1", Status.FAIL, ["archive"], 35)]
    assert site_score(assess(_ev(), results)) == 65.0
    assert site_score(DataRoom()) is None
