"""Signed reports: signing (PEM, PKCS#12, brainpoolP256r1, P-256, Ed25519), verification,
tampering byte by byte, wrong trust anchors, expired signers, and the canonical form."""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from gemcheck.attest import (
    VerificationError,
    layout,
    load_signer,
    signed_bytes,
    verify,
)
from gemcheck.baseline import parse as parse_baseline
from gemcheck.errors import InputError
from gemcheck.jcs import canonicalize, number
from tests.conftest import CERTS
from tests.gate_reports import cert_report, sample_report

CLI = Callable[..., tuple[int, str, str]]
KEYS = CERTS / "keys"
CS_CERT, CS_KEY, CS_P12 = (
    CERTS / "ecc" / "clientsystem.pem",
    KEYS / "clientsystem.key.pem",
    CERTS / "ecc" / "clientsystem.p12",
)
CS_CA = CERTS / "ca" / "cs-ca1.pem"
NIST_CERT, NIST_KEY = CERTS / "nist" / "fd-tls-s.pem", KEYS / "fd-tls-s-nist.key.pem"
EXPIRED_CERT, BROKEN_KEY = CERTS / "broken" / "expired.pem", KEYS / "broken-bp256.key.pem"
SIGNING_DAY = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
EPOCH = str(int(SIGNING_DAY.timestamp()))
VERIFY_AT = dt.datetime(2026, 6, 1, 23, 59, 59, tzinfo=dt.UTC)


def anchors(*paths: Path) -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(p.read_bytes()) for p in paths]


def signed_text(
    key: Path = CS_KEY, cert: Path | None = CS_CERT, at: dt.datetime = SIGNING_DAY
) -> str:
    signer = load_signer(key, cert, None, at=at)
    return signer.render(cert_report((CERTS / "ecc" / "smcb-aut.pem",)).as_dict(), at)


@pytest.fixture(scope="module")
def signed() -> bytes:
    return signed_text().encode("utf-8")


# -- signing and verifying -----------------------------------------------------------------------


def test_signed_report_verifies_with_the_issuing_ca_and_with_the_signer_itself(
    signed: bytes,
) -> None:
    for trust in (CS_CA, CS_CERT):
        verified = verify(signed, anchors(trust), VERIFY_AT)
        assert verified.report["site"] == "cert audit"
        assert verified.signed_at == SIGNING_DAY
    doc = json.loads(signed)
    assert doc["signature"]["algorithm"] == "ECDSA-SHA256"
    assert doc["signature"]["canonicalization"] == "RFC8785-JCS"
    assert layout(doc).encode() == signed


def test_every_signed_byte_counts(signed: bytes) -> None:
    positions = sorted(
        {
            *range(0, len(signed), max(1, len(signed) // 400)),
            len(signed) - 1,
            signed.index(b'"value"') + 12,
            signed.index(b'"verdict"') + 13,
        }
    )
    trust = anchors(CS_CA)
    for pos in positions:
        for flip in (0x01, 0x20, 0x80):
            tampered = bytearray(signed)
            tampered[pos] ^= flip
            with pytest.raises(VerificationError):
                verify(bytes(tampered), trust, VERIFY_AT)


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b + b"\n",
        lambda b: b[:-1],
        lambda b: b"\xef\xbb\xbf" + b,
        lambda b: b.replace(b"\n", b"\r\n", 1),
        lambda b: b.replace(b'  "report"', b'\t"report"', 1),
        lambda b: json.dumps(json.loads(b), indent=4, ensure_ascii=False).encode() + b"\n",
        lambda b: b.replace(b"ecc/smcb", b"ecc\\/smcb", 1),  # "\/" is "/": same content
    ],
    ids=["appended", "truncated", "bom", "crlf", "tab", "reindented", "escaped-solidus"],
)
def test_layout_changes_are_refused(signed: bytes, change: Callable[[bytes], bytes]) -> None:
    with pytest.raises(VerificationError):
        verify(change(signed), anchors(CS_CA), VERIFY_AT)


