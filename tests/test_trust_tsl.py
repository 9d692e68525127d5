"""The trust list (TSL): parsing, signature, freshness, entries; gematik's TSLs and our own."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gemcheck.pki.tsl import STATUS_INACCORD, STATUS_REVOKED, TslError, parse_tsl
from gemcheck.pki.tslsig import verify_tsl_signature
from tests.conftest import CERTS, SHARED
from tests.trust_support import (
    REVOKED,
    Service,
    cert,
    pem,
    results,
    sign_tsl,
    statuses,
    synthetic_services,
    tsl_xml,
)

TSLS = SHARED / "pki-data" / "ref-GemLibPki" / "tsls"
TSL_CA51 = SHARED / "pki-data" / "ref-GemLibPki" / "certificates" / "GEM.TSL-CA51"
DEFAULT = TSLS / "ecc" / "valid" / "TSL_default.xml"
ANCHOR51 = TSL_CA51 / "GEM.TSL-CA51-TEST-ONLY.pem"
TSL_RULES = ("TSL-SIG-001", "TSL-UPD-001", "TSL-UPD-002", "TSL-ENT-001")

Cli = Callable[..., tuple[int, str, str]]


def audit(cli: Cli, *args: object) -> dict[str, Any]:
    code, out, err = cli(
        "audit", "--profile", "ti-pki-trust", "--format", "json", "--offline", *args
    )
    assert code in (0, 1), err
    report: dict[str, Any] = json.loads(out)
    return report


def write_tsl(tmp_path: Path, data: bytes, name: str = "tsl.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- gematik's TSLs --------------------------------------------------------------------------------


def test_gematik_tsl_is_authentic_current_and_complete(shared: Path, cli: Cli) -> None:
    report = audit(cli, "--tsl", DEFAULT, "--tsl-signer", ANCHOR51, "--as-of", "2025-08-01")
    for rule in TSL_RULES:
        assert statuses(report, rule) == ["pass"], results(report, rule)
    sig = results(report, "TSL-SIG-001")[0]
    assert "TSL Signing Unit 51" in str(sig["message"])
    assert "GEM.TSL-CA51" in str(sig["message"])
    assert sig["subject"] == "TSL ID342000720250723114445Z"


def test_gematik_tsl_expiry_and_grace_period(shared: Path, cli: Cli) -> None:
    in_grace = audit(cli, "--tsl", DEFAULT, "--tsl-signer", ANCHOR51, "--as-of", "2025-09-01")
    assert statuses(in_grace, "TSL-UPD-001") == ["fail"]
    assert "SW_1008" in str(results(in_grace, "TSL-UPD-001")[0]["message"])
    assert statuses(in_grace, "TSL-UPD-002") == ["pass"]
    assert "grace" in str(results(in_grace, "TSL-UPD-002")[0]["message"])
    expired = audit(cli, "--tsl", DEFAULT, "--tsl-signer", ANCHOR51, "--as-of", "2026-06-01")
    assert statuses(expired, "TSL-UPD-001") == ["fail"]
    assert statuses(expired, "TSL-UPD-002") == ["fail"]
    assert "SW_1009" in str(results(expired, "TSL-UPD-002")[0]["message"])


def test_rsa_tsl_with_rsassa_pss_signature_verifies(shared: Path) -> None:
    data = (TSLS / "rsa" / "valid" / "TSL_default.xml").read_bytes()
    signature = verify_tsl_signature(data, parse_tsl(data))
    assert signature.valid, signature.problem
    assert signature.algorithm.endswith("sha256-rsa-MGF1")


def test_broken_signature_fails(shared: Path, cli: Cli) -> None:
    broken = TSLS / "ecc" / "invalid" / "TSL_invalid_Signature_broken.xml"
    report = audit(cli, "--tsl", broken, "--tsl-signer", ANCHOR51, "--as-of", "2025-01-01")
    assert statuses(report, "TSL-SIG-001") == ["fail"]
    assert "SE_1013_XML_SIGNATURE_ERROR" in str(results(report, "TSL-SIG-001")[0]["message"])


def test_signer_not_from_the_configured_anchor_fails(shared: Path, cli: Cli) -> None:
    report = audit(
        cli, "--tsl", DEFAULT, "--tsl-signer", CERTS / "ca" / "tsl-ca1.pem", "--as-of", "2025-08-01"
    )
    assert statuses(report, "TSL-SIG-001") == ["fail"]
    assert "neither a configured TSL signer" in str(results(report, "TSL-SIG-001")[0]["message"])


def test_without_signer_anchor_the_signature_is_an_error(shared: Path, cli: Cli) -> None:
    report = audit(cli, "--tsl", DEFAULT, "--as-of", "2025-08-01")
    assert statuses(report, "TSL-SIG-001") == ["error"]
    assert "--tsl-signer" in str(results(report, "TSL-SIG-001")[0]["message"])
    assert statuses(report, "TSL-UPD-001") == ["pass"]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("TSL_invalid_xmlMalformed_altCA.xml", "TE_1011_TSL_NOT_WELLFORMED"),
        ("TSL_invalid_xmlNamespace_altCA.xml", "TE_1012_TSL_SCHEMA_NOT_VALID"),
    ],
)
def test_unusable_tsl_is_an_error_for_every_tsl_rule(
    shared: Path, cli: Cli, name: str, code: str
) -> None:
    report = audit(cli, "--tsl", TSLS / "ecc" / "invalid" / name, "--as-of", "2025-08-01")
    for rule in TSL_RULES:
        assert statuses(report, rule) == ["error"]
        assert code in str(results(report, rule)[0]["message"])


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("TSL_defect_TAchange_twoEntries.xml", "SE_1003_MULTIPLE_TRUST_ANCHOR"),
        ("TSL_defect_altCA_missingSsp.xml", "TE_1026_SERVICESUPPLYPOINT_MISSING"),
        ("TSL_defect_altCA_broken.xml", "TE_1002_TSL_CERT_EXTRACTION_ERROR"),
    ],
)
def test_defective_entries_fail(shared: Path, cli: Cli, name: str, code: str) -> None:
    report = audit(cli, "--tsl", TSLS / "ecc" / "defect" / name, "--as-of", "2023-06-01")
    assert statuses(report, "TSL-ENT-001") == ["fail"]
    assert code in str(results(report, "TSL-ENT-001")[0]["message"])


def test_parse_reads_services_types_and_supply_points(shared: Path) -> None:
    tsl = parse_tsl(DEFAULT.read_bytes())
    assert tsl.sequence_number == 420007
    assert tsl.next_update == dt.datetime(2025, 8, 22, 11, 44, 45, tzinfo=dt.UTC)
    smcb = next(s for s in tsl.services if "GEM.SMCB-CA57" in s.name)
    assert smcb.short_type == "CA/PKC"
    assert smcb.status.status == STATUS_INACCORD
    assert "1.2.276.0.76.4.77" in smcb.extension_oids
    assert smcb.certificates and smcb.ocsp_urls()


# -- a TSL the tests write and sign ----------------------------------------------------------------


def test_own_tsl_signed_with_brainpool_verifies(tmp_path: Path, cli: Cli) -> None:
    path = write_tsl(tmp_path, sign_tsl(tsl_xml(synthetic_services())))
    report = audit(
        cli, "--tsl", path, "--tsl-signer", CERTS / "ca" / "tsl-ca1.pem", "--as-of", "2026-06-01"
    )
    for rule in TSL_RULES:
        assert statuses(report, rule) == ["pass"], results(report, rule)


def test_own_tsl_tampered_after_signing_fails(tmp_path: Path, cli: Cli) -> None:
    signed = sign_tsl(tsl_xml(synthetic_services()))
    tampered = signed.replace(STATUS_INACCORD.encode(), STATUS_REVOKED.encode(), 1)
    assert tampered != signed
    path = write_tsl(tmp_path, tampered)
    report = audit(
        cli, "--tsl", path, "--tsl-signer", CERTS / "ca" / "tsl-ca1.pem", "--as-of", "2026-06-01"
    )
    assert statuses(report, "TSL-SIG-001") == ["fail"]
    assert "Digest mismatch" in str(results(report, "TSL-SIG-001")[0]["message"])


def test_own_tsl_past_next_update_fails(tmp_path: Path, cli: Cli) -> None:
    root = tsl_xml(
        synthetic_services(),
        issued=dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
        next_update=dt.datetime(2026, 5, 10, tzinfo=dt.UTC),
    )
    path = write_tsl(tmp_path, sign_tsl(root))
    report = audit(
        cli, "--tsl", path, "--tsl-signer", CERTS / "ca" / "tsl-ca1.pem", "--as-of", "2026-06-01"
    )
    assert statuses(report, "TSL-SIG-001") == ["pass"]
    assert statuses(report, "TSL-UPD-001") == ["fail"]
    assert statuses(report, "TSL-UPD-002") == ["pass"]


def test_signer_expired_at_the_evaluation_date_fails(tmp_path: Path, cli: Cli) -> None:
    path = write_tsl(tmp_path, sign_tsl(tsl_xml(synthetic_services())))
    report = audit(
        cli, "--tsl", path, "--tsl-signer", CERTS / "ca" / "tsl-ca1.pem", "--as-of", "2031-01-01"
    )
    assert statuses(report, "TSL-SIG-001") == ["fail"]
    assert "SE_1021" in str(results(report, "TSL-SIG-001")[0]["message"])


def test_signer_without_tsl_signing_usage_fails(tmp_path: Path, cli: Cli) -> None:
    signed = sign_tsl(tsl_xml(synthetic_services()), "smcb-ca1", "ca/smcb-ca1.pem")
    path = write_tsl(tmp_path, signed)
    report = audit(
        cli, "--tsl", path, "--tsl-signer", CERTS / "ca" / "rca1.pem", "--as-of", "2026-06-01"
    )
    assert statuses(report, "TSL-SIG-001") == ["fail"]
    assert "SE_1016_WRONG_KEYUSAGE" in str(results(report, "TSL-SIG-001")[0]["message"])


def test_service_history_gives_the_status_at_a_moment() -> None:
    ca = cert("ca/smcb-ca1.pem")
    svc = Service(
        ca,
        status=REVOKED,
        since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        history=((STATUS_INACCORD, dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),),
    )
    tsl = parse_tsl(sign_tsl(tsl_xml([svc])))
    (parsed,) = tsl.services
    assert len(parsed.history) == 1
    before = parsed.status_at(dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    after = parsed.status_at(dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert before is not None and before.short == "inaccord"
    assert after is not None and after.short == "revoked"
    assert parsed.status_at(dt.datetime(2023, 1, 1, tzinfo=dt.UTC)) is None


def test_tsl_from_a_site_file(tmp_path: Path, cli: Cli) -> None:
    write_tsl(tmp_path, sign_tsl(tsl_xml(synthetic_services())))
    (tmp_path / "signer.pem").write_bytes(pem(cert("ca/tsl-ca1.pem")))
    site = tmp_path / "gemcheck.yaml"
    site.write_text("site: TSL test\ntrust:\n  tsl: tsl.xml\n  tsl_signer: [signer.pem]\n")
    report = audit(cli, site, "--as-of", "2026-06-01")
    assert statuses(report, "TSL-SIG-001") == ["pass"]


# -- hostile input ---------------------------------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE TrustServiceStatusList [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#">&f;</TrustServiceStatusList>
"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE TrustServiceStatusList [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#">&x;</TrustServiceStatusList>
"""


