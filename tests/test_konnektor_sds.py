"""connector.sds: parsing the real vendor samples and the synthetic fixtures, rules, hostile XML."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from gemcheck.evidence.konnektor import ServiceDirectoryEvidence
from gemcheck.konnektor.sds import read_sds
from tests.conftest import AS_OF
from tests.konnektor_sim import OPEN_SDS, SECURE_SDS, SPEC
from tests.konnektor_support import evaluate, loc, rule, statuses

RISE = SPEC / "samples" / "connector.sds.rise-ptv4.api-ePA.xml"
INCONSISTENT = SPEC / "synthetic" / "connector.sds.inconsistent.synthetic.xml"
NO_CAUT = SPEC / "synthetic" / "connector.sds.tls-no-caut.synthetic.xml"


def sds(path: Path, data: bytes | None = None) -> ServiceDirectoryEvidence:
    return read_sds(path.read_bytes() if data is None else data, path.name, loc(path.name))


@pytest.fixture(autouse=True)
def _shared(shared: Path) -> None:
    """Every test here reads ../shared/spec-data."""


# -- parsing -----------------------------------------------------------------------------------


def test_real_kocobox_sample() -> None:
    ev = sds(OPEN_SDS)
    assert ev.error is None and ev.schema_errors == ()
    assert ev.product is not None
    assert (ev.product.key, ev.product.product_type_version, ev.product.fw_version) == (
        "KOCOC/kocobox",
        "5.1.0",
        "5.1.8",
    )
    assert ev.product.product_name == "KoCoBox MED+"
    assert ev.tls_mandatory is False and ev.client_aut_mandatory is False
    event = [s for s in ev.services if s.service == "EventService"]
    assert event and event[0].version == "7.2.0"
    assert event[0].endpoint == "http://10.200.149.3:80/service/systeminformationservice"
    assert event[0].endpoint_tls.startswith("https://10.200.149.3:443/")


def test_real_rise_sample() -> None:
    ev = sds(RISE)
    assert ev.error is None and ev.schema_errors == ()
    assert ev.product is not None
    assert (ev.product.key, ev.product.product_type_version, ev.product.fw_version) == (
        "RISEG/RKONN",
        "4.8.1",
        "3.0.7",
    )
    assert ev.observed_at == dt.datetime(2020, 12, 10, 13, 55, 11, 238000, tzinfo=dt.UTC)
    assert {s.service for s in ev.services} >= {"CardService", "EventService", "SignatureService"}


def test_synthetic_secure_sample() -> None:
    ev = sds(SECURE_SDS)
    assert ev.tls_mandatory and ev.client_aut_mandatory
    assert all(s.endpoint is None and s.endpoint_tls.startswith("https:") for s in ev.services)


# -- rules: each with a passing and a failing case ---------------------------------------------


def test_tls_and_client_auth_flags() -> None:
    good = statuses(evaluate([sds(SECURE_SDS)]))
    assert good["KON-SDS-002"] == ["pass"] and good["KON-SDS-003"] == ["pass"]
    bad = statuses(evaluate([sds(OPEN_SDS)]))
    assert bad["KON-SDS-002"] == ["fail"] and bad["KON-SDS-003"] == ["fail"]
    tls_only = statuses(evaluate([sds(NO_CAUT)]))
    assert tls_only["KON-SDS-002"] == ["pass"] and tls_only["KON-SDS-003"] == ["fail"]


def test_plain_endpoints_with_flags_set() -> None:
    assert statuses(evaluate([sds(SECURE_SDS)]))["KON-SDS-004"] == ["pass"]
    results = evaluate([sds(INCONSISTENT)])
    [finding] = rule(results, "KON-SDS-004")
    assert finding.status.value == "fail"
    assert "Endpoint http://" in finding.message
    # flags off: the plain endpoints are the flags' business (KON-SDS-002/003), not this rule's
    assert statuses(evaluate([sds(OPEN_SDS)]))["KON-SDS-004"] == ["skip"]


def test_endpoint_tls_must_be_https_whatever_the_flags() -> None:
    data = OPEN_SDS.read_bytes().replace(
        b'EndpointTLS Location="https://10.200.149.3:443/service/fm/nfdm/nfdservice"',
        b'EndpointTLS Location="http://10.200.149.3:80/service/fm/nfdm/nfdservice"',
    )
    assert statuses(evaluate([sds(OPEN_SDS, data)]))["KON-SDS-004"] == ["fail"]


def test_schema_validity() -> None:
    assert statuses(evaluate([sds(SECURE_SDS)]))["KON-SDS-001"] == ["pass"]
    data = SECURE_SDS.read_bytes().replace(b"<ProductTypeVersion>6.0.0<", b"<ProductTypeVersion>6<")
    results = evaluate([sds(SECURE_SDS, data)])
    [finding] = rule(results, "KON-SDS-001")
    assert finding.status.value == "fail" and "ProductTypeVersion" in finding.message
    # still read: the other rules judge what could be read
    assert statuses(results)["KON-SDS-002"] == ["pass"]


def test_minimum_product_type_version_by_date() -> None:
    assert statuses(evaluate([sds(SECURE_SDS)]))["KON-VER-001"] == ["pass"]
    assert statuses(evaluate([sds(RISE)]))["KON-VER-001"] == ["fail"]  # 4.8.1 < 5.0.0 since 2026
    before = statuses(evaluate([sds(RISE)], as_of=dt.date(2025, 6, 1)))
    assert before["KON-VER-001"] == ["pass"]  # 4.0.0 was the minimum then


def test_ptv6_recommended_after_rsa_switch_off() -> None:
    after = dt.date(2026, 7, 2)
    assert statuses(evaluate([sds(OPEN_SDS)], as_of=after))["KON-VER-003"] == ["fail"]
    assert statuses(evaluate([sds(SECURE_SDS)], as_of=after))["KON-VER-003"] == ["pass"]
    assert statuses(evaluate([sds(OPEN_SDS)], as_of=AS_OF))["KON-VER-003"] == ["skip"]


def test_minimum_firmware_per_product() -> None:
    after = dt.date(2026, 7, 2)
    assert statuses(evaluate([sds(RISE)], as_of=after))["KON-VER-002"] == ["fail"]
    updated = RISE.read_bytes().replace(b"<FWVersion>3.0.7<", b"<FWVersion>6.1.3<")
    assert statuses(evaluate([sds(RISE, updated)], as_of=after))["KON-VER-002"] == ["pass"]
    # no minimum for this vendor in the profile: skipped, not passed
    assert statuses(evaluate([sds(OPEN_SDS)], as_of=after))["KON-VER-002"] == ["skip"]


def test_deprecated_service_versions() -> None:
    [finding] = rule(evaluate([sds(SECURE_SDS)]), "KON-SDS-006")
    assert finding.status.value == "fail" and "PHRService 1.3.0" in finding.message
    without = re.sub(
        rb'<ns3:Service Name="PHR[A-Za-z]*">.*?</ns3:Service>',
        b"",
        SECURE_SDS.read_bytes(),
        flags=re.DOTALL,
    )
    assert statuses(evaluate([sds(SECURE_SDS, without)]))["KON-SDS-006"] == ["pass"]


# -- hostile input -----------------------------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ConnectorServices xmlns="http://ws.gematik.de/conn/ServiceDirectory/v3.1">&lol3;</ConnectorServices>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<ConnectorServices xmlns="http://ws.gematik.de/conn/ServiceDirectory/v3.1">&secret;</ConnectorServices>
"""
DTD_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE ConnectorServices SYSTEM "http://127.0.0.1:9/evil.dtd">
<ConnectorServices xmlns="http://ws.gematik.de/conn/ServiceDirectory/v3.1"/>
"""


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("bomb", BOMB, "refused"),
        ("xxe", XXE, "refused"),
        ("dtd", DTD_ONLY, "refused"),
        ("empty", b"  \n", "empty"),
        ("not-xml", b"\x00\x01binary", "not well-formed"),
        ("wrong-root", b'<OperatingData xmlns="urn:x"/>', "root element is {urn:x}OperatingData"),
    ],
)
def test_hostile_documents_are_error_evidence(name: str, data: bytes, expected: str) -> None:
    ev = read_sds(data, name, loc(name))
    assert ev.error is not None and expected in ev.error
    results = evaluate([ev])
    assert {r.status.value for r in rule(results, "KON-SDS-002")} == {"error"}
    assert "passwd" not in ev.error and "root:" not in ev.error


def test_truncated_document_names_the_line() -> None:
    data = SECURE_SDS.read_bytes()[:2000]
    ev = read_sds(data, "truncated.sds", loc("truncated.sds"))
    assert ev.error is not None and "not well-formed XML at line" in ev.error


def test_cli_reports_errors_without_traceback(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bomb = tmp_path / "bomb.sds"
    bomb.write_bytes(BOMB)
    huge = tmp_path / "huge.sds"
    with huge.open("wb") as fh:
        fh.truncate(17 * 1024 * 1024)  # sparse: larger than the limit, never read
    code, out, err = cli("audit", "--profile", "ti-konnektor", "--sds", bomb, "--as-of", AS_OF)
    assert code == 1 and "Traceback" not in out + err
    # the text report wraps long lines: compare with the white space folded
    assert "refused: the document declares a DTD or entities" in " ".join(out.split())
    code, out, err = cli("audit", "--profile", "ti-konnektor", "--sds", huge, "--as-of", AS_OF)
    assert code == 1 and "more than" in " ".join(out.split()) and "Traceback" not in out + err
    code, out, err = cli(
        "audit", "--profile", "ti-konnektor", "--sds", tmp_path / "missing.sds", "--as-of", AS_OF
    )
    assert code == 1 and "cannot read" in out