def test_reformatting_is_told_apart_from_a_content_change(signed: bytes) -> None:
    reindented = json.dumps(json.loads(signed), indent=4, ensure_ascii=False).encode() + b"\n"
    with pytest.raises(VerificationError, match="content is intact"):
        verify(reindented, anchors(CS_CA), VERIFY_AT)
    doc = json.loads(signed)
    doc["report"]["verdict"] = "pass" if doc["report"]["verdict"] == "fail" else "fail"
    with pytest.raises(VerificationError, match="does not match"):
        verify(layout(doc).encode(), anchors(CS_CA), VERIFY_AT)


def test_duplicate_members_are_refused(signed: bytes) -> None:
    text = signed.decode()
    doubled = text.replace('"verdict": ', '"verdict": "pass",\n    "verdict": ', 1)
    with pytest.raises(VerificationError, match="duplicate"):
        verify(doubled.encode(), anchors(CS_CA), VERIFY_AT)


def test_swapped_signer_certificate_is_refused(signed: bytes) -> None:
    doc = json.loads(signed)
    other = x509.load_pem_x509_certificate((CERTS / "ecc" / "smcb-aut.pem").read_bytes())
    doc["signature"]["certificates"] = [
        base64.b64encode(other.public_bytes(serialization.Encoding.DER)).decode()
    ]
    with pytest.raises(VerificationError, match="does not match"):
        verify(layout(doc).encode(), anchors(CERTS / "ca" / "smcb-ca1.pem"), VERIFY_AT)


@pytest.mark.parametrize(
    "trust",
    [CERTS / "ca" / "rca1.pem", CERTS / "ca" / "smcb-ca1.pem", CERTS / "ecc" / "smcb-aut.pem"],
    ids=["other-root", "other-ca", "other-leaf"],
)
def test_wrong_trust_anchor(signed: bytes, trust: Path) -> None:
    with pytest.raises(VerificationError, match="does not chain to a trust anchor"):
        verify(signed, anchors(trust), VERIFY_AT)


def test_chain_through_embedded_intermediate(tmp_path: Path) -> None:
    bundle = tmp_path / "chain.pem"
    bundle.write_bytes(NIST_CERT.read_bytes() + (CERTS / "ca" / "komp-ca3.pem").read_bytes())
    text = signed_text(NIST_KEY, bundle).encode()
    assert len(json.loads(text)["signature"]["certificates"]) == 2
    verified = verify(text, anchors(CERTS / "ca" / "rca1.pem"), VERIFY_AT)
    assert "rca" in verified.anchor.subject.rfc4514_string().lower() or verified.anchor
    with pytest.raises(VerificationError):  # without the intermediate there is no path
        verify(
            signed_text(NIST_KEY, NIST_CERT).encode(), anchors(CERTS / "ca" / "rca1.pem"), VERIFY_AT
        )


def test_expired_signer_certificate() -> None:
    # valid 2024-02-01..2024-12-31: signed while valid, verified 2026 -> refused
    at = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    text = signed_text(BROKEN_KEY, EXPIRED_CERT, at).encode()
    trust = anchors(CERTS / "ca" / "smcb-ca1.pem")
    with pytest.raises(VerificationError, match="expired at verification time"):
        verify(text, trust, VERIFY_AT)
    # archived report: verified as of a day when the certificate was still valid
    assert verify(text, trust, dt.datetime(2024, 7, 1, tzinfo=dt.UTC)).signed_at == at
    # a signing time before the verification time is required
    with pytest.raises(VerificationError, match="after the verification time"):
        verify(text, trust, dt.datetime(2024, 5, 1, tzinfo=dt.UTC))


def test_signing_with_an_expired_or_not_yet_valid_certificate_is_refused() -> None:
    with pytest.raises(InputError, match="expired at signing time"):
        load_signer(BROKEN_KEY, EXPIRED_CERT, None, at=SIGNING_DAY)
    with pytest.raises(InputError, match="not yet valid"):
        load_signer(BROKEN_KEY, CERTS / "broken" / "not-yet-valid.pem", None, at=SIGNING_DAY)


