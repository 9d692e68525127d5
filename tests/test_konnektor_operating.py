"""Operating state: OperatingData, GetResourceInformation, CheckCertificateExpiration, rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gemcheck.evidence import Evidence
from gemcheck.evidence.konnektor import KonnektorParametersEvidence, OperatingStateEvidence
from gemcheck.konnektor.operating import (
    read_certificate_expiration,
    read_operating_data,
    read_resource_information,
)
from tests.conftest import AS_OF
from tests.konnektor_sim import CCE_4257, CCE_OK, EXAMPLE, GRI_FATAL, SPEC
from tests.konnektor_support import evaluate, loc, rule, statuses

OD_SECURE = SPEC / "synthetic" / "operating-data.secure.synthetic.xml"
OD_INSECURE = SPEC / "synthetic" / "operating-data.insecure.synthetic.xml"
OD_EXAMPLE = EXAMPLE / "operating-data.xml"
GRI_EXAMPLE = EXAMPLE / "resource-information.xml"
GRI_KOCOBOX = SPEC / "samples" / "get_resource_information_response.kocobox.derived.xml"
SNAPSHOT_DAY = dt.date(2026, 2, 16)
"""The synthetic OperatingData describe 2026-02-16."""


@pytest.fixture(autouse=True)
def _shared(shared: Path) -> None:
    """Every test here reads ../shared/spec-data."""


def od(path: Path, data: bytes | None = None) -> list[Evidence]:
    state, params = read_operating_data(
        path.read_bytes() if data is None else data, path.name, loc(path.name)
    )
    return [state] if params is None else [state, params]


def gri(path: Path, data: bytes | None = None) -> list[Evidence]:
    raw = path.read_bytes() if data is None else data
    return [read_resource_information(raw, path.name, loc(path.name))]


def cce(path: Path) -> list[Evidence]:
    return [read_certificate_expiration(path.read_bytes(), path.name, loc(path.name), crypt="ECC")]


# -- parsing -----------------------------------------------------------------------------------


def test_operating_data_secure_sample() -> None:
    state, params = od(OD_SECURE)
    assert isinstance(state, OperatingStateEvidence)
    assert isinstance(params, KonnektorParametersEvidence)
    assert state.error is None and state.schema_errors == ()
    assert state.vpn_ti and state.vpn_ti.online and state.vpn_sis and state.vpn_sis.online
    assert [t.name for t in state.trust_lists] == ["CRL", "TSL", "BNetzA-VL"]
    assert len(state.certificates) == 4
    assert dict(params.values) == {
        "ANLW_ANBINDUNGS_MODUS": "InReihe",
        "ANLW_INTERNET_MODUS": "SIS",
        "ANCL_TLS_MANDATORY": "Enabled",
        "ANCL_CAUT_MANDATORY": "Enabled",
        "ANCL_CAUT_MODE": "CERTIFICATE",
        "ANCL_DVD_OPEN": "Disabled",
        "MGM_KSR_AUTODOWNLOAD": "Enabled",
        "MGM_KSR_AUTO_UPDATE": "Enabled",
    }


def test_real_kocobox_resource_information() -> None:
    [state] = gri(GRI_KOCOBOX)
    assert isinstance(state, OperatingStateEvidence)
    assert state.error is None and state.schema_errors == ()
    assert len(state.error_states) == 36
    active = [s.condition for s in state.active()]
    assert active == ["EC_OTHER_ERROR_STATE(2)"]
    assert state.observed_at == dt.datetime(2024, 4, 16, 7, 59, 25, 43000, tzinfo=dt.UTC)


# -- error states --------------------------------------------------------------------------------


def test_fatal_state_fails_and_restart_conditions_are_critical() -> None:
    good = statuses(evaluate(gri(GRI_EXAMPLE)))
    assert good["KON-OPS-001"] == ["pass"] and good["KON-OPS-002"] == ["pass"]
    results = evaluate(gri(GRI_FATAL))
    [fatal] = rule(results, "KON-OPS-001")
    assert fatal.status.value == "fail" and "EC_Firewall_Not_Reliable is active" in fatal.message
    [restart] = rule(results, "KON-OPS-002")
    assert restart.status.value == "fail" and restart.severity.value == "critical"


def test_restart_condition_is_caught_whatever_severity_is_reported() -> None:
    data = GRI_EXAMPLE.read_bytes().replace(
        b"<CONN:ErrorCondition>EC_Software_Integrity_Check_Failed</CONN:ErrorCondition>\n"
        b"            <CONN:Severity>Fatal</CONN:Severity>\n"
        b"            <CONN:Type>Security</CONN:Type>\n"
        b"            <CONN:Value>false</CONN:Value>",
        b"<CONN:ErrorCondition>EC_Software_Integrity_Check_Failed</CONN:ErrorCondition>\n"
        b"            <CONN:Severity>Warning</CONN:Severity>\n"
        b"            <CONN:Type>Security</CONN:Type>\n"
        b"            <CONN:Value>true</CONN:Value>",
    )
    result = statuses(evaluate(gri(GRI_EXAMPLE, data)))
    assert result["KON-OPS-002"] == ["fail"] and result["KON-OPS-001"] == ["pass"]


def test_error_and_warning_levels() -> None:
    assert statuses(evaluate(gri(GRI_EXAMPLE)))["KON-OPS-003"] == ["pass"]
    assert statuses(evaluate(gri(GRI_EXAMPLE)))["KON-OPS-004"] == ["pass"]
    kocobox = statuses(evaluate(gri(GRI_KOCOBOX)))
    assert kocobox["KON-OPS-004"] == ["fail"]  # the vendor state EC_OTHER_ERROR_STATE(2)
    data = GRI_EXAMPLE.read_bytes().replace(
        b"EC_CardTerminal_Not_Available(CT_ID_0001)</CONN:ErrorCondition>\n"
        b"            <CONN:Severity>Error</CONN:Severity>\n"
        b"            <CONN:Type>Operation</CONN:Type>\n"
        b"            <CONN:Value>false",
        b"EC_CardTerminal_Not_Available(CT_ID_0001)</CONN:ErrorCondition>\n"
        b"            <CONN:Severity>Error</CONN:Severity>\n"
        b"            <CONN:Type>Operation</CONN:Type>\n"
        b"            <CONN:Value>true",
    )
    assert statuses(evaluate(gri(GRI_EXAMPLE, data)))["KON-OPS-003"] == ["fail"]


def test_software_out_of_date() -> None:
    assert statuses(evaluate(od(OD_SECURE)))["KON-UPD-001"] == ["pass"]
    assert statuses(evaluate(od(OD_INSECURE)))["KON-UPD-001"] == ["fail"]


# -- VPN ------------------------------------------------------------------------------------------


def test_vpn_ti_must_be_online() -> None:
    assert statuses(evaluate(gri(GRI_EXAMPLE)))["KON-VPN-001"] == ["pass"]
    data = GRI_EXAMPLE.read_bytes().replace(
        b"<CONN:VPNTIStatus>\n          <CONN:ConnectionStatus>Online",
        b"<CONN:VPNTIStatus>\n          <CONN:ConnectionStatus>Offline",
    )
    [finding] = rule(evaluate(gri(GRI_EXAMPLE, data)), "KON-VPN-001")
    assert finding.status.value == "fail" and "to the TI is offline" in finding.message


def test_vpn_sis_must_be_online_when_sis_is_the_internet_path() -> None:
    # the KoCoBox answer: SIS offline. Without the Internet mode it is not judged ...
    [finding] = rule(evaluate(gri(GRI_KOCOBOX)), "KON-VPN-001")
    assert finding.status.value == "pass" and "Internet mode unknown" in finding.message
    # ... with ANLW_INTERNET_MODUS=SIS from any parameter source it fails,
    with_sis = gri(GRI_KOCOBOX) + od(OD_SECURE)[1:]
    assert rule(evaluate(with_sis), "KON-VPN-001")[0].status.value == "fail"
    # and the insecure OperatingData (Internet via IAG) does not need SIS.
    assert statuses(evaluate(od(OD_INSECURE)))["KON-VPN-001"] == ["pass"]


def test_offline_konnektor_is_not_judged_on_vpn() -> None:
    from gemcheck.konnektor.parameters import parameters_from_data

    offline = parameters_from_data({"MGM_LU_ONLINE": "Disabled"}, "p", loc("p"))
    assert statuses(evaluate([*gri(GRI_KOCOBOX), offline]))["KON-VPN-001"] == ["skip"]


# -- trust lists, snapshot age, TLS identity --------------------------------------------------


def test_trust_lists_current_at_the_snapshot() -> None:
    assert statuses(evaluate(od(OD_EXAMPLE)))["KON-TRUST-001"] == ["pass", "pass"]
    stale = OD_EXAMPLE.read_bytes().replace(
        b"<OPD:NextUpdate>2026-06-19T10:00:00+02:00<", b"<OPD:NextUpdate>2026-05-20T10:00:00+02:00<"
    )
    [tsl] = [
        r
        for r in rule(evaluate(od(OD_EXAMPLE, stale)), "KON-TRUST-001")
        if r.status.value == "fail"
    ]
    assert "TSL was out of date" in tsl.message


def test_bnetza_list() -> None:
    assert statuses(evaluate(od(OD_EXAMPLE)))["KON-TRUST-002"] == ["pass"]
    # the synthetic "secure" export: BNetzA-VL NextUpdate 00:00, export taken at 09:00
    assert statuses(evaluate(od(OD_SECURE)))["KON-TRUST-002"] == ["fail"]


def test_snapshot_age() -> None:
    assert statuses(evaluate(od(OD_EXAMPLE), as_of=AS_OF))["KON-OPS-005"] == ["pass"]
    assert statuses(evaluate(od(OD_EXAMPLE), as_of=dt.date(2026, 7, 1)))["KON-OPS-005"] == ["fail"]


def test_tls_identity() -> None:
    assert statuses(evaluate(od(OD_SECURE)))["KON-TLS-001"] == ["pass"]
    [finding] = rule(evaluate(od(OD_INSECURE)), "KON-TLS-001")
    assert finding.status.value == "fail" and "RSA-2048" in finding.message


def test_operating_data_configuration_is_judged_by_the_parameter_rules() -> None:
    insecure = statuses(evaluate(od(OD_INSECURE)))
    for rule_id in (
        "KON-PAR-002",
        "KON-PAR-003",
        "KON-CAUT-001",
        "KON-PAR-004",
        "KON-NET-001",
        "KON-UPD-002",
        "KON-UPD-003",
    ):
        assert insecure[rule_id] == ["fail"], rule_id
    assert insecure["KON-NET-005"] == ["pass"]  # IAG in parallel deployment is consistent
    secure = statuses(evaluate(od(OD_SECURE)))
    assert all(secure[r] == ["pass"] for r in ("KON-PAR-002", "KON-PAR-003", "KON-NET-001"))


def test_schema_validity_of_operating_data() -> None:
    assert statuses(evaluate(od(OD_SECURE)))["KON-XSD-002"] == ["pass"]
    bad = OD_SECURE.read_bytes().replace(b">SERIAL<", b">SERIELL<")
    [finding] = rule(evaluate(od(OD_SECURE, bad)), "KON-XSD-002")
    assert finding.status.value == "fail" and "TIConnectionMode" in finding.message


# -- certificates and ECC readiness -----------------------------------------------------------


def test_certificate_expiry() -> None:
    assert set(statuses(evaluate(od(OD_SECURE), as_of=SNAPSHOT_DAY))["KON-CERT-001"]) == {"pass"}
    results = rule(evaluate(od(OD_INSECURE), as_of=SNAPSHOT_DAY), "KON-CERT-001")
    failed = [r for r in results if r.status.value == "fail"]
    assert [r.message for r in failed] == ["expires in 27 days (2026-03-15; horizon 90)"]
    example = rule(evaluate(od(OD_EXAMPLE)), "KON-CERT-001")
    assert [r.subject for r in example if r.status.value == "fail"] == [
        "operating-data.xml: gSMC-KT C.SMKT.AUT ECC (synthetic)"
    ]
    assert set(statuses(evaluate(cce(CCE_OK)))["KON-CERT-001"]) == {"pass"}


def test_ecc_readiness_before_and_after_the_deadline() -> None:
    ok = statuses(evaluate(cce(CCE_OK), as_of=dt.date(2026, 7, 2)))
    assert ok["KON-ECC-001"] == ["pass"] and ok["KON-ECC-002"] == ["pass"]
    before = statuses(evaluate(cce(CCE_4257), as_of=AS_OF))
    assert before["KON-ECC-002"] == ["fail"] and before["KON-ECC-001"] == ["skip"]
    after = evaluate(cce(CCE_4257), as_of=dt.date(2026, 7, 2))
    [overdue] = rule(after, "KON-ECC-001")
    assert overdue.status.value == "fail" and overdue.severity.value == "critical"
    assert overdue.evidence["card_kind"] == "SMC-B" and overdue.evidence["deadline"] == "2026-06-30"
    assert statuses(after)["KON-ECC-002"] == ["skip"]


def test_ecc_readiness_needs_a_crypt_ecc_answer() -> None:
    ev = read_certificate_expiration(CCE_OK.read_bytes(), "x", loc("x"), crypt="RSA")
    assert statuses(evaluate([ev]))["KON-ECC-001"] == ["error"]


# -- hostile SOAP ---------------------------------------------------------------------------


FAULT = (
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b"<soap:Fault><faultcode>soap:Server</faultcode><faultstring>4204 Unknown client"
    b"</faultstring></soap:Fault></soap:Body></soap:Envelope>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&x;'
    b"</soap:Body></soap:Envelope>"
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (FAULT, "SOAP fault: 4204 Unknown client"),
        (XXE, "refused"),
        (b"<soap:Envelope", "not well-formed"),
        (
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/>'
            b"</soap:Envelope>",
            "without a body element",
        ),
    ],
)
def test_hostile_soap_answers(data: bytes, expected: str) -> None:
    [state] = gri(GRI_EXAMPLE, data)
    assert state.error is not None and expected in state.error
    assert statuses(evaluate([state]))["KON-OPS-001"] == ["error"]
    ev = read_certificate_expiration(data, "c", loc("c"))
    assert ev.error is not None and expected in ev.error


def test_operating_data_bomb_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><OperatingData>&b;</OperatingData>'
    )
    [state] = od(OD_SECURE, bomb)
    assert state.error is not None and "refused" in state.error
