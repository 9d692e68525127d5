"""``gemcheck certs inspect``: the decoded TI view per certificate, errors per file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .conftest import CERTS
from .pki_support import PKI_DATA

CliRun = Callable[..., tuple[int, str, str]]


def _fingerprint(path: Path) -> str:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def test_text_view_of_an_smcb_container(cli: CliRun, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECT_PW", "00")
    code, out, err = cli(
        "certs", "inspect", CERTS / "ecc/smcb-aut.p12", "--p12-password-env", "INSPECT_PW"
    )
    assert code == 0 and err == ""
    first = out.split("\n\n")[0]
    for line in (
        "certs/ecc/smcb-aut.p12 #0",
        "type            C.HCI.AUT (1.2.276.0.76.4.77)",
        "telematik-id    1-2-ARZT-GEMCHECK-01",
        "profession      Betriebsstätte Arzt",
        "roles           1.2.276.0.76.4.50 oid_praxis_arzt (Betriebsstätte Arzt)",
        "key             EC brainpoolP256r1",
        "signature       ecdsa-with-SHA256",
        "validity        2025-01-01T00:00:00Z .. 2030-01-01T00:00:00Z",
        "issuer          CN=GEMCHECK.SMCB-CA1 TEST-ONLY",
        "serial          7D1",
        "ocsp            http://127.0.0.1:18080/ocsp",
        "key usage       digitalSignature",
        "ext. key usage  clientAuth",
        f"sha-256         {_fingerprint(CERTS / 'ecc/smcb-aut.pem')}",
    ):
        assert line in first, line
    assert out.count("type            CA") == 2  # the CA chain in the container


def test_json_view_and_real_hba(cli: CliRun, shared: Path) -> None:
    hba = PKI_DATA / "ref-GemLibPki/certificates/GEM.HBA-CA57/BabetteBeyer.pem"
    code, out, _ = cli("certs", "inspect", "--json", CERTS / "ecc/konnektor-ak-aut.pem", hba)
    assert code == 0
    konnektor, real = json.loads(out)
    assert konnektor["type"] == "C.AK.AUT" and konnektor["telematik_id"] is None
    assert konnektor["roles"] == [
        {"oid": "1.2.276.0.76.4.103", "name": "oid_ak", "item": "Anwendungskonnektor"}
    ]
    assert sorted(konnektor["extended_key_usage"]) == ["clientAuth", "serverAuth"]
    assert konnektor["alt_names"] == ["dNSName konnektor.konlan"]
    assert real["type"] == "C.HP.AUT" and real["telematik_id"] == "4-1-Psycho-BabetteBeyer01"
    assert real["professions"] == ["Psychotherapeut/-in"]
    assert real["ocsp"] == ["http://ehca.gematik.de/ecc-ocsp"]
    assert real["alt_names"] == ["rfc822Name vonsinnen@test.de"]
    assert real["key_usage"] == ["digitalSignature", "keyAgreement"]
    assert "1.2.276.0.76.4.145 (oid_policy_hba_cp)" in real["policies"]


def test_errors_per_file_and_the_rest_is_shown(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSPECT_PW", "Geheim-123")
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"\x30\x82\x01\x00" + bytes(20))
    code, out, err = cli(
        "certs", "inspect", CERTS / "ecc/hba-aut.pem", tmp_path / "nothere.pem", junk,
        CERTS / "ecc/smcb-aut.p12", "--p12-password-env", "INSPECT_PW",
    )  # fmt: skip
    assert code == 1 and err == ""
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 4
    assert "type            C.HP.AUT" in blocks[0]
    assert "error           cannot read" in blocks[1]
    assert "error           malformed DER certificate" in blocks[2]
    assert "wrong password" in blocks[3]
    assert "Geheim" not in out


def test_malformed_admission_is_shown_as_a_problem(cli: CliRun) -> None:
    code, out, _ = cli("certs", "inspect", CERTS / "broken/malformed-admission.pem")
    assert code == 0
    assert "type            C.HCI.AUT" in out
    assert "problems        admission: not an AdmissionSyntax" in out


def test_folders_and_folders_without_certificates(cli: CliRun) -> None:
    code, out, _ = cli("certs", "inspect", "--json", CERTS / "ca")
    items = json.loads(out)
    assert code == 0 and len(items) == 10 and {i["type"] for i in items} == {"CA"}
    code, out, _ = cli("certs", "inspect", CERTS / "keys")
    assert code == 1 and "no certificate found" in out


def test_untyped_certificate_says_so(cli: CliRun) -> None:
    code, out, _ = cli("certs", "inspect", CERTS / "broken/missing-type-policy.pem")
    assert code == 0
    assert "type            (none: not a TI certificate type)" in out
    assert "SE_1033" in out