def test_ed25519_signature(tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST-ONLY vendor Ed25519")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        .sign(key, None)
    )
    key_path, cert_path = tmp_path / "vendor.key", tmp_path / "vendor.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    text = signed_text(key_path, cert_path).encode()
    assert json.loads(text)["signature"]["algorithm"] == "Ed25519"
    assert verify(text, [cert], VERIFY_AT).signer == cert


def test_pkcs12_key_with_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENDOR_P12_PW", "00")
    signer = load_signer(CS_P12, None, "VENDOR_P12_PW", at=SIGNING_DAY)
    assert signer.chain[0] == anchors(CS_CERT)[0]
    monkeypatch.setenv("VENDOR_P12_PW", "wrong-secret-value")
    with pytest.raises(InputError) as info:
        load_signer(CS_P12, None, "VENDOR_P12_PW", at=SIGNING_DAY)
    assert "wrong password in VENDOR_P12_PW" in str(info.value)
    assert "wrong-secret-value" not in str(info.value)


def test_encrypted_pem_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = serialization.load_pem_private_key(CS_KEY.read_bytes(), None)
    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"s3cret"),
        )
    )
    with pytest.raises(InputError, match="encrypted"):
        load_signer(encrypted, CS_CERT, None, at=SIGNING_DAY)
    monkeypatch.setenv("KEY_PW", "s3cret")
    assert load_signer(encrypted, CS_CERT, "KEY_PW", at=SIGNING_DAY).algorithm == "ECDSA-SHA256"
    monkeypatch.delenv("KEY_PW")
    with pytest.raises(InputError, match="KEY_PW is not set"):
        load_signer(encrypted, CS_CERT, "KEY_PW", at=SIGNING_DAY)


@pytest.mark.parametrize(
    ("key", "cert", "fragment"),
    [
        (KEYS / "konnektor-ak-aut-rsa.key.pem", CERTS / "rsa" / "konnektor-ak-aut.pem", "RSA"),
        (KEYS / "broken-p384.key.pem", CERTS / "broken" / "wrong-curve.pem", "secp384r1"),
        (CS_KEY, CERTS / "ecc" / "smcb-aut.pem", "does not belong to the key"),
        (CS_KEY, None, "no signer certificate"),
        (CS_CERT, CS_CERT, "not a PEM private key"),  # a certificate is no key
        (CS_P12, None, "no password given"),
        (CERTS / "keys" / "missing.pem", CS_CERT, "cannot read"),
    ],
)
def test_unusable_keys_are_input_errors(key: Path, cert: Path | None, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        load_signer(key, cert, None, at=SIGNING_DAY)


def test_hostile_report_signs_and_verifies() -> None:
    report = sample_report().as_dict()
    signer = load_signer(CS_KEY, CS_CERT, None, at=SIGNING_DAY)
    with pytest.raises(InputError, match="lone surrogate"):  # JCS cannot carry it
        signer.render(report, SIGNING_DAY)
    text = json.dumps(report).replace("\\ud800", "?")
    text_report = json.loads(text)
    verified = verify(signer.render(text_report, SIGNING_DAY).encode(), anchors(CS_CA), VERIFY_AT)
    assert verified.report == text_report


# -- the canonical form --------------------------------------------------------------------------

RFC8785_NUMBERS = [  # RFC 8785 appendix B: IEEE-754 bit pattern -> ECMAScript text
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), RFC8785_NUMBERS)
def test_jcs_numbers(bits: str, text: str) -> None:
    assert number(struct.unpack(">d", bytes.fromhex(bits))[0]) == text


def test_jcs_strings_and_order() -> None:
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    # RFC 8785 3.2.3: sorted by UTF-16 code units (the emoji's surrogates sort before U+FB33)
    assert canonicalize(value).decode() == (
        '{"\\r":2,"1":4,"\u0080":6,"\u00f6":7,"\u20ac":1,"\U0001f600":5,"\ufb33":3}'
    )
    assert canonicalize(['\u2028\x1f"\\/', 100.0, -0.0, True, None]).decode() == (
        '["\u2028\\u001f\\"\\\\/",100,0,true,null]'
    )
    assert canonicalize(2**64) == b"18446744073709551616"  # exact digits, see jcs docstring
    for bad in (float("nan"), float("inf"), "\udc00", {1: 2}, b"bytes"):
        with pytest.raises(ValueError):
            canonicalize(bad)