@pytest.mark.parametrize("payload", [BOMB, EXTERNAL], ids=["xml-bomb", "external-entity"])
def test_hostile_tsl_is_refused_fast_and_certificates_are_still_audited(
    tmp_path: Path, cli: Cli, payload: bytes
) -> None:
    path = write_tsl(tmp_path, payload)
    audit(cli, "--cert", CERTS / "ecc" / "smcb-aut.pem", "--as-of", "2026-06-01")  # warm imports
    started = time.monotonic()
    report = audit(
        cli,
        "--tsl",
        path,
        "--cert",
        CERTS / "ecc" / "smcb-aut.pem",
        "--trust-anchor",
        CERTS / "ca" / "smcb-ca1.pem",
        "--as-of",
        "2026-06-01",
    )
    assert time.monotonic() - started < 1.0
    for rule in TSL_RULES:
        assert statuses(report, rule) == ["error"]
    message = str(results(report, "TSL-SIG-001")[0]["message"])
    assert "refused" in message and "entities" in message
    assert "root:" not in json.dumps(report)
    chain = results(report, "PKI-CHAIN-001")
    assert [r["status"] for r in chain] == ["pass"]


def test_parse_refuses_dtd_and_oversized_input() -> None:
    with pytest.raises(TslError) as bomb:
        parse_tsl(BOMB)
    assert bomb.value.code == "TE_1011_TSL_NOT_WELLFORMED"
    with pytest.raises(TslError, match="more than"):
        parse_tsl(b"<a/>" + b" " * (32 * 1024 * 1024))
