"""Names and codes of TLS protocol versions, cipher suites, groups and signature schemes.

Names are the IANA registry names (``TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256``,
``secp256r1``), as gemSpec_Krypt and the reports use them. The TLS 1.2 suite
table was generated from the local OpenSSL 3.0 with
``openssl ciphers -stdname -V 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'``; which suites the
probe tries is read at run time from Python's ``ssl`` (:func:`openssl_tls12_suites`),
so a newer OpenSSL adds suites without a code change (named by their OpenSSL name
until the table knows them).
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass

VERSIONS: dict[str, int] = {
    "SSLv3": 0x0300,
    "TLSv1.0": 0x0301,
    "TLSv1.1": 0x0302,
    "TLSv1.2": 0x0303,
    "TLSv1.3": 0x0304,
}
"""Protocol versions by the names reports use, with their wire codes."""

VERSION_NAMES: dict[int, str] = {code: name for name, code in VERSIONS.items()}


def _table(text: str) -> dict[int, str]:
    """``XXXX name`` lines (hex code, name) as a dict."""
    return {int(code, 16): name for code, name in (row.split() for row in text.splitlines() if row)}


_TLS12_SUITES = """
0001 TLS_RSA_WITH_NULL_MD5
0002 TLS_RSA_WITH_NULL_SHA
002C TLS_PSK_WITH_NULL_SHA
002D TLS_DHE_PSK_WITH_NULL_SHA
002E TLS_RSA_PSK_WITH_NULL_SHA
002F TLS_RSA_WITH_AES_128_CBC_SHA
0032 TLS_DHE_DSS_WITH_AES_128_CBC_SHA
0033 TLS_DHE_RSA_WITH_AES_128_CBC_SHA
0034 TLS_DH_anon_WITH_AES_128_CBC_SHA
0035 TLS_RSA_WITH_AES_256_CBC_SHA
0038 TLS_DHE_DSS_WITH_AES_256_CBC_SHA
0039 TLS_DHE_RSA_WITH_AES_256_CBC_SHA
003A TLS_DH_anon_WITH_AES_256_CBC_SHA
003B TLS_RSA_WITH_NULL_SHA256
003C TLS_RSA_WITH_AES_128_CBC_SHA256
003D TLS_RSA_WITH_AES_256_CBC_SHA256
0040 TLS_DHE_DSS_WITH_AES_128_CBC_SHA256
0041 TLS_RSA_WITH_CAMELLIA_128_CBC_SHA
0044 TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA
0045 TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA
0046 TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA
0067 TLS_DHE_RSA_WITH_AES_128_CBC_SHA256
006A TLS_DHE_DSS_WITH_AES_256_CBC_SHA256
006B TLS_DHE_RSA_WITH_AES_256_CBC_SHA256
006C TLS_DH_anon_WITH_AES_128_CBC_SHA256
006D TLS_DH_anon_WITH_AES_256_CBC_SHA256
0084 TLS_RSA_WITH_CAMELLIA_256_CBC_SHA
0087 TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA
0088 TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA
0089 TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA
008C TLS_PSK_WITH_AES_128_CBC_SHA
008D TLS_PSK_WITH_AES_256_CBC_SHA
0090 TLS_DHE_PSK_WITH_AES_128_CBC_SHA
0091 TLS_DHE_PSK_WITH_AES_256_CBC_SHA
0094 TLS_RSA_PSK_WITH_AES_128_CBC_SHA
0095 TLS_RSA_PSK_WITH_AES_256_CBC_SHA
009C TLS_RSA_WITH_AES_128_GCM_SHA256
009D TLS_RSA_WITH_AES_256_GCM_SHA384
009E TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
009F TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
00A2 TLS_DHE_DSS_WITH_AES_128_GCM_SHA256
00A3 TLS_DHE_DSS_WITH_AES_256_GCM_SHA384
00A6 TLS_DH_anon_WITH_AES_128_GCM_SHA256
00A7 TLS_DH_anon_WITH_AES_256_GCM_SHA384
00A8 TLS_PSK_WITH_AES_128_GCM_SHA256
00A9 TLS_PSK_WITH_AES_256_GCM_SHA384
00AA TLS_DHE_PSK_WITH_AES_128_GCM_SHA256
00AB TLS_DHE_PSK_WITH_AES_256_GCM_SHA384
00AC TLS_RSA_PSK_WITH_AES_128_GCM_SHA256
00AD TLS_RSA_PSK_WITH_AES_256_GCM_SHA384
00AE TLS_PSK_WITH_AES_128_CBC_SHA256
00AF TLS_PSK_WITH_AES_256_CBC_SHA384
00B0 TLS_PSK_WITH_NULL_SHA256
00B1 TLS_PSK_WITH_NULL_SHA384
00B2 TLS_DHE_PSK_WITH_AES_128_CBC_SHA256
00B3 TLS_DHE_PSK_WITH_AES_256_CBC_SHA384
00B4 TLS_DHE_PSK_WITH_NULL_SHA256
00B5 TLS_DHE_PSK_WITH_NULL_SHA384
00B6 TLS_RSA_PSK_WITH_AES_128_CBC_SHA256
00B7 TLS_RSA_PSK_WITH_AES_256_CBC_SHA384
00B8 TLS_RSA_PSK_WITH_NULL_SHA256
00B9 TLS_RSA_PSK_WITH_NULL_SHA384
00BA TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256
00BD TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256
00BE TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256
00BF TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256
00C0 TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256
00C3 TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256
00C4 TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256
00C5 TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256
C006 TLS_ECDHE_ECDSA_WITH_NULL_SHA
C009 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
C00A TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
C010 TLS_ECDHE_RSA_WITH_NULL_SHA
C013 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
C014 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
C015 TLS_ECDH_anon_WITH_NULL_SHA
C018 TLS_ECDH_anon_WITH_AES_128_CBC_SHA
C019 TLS_ECDH_anon_WITH_AES_256_CBC_SHA
C01D TLS_SRP_SHA_WITH_AES_128_CBC_SHA
C01E TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA
C01F TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA
C020 TLS_SRP_SHA_WITH_AES_256_CBC_SHA
C021 TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA
C022 TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA
C023 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
C024 TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
C027 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
C028 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
C02B TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
C02C TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
C02F TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
C030 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
C035 TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA
C036 TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA
C037 TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256
C038 TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384
C039 TLS_ECDHE_PSK_WITH_NULL_SHA
C03A TLS_ECDHE_PSK_WITH_NULL_SHA256
C03B TLS_ECDHE_PSK_WITH_NULL_SHA384
C050 TLS_RSA_WITH_ARIA_128_GCM_SHA256
C051 TLS_RSA_WITH_ARIA_256_GCM_SHA384
C052 TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256
C053 TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384
C056 TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256
C057 TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384
C05C TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256
C05D TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384
C060 TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256
C061 TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384
C06A TLS_PSK_WITH_ARIA_128_GCM_SHA256
C06B TLS_PSK_WITH_ARIA_256_GCM_SHA384
C06C TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256
C06D TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384
C06E TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256
C06F TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384
C072 TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256
C073 TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384
C076 TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256
C077 TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384
C094 TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256
C095 TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384
C096 TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256
C097 TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384
C098 TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256
C099 TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384
C09A TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256
C09B TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384
C09C TLS_RSA_WITH_AES_128_CCM
C09D TLS_RSA_WITH_AES_256_CCM
C09E TLS_DHE_RSA_WITH_AES_128_CCM
C09F TLS_DHE_RSA_WITH_AES_256_CCM
C0A0 TLS_RSA_WITH_AES_128_CCM_8
C0A1 TLS_RSA_WITH_AES_256_CCM_8
C0A2 TLS_DHE_RSA_WITH_AES_128_CCM_8
C0A3 TLS_DHE_RSA_WITH_AES_256_CCM_8
C0A4 TLS_PSK_WITH_AES_128_CCM
C0A5 TLS_PSK_WITH_AES_256_CCM
C0A6 TLS_DHE_PSK_WITH_AES_128_CCM
C0A7 TLS_DHE_PSK_WITH_AES_256_CCM
C0A8 TLS_PSK_WITH_AES_128_CCM_8
C0A9 TLS_PSK_WITH_AES_256_CCM_8
C0AA TLS_PSK_DHE_WITH_AES_128_CCM_8
C0AB TLS_PSK_DHE_WITH_AES_256_CCM_8
C0AC TLS_ECDHE_ECDSA_WITH_AES_128_CCM
C0AD TLS_ECDHE_ECDSA_WITH_AES_256_CCM
C0AE TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
C0AF TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8
CCA8 TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
CCA9 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
CCAA TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
CCAB TLS_PSK_WITH_CHACHA20_POLY1305_SHA256
CCAC TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256
CCAD TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256
CCAE TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256
"""

TLS13_SUITES: dict[int, str] = {
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0x1304: "TLS_AES_128_CCM_SHA256",
    0x1305: "TLS_AES_128_CCM_8_SHA256",
}
"""Every TLS 1.3 cipher suite of RFC 8446 (all five are tried)."""

SUITE_NAMES: dict[int, str] = {**_table(_TLS12_SUITES), **TLS13_SUITES}

GROUPS: dict[int, str] = _table(
    """