def test_signed_bytes_leave_out_only_the_signature_value(signed: bytes) -> None:
    doc: dict[str, Any] = json.loads(signed)
    covered = json.loads(signed_bytes(doc))
    assert "value" not in covered["signature"]
    assert covered["report"] == doc["report"]
    assert covered["signature"]["signed_at"] == doc["signature"]["signed_at"]


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli_attest_and_verify(tmp_path: Path, cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    report, signed_path = tmp_path / "report.json", tmp_path / "report.signed.json"
    rc, _, err = cli(
        "audit",
        "--profile",
        "ti-crypto",
        "--cert",
        CERTS / "ecc" / "smcb-aut.pem",
        "--as-of",
        "2026-06-01",
        "--report",
        f"json={report}",
    )
    assert rc == 0, err
    rc, _, err = cli("attest", report, "--key", CS_KEY, "--cert", CS_CERT, "-o", signed_path)
    assert rc == 0, err
    rc, out, err = cli("verify", signed_path, "--trust", CS_CA, "--as-of", "2026-06-01")
    assert rc == 0, err
    assert out.startswith("verified: gemcheck report of cert audit") or "verified:" in out
    assert "signed at: 2026-06-01T00:00:00Z" in out
    assert json.loads(signed_path.read_text())["report"] == json.loads(report.read_text())

    rc, _, err = cli(
        "verify", signed_path, "--trust", CERTS / "ca" / "rca1.pem", "--as-of", "2026-06-01"
    )
    assert rc == 1 and "FAILED" in err and "trust anchor" in err
    raw = bytearray(signed_path.read_bytes())
    raw[len(raw) // 2] ^= 0x04
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(bytes(raw))
    rc, _, err = cli("verify", tampered, "--trust", CS_CA, "--as-of", "2026-06-01")
    assert rc == 1 and "FAILED" in err
    rc, _, err = cli("attest", signed_path, "--key", CS_KEY, "--cert", CS_CERT)
    assert rc == 2 and "signed already" in err
    rc, _, err = cli("verify", signed_path, "--trust", CS_KEY)
    assert (rc == 2 and "no certificate" in err.lower()) or rc == 2


def test_cli_attest_refuses_a_file_that_is_not_a_report(tmp_path: Path, cli: CLI) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"verdict": "pass"}', encoding="utf-8")
    rc, _, err = cli("attest", junk, "--key", CS_KEY, "--cert", CS_CERT)
    assert rc == 2 and str(junk) in err


def test_cli_audit_signs_json_reports(
    tmp_path: Path, cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("VENDOR_PW", "00")
    out = tmp_path / "signed.json"
    rc, _stdout, err = cli(
        "audit",
        "--profile",
        "ti-crypto",
        "--cert",
        CERTS / "rsa",
        "--as-of",
        "2026-06-01",
        "--report",
        f"json={out}",
        "--sign-key",
        CS_P12,
        "--sign-password-env",
        "VENDOR_PW",
    )
    assert rc == 1, err  # the RSA sunset fails the gate; the report is signed all the same
    assert "00" not in err
    raw = out.read_bytes()
    assert verify(raw, anchors(CS_CA), VERIFY_AT).report["verdict"] == "fail"
    assert parse_baseline(raw, str(out)).entries  # a signed report serves as baseline
    rc, _, err = cli("audit", "--cert", CERTS / "rsa", "--sign-cert", CS_CERT)
    assert rc == 2 and "--sign-key" in err
    rc, _, err = cli(
        "audit",
        "--cert",
        CERTS / "rsa",
        "--sign-key",
        CS_KEY,
        "--sign-cert",
        CERTS / "ecc" / "smcb-aut.pem",
    )
    assert rc == 2 and "does not belong" in err
