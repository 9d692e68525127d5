"""TI certificate profiles (gemSpec_PKI ch. 5): type, KeyUsage, EKU, extensions, Admission, names.

Every check here first identifies the certificate's TI type (``cert.ti_type``)
and then judges it against that type's entry in the profile's parameters, which
are keyed by type name (``C.HCI.AUT``, ``C.AK.AUT``, ``CA`` ...; ``"*"`` is the
fallback where a check has one). A certificate without a type, or a type the
profile has no entry for, is skipped with the reason, never passed silently.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, TypeVar

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from gemcheck.evidence import EvidenceSet
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.model import Finding
from gemcheck.pki.admission import AdmissionInfo, admission_of
from gemcheck.pki.algorithms import key_info, signature_algorithm
from gemcheck.pki.extensions import (
    ExtensionView,
    alt_names,
    extension_name,
    extension_view,
    ocsp_urls,
)
from gemcheck.pki.oids import (
    CA,
    EKU_OIDS,
    EXTENSION_OIDS,
    KEY_USAGES,
    PSEUDO_TYPES,
    TYPE_OIDS,
    eku_name,
    role_label,
)
from gemcheck.pki.types import TypeInfo, identify, key_family
from gemcheck.registry import Context, check

T = TypeVar("T")

NON_TI_ROLES = frozenset({"clientsystem"})
"""Site roles of certificates that are not TI certificates (the Konnektor's client-system TLS
certificates): every check here skips them."""

ANY = "*"
"""The key of a per-type parameter map that applies to every type not listed."""

KeyUsageName = Literal[
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
    "digitalSignature?",
    "nonRepudiation?",
    "keyEncipherment?",
    "dataEncipherment?",
    "keyAgreement?",
    "keyCertSign?",
    "cRLSign?",
    "encipherOnly?",
    "decipherOnly?",
]
"""A KeyUsage bit by name; a trailing ``?`` makes it optional (the spec's cardinality 0-1)."""


def _empty() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class _Cert:
    """What every check here reads first: the certificate, its extensions and its TI type."""

    cert: x509.Certificate
    view: ExtensionView
    type: TypeInfo
    admission: AdmissionInfo
    family: str

    @property
    def name(self) -> str:
        return self.type.name or "?"


_SEEN: weakref.WeakKeyDictionary[EvidenceSet, dict[int, _Cert]] = weakref.WeakKeyDictionary()


def _read(ev: CertificateEvidence, ctx: Context) -> _Cert:
    """The certificate's extensions and type, decoded once per certificate, not once per rule.

    The engine runs rule by rule over all certificates, so the decoded facts are kept
    for the audit's evidence set and go with it. An entry holds its certificate and is
    used only for that very object, so a recycled ``id()`` never returns another's facts.
    """
    cert = ev.certificate
    assert cert is not None  # the engine never passes error evidence to a check
    seen = _SEEN.get(ctx.evidence)
    if seen is None:
        seen = _SEEN[ctx.evidence] = {}
    known = seen.get(id(cert))
    if known is not None and known.cert is cert:
        return known
    view = extension_view(cert)
    found = _Cert(cert, view, identify(cert, view), admission_of(view), key_family(cert))
    seen[id(cert)] = found
    return found


def _typed(ev: CertificateEvidence, ctx: Context) -> _Cert | Finding:
    """The certificate with its type, or the skip finding for a certificate without one."""
    if ev.role in NON_TI_ROLES:
        return Finding.skip(f"site role {ev.role!r}: not a TI certificate")
    c = _read(ev, ctx)
    if c.type.name is None:
        return Finding.skip("no TI certificate type (see cert.ti_type)")
    return c


def _for_type(table: Mapping[str, T], type_name: str) -> T | None:
    """The entry of a per-type parameter map for ``type_name``, else its ``"*"`` entry.

    A type listed with null keeps its null: the profile says "nothing for this type".
    """
    return table[type_name] if type_name in table else table.get(ANY)


@functools.lru_cache(maxsize=1024)
def _split(spec: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(required, optional) names of a spec list where ``name?`` marks an optional one."""
    required = frozenset(s for s in spec if not s.endswith("?"))
    optional = frozenset(s[:-1] for s in spec if s.endswith("?"))
    return required, optional


def _judge_set(
    actual: frozenset[str], spec: tuple[str, ...], mode: str
) -> tuple[list[str], list[str]]:
    """Names missing from ``actual`` and names not allowed in it (``exact`` mode only)."""
    required, optional = _split(spec)
    missing = sorted(required - actual)
    extra = sorted(actual - required - optional) if mode == "exact" else []
    return missing, extra


def _describe(spec: Iterable[str]) -> str:
    return "{" + ", ".join(spec) + "}" if spec else "{}"


# -- cert.ti_type ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TiTypeParams:
    expected_types: Mapping[str, tuple[str, ...]] = field(
        default_factory=_empty,
        metadata={
            "doc": "site role -> the certificate types a certificate of that role may be "
            "(a role that is itself a type name, e.g. C.HCI.AUT, expects that type)"
        },
    )


@check("cert.ti_type", applies_to=CertificateEvidence, params=TiTypeParams)
def ti_type(ev: CertificateEvidence, params: TiTypeParams, ctx: Context) -> Iterator[Finding]:
    """The certificate has exactly one known TI certificate type, and the one the site expects.

    The type is the certificate-type policy OID (1.2.276.0.76.4.x) in
    CertificatePolicies, present exactly once (gemSpec_PKI Tab_PKI_227). TSL signers
    (oid_policy_gem_tsl_signer), OCSP responders (EKU OCSPSigning) and CAs (cA=TRUE)
    are typed by convention as C.TSL.SIG, C.GEM.OCSP and CA. No type is gematik's
    SE_1033_CERT_TYPE_INFO_MISSING; a type that does not fit the certificate's site
    role (``role:`` in the site file) is SE_1018_CERT_TYPE_MISMATCH.
    """
    if ev.role in NON_TI_ROLES:
        yield Finding.skip(f"site role {ev.role!r}: not a TI certificate")
        return
    info = _read(ev, ctx).type
    facts = {"type": info.name, "type_oid": info.oid, "policies": list(info.policies)}
    if info.name is None:
        yield Finding.fail(f"no TI certificate type: {info.problem}", **facts)
        return
    if info.problem:
        yield Finding.fail(f"{info.name}: {info.problem}", **facts)
        return
    expected = _expected_types(ev.role, params)
    if expected and info.name not in expected:
        yield Finding.fail(
            f"type {info.name}, but the site uses it as {ev.role} (expects "
            f"{', '.join(expected)}): SE_1018_CERT_TYPE_MISMATCH",
            **facts,
        )
        return
    how = f" ({info.oid})" if info.oid else ""
    yield Finding.ok(f"TI certificate type {info.name}{how}", **facts)


def _expected_types(role: str | None, params: TiTypeParams) -> tuple[str, ...]:
    if role is None:
        return ()
    listed = params.expected_types.get(role)
    if listed is not None:
        return listed
    if role in TYPE_OIDS or role in PSEUDO_TYPES:
        return (role, CA)  # a container for that type may also ship its CA chain
    return ()


# -- cert.key_usage --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyUsageParams:
    profiles: Mapping[str, Mapping[str, tuple[KeyUsageName, ...]]] = field(
        default_factory=lambda: MappingProxyType({}),
        metadata={
            "doc": "type -> {ec|rsa|any: KeyUsage bits}; name? marks an optional bit "
            "(cardinality 0-1)"
        },
    )
    mode: Literal["exact", "contains"] = field(
        default="exact",
        metadata={
            "doc": "exact: no other bits allowed (GemLibPki); contains: the listed bits "
            "must be set (gemSpec_PKI TUC_PKI_018 subset reading)"
        },
    )


@check("cert.key_usage", applies_to=CertificateEvidence, params=KeyUsageParams)
def key_usage(ev: CertificateEvidence, params: KeyUsageParams, ctx: Context) -> Iterator[Finding]:
    """KeyUsage is present and carries exactly the bits of the type's profile for its key.

    The profile tables of gemSpec_PKI ch. 5 give one KeyUsage set per type and key
    generation: RSA and ECC sets differ (C.HCI.AUT: RSA digitalSignature +
    keyEncipherment, ECC digitalSignature only). A missing or different KeyUsage is
    gematik's SE_1016_WRONG_KEYUSAGE.
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    family = c.family
    per_alg = params.profiles.get(c.name)
    spec = None if per_alg is None else per_alg.get(family, per_alg.get("any"))
    if spec is None:
        yield Finding.skip(f"the profile has no KeyUsage set for {c.name} with a {family} key")
        return
    ext = c.view.get(ExtensionOID.KEY_USAGE)
    bad = c.view.broken(ExtensionOID.KEY_USAGE)
    if ext is None:
        why = f"malformed ({bad.error})" if bad else "missing"
        yield Finding.fail(f"{c.name}: KeyUsage extension {why} (SE_1016_WRONG_KEYUSAGE)")
        return
    assert isinstance(ext.value, x509.KeyUsage)
    actual = key_usage_names(ext.value)
    missing, extra = _judge_set(actual, spec, params.mode)
    if missing or extra:
        parts = [f"lacks {', '.join(missing)}"] if missing else []
        parts += [f"must not have {', '.join(extra)}"] if extra else []
        yield Finding.fail(
            f"{c.name} ({family}): KeyUsage {_describe(sorted(actual))} {'; '.join(parts)} "
            f"(profile {_describe(spec)}; SE_1016_WRONG_KEYUSAGE)",
            key_usage=sorted(actual),
            expected=list(spec),
        )
    else:
        yield Finding.ok(f"{c.name} ({family}): KeyUsage {_describe(sorted(actual))}")


def key_usage_names(ku: x509.KeyUsage) -> frozenset[str]:
    """The names of the bits set in a KeyUsage extension."""
    bits = (
        ku.digital_signature,
        ku.content_commitment,
        ku.key_encipherment,
        ku.data_encipherment,
        ku.key_agreement,
        ku.key_cert_sign,
        ku.crl_sign,
        ku.key_agreement and ku.encipher_only,
        ku.key_agreement and ku.decipher_only,
    )
    return frozenset(name for name, bit in zip(KEY_USAGES, bits, strict=True) if bit)


# -- cert.extended_key_usage -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExtendedKeyUsageParams:
    profiles: Mapping[str, tuple[str, ...]] = field(
        default_factory=_empty,
        metadata={
            "doc": "type -> ExtendedKeyUsage purposes (serverAuth, clientAuth, emailProtection, "
            "OCSPSigning, tslSigning or a dotted OID); name? is optional; [] means no EKU "
            "extension allowed"
        },
    )
    mode: Literal["exact", "contains"] = field(
        default="exact", metadata={"doc": "exact: no other purposes; contains: at least these"}
    )


@check("cert.extended_key_usage", applies_to=CertificateEvidence, params=ExtendedKeyUsageParams)
def extended_key_usage(
    ev: CertificateEvidence, params: ExtendedKeyUsageParams, ctx: Context
) -> Iterator[Finding]:
    """ExtendedKeyUsage holds exactly the purposes of the type's profile (or is absent).

    gemSpec_PKI ch. 5: C.HCI.AUT clientAuth; C.AK.AUT and C.NK.VPN clientAuth +
    serverAuth; C.FD.TLS-S serverAuth; C.HP.AUT clientAuth + emailProtection; the
    TSL signer id-tsl-kp-tslSigning; encryption and signature types none. A wrong or
    missing EKU is gematik's SE_1017_WRONG_EXTENDEDKEYUSAGE.
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    spec = params.profiles.get(c.name)
    if spec is None:
        yield Finding.skip(f"the profile has no ExtendedKeyUsage entry for {c.name}")
        return
    unknown = [s for s in spec if s.rstrip("?") not in EKU_OIDS and not _is_oid(s.rstrip("?"))]
    if unknown:
        yield Finding.error(f"profile names unknown ExtendedKeyUsage purposes: {unknown}")
        return
    ext = c.view.get(ExtensionOID.EXTENDED_KEY_USAGE)
    bad = c.view.broken(ExtensionOID.EXTENDED_KEY_USAGE)
    required, _ = _split(spec)
    if bad is not None:
        yield Finding.fail(f"{c.name}: ExtendedKeyUsage is malformed: {bad.error}")
        return
    if ext is None:
        if required:
            yield Finding.fail(
                f"{c.name}: no ExtendedKeyUsage extension, profile requires "
                f"{_describe(sorted(required))} (SE_1017_WRONG_EXTENDEDKEYUSAGE)"
            )
        else:
            yield Finding.ok(f"{c.name}: no ExtendedKeyUsage, as the profile allows")
        return
    assert isinstance(ext.value, x509.ExtendedKeyUsage)
    actual = frozenset(eku_name(o.dotted_string) for o in ext.value)
    facts = {"extended_key_usage": sorted(actual), "expected": list(spec)}
    if not spec:
        yield Finding.fail(
            f"{c.name}: ExtendedKeyUsage {_describe(sorted(actual))} present, the profile "
            "allows none (SE_1017_WRONG_EXTENDEDKEYUSAGE)",
            **facts,
        )
        return
    missing, extra = _judge_set(actual, spec, params.mode)
    if missing or extra:
        parts = [f"lacks {', '.join(missing)}"] if missing else []
        parts += [f"must not have {', '.join(extra)}"] if extra else []
        yield Finding.fail(
            f"{c.name}: ExtendedKeyUsage {_describe(sorted(actual))} {'; '.join(parts)} "
            f"(profile {_describe(spec)}; SE_1017_WRONG_EXTENDEDKEYUSAGE)",
            **facts,
        )
    else:
        yield Finding.ok(f"{c.name}: ExtendedKeyUsage {_describe(sorted(actual))}")


def _is_oid(text: str) -> bool:
    return re.fullmatch(r"[0-2](\.\d+)+", text) is not None


# -- cert.critical_extensions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CriticalExtensionsParams:
    critical: tuple[str, ...] = field(
        default=("basicConstraints", "keyUsage"),
        metadata={"doc": "the extensions that must be marked critical, and the only ones"},
    )
    by_type: Mapping[str, tuple[str, ...]] = field(
        default_factory=_empty, metadata={"doc": "type -> a different critical set for that type"}
    )


@check("cert.critical_extensions", applies_to=CertificateEvidence, params=CriticalExtensionsParams)
def critical_extensions(
    ev: CertificateEvidence, params: CriticalExtensionsParams, ctx: Context
) -> Iterator[Finding]:
    """Exactly the profile's extensions are critical: basicConstraints and keyUsage.

    Every gemSpec_PKI profile table marks KeyUsage and BasicConstraints critical and
    every other extension non-critical; GemLibPki enforces the set {basicConstraints,
    keyUsage} exactly (GS-A_4661-01, gemSpec_PKI 2.15.0). An unknown critical extension
    makes RFC 5280 relying parties reject the certificate.
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    wanted = params.by_type.get(c.name, params.critical)
    expected = _extension_oids(wanted)
    actual = frozenset(c.view.critical_oids())
    if actual == expected:
        yield Finding.ok(f"critical extensions {_describe(wanted)}")
        return
    extra = sorted(extension_name(o) for o in actual - expected)
    missing = sorted(extension_name(o) for o in expected - actual)
    parts = [f"{', '.join(extra)} must not be critical"] if extra else []
    parts += [f"{', '.join(missing)} must be present and critical"] if missing else []
    yield Finding.fail(
        f"{c.name}: {'; '.join(parts)}",
        critical=sorted(extension_name(o) for o in actual),
        expected=list(wanted),
    )


@functools.lru_cache(maxsize=64)
def _extension_oids(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(EXTENSION_OIDS.get(n, n) for n in names)


# -- cert.admission --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdmissionParams:
    profession_oids: Mapping[str, tuple[str, ...]] = field(
        default_factory=_empty,
        metadata={
            "doc": "type -> professionOIDs allowed for it; types listed here must carry an "
            "Admission with at least one professionOID, all of them allowed"
        },
    )
    single_admission: bool = field(
        default=True,
        metadata={"doc": "contentsOfAdmissions must hold exactly one Admissions element"},
    )


@check("cert.admission", applies_to=CertificateEvidence, params=AdmissionParams)
def admission(ev: CertificateEvidence, params: AdmissionParams, ctx: Context) -> Iterator[Finding]:
    """The Admission extension is well-formed and names professions allowed for the type.

    gemSpec_PKI GS-A_4717-02 (Tab_PKI_226): one Admissions element with a
    professionInfo naming the role by professionOID; the OID must fit the type
    (GS-A_4722): professions on the HBA, institutions on the SMC-B, oid_versicherter
    on the eGK, the technical role on components and services (gemSpec_OID). Every
    professionInfo is read, not only the first. A malformed extension is reported
    here, on this certificate, with what is wrong with it.
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    allowed = params.profession_oids.get(c.name)
    adm = c.admission
    if allowed is None:
        if adm.problem:
            yield Finding.fail(f"Admission extension is malformed: {adm.problem}")
        else:
            yield Finding.skip(f"the profile requires no Admission for {c.name}")
        return
    oids = adm.profession_oids
    wrong = [o for o in oids if o not in allowed]
    if adm.problem:
        problem = f"Admission extension is malformed: {adm.problem}"
    elif not adm.present:
        problem = "no Admission extension (1.3.36.8.3.3)"
    elif not oids:
        problem = "the Admission names no professionOID"
    elif params.single_admission and adm.admissions != 1:
        problem = f"{adm.admissions} Admissions elements, exactly one allowed"
    elif wrong:
        problem = f"professionOID not allowed for the type: {', '.join(map(role_label, wrong))}"
    else:
        yield Finding.ok(
            f"{c.name}: {', '.join(map(role_label, oids))}", profession_oids=list(oids)
        )
        return
    yield Finding.fail(f"{c.name}: {problem}", **_admission_facts(adm))


def _admission_facts(adm: AdmissionInfo) -> dict[str, object]:
    return {
        "profession_oids": list(adm.profession_oids),
        "profession_items": list(adm.profession_items),
    }


# -- cert.telematik_id -----------------------------------------------------------------------------

_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]+")


@dataclass(frozen=True, slots=True)
class TelematikIdParams:
    required_for: tuple[str, ...] = field(
        default=(), metadata={"doc": "types whose Admission must carry a Telematik-ID"}
    )
    optional_for: tuple[str, ...] = field(
        default=(), metadata={"doc": "types where a Telematik-ID may be absent (checked if given)"}
    )
    prefixes: tuple[str, ...] = field(
        default=("1", "2", "3", "4", "5", "7", "8", "9", "10", "11"),
        metadata={"doc": "allowed Telematik-ID prefixes (the part before the first '-')"},
    )
    max_length: int = field(default=128, metadata={"doc": "longest Telematik-ID allowed"})


@check("cert.telematik_id", applies_to=CertificateEvidence, params=TelematikIdParams)
def telematik_id(
    ev: CertificateEvidence, params: TelematikIdParams, ctx: Context
) -> Iterator[Finding]:
    """The Telematik-ID (Admission registrationNumber) is present where needed and well-formed.

    GS-A_4587: ``<prefix>-<rest>``, at most 128 characters, prefix from Tab_PKI_101
    (1 Ärzteschaft ... 11 Gesundheitshandwerke; 6 is reserved); registrationNumber is a
    PrintableString (Tab_PKI_226). SMC-B and HBA AUT/ENC certificates carry it; on the
    QES-HBA it is optional (gemSpec_PKI X9a).
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    if c.name not in params.required_for and c.name not in params.optional_for:
        yield Finding.skip(f"the profile requires no Telematik-ID for {c.name}")
        return
    adm = c.admission
    ids = adm.registration_numbers
    if adm.problem and not ids:
        yield Finding.fail(f"{c.name}: no readable Telematik-ID (Admission malformed)")
        return
    if not ids:
        if c.name in params.required_for:
            yield Finding.fail(f"{c.name}: no Telematik-ID (Admission registrationNumber)")
        else:
            yield Finding.ok(f"{c.name}: no Telematik-ID (optional for this type)")
        return
    if len(ids) > 1:
        yield Finding.fail(f"{c.name}: several Telematik-IDs {list(ids)}", telematik_ids=list(ids))
        return
    tid = ids[0]
    problem = telematik_id_problem(tid, params.prefixes, params.max_length)
    if problem:
        yield Finding.fail(f"Telematik-ID {tid!r}: {problem}", telematik_id=tid)
    else:
        yield Finding.ok(f"Telematik-ID {tid}", telematik_id=tid)


def telematik_id_problem(tid: str, prefixes: tuple[str, ...], max_length: int) -> str | None:
    """Why ``tid`` is not a well-formed Telematik-ID, or None."""
    if len(tid) > max_length:
        return f"{len(tid)} characters, at most {max_length} allowed"
    if not _PRINTABLE.fullmatch(tid):
        return "characters outside PrintableString"
    prefix, sep, rest = tid.partition("-")
    if not sep or not rest:
        return "not of the form <prefix>-<rest>"
    if prefix not in prefixes:
        return f"prefix {prefix!r} is not one of {', '.join(prefixes)}"
    return None


# -- cert.type_algorithm ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeAlgorithmParams:
    curves: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({ANY: ("brainpoolP256r1",)}),
        metadata={"doc": "type (or *) -> allowed EC curves (cryptography's names)"},
    )
    min_rsa_bits: int = field(default=2048, metadata={"doc": "smallest RSA modulus"})
    ecc_only: tuple[str, ...] = field(
        default=(), metadata={"doc": "types that exist only as ECC (RSA is never allowed)"}
    )
    same_generation: bool = field(
        default=True,
        metadata={
            "doc": "the certificate must be signed with its own key generation's algorithm "
            "(ECC with ECDSA, RSA with RSA): GS-A_5513"
        },
    )
    same_generation_exempt: tuple[str, ...] = field(
        default=("CA",), metadata={"doc": "types exempt from same_generation (cross certificates)"}
    )


@check("cert.type_algorithm", applies_to=CertificateEvidence, params=TypeAlgorithmParams)
def type_algorithm(
    ev: CertificateEvidence, params: TypeAlgorithmParams, ctx: Context
) -> Iterator[Finding]:
    """The key algorithm and curve are allowed for the certificate's type.

    TI identities use ECDSA on brainpoolP256r1 (gemSpec_Krypt Tab_KRYPT_002a via
    GS-A_4357/4359/4360/4362); NIST P-256 only for the types the profile lists; RSA
    with at least 2048 bit where the type still exists as RSA. GS-A_5513: a
    certificate is signed with the algorithm of its own key generation.
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    family = c.family
    problems: list[str] = []
    if family == "ec":
        key = key_info(c.cert)
        allowed = _for_type(params.curves, c.name) or ()
        if key.curve not in allowed:
            problems.append(f"curve {key.curve} not allowed (allowed: {', '.join(allowed)})")
        described = f"EC {key.curve}"
    elif family == "rsa":
        key = key_info(c.cert)
        described = f"RSA-{key.bits}"
        if c.name in params.ecc_only:
            problems.append("the type exists only as ECC")
        elif key.bits < params.min_rsa_bits:
            problems.append(f"shorter than {params.min_rsa_bits} bit")
    else:
        described = family.upper()
        problems.append(f"{family} keys are not used in the TI")
    sig = signature_algorithm(c.cert)
    if (
        params.same_generation
        and c.name not in params.same_generation_exempt
        and family in ("ec", "rsa")
        and sig.family in ("ec", "rsa", "rsa-pss")
        and (sig.family == "ec") != (family == "ec")
    ):
        problems.append(f"signed with {sig.name}, not its own key generation (GS-A_5513)")
    facts = {"key": described, "signature_algorithm": sig.name, "type": c.name}
    if problems:
        yield Finding.fail(f"{c.name} {described}: {'; '.join(problems)}", **facts)
    else:
        yield Finding.ok(f"{c.name} {described}, signed with {sig.name}", **facts)


# -- cert.rsa_sunset -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RsaSunsetParams:
    until: Mapping[str, dt.date | None] = field(
        default_factory=lambda: MappingProxyType({}),
        metadata={
            "doc": "type (or *) -> last day an RSA certificate of that type is usable "
            "(null: no end date)"
        },
    )
    notes: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}),
        metadata={"doc": "type (or *) -> the announcement the date comes from, for messages"},
    )


@check("cert.rsa_sunset", applies_to=CertificateEvidence, params=RsaSunsetParams)
def rsa_sunset(ev: CertificateEvidence, params: RsaSunsetParams, ctx: Context) -> Iterator[Finding]:
    """An RSA certificate is not used after the RSA end date of its type.

    The TI migrates from RSA-2048 to ECC: gematik ends RSA per card and component
    type on dates it moves as the migration goes (SMC-B, HBA QES, gSMC-KT, gSMC-K ...).
    The dates are profile data; ``--as-of`` a future day answers "what fails then?".
    ECC certificates are skipped.
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    if c.family != "rsa":
        yield Finding.skip("not an RSA key")
        return
    last = _for_type(params.until, c.name)
    note = _for_type(params.notes, c.name)
    why = f" ({note})" if note else ""
    if last is None:
        yield Finding.ok(f"{c.name} RSA: no end date in this profile{why}")
    elif ctx.as_of > last:
        yield Finding.fail(
            f"{c.name} RSA is no longer usable after {last}{why}", rsa_until=last.isoformat()
        )
    else:
        left = (last - ctx.as_of).days
        yield Finding.ok(
            f"{c.name} RSA usable until {last} ({left} days left){why}",
            rsa_until=last.isoformat(),
            days_left=left,
        )


# -- cert.lifetime ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LifetimeParams:
    max_years: Mapping[str, int | None] = field(
        default_factory=lambda: MappingProxyType({}),
        metadata={
            "doc": "type (CA for an intermediate CA, or *) -> longest lifetime in years "
            "(null: no maximum for that type)"
        },
    )
    root_years: int | None = field(
        default=None,
        metadata={"doc": "longest lifetime of a self-issued root CA, in years (null: none)"},
    )
    to_month_end: bool = field(
        default=True,
        metadata={
            "doc": "an end-entity certificate may run on to the end of the month in which its "
            "maximum ends (GS-A_4352); CAs get no such allowance"
        },
    )


@check("cert.lifetime", applies_to=CertificateEvidence, params=LifetimeParams)
def lifetime(ev: CertificateEvidence, params: LifetimeParams, ctx: Context) -> Iterator[Finding]:
    """The certificate's lifetime (notBefore to notAfter) is within the maximum for its kind.

    gematik's certificate policy (gemRL_TSL_SP_CP 7.3.2) limits how long a TI
    certificate may live: an end-entity certificate at most 5 years from issuance,
    running on to the end of that month (GS-A_4352); a CA of a TSP at most 8 years
    (GS-A_4351, GS-A_4355); the gematik root CA at most 10 years (GS-A_4350).
    The limits are profile data per type; a type with no limit is skipped.
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    root = c.name == CA and c.cert.subject == c.cert.issuer
    kind = "root CA" if root else c.name
    years = params.root_years if root else _for_type(params.max_years, c.name)
    if years is None:
        yield Finding.skip(f"the profile sets no maximum lifetime for {kind}")
        return
    start, end = c.cert.not_valid_before_utc, c.cert.not_valid_after_utc
    latest = latest_end(start, years, to_month_end=params.to_month_end and c.name != CA)
    span = f"{start.date()} to {end.date()}"
    if end > latest:
        yield Finding.fail(
            f"{kind} valid {span}: longer than the {years} years allowed "
            f"(notAfter at most {latest.date()})",
            not_before=start.date().isoformat(),
            not_after=end.date().isoformat(),
            max_years=years,
            latest_not_after=latest.date().isoformat(),
        )
    else:
        yield Finding.ok(f"{kind} valid {span}: within {years} years")


def latest_end(start: dt.datetime, years: int, *, to_month_end: bool) -> dt.datetime:
    """The latest notAfter of a certificate issued at ``start`` with a maximum of ``years``.

    ``years`` calendar years later (29 February falls back to the 28th); with
    ``to_month_end`` the last second of that month.
    """
    try:
        end = start.replace(year=start.year + years)
    except ValueError:
        end = start.replace(year=start.year + years, day=28)
    if not to_month_end:
        return end
    next_month = (end.replace(day=28) + dt.timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    return next_month - dt.timedelta(seconds=1)


# -- cert.subject ----------------------------------------------------------------------------------

_ATTRIBUTES = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "street",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "title",
    "2.5.4.17": "postalCode",
    "2.5.4.42": "GN",
    "2.5.4.97": "organizationIdentifier",
}


@dataclass(frozen=True, slots=True)
class SubjectParams:
    required: Mapping[str, tuple[str, ...]] = field(
        default_factory=_empty,
        metadata={"doc": "type (or *) -> subject attributes that must be present (CN, O, OU ...)"},
    )
    patterns: Mapping[str, tuple[str, ...]] = field(
        default_factory=_empty,
        metadata={
            "doc": "type -> 'ATTR=regex' entries; each must match at least one value of ATTR"
        },
    )
    max_lengths: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({}),
        metadata={"doc": "attribute -> most characters allowed (every type)"},
    )


@check("cert.subject", applies_to=CertificateEvidence, params=SubjectParams)
def subject(ev: CertificateEvidence, params: SubjectParams, ctx: Context) -> Iterator[Finding]:
    """The subject DN has the attributes the type's profile requires, within length limits.

    gemSpec_PKI ch. 5 names the subject attributes per type (the eGK: CN, GN, SN,
    OU = KVNR, OU = Institutionskennzeichen, O = card issuer, C); Tab_PKI_229-01
    (GS-A_4714-01) limits their length (CN, SN, GN, O, OU 64 characters ...).
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    try:
        values = subject_values(c.cert.subject)
    except ValueError as exc:
        yield Finding.fail(f"{c.name}: the subject cannot be decoded: {exc}")
        return
    problems = [f"no {a}" for a in _for_type(params.required, c.name) or () if a not in values]
    for entry in params.patterns.get(c.name, ()):
        attr, _, pattern = entry.partition("=")
        if not any(re.fullmatch(pattern, v) for v in values.get(attr, ())):
            problems.append(f"no {attr} matching {pattern}")
    limits = params.max_lengths
    for attr, found in values.items():
        limit = limits.get(attr)
        if limit is not None:
            problems += [
                f"{attr} has {len(v)} characters (at most {limit})" for v in found if len(v) > limit
            ]
    if problems:
        yield Finding.fail(f"{c.name} subject: {'; '.join(problems)}")
    else:
        yield Finding.ok(f"{c.name} subject has the required attributes")


def subject_values(name: x509.Name) -> dict[str, list[str]]:
    """Attribute short name -> its values, for every attribute of a DN."""
    out: dict[str, list[str]] = {}
    for attr in name:
        oid = attr.oid.dotted_string
        value = attr.value
        out.setdefault(_ATTRIBUTES.get(oid, oid), []).append(
            value if isinstance(value, str) else value.hex()
        )
    return out


# -- cert.subject_alt_name -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubjectAltNameParams:
    allowed_kinds: tuple[str, ...] = field(
        default=("rfc822Name", "dNSName", "otherName"),
        metadata={"doc": "GeneralName kinds a SubjectAltName may hold (RFC 5280 names)"},
    )
    dns_names: Mapping[str, tuple[str, ...]] = field(
        default_factory=_empty,
        metadata={
            "doc": "type -> dNSName entries it must carry; '*' means at least one host name "
            "of any value"
        },
    )
    none_for: tuple[str, ...] = field(
        default=(), metadata={"doc": "types that carry no SubjectAltName at all"}
    )


@check("cert.subject_alt_name", applies_to=CertificateEvidence, params=SubjectAltNameParams)
def subject_alt_name(
    ev: CertificateEvidence, params: SubjectAltNameParams, ctx: Context
) -> Iterator[Finding]:
    """SubjectAltName holds only the name kinds the TI allows, and the host names its type needs.

    gemSpec_PKI Tab_PKI_228 (GS-A_4719) allows rfc822Name, dNSName and otherName.
    Server and VPN types carry their host name as dNSName: the Konnektor's C.AK.AUT
    exactly ``konnektor.konlan`` (Tab_PKI_243); C.FD.TLS-S, C.ZD.TLS-S and the VPN
    access service the FQDN of the service (Tab_PKI_245, 247, 250), which TLS and
    IPsec peers compare with the name they asked for (GS-A_5077, GS-A_5078). The
    QES certificate of the HBA carries none (Tab_PKI_270_1).
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    bad = c.view.broken(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if bad is not None:
        yield Finding.fail(f"{c.name}: SubjectAltName is malformed ({bad.error})")
        return
    names = alt_names(c.view)
    kinds = sorted({kind for kind, _ in names})
    dns = [value.lower() for kind, value in names if kind == "dNSName"]
    problems = [f"{k} is not allowed" for k in kinds if k not in params.allowed_kinds]
    if c.name in params.none_for and names:
        problems.append(f"{c.name} carries no SubjectAltName")
    for wanted in params.dns_names.get(c.name, ()):
        if wanted == ANY and not dns:
            problems.append("no dNSName with the host name")
        elif wanted != ANY and wanted.lower() not in dns:
            problems.append(f"no dNSName {wanted}")
    if problems:
        yield Finding.fail(
            f"{c.name} SubjectAltName: {'; '.join(problems)}", kinds=kinds, dns_names=dns
        )
    elif names:
        yield Finding.ok(f"{c.name} SubjectAltName: {', '.join(kinds)}")
    else:
        yield Finding.ok(f"{c.name}: no SubjectAltName, none required")


# -- cert.status_pointers --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusPointersParams:
    ocsp_optional: tuple[str, ...] = field(
        default=(),
        metadata={"doc": "types that may go without an OCSP URL in AuthorityInfoAccess (0-1)"},
    )
    crl_required: tuple[str, ...] = field(
        default=(), metadata={"doc": "types that must carry CRLDistributionPoints"}
    )
    none_for: tuple[str, ...] = field(
        default=(),
        metadata={"doc": "types that carry neither AuthorityInfoAccess nor CRLDistributionPoints"},
    )


@check("cert.status_pointers", applies_to=CertificateEvidence, params=StatusPointersParams)
def status_pointers(
    ev: CertificateEvidence, params: StatusPointersParams, ctx: Context
) -> Iterator[Finding]:
    """The certificate points to its status service as its type's profile requires.

    gemSpec_PKI ch. 5 gives each end-entity type an AuthorityInfoAccess with the
    OCSP responder's URL (cardinality 1; 0-1 for the KIM client module and OCSP
    signers), CRLDistributionPoints for the VPN access service (1), and neither for
    the card terminal's gSMC-KT (Tab_PKI_241). TI clients take the responder from
    the TSL (TUC_PKI_005); the certificate's own pointers belong to its profile all
    the same.
    """
    c = _typed(ev, ctx)
    if isinstance(c, Finding):
        yield c
        return
    for oid in (ExtensionOID.AUTHORITY_INFORMATION_ACCESS, ExtensionOID.CRL_DISTRIBUTION_POINTS):
        bad = c.view.broken(oid)
        if bad is not None:
            yield Finding.fail(f"{c.name}: {bad.name} is malformed ({bad.error})")
            return
    has_aia = c.view.get(ExtensionOID.AUTHORITY_INFORMATION_ACCESS) is not None
    has_crl = c.view.get(ExtensionOID.CRL_DISTRIBUTION_POINTS) is not None
    urls = ocsp_urls(c.view)
    problems = []
    if c.name in params.none_for:
        problems += ["carries AuthorityInfoAccess"] if has_aia else []
        problems += ["carries CRLDistributionPoints"] if has_crl else []
    elif not urls and c.name not in params.ocsp_optional:
        problems.append("no OCSP responder URL in AuthorityInfoAccess")
    if c.name in params.crl_required and not has_crl:
        problems.append("no CRLDistributionPoints")
    if problems:
        yield Finding.fail(f"{c.name}: {'; '.join(problems)}", ocsp=list(urls))
    elif urls:
        yield Finding.ok(f"{c.name}: OCSP responder {', '.join(urls)}")
    else:
        yield Finding.ok(f"{c.name}: no status pointers, none required")