0001 sect163k1
0002 sect163r1
0003 sect163r2
0004 sect193r1
0005 sect193r2
0006 sect233k1
0007 sect233r1
0008 sect239k1
0009 sect283k1
000A sect283r1
000B sect409k1
000C sect409r1
000D sect571k1
000E sect571r1
000F secp160k1
0010 secp160r1
0011 secp160r2
0012 secp192k1
0013 secp192r1
0014 secp224k1
0015 secp224r1
0016 secp256k1
0017 secp256r1
0018 secp384r1
0019 secp521r1
001A brainpoolP256r1
001B brainpoolP384r1
001C brainpoolP512r1
001D x25519
001E x448
001F brainpoolP256r1tls13
0020 brainpoolP384r1tls13
0021 brainpoolP512r1tls13
0100 ffdhe2048
0101 ffdhe3072
0102 ffdhe4096
0103 ffdhe6144
0104 ffdhe8192
11EB SecP256r1MLKEM768
11EC X25519MLKEM768
11ED SecP384r1MLKEM1024
"""
)
"""IANA TLS Supported Groups (RFC 8422, RFC 8446, RFC 8734, RFC 7919, hybrid ML-KEM drafts)."""

TLS12_GROUPS: tuple[int, ...] = tuple(range(1, 31))
"""Groups an ECDHE key exchange in TLS 1.2 can use (RFC 8422: named curves, x25519, x448)."""

TLS13_GROUPS: tuple[int, ...] = (
    *range(23, 26),
    *range(29, 34),
    *range(256, 261),
    *range(0x11EB, 0x11EE),
)
"""Groups a TLS 1.3 key exchange can use."""

OPENSSL_GROUP_NAMES: dict[str, str] = {
    "secp256r1": "prime256v1",
    "x25519": "X25519",
    "x448": "X448",
    "secp192r1": "prime192v1",
}
"""IANA name -> the name ``ssl.SSLContext.set_ecdh_curve`` takes, where they differ."""

SIGNATURE_SCHEMES: dict[int, str] = {
    0x0101: "rsa_pkcs1_md5",
    0x0201: "rsa_pkcs1_sha1",
    0x0202: "dsa_sha1",
    0x0203: "ecdsa_sha1",
    0x0301: "rsa_pkcs1_sha224",
    0x0302: "dsa_sha224",
    0x0303: "ecdsa_sha224",
    0x0401: "rsa_pkcs1_sha256",
    0x0402: "dsa_sha256",
    0x0403: "ecdsa_secp256r1_sha256",
    0x0501: "rsa_pkcs1_sha384",
    0x0503: "ecdsa_secp384r1_sha384",
    0x0601: "rsa_pkcs1_sha512",
    0x0603: "ecdsa_secp521r1_sha512",
    0x0804: "rsa_pss_rsae_sha256",
    0x0805: "rsa_pss_rsae_sha384",
    0x0806: "rsa_pss_rsae_sha512",
    0x0807: "ed25519",
    0x0808: "ed448",
    0x0809: "rsa_pss_pss_sha256",
    0x080A: "rsa_pss_pss_sha384",
    0x080B: "rsa_pss_pss_sha512",
    0x081A: "ecdsa_brainpoolP256r1tls13_sha256",
    0x081B: "ecdsa_brainpoolP384r1tls13_sha384",
    0x081C: "ecdsa_brainpoolP512r1tls13_sha512",
}
"""TLS SignatureScheme codes (RFC 8446, RFC 8734) and the TLS 1.2 hash/signature pairs."""

STRONG_SIGNATURES: tuple[int, ...] = (
    0x0403,
    0x0503,
    0x0603,
    0x081A,
    0x081B,
    0x081C,
    0x0807,
    0x0808,
    0x0804,
    0x0805,
    0x0806,
    0x0809,
    0x080A,
    0x080B,
    0x0401,
    0x0501,
    0x0601,
    0x0402,
)
"""Handshake signatures with SHA-256 or stronger (A_21275-01 allows only these hashes)."""

WEAK_SIGNATURES: tuple[int, ...] = (0x0303, 0x0301, 0x0302, 0x0203, 0x0201, 0x0202, 0x0101)
"""Handshake signatures with MD5, SHA-1 or SHA-224."""


@dataclass(frozen=True, slots=True)
class Suite:
    """A cipher suite: its two-byte code and IANA name."""

    code: int
    name: str

    @property
    def hex(self) -> str:
        """``0xC02F``."""
        return f"0x{self.code:04X}"

    def __str__(self) -> str:
        return f"{self.name} ({self.hex})"


def suite(code: int) -> Suite:
    """The suite of a code, named from the table (``0x....`` for a code nobody knows)."""
    return Suite(code, SUITE_NAMES.get(code) or _openssl_names().get(code) or f"0x{code:04X}")


def group_name(code: int) -> str:
    """The IANA name of a group code (``0x....`` when unknown)."""
    return GROUPS.get(code) or f"0x{code:04X}"


def signature_name(code: int) -> str:
    """The IANA name of a signature scheme code (``0x....`` when unknown)."""
    return SIGNATURE_SCHEMES.get(code) or f"0x{code:04X}"


@functools.cache
def _openssl_ciphers() -> tuple[dict[str, object], ...]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return tuple(ctx.get_ciphers())  # type: ignore[arg-type]


@functools.cache
def _openssl_names() -> dict[int, str]:
    return {int(str(c["id"])) & 0xFFFF: str(c["name"]) for c in _openssl_ciphers()}


@functools.cache
def openssl_tls12_suites() -> tuple[int, ...]:
    """Every TLS <= 1.2 cipher suite the local OpenSSL can offer, by code, ascending."""
    return tuple(
        sorted(
            {int(str(c["id"])) & 0xFFFF for c in _openssl_ciphers() if c["protocol"] != "TLSv1.3"}
        )
    )


def key_exchange(name: str) -> str:
    """The key exchange of a TLS <= 1.2 suite from its IANA name: ``ECDHE_RSA``, ``RSA`` ..."""
    if not name.startswith("TLS_") or "_WITH_" not in name:
        return ""
    return name[4:].split("_WITH_", 1)[0]


def weaknesses(name: str) -> tuple[str, ...]:
    """Why a TLS <= 1.2 suite is weak, read off its IANA name (empty for ECDHE + AEAD)."""
    kx = key_exchange(name)
    cipher = name.split("_WITH_", 1)[1] if "_WITH_" in name else name
    found: list[str] = []
    if kx == "RSA":
        found.append("RSA key exchange (no forward secrecy)")
    elif kx.startswith(("DHE_RSA", "DHE_DSS")):
        found.append(f"{kx.replace('_', '-')} key exchange")
    elif kx.startswith(("ECDH_", "DH_")) and "anon" not in kx:
        found.append("static (EC)DH key exchange (no forward secrecy)")
    if "anon" in kx:
        found.append("anonymous (no server authentication)")
    if "PSK" in kx or "SRP" in kx:
        found.append(f"{kx.replace('_', '-')} key exchange")
    if "EXPORT" in name:
        found.append("export-grade")
    if cipher.startswith("NULL"):
        found.append("no encryption (NULL)")
    if "RC4" in cipher:
        found.append("RC4")
    if "DES" in cipher:
        found.append("DES/3DES")
    if "_CBC" in cipher:
        found.append("CBC mode")
    if name.endswith("_SHA"):
        found.append("SHA-1 MAC")
    elif name.endswith("_MD5"):
        found.append("MD5 MAC")
    return tuple(found)
