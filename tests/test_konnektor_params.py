"""Konnektor parameters: the YAML file, its schema, and every parameter rule (pass and fail)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from gemcheck.evidence.konnektor import KonnektorParametersEvidence
from gemcheck.konnektor.parameters import load_parameters, parameters_from_data, segments
from tests.konnektor_sim import EXAMPLE
from tests.konnektor_support import evaluate, loc, rule, statuses

EXAMPLE_PARAMS = EXAMPLE / "parameters.yaml"


def params(values: dict[str, Any]) -> KonnektorParametersEvidence:
    return parameters_from_data(values, "params.yaml", loc("params.yaml"))


def status_of(rule_id: str, values: dict[str, Any], environment: str = "PU") -> list[str]:
    return statuses(evaluate([params(values)], environment=environment)).get(rule_id, [])


# -- the file ----------------------------------------------------------------------------------


def test_example_file_is_clean() -> None:
    ev = load_parameters(EXAMPLE_PARAMS, "parameters.yaml")
    assert ev.error is None and not ev.invalid and not ev.unknown
    assert ev.values["ANCL_TLS_MANDATORY"] == "Enabled"
    assert ev.read_on == dt.date(2026, 5, 29)
    assert statuses(evaluate([ev]))["KON-PAR-001"] == ["pass"]


def test_unknown_names_are_reported_with_a_suggestion() -> None:
    [finding] = rule(
        evaluate([params({"ANCL_TLS_MANDATROY": "Enabled", "VENDOR_X": 1})]), "KON-PAR-001"
    )
    assert finding.status.value == "fail"
    problems = finding.evidence["problems"]
    assert (
        "ANCL_TLS_MANDATROY: unknown parameter name (did you mean ANCL_TLS_MANDATORY?)" in problems
    )
    assert "VENDOR_X: unknown parameter name" in problems


def test_invalid_value_fails_validity_and_errors_its_rule() -> None:
    results = evaluate([params({"ANCL_TLS_MANDATORY": "yes please"})])
    [validity] = rule(results, "KON-PAR-001")
    assert validity.status.value == "fail"
    assert "must be one of Enabled, Disabled" in validity.message
    assert "yes please" not in validity.message
    assert statuses(results)["KON-PAR-002"] == ["error"]


def test_yaml_booleans_are_read_as_enabled_disabled(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("ANCL_TLS_MANDATORY: true\nANLW_WAN_ADAPTER_MODUS: false\n")
    ev = load_parameters(path, "p.yaml")
    assert dict(ev.values) == {
        "ANCL_TLS_MANDATORY": "Enabled",
        "ANLW_WAN_ADAPTER_MODUS": "DISABLED",
    }


def test_a_password_in_the_file_is_flagged_never_echoed() -> None:
    ev = params({"ANCL_CUP_LIST": [{"user": "pvs", "password": "Hunter2-secret"}]})
    assert "password" in ev.invalid["ANCL_CUP_LIST"]
    assert "Hunter2" not in repr(ev) and "Hunter2" not in repr(evaluate([ev]))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("- just\n- a list\n", "expected a mapping"),
        ("ANCL_TLS_MANDATORY: [unclosed\n", "not valid YAML/JSON"),
        ("", "expected a mapping"),
    ],
)
def test_malformed_files_are_error_evidence(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(content)
    ev = load_parameters(path, "p.yaml")
    assert ev.error is not None and expected in ev.error
    assert statuses(evaluate([ev]))["KON-PAR-002"] == ["error"]


def test_missing_file_is_error_evidence(tmp_path: Path) -> None:
    ev = load_parameters(tmp_path / "nope.yaml", "nope.yaml")
    assert ev.error is not None and "cannot read" in ev.error


def test_segments_from_address_and_mask() -> None:
    nets = segments(
        params(
            {"ANLW_LAN_IP_ADDRESS": "192.168.20.2", "ANLW_LAN_SUBNETMASK": "255.255.255.0"}
        ).values
    )
    assert [(k, str(n)) for k, _, n in nets] == [("LAN segment", "192.168.20.0/24")]


# -- single-parameter rules: one passing and one failing value each -----------------------------

SINGLE = [
    ("KON-PAR-002", "ANCL_TLS_MANDATORY", "Enabled", "Disabled"),
    ("KON-PAR-003", "ANCL_CAUT_MANDATORY", "Enabled", "Disabled"),
    ("KON-CAUT-001", "ANCL_CAUT_MODE", "CERTIFICATE", "PASSWORD"),
    ("KON-PAR-004", "ANCL_DVD_OPEN", "Disabled", "Enabled"),
    ("KON-PAR-005", "ANCL_CAUT_LDAP", "Enabled", "Disabled"),
    ("KON-NET-001", "ANLW_INTERNET_MODUS", "SIS", "IAG"),
    ("KON-NET-003", "ANLW_IA_BESTANDSNETZE", "AUS", "AN"),
    ("KON-MGM-001", "MGM_REMOTE_ALLOWED", "Disabled", "Enabled"),
    ("KON-MGM-002", "MGM_REMOTE_MONITORING_ALLOWED", "Disabled", "Enabled"),
    ("KON-UPD-002", "MGM_KSR_AUTO_UPDATE", "Enabled", "Disabled"),
    ("KON-UPD-003", "MGM_KSR_AUTODOWNLOAD", "Enabled", "Disabled"),
    ("KON-UPD-004", "MGM_KSR_SHOW_TRIAL_UPDATES", "Disabled", "Enabled"),
    ("KON-CERT-002", "CERT_TSL_DEFAULT_GRACE_PERIOD_DAYS", 30, 45),
    ("KON-CERT-003", "CERT_OCSP_DEFAULT_GRACE_PERIOD_NONQES", 10, 30),
    ("KON-CERT-004", "CERT_EXPIRATION_WARN_DAYS", 90, 0),
    ("KON-CERT-005", "CERT_EXPIRATION_CARD_CHECK_DAYS", 1, 0),
    ("KON-LOG-001", "SECURITY_LOG_DAYS", 180, 30),
    ("KON-LOG-002", "LOG_DAYS", 365, 90),
    ("KON-LOG-003", "SECURITY_LOG_SIZE", 50000, 10000),
    ("KON-LOG-004", "LOG_LEVEL_SYSLOG", "Warning", "Error"),
    ("KON-LOG-005", "FM_VSDM_LOG_LEVEL", "Warning", "Debug"),
    ("KON-ECC-003", "ENC_CRYPT", "RSA_ECC", "RSA"),
    ("KON-ECC-004", "SIG_CRYPT_QES", "ECC", "RSA"),
    ("KON-ECC-005", "SIG_CRYPT_nonQES", "ECC", "RSA"),
    ("KON-ECC-006", "GEMCHECK_IPSEC_ECC", "Enabled", "Disabled"),
    ("KON-ECC-007", "GEMCHECK_ECC_REREGISTRATION", "Enabled", "Disabled"),
]


@pytest.mark.parametrize(("rule_id", "name", "good", "bad"), SINGLE, ids=[s[0] for s in SINGLE])
def test_single_parameter_rule(rule_id: str, name: str, good: Any, bad: Any) -> None:
    assert status_of(rule_id, {name: good}) == ["pass"]
    assert status_of(rule_id, {name: bad}) == ["fail"]
    assert status_of(rule_id, {}) == ["skip"]


def test_every_fachmodul_log_level_is_judged() -> None:
    assert status_of(
        "KON-LOG-005", {"FM_VSDM_LOG_LEVEL": "Warning", "FM_NFDM_LOG_LEVEL": "Debug"}
    ) == ["fail", "pass"]


# -- rules over several parameters ---------------------------------------------------------------


def test_comfort_signature_only_with_tls_and_client_auth() -> None:
    on = {"SAK_COMFORT_SIGNATURE": "Enabled"}
    both = {"ANCL_TLS_MANDATORY": "Enabled", "ANCL_CAUT_MANDATORY": "Enabled"}
    assert status_of("KON-SAK-001", {**on, **both}) == ["pass"]
    assert status_of("KON-SAK-001", {**on, **both, "ANCL_CAUT_MANDATORY": "Disabled"}) == ["fail"]
    assert status_of("KON-SAK-001", {"SAK_COMFORT_SIGNATURE": "Disabled"}) == ["pass"]
    assert status_of("KON-SAK-001", {**on, "ANCL_TLS_MANDATORY": "Enabled"}) == ["error"]


def test_iag_only_in_parallel_deployment() -> None:
    assert status_of(
        "KON-NET-005", {"ANLW_INTERNET_MODUS": "IAG", "ANLW_ANBINDUNGS_MODUS": "Parallel"}
    ) == ["pass"]
    assert status_of(
        "KON-NET-005", {"ANLW_INTERNET_MODUS": "IAG", "ANLW_ANBINDUNGS_MODUS": "InReihe"}
    ) == ["fail"]
    assert status_of(
        "KON-NET-005", {"ANLW_INTERNET_MODUS": "SIS", "ANLW_ANBINDUNGS_MODUS": "InReihe"}
    ) == ["pass"]


def test_intranet_routes() -> None:
    lan = {"ANLW_LAN_NETWORK_SEGMENT": "192.168.20.0/24"}
    good = {
        **lan,
        "ANLW_INTRANET_ROUTES_MODUS": "REDIRECT",
        "ANLW_LEKTR_INTRANET_ROUTES": [{"segment": "10.20.0.0/16", "next_hop": "192.168.20.254"}],
    }
    assert status_of("KON-NET-004", good) == ["pass"]
    assert status_of("KON-NET-004", {**lan, "ANLW_INTRANET_ROUTES_MODUS": "REDIRECT"}) == ["fail"]
    far = {
        **good,
        "ANLW_LEKTR_INTRANET_ROUTES": [{"segment": "10.20.0.0/16", "next_hop": "10.0.0.1"}],
    }
    assert status_of("KON-NET-004", far) == ["fail"]


# -- address overlap ---------------------------------------------------------------------------

CLEAN = {
    "ANLW_LAN_NETWORK_SEGMENT": "192.168.20.0/24",
    "ANLW_WAN_NETWORK_SEGMENT": "192.168.178.0/24",
    "ANLW_LEKTR_INTRANET_ROUTES": [{"segment": "10.20.0.0/16", "next_hop": "192.168.20.254"}],
    "DHCP_ROUTES": [{"segment": "10.30.0.0/16", "next_hop": "192.168.20.254"}],
}


def test_clean_networks_pass() -> None:
    assert status_of("KON-NET-002", CLEAN) == ["pass"]
    assert status_of("KON-NET-002", {}) == ["skip"]


def test_lan_in_the_production_ti_range_fails() -> None:
    [finding] = rule(
        evaluate([params({**CLEAN, "ANLW_LAN_NETWORK_SEGMENT": "100.64.1.0/24"})]), "KON-NET-002"
    )
    assert finding.status.value == "fail"
    assert "LAN segment 100.64.1.0/24" in finding.message and "TI PU zone" in finding.message


def test_zones_follow_the_environment() -> None:
    test_net = {**CLEAN, "ANLW_WAN_NETWORK_SEGMENT": "172.16.5.0/24"}
    assert status_of("KON-NET-002", test_net, environment="PU") == ["pass"]
    assert status_of("KON-NET-002", test_net, environment="TU") == ["fail"]
    assert status_of("KON-NET-002", test_net, environment="RU") == ["fail"]  # TU scheme
    production = {
        **CLEAN,
        "DHCP_ROUTES": [{"segment": "100.102.0.0/17", "next_hop": "192.168.20.2"}],
    }
    assert status_of("KON-NET-002", production, environment="PU") == ["fail"]
    assert status_of("KON-NET-002", production, environment="TU") == ["pass"]


def test_own_networks_must_not_overlap_each_other() -> None:
    overlapping = {
        **CLEAN,
        "ANLW_LEKTR_INTRANET_ROUTES": [
            {"segment": "192.168.20.128/25", "next_hop": "192.168.20.254"}
        ],
    }
    [finding] = rule(evaluate([params(overlapping)]), "KON-NET-002")
    assert finding.status.value == "fail"
    assert "intranet route 192.168.20.128/25" in finding.message
    dhcp_in_lan = {
        **CLEAN,
        "DHCP_ROUTES": [{"segment": "192.168.20.0/25", "next_hop": "192.168.20.254"}],
    }
    assert status_of("KON-NET-002", dhcp_in_lan) == ["fail"]
    wan_is_lan = {**CLEAN, "ANLW_WAN_NETWORK_SEGMENT": "192.168.20.0/23"}
    assert status_of("KON-NET-002", wan_is_lan) == ["fail"]


def test_bestandsnetze_overlapping_the_lan_fail() -> None:
    values = {**CLEAN, "ANLW_BESTANDSNETZE": ["198.51.100.0/24", "192.168.20.0/24"]}
    assert status_of("KON-NET-002", values) == ["fail"]
    assert status_of("KON-NET-002", {**CLEAN, "ANLW_BESTANDSNETZE": ["198.51.100.0/24"]}) == [
        "pass"
    ]


def test_invalid_network_is_reported() -> None:
    ev = params({"ANLW_LAN_NETWORK_SEGMENT": "300.1.2.0/24"})
    assert "not a valid address or network" in ev.invalid["ANLW_LAN_NETWORK_SEGMENT"]
