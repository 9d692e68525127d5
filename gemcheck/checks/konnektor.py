"""Konnektor checks on connector.sds, operating state, card certificates and live access.

Every value a rule judges by (minimum versions and the dates they apply from,
deprecated services, error conditions, deadlines) is profile data; see
``profiles/ti-konnektor.yaml`` for the values and their sources.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from gemcheck.evidence.konnektor import (
    CertificateExpirationEvidence,
    ErrorState,
    KonnektorAccessEvidence,
    KonnektorEvidence,
    KonnektorParametersEvidence,
    OperatingStateEvidence,
    ServiceDirectoryEvidence,
)
from gemcheck.model import Finding
from gemcheck.registry import Context, check

# -- documents ---------------------------------------------------------------------------------


@check("konnektor.schema_valid", applies_to=KonnektorEvidence)
def schema_valid(ev: KonnektorEvidence, params: object, ctx: Context) -> Iterator[Finding]:
    """The Konnektor document is valid against its gematik XSD.

    connector.sds against ServiceDirectory.xsd v3.1.0 (TIP1-A_4529-02),
    OperatingData against OperatingData.xsd v1.1.2, SOAP responses (the first
    element of the body) against EventService.xsd / CertificateService_v6_0_2.xsd.
    A document that is not XML at all is an ``error``; one that is XML but
    breaks the schema fails here and is still read for the other rules.
    """
    if ev.schema_errors:
        shown = "; ".join(ev.schema_errors[:3])
        more = f" (+{len(ev.schema_errors) - 3} more)" if len(ev.schema_errors) > 3 else ""
        yield Finding.fail(
            f"not valid against {ev.schema}: {shown}{more}",
            schema=ev.schema,
            errors=list(ev.schema_errors),
        )
    else:
        yield Finding.ok(f"valid against {ev.schema}", schema=ev.schema)


@dataclass(frozen=True, slots=True)
class SdsFlagParams:
    flag: Literal["TLSMandatory", "ClientAutMandatory"] = field(
        default="TLSMandatory", metadata={"doc": "the connector.sds element to judge"}
    )
    expected: bool = field(default=True, metadata={"doc": "the value it must have"})


@check("konnektor.sds_flag", applies_to=ServiceDirectoryEvidence, params=SdsFlagParams)
def sds_flag(
    ev: ServiceDirectoryEvidence, params: SdsFlagParams, ctx: Context
) -> Iterator[Finding]:
    """connector.sds says TLS (or client authentication) is mandatory.

    ``TLSMandatory`` mirrors ANCL_TLS_MANDATORY and ``ClientAutMandatory``
    mirrors ANCL_CAUT_MANDATORY (gemSpec_Kon TAB_KON_506-01, both Enabled by
    default). With either off, any machine in the practice LAN can use the
    Konnektor's services (sign, read cards, open health records) unauthenticated.
    """
    value = ev.tls_mandatory if params.flag == "TLSMandatory" else ev.client_aut_mandatory
    if value is None:
        yield Finding.error(f"connector.sds has no readable {params.flag} element")
    elif value == params.expected:
        yield Finding.ok(f"{params.flag} is {str(value).lower()}", **{params.flag: value})
    else:
        yield Finding.fail(
            f"{params.flag} is {str(value).lower()} (must be {str(params.expected).lower()})",
            **{params.flag: value},
        )


@check("konnektor.sds_plain_endpoints", applies_to=ServiceDirectoryEvidence)
def sds_plain_endpoints(
    ev: ServiceDirectoryEvidence, params: object, ctx: Context
) -> Iterator[Finding]:
    """No plain-HTTP endpoint is listed when TLS or client authentication is mandatory.

    gemSpec_Kon TAB_KON_521 (TIP1-A_4532): if ``TLSMandatory`` or
    ``ClientAutMandatory`` is true, connector.sds lists only ``EndpointTLS``
    (and no ``http:`` URL anywhere). An ``EndpointTLS`` that is not ``https:``
    is wrong whatever the flags say.
    """
    flagged = ev.tls_mandatory or ev.client_aut_mandatory
    bad_tls = [s for s in ev.services if not s.endpoint_tls.lower().startswith("https:")]
    plain = [
        s
        for s in ev.services
        if s.endpoint is not None or (s.wsdl or "").lower().startswith("http:")
    ]
    problems = [
        f"{s.service} {s.version}: EndpointTLS {s.endpoint_tls or '(empty)'}" for s in bad_tls
    ]
    if flagged:
        problems += [f"{s.service} {s.version}: Endpoint {s.endpoint or s.wsdl}" for s in plain]
    if problems:
        yield Finding.fail(
            f"{len(problems)} plain endpoint(s) listed although "
            f"{'a flag is set' if flagged else 'EndpointTLS must be https'}: "
            f"{problems[0]}",
            endpoints=problems,
        )
    elif not flagged:
        yield Finding.skip(
            "neither TLSMandatory nor ClientAutMandatory is true, so plain "
            "endpoints are allowed (the flags themselves are judged elsewhere)"
        )
    else:
        yield Finding.ok(f"all {len(ev.services)} service versions list only https endpoints")


# -- product and versions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductTypeVersionParams:
    minimum: Mapping[str, str] = field(
        default_factory=dict,
        metadata={"doc": "minimum ProductTypeVersion (x.y.z) from each date (YYYY-MM-DD) on"},
    )
    product_type: str = field(default="Konnektor", metadata={"doc": "ProductType judged"})


@check(
    "konnektor.product_type_version", applies_to=KonnektorEvidence, params=ProductTypeVersionParams
)
def product_type_version(
    ev: KonnektorEvidence, params: ProductTypeVersionParams, ctx: Context
) -> Iterator[Finding]:
    """The Konnektor's product type version is at least the minimum in force.

    The minimum changes over time (PTV4 Konnektoren with RSA-only gSMC-K after
    the RSA sunset, PTV6 "ECC-preferred"): the profile gives it as a schedule of
    dates, and the entry in force at ``--as-of`` applies.
    """
    product = ev.product
    if product is None:
        yield Finding.skip("this source has no ProductInformation")
        return
    if product.product_type != params.product_type:
        yield Finding.skip(f"ProductType is {product.product_type!r}, not {params.product_type}")
        return
    yield from _at_least(
        "product type version",
        product.product_type_version,
        params.minimum,
        ctx.as_of,
        product=product.as_dict(),
    )


@dataclass(frozen=True, slots=True)
class FirmwareParams:
    minimum: Mapping[str, Mapping[str, str]] = field(
        default_factory=dict,
        metadata={"doc": "per VENDORID/ProductCode: minimum firmware (x.y.z) from each date on"},
    )


@check("konnektor.firmware_version", applies_to=KonnektorEvidence, params=FirmwareParams)
def firmware_version(
    ev: KonnektorEvidence, params: FirmwareParams, ctx: Context
) -> Iterator[Finding]:
    """The Konnektor's firmware is at least the minimum the profile sets for its product.

    Firmware versions are vendor-specific, so minimums are keyed by
    ``ProductVendorID/ProductCode`` as connector.sds names them; a product the
    profile has no entry for is skipped (tailor the rule to add one).
    """
    product = ev.product
    if product is None:
        yield Finding.skip("this source has no ProductInformation")
        return
    schedule = params.minimum.get(product.key)
    if schedule is None:
        yield Finding.skip(f"the profile sets no firmware minimum for {product.key}")
        return
    firmware = product.fw_version or product.central_version or ""
    yield from _at_least("firmware", firmware, schedule, ctx.as_of, product=product.as_dict())


def _at_least(
    what: str, version: str, schedule: Mapping[str, str], day: dt.date, **facts: object
) -> Iterator[Finding]:
    try:
        entries = sorted((dt.date.fromisoformat(k), v) for k, v in schedule.items())
    except ValueError:
        yield Finding.error(
            f"profile error: schedule keys must be dates (YYYY-MM-DD): {sorted(schedule)}"
        )
        return
    in_force = [(since, minimum) for since, minimum in entries if since <= day]
    have = _version(version)
    if not in_force:
        yield Finding.skip(f"no {what} minimum in force on {day}")
    elif have is None:
        yield Finding.error(f"{what} {version!r} is not a version number x.y.z", **facts)
    else:
        since, minimum = in_force[-1]
        need = _version(minimum)
        if need is None:
            yield Finding.error(f"profile error: minimum {minimum!r} is not x.y.z")
        elif have < need:
            yield Finding.fail(
                f"{what} {version} is below the minimum {minimum} (in force since {since})",
                minimum=minimum,
                **facts,
            )
        else:
            yield Finding.ok(
                f"{what} {version} meets the minimum {minimum}", minimum=minimum, **facts
            )


_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


def _version(text: str) -> tuple[int, int, int] | None:
    m = _VERSION.match(text.strip())
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


@dataclass(frozen=True, slots=True)
class DeprecatedServicesParams:
    deprecated: Mapping[str, str] = field(
        default_factory=dict,
        metadata={"doc": "'Service@version-glob' (e.g. 'PHRService@1.*') -> why it is deprecated"},
    )


@check(
    "konnektor.deprecated_services",
    applies_to=ServiceDirectoryEvidence,
    params=DeprecatedServicesParams,
)
def deprecated_services(
    ev: ServiceDirectoryEvidence, params: DeprecatedServicesParams, ctx: Context
) -> Iterator[Finding]:
    """connector.sds offers no service version the profile marks as deprecated.

    A service version that is no longer used (ePA 1/2 Fachmodul after "ePA
    für alle", a WSDL superseded by one the client systems use) is attack
    surface and a sign of a configuration nobody maintains.
    """
    hits: list[str] = []
    for s in ev.services:
        for pattern, reason in params.deprecated.items():
            name, _, version = pattern.partition("@")
            if s.service == name and fnmatch.fnmatchcase(s.version, version or "*"):
                hits.append(f"{s.service} {s.version} ({reason})")
                break
    if hits:
        yield Finding.fail(
            f"{len(hits)} deprecated service version(s) offered: {hits[0]}", deprecated=hits
        )
    else:
        yield Finding.ok(f"none of {len(ev.services)} service versions is deprecated")


# -- operating state ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorStatesParams:
    severities: tuple[str, ...] = field(
        default=(), metadata={"doc": "active states of these severities fail (Fatal, Error ...)"}
    )
    conditions: tuple[str, ...] = field(
        default=(), metadata={"doc": "active states with these names fail, whatever severity"}
    )


@check("konnektor.error_states", applies_to=OperatingStateEvidence, params=ErrorStatesParams)
def error_states(
    ev: OperatingStateEvidence, params: ErrorStatesParams, ctx: Context
) -> Iterator[Finding]:
    """No error state the rule names is active (``Value=true``).

    The Konnektor keeps the states of gemSpec_Kon TAB_KON_503 (TIP1-A_4512-04).
    A Fatal state puts it into "kritischer Betriebszustand" (TIP1-A_4510-04):
    it refuses most operations with error 4002. Vendor states
    (``EC_OTHER_ERROR_STATE(n)``) are judged by the severity they report.
    """
    if not ev.error_states:
        yield Finding.skip("this source lists no error states")
        return
    hits = [
        s for s in ev.active() if s.severity in params.severities or s.base in params.conditions
    ]
    for state in hits:
        yield Finding.fail(
            f"{state.condition} is active ({state.severity}, {state.type}{_since(state)})",
            condition=state.condition,
            severity=state.severity,
            type=state.type,
        )
    if not hits:
        what = ", ".join([*params.severities, *params.conditions]) or "nothing"
        yield Finding.ok(
            f"none of {len(ev.error_states)} error states is active for: {what}",
            active=[s.condition for s in ev.active()],
        )


def _since(state: ErrorState) -> str:
    return f", since {state.valid_from:%Y-%m-%d %H:%M}" if state.valid_from else ""


@dataclass(frozen=True, slots=True)
class VpnParams:
    sis: Literal["auto", "always", "never"] = field(
        default="auto",
        metadata={"doc": "require VPN SIS online: auto = when Internet mode is SIS"},
    )


@check(
    "konnektor.vpn_status",
    applies_to=OperatingStateEvidence,
    params=VpnParams,
    reads=(KonnektorParametersEvidence,),
)
def vpn_status(ev: OperatingStateEvidence, params: VpnParams, ctx: Context) -> Iterator[Finding]:
    """The VPN tunnel to the TI is up, and the SIS tunnel too when the SIS is the Internet path.

    EC_No_VPN_TI_Connection / EC_No_VPN_SIS_Connection (TAB_KON_503): without
    VPN_TI no online application works; with ANLW_INTERNET_MODUS=SIS the
    clients' Internet goes only through VPN_SIS (TIP1-A_4735). The Internet
    mode comes from the same OperatingData or from any parameter source of the
    audit; a Konnektor with MGM_LU_ONLINE=Disabled is offline by design.
    """
    online_values = _parameter_values(ctx, "MGM_LU_ONLINE")
    if online_values and "Enabled" not in online_values:
        yield Finding.skip("MGM_LU_ONLINE is Disabled: the Konnektor is offline by design")
        return
    if ev.vpn_ti is None:
        yield Finding.skip("this source has no VPN status")
        return
    modes = _parameter_values(ctx, "ANLW_INTERNET_MODUS")
    if ev.internet_mode:
        modes.add({"NONE": "KEINER"}.get(ev.internet_mode, ev.internet_mode))
    need_sis = params.sis == "always" or (params.sis == "auto" and "SIS" in modes)
    facts = {
        "vpn_ti": _state(ev.vpn_ti.online),
        "vpn_sis": _state(ev.vpn_sis.online) if ev.vpn_sis else None,
    }
    if not ev.vpn_ti.online:
        yield Finding.fail("the VPN tunnel to the TI is offline", **facts)
    elif need_sis and (ev.vpn_sis is None or not ev.vpn_sis.online):
        yield Finding.fail(
            "the SIS tunnel is offline although Internet access goes through the SIS", **facts
        )
    else:
        sis = (
            "SIS online"
            if ev.vpn_sis and ev.vpn_sis.online
            else "SIS not required"
            if modes
            else "SIS not judged (Internet mode unknown: add parameters or OperatingData)"
        )
        yield Finding.ok(f"VPN TI online; {sis}", **facts)


def _state(online: bool) -> str:
    return "Online" if online else "Offline"


def _parameter_values(ctx: Context, name: str) -> set[str]:
    return {
        str(p.values[name])
        for p in ctx.evidence.of_type(KonnektorParametersEvidence)
        if name in p.values
    }


@dataclass(frozen=True, slots=True)
class TrustListParams:
    lists: tuple[str, ...] = field(
        default=("TSL", "CRL"), metadata={"doc": "lists judged: TSL, CRL, BNetzA-VL"}
    )
    grace_hours: int = field(default=0, metadata={"doc": "hours past NextUpdate still tolerated"})
    judge_at: Literal["snapshot", "audit"] = field(
        default="snapshot",
        metadata={"doc": "judge at the time the data describe (snapshot) or at --as-of (audit)"},
    )


@check("konnektor.trust_lists", applies_to=OperatingStateEvidence, params=TrustListParams)
def trust_lists(
    ev: OperatingStateEvidence, params: TrustListParams, ctx: Context
) -> Iterator[Finding]:
    """The Konnektor's trust lists were current: NextUpdate not passed.

    OperatingData TrustStatus (A_21136ff.). A TSL past NextUpdate leads to
    EC_TSL_Out_Of_Date_Within_Grace_Period and, after
    CERT_TSL_DEFAULT_GRACE_PERIOD_DAYS, to the Fatal
    EC_TSL_Out_Of_Date_Beyond_Grace_Period; a CRL past NextUpdate is the Fatal
    EC_CRL_Out_Of_Date (TAB_KON_503). A saved export is judged at the moment it
    describes (its InformationDate); its age is a rule of its own.
    """
    moment = ctx.moment if params.judge_at == "audit" or ev.observed_at is None else ev.observed_at
    found = {t.name: t for t in ev.trust_lists}
    judged = [found[name] for name in params.lists if name in found]
    if not judged:
        yield Finding.skip(f"this source has no status of {', '.join(params.lists)}")
        return
    grace = dt.timedelta(hours=params.grace_hours)
    for t in judged:
        facts = {
            "list": t.name,
            "next_update": t.next_update.isoformat(),
            "judged_at": moment.isoformat(),
        }
        if t.next_update + grace < moment:
            yield Finding.fail(
                f"{t.name} was out of date: NextUpdate {t.next_update:%Y-%m-%d %H:%M}"
                f" had passed at {moment:%Y-%m-%d %H:%M}",
                **facts,
            )
        else:
            yield Finding.ok(
                f"{t.name} current (NextUpdate {t.next_update:%Y-%m-%d %H:%M})", **facts
            )


@dataclass(frozen=True, slots=True)
class SnapshotAgeParams:
    max_age_days: int = field(default=7, metadata={"doc": "oldest export still judged current"})


@check("konnektor.snapshot_age", applies_to=KonnektorEvidence, params=SnapshotAgeParams)
def snapshot_age(
    ev: KonnektorEvidence, params: SnapshotAgeParams, ctx: Context
) -> Iterator[Finding]:
    """A saved Konnektor export is recent enough to say something about today.

    OperatingData is sent once a day; an export weeks old says nothing about
    today's VPN status, error states or trust lists. The age is counted from
    the document's InformationDate (for a saved SOAP response: its newest
    timestamp) to ``--as-of``.
    """
    if ev.observed_at is None:
        yield Finding.skip("this source carries no date to judge its age by")
        return
    age = (ctx.moment - ev.observed_at).days
    facts = {"observed_at": ev.observed_at.isoformat(), "age_days": age}
    if age > params.max_age_days:
        yield Finding.fail(
            f"export describes the Konnektor {age} days before {ctx.as_of} "
            f"(more than {params.max_age_days})",
            **facts,
        )
    else:
        yield Finding.ok(f"export is {max(age, 0)} days old", **facts)


@dataclass(frozen=True, slots=True)
class TlsIdentityParams:
    algorithms: tuple[str, ...] = field(
        default=("ECC-BRAINPOOL", "ECC-NIST"), metadata={"doc": "key algorithms allowed"}
    )
    min_rsa_bits: int = field(default=3072, metadata={"doc": "RSA allowed from this length"})
    forbidden_sources: tuple[str, ...] = field(
        default=("SELFSIGNED",), metadata={"doc": "TlsCertSource values that fail"}
    )


@check("konnektor.tls_identity", applies_to=OperatingStateEvidence, params=TlsIdentityParams)
def tls_identity(
    ev: OperatingStateEvidence, params: TlsIdentityParams, ctx: Context
) -> Iterator[Finding]:
    """The Konnektor's TLS certificate toward client systems is strong and not self-signed.

    OperatingData TlsCertSource / TlsKeyCrypt (C_11600). A certificate below
    120 bit security (RSA under 3000 bit) raises EC_TLS_Client_Certificate_Security
    (TAB_KON_503); a self-signed one cannot be verified by client systems.
    """
    tls = ev.tls_identity
    if tls is None:
        yield Finding.skip("this source does not describe the TLS certificate")
        return
    facts = {"source": tls.cert_source, "algorithm": tls.algorithm, "key_length": tls.key_length}
    strong = tls.algorithm in params.algorithms or (
        tls.algorithm == "RSA" and tls.key_length >= params.min_rsa_bits
    )
    if not strong:
        yield Finding.fail(
            f"TLS key {tls.algorithm}-{tls.key_length} is below the required strength", **facts
        )
    elif tls.cert_source in params.forbidden_sources:
        yield Finding.fail(f"TLS certificate source is {tls.cert_source}", **facts)
    else:
        yield Finding.ok(f"{tls.algorithm}-{tls.key_length} from {tls.cert_source}", **facts)


# -- certificates ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertificateExpiryParams:
    warn_days: int = field(
        default=90, metadata={"doc": "fail when fewer days than this remain (0: only expired)"}
    )


@check("konnektor.certificate_expiry", applies_to=KonnektorEvidence, params=CertificateExpiryParams)
def certificate_expiry(
    ev: KonnektorEvidence, params: CertificateExpiryParams, ctx: Context
) -> Iterator[Finding]:
    """Every certificate the Konnektor reports stays valid beyond the warning horizon.

    gSMC-K and gSMC-KT certificates (OperatingData) and the cards of
    CheckCertificateExpiration (gSMC-K, SM-B, HBA): gemSpec_Kon warns
    CERT_EXPIRATION_WARN_DAYS (default 90) ahead (TAB_KON_606), since a new
    card takes weeks. Judged at ``--as-of``.
    """
    if not ev.certificates:
        yield Finding.skip("this source lists no certificates")
        return
    for cert in ev.certificates:
        left = (cert.validity - ctx.as_of).days
        subject = f"{ev.subject}: {cert.common_name or cert.holder}"
        facts = {
            "holder": cert.holder,
            "common_name": cert.common_name,
            "validity": cert.validity.isoformat(),
            "days_left": left,
        }
        if left < 0:
            finding = Finding.fail(f"expired on {cert.validity}", **facts)
        elif left < params.warn_days:
            finding = Finding.fail(
                f"expires in {left} days ({cert.validity}; horizon {params.warn_days})", **facts
            )
        else:
            finding = Finding.ok(f"valid until {cert.validity}", **facts)
        yield Finding(finding.status, finding.message, finding.evidence, subject=subject)


@dataclass(frozen=True, slots=True)
class EccReadinessParams:
    code: int = field(default=4257, metadata={"doc": "trace code of 'no ECC certificate on card'"})
    deadlines: Mapping[str, dt.date] = field(
        default_factory=dict,
        metadata={
            "doc": "last day RSA-only cards work, per card kind (gSMC-K, SMC-B, HBA, gSMC-KT)"
        },
    )
    default_deadline: dt.date = field(
        default=dt.date(2026, 7, 1),
        metadata={"doc": "deadline when the card kind cannot be told from the response"},
    )
    judge: Literal["overdue", "upcoming"] = field(
        default="overdue",
        metadata={"doc": "overdue: fail cards past their deadline; upcoming: fail the others"},
    )


_CARD_KINDS = (
    (re.compile(r"\bg?SMC-KT\b", re.IGNORECASE), "gSMC-KT"),
    (re.compile(r"\bg?SMC-K\b", re.IGNORECASE), "gSMC-K"),
    (re.compile(r"\bSMC?-B\b", re.IGNORECASE), "SMC-B"),
    (re.compile(r"\bHBA", re.IGNORECASE), "HBA"),
)


@check(
    "konnektor.ecc_readiness", applies_to=CertificateExpirationEvidence, params=EccReadinessParams
)
def ecc_readiness(
    ev: CertificateExpirationEvidence, params: EccReadinessParams, ctx: Context
) -> Iterator[Finding]:
    """Every card holds ECC certificates (CheckCertificateExpiration with Crypt=ECC).

    With ``Crypt=ECC`` the Konnektor answers warning 4257 "ECC-Zertifikate
    nicht vorhanden auf Karte" for a card of generation G2.0 (RSA only;
    gemSpec_Kon TIP1-A_4699-03, TUC_KON_033). RSA-only cards stop working on
    the deadline of their kind (profile data). Two rules share this check: one
    fails cards already past their deadline, one fails those still before it.
    """
    if ev.crypt not in (None, "ECC"):
        yield Finding.error(
            f"the request asked with Crypt={ev.crypt}; ECC readiness needs Crypt=ECC"
        )
        return
    missing = [t for t in ev.traces if t.code == params.code]
    if not missing:
        yield Finding.ok(
            f"no card reported without ECC certificates (result {ev.result or '?'})",
            result=ev.result,
        )
        return
    for trace in missing:
        kind = next((k for pattern, k in _CARD_KINDS if pattern.search(trace.text)), None)
        deadline = params.deadlines.get(kind or "", params.default_deadline)
        facts = {
            "code": trace.code,
            "text": trace.text,
            "card_kind": kind,
            "deadline": deadline.isoformat(),
        }
        overdue = ctx.as_of > deadline
        what = f"{kind or 'card'} without ECC certificates ({trace.text or trace.code})"
        if overdue and params.judge == "overdue":
            yield Finding.fail(f"{what}: RSA-only cards stopped working after {deadline}", **facts)
        elif not overdue and params.judge == "upcoming":
            yield Finding.fail(f"{what}: replace it before {deadline}", **facts)
        else:
            other = "before" if params.judge == "overdue" else "past"
            yield Finding.skip(
                f"{what}: {other} its deadline {deadline} (the companion rule judges it)", **facts
            )


# -- live access -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlainHttpParams:
    purposes: tuple[str, ...] = field(
        default=("sds", "soap"),
        metadata={"doc": "which plain-HTTP probes count: sds (connector.sds), soap (services)"},
    )


@check("konnektor.plain_http", applies_to=KonnektorAccessEvidence, params=PlainHttpParams)
def plain_http(
    ev: KonnektorAccessEvidence, params: PlainHttpParams, ctx: Context
) -> Iterator[Finding]:
    """connector.sds and the SOAP services do not answer over plain HTTP.

    With ANCL_TLS_MANDATORY=Enabled the Konnektor rejects non-TLS connections
    (TIP1-A_4515); only the service directory stays on HTTP when ANCL_DVD_OPEN
    is Enabled (TIP1-A_4528). Whatever answers in plain text can be read and
    changed by anyone in the LAN.
    """
    probes = [p for p in ev.plain_http if p.purpose in params.purposes]
    if not probes:
        yield Finding.skip("no plain-HTTP probe of this kind was made")
        return
    answered = [p for p in probes if p.outcome == "answered"]
    unclear = [p for p in probes if p.outcome == "error"]
    facts = {"probes": [p.as_dict() for p in probes]}
    if answered:
        first = answered[0]
        yield Finding.fail(
            f"{len(answered)} request(s) answered over plain HTTP, first "
            f"{first.url} (HTTP {first.status})",
            **facts,
        )
    elif unclear:
        yield Finding.error(
            f"could not tell whether {unclear[0].url} answers over plain HTTP: {unclear[0].detail}",
            **facts,
        )
    else:
        yield Finding.ok(f"none of {len(probes)} plain-HTTP request(s) was answered", **facts)


@check("konnektor.client_auth_enforced", applies_to=KonnektorAccessEvidence)
def client_auth_enforced(
    ev: KonnektorAccessEvidence, params: object, ctx: Context
) -> Iterator[Finding]:
    """The Konnektor refuses a SOAP call from a client without certificate or password.

    gemSpec_Kon TIP1-A_4516 / TAB_KON_506-01 (ANCL_CAUT_MANDATORY): a client
    system authenticates by X.509 certificate or HTTP Basic over TLS. gemcheck
    calls GetResourceInformation without either; an answer means any machine
    in the LAN can use the Konnektor.
    """
    probe = ev.unauthenticated
    if probe is None:
        yield Finding.skip("no unauthenticated call was made")
        return
    facts = probe.as_dict()
    if probe.outcome == "answered":
        yield Finding.fail(
            f"{probe.url} answered a call without credentials (HTTP {probe.status})", **facts
        )
    elif probe.outcome == "refused":
        yield Finding.ok(
            f"call without credentials refused ({probe.detail or probe.status})", **facts
        )
    else:
        yield Finding.error(
            f"could not tell whether client authentication is enforced: "
            f"{probe.detail or probe.outcome}",
            **facts,
        )
