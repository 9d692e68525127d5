"""Operating state: OperatingData, GetResourceInformation and CheckCertificateExpiration responses.

- OperatingData (OperatingData.xsd v1.1.2) is the daily Betriebsdaten report:
  product, configuration flags, VPN status, error states, trust lists, the
  certificates of the gSMC-K and the terminals' gSMC-KT.
- A GetResourceInformationResponse (EventService v7.2) without card or
  terminal carries ``CONN:Connector``: VPN TI/SIS status and the full list of
  error states (TAB_KON_503).
- A CheckCertificateExpirationResponse (CertificateService v6.0.2) lists card
  certificates and their expiry; with ``Crypt=ECC`` a warning with trace code
  4257 says a card holds no ECC certificate (TUC_KON_033, TAB_KON_600).

The configuration block of OperatingData is also returned as parameters keyed
by gemSpec_Kon names (:func:`operating_parameters`), so the parameter rules
judge it exactly as they judge the admin's parameter file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from xml.etree.ElementTree import Element

from gemcheck.evidence.konnektor import (
    CardCertificate,
    CertificateExpirationEvidence,
    ErrorState,
    ErrorTrace,
    KonnektorParametersEvidence,
    OperatingStateEvidence,
    TlsIdentity,
    TrustList,
    VpnStatus,
)
from gemcheck.konnektor import xmldoc
from gemcheck.konnektor.sds import read_product
from gemcheck.konnektor.xmldoc import CERT, CONN, EVT, GERROR, OPD, PI, XmlError, q
from gemcheck.model import JSONValue, Location

_OD_PARAMETERS: tuple[tuple[str, str, dict[str, str] | None], ...] = (
    (
        f"{q(OPD, 'TIConnectionMode')}",
        "ANLW_ANBINDUNGS_MODUS",
        {"SERIAL": "InReihe", "PARALLEL": "Parallel"},
    ),
    (
        f"{q(OPD, 'InternetMode')}",
        "ANLW_INTERNET_MODUS",
        {"SIS": "SIS", "IAG": "IAG", "NONE": "KEINER"},
    ),
    (f"{q(OPD, 'ClientConnectionMode')}/{q(OPD, 'TLSMandatory')}", "ANCL_TLS_MANDATORY", None),
    (f"{q(OPD, 'ClientConnectionMode')}/{q(OPD, 'CAUTMandatory')}", "ANCL_CAUT_MANDATORY", None),
    (
        f"{q(OPD, 'ClientConnectionMode')}/{q(OPD, 'CAUTMode')}",
        "ANCL_CAUT_MODE",
        {"CERTIFICATE": "CERTIFICATE", "PASSWORD": "PASSWORD"},
    ),
    (f"{q(OPD, 'ClientConnectionMode')}/{q(OPD, 'DVDOpen')}", "ANCL_DVD_OPEN", None),
    (f"{q(OPD, 'UpdateMode')}/{q(OPD, 'AutoDownload')}", "MGM_KSR_AUTODOWNLOAD", None),
    (f"{q(OPD, 'UpdateMode')}/{q(OPD, 'AutoUpdate')}", "MGM_KSR_AUTO_UPDATE", None),
)
"""OperatingData Configuration element -> gemSpec_Kon parameter (value map; None: a boolean)."""


def read_operating_data(
    data: bytes, subject: str, location: Location
) -> tuple[OperatingStateEvidence, KonnektorParametersEvidence | None]:
    """OperatingData as state evidence, plus its configuration as parameters (None if absent)."""
    try:
        root = xmldoc.parse(data)
    except XmlError as exc:
        return _state_error(subject, location, "operating-data", f"OperatingData: {exc}"), None
    if root.tag != q(OPD, "OperatingData"):
        return _state_error(
            subject,
            location,
            "operating-data",
            f"OperatingData: root element is {root.tag}, not OperatingData ({OPD})",
        ), None
    product = read_product(root.find(q(PI, "ProductInformation")))
    config = root.find(q(OPD, "Configuration"))
    connector = root.find(q(CONN, "Connector"))
    state = OperatingStateEvidence(
        subject=subject,
        location=location,
        source="operating-data",
        product=product,
        certificates=tuple(_od_certificates(root)),
        schema="OperatingData.xsd v1.1.2",
        schema_errors=xmldoc.validate(data, "operating-data"),
        observed_at=product.information_date if product else None,
        trust_lists=tuple(_trust_lists(root.find(q(OPD, "TrustStatus")))),
        tls_identity=_tls_identity(config),
        internet_mode=xmldoc.text(config, q(OPD, "InternetMode")),
        **_connector(connector).fields(),
    )
    params = operating_parameters(config, f"{subject} (Configuration)", location)
    return state, params


def operating_parameters(
    config: Element | None, subject: str, location: Location
) -> KonnektorParametersEvidence | None:
    """The Configuration block of OperatingData as gemSpec_Kon parameters."""
    if config is None:
        return None
    values: dict[str, JSONValue] = {}
    invalid: dict[str, str] = {}
    for path, name, mapping in _OD_PARAMETERS:
        raw = xmldoc.text(config, path)
        if raw is None:
            continue
        value = mapping.get(raw) if mapping is not None else _enabled(xmldoc.boolean(raw))
        if value is None:
            invalid[name] = f"OperatingData value {raw!r} is not one gemcheck can map"
        else:
            values[name] = value
    return KonnektorParametersEvidence(
        subject=subject,
        location=location,
        source="operating-data",
        values=MappingProxyType(values),
        invalid=MappingProxyType(invalid),
    )


def read_resource_information(
    data: bytes, subject: str, location: Location, observed_at: dt.datetime | None = None
) -> OperatingStateEvidence:
    """A GetResourceInformationResponse (SOAP envelope or the bare element)."""
    try:
        el = xmldoc.soap_body_child(xmldoc.parse(data))
    except XmlError as exc:
        return _state_error(
            subject, location, "resource-information", f"GetResourceInformationResponse: {exc}"
        )
    if el.tag != q(EVT, "GetResourceInformationResponse"):
        return _state_error(
            subject,
            location,
            "resource-information",
            f"expected GetResourceInformationResponse ({EVT}), found {el.tag}",
        )
    connector = el.find(q(CONN, "Connector"))
    if connector is None:
        return _state_error(
            subject,
            location,
            "resource-information",
            "GetResourceInformationResponse has no CONN:Connector element "
            f"(status {_status(el)[0] or 'missing'}): ask without card and "
            "terminal",
        )
    state = _connector(connector)
    return OperatingStateEvidence(
        subject=subject,
        location=location,
        source="resource-information",
        schema="EventService.xsd v7.2.1",
        schema_errors=xmldoc.validate(data, "resource-information"),
        observed_at=observed_at or state.latest(),
        **state.fields(),
    )


def read_certificate_expiration(
    data: bytes,
    subject: str,
    location: Location,
    crypt: str | None = None,
    observed_at: dt.datetime | None = None,
) -> CertificateExpirationEvidence:
    """A CheckCertificateExpirationResponse; ``crypt`` is what the request asked for, if known."""
    try:
        el = xmldoc.soap_body_child(xmldoc.parse(data))
    except XmlError as exc:
        return CertificateExpirationEvidence(
            subject=subject,
            location=location,
            source="certificate-expiration",
            error=f"CheckCertificateExpirationResponse: {exc}",
        )
    if el.tag != q(CERT, "CheckCertificateExpirationResponse"):
        return CertificateExpirationEvidence(
            subject=subject,
            location=location,
            source="certificate-expiration",
            error=f"expected CheckCertificateExpirationResponse ({CERT}), found {el.tag}",
        )
    result, traces = _status(el)
    certificates = tuple(
        cert
        for c in el.iter(q(CERT, "CertificateExpiration"))
        if (cert := _card_certificate(xmldoc.fields(c))) is not None
    )
    return CertificateExpirationEvidence(
        subject=subject,
        location=location,
        source="certificate-expiration",
        certificates=certificates,
        schema="CertificateService_v6_0_2.xsd",
        schema_errors=xmldoc.validate(data, "certificate-expiration"),
        observed_at=observed_at,
        result=result or "",
        traces=traces,
        crypt=crypt,
    )


# -- pieces ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Connector:
    """The ``CONN:Connector`` block shared by OperatingData and GetResourceInformation."""

    vpn_ti: VpnStatus | None = None
    vpn_sis: VpnStatus | None = None
    error_states: tuple[ErrorState, ...] = ()

    def fields(self) -> dict[str, Any]:
        return {"vpn_ti": self.vpn_ti, "vpn_sis": self.vpn_sis, "error_states": self.error_states}

    def latest(self) -> dt.datetime | None:
        """When a saved response describes the Konnektor: its newest VPN timestamp."""
        stamps = [
            v.timestamp
            for v in (self.vpn_ti, self.vpn_sis)
            if v is not None and v.timestamp is not None
        ]
        return max(stamps) if stamps else None


def _connector(connector: Element | None) -> _Connector:
    if connector is None:
        return _Connector()
    states = tuple(_error_state(xmldoc.fields(s)) for s in connector.iter(q(CONN, "ErrorState")))
    return _Connector(
        vpn_ti=_vpn(connector.find(q(CONN, "VPNTIStatus"))),
        vpn_sis=_vpn(connector.find(q(CONN, "VPNSISStatus"))),
        error_states=states,
    )


def _error_state(f: dict[str, str]) -> ErrorState:
    return ErrorState(
        condition=f.get(q(CONN, "ErrorCondition"), ""),
        severity=f.get(q(CONN, "Severity"), ""),
        type=f.get(q(CONN, "Type"), ""),
        value=xmldoc.boolean(f.get(q(CONN, "Value"))) is True,
        valid_from=xmldoc.date_time(f.get(q(CONN, "ValidFrom"))),
    )


def _vpn(el: Element | None) -> VpnStatus | None:
    if el is None:
        return None
    return VpnStatus(
        online=xmldoc.text(el, q(CONN, "ConnectionStatus")) == "Online",
        timestamp=xmldoc.date_time(xmldoc.text(el, q(CONN, "Timestamp"))),
    )


def _enabled(value: bool | None) -> str | None:
    return None if value is None else ("Enabled" if value else "Disabled")


def _trust_lists(status: Element | None) -> list[TrustList]:
    if status is None:
        return []
    out: list[TrustList] = []
    for tag, name, number_tag, issued_tag in (
        ("CRL", "CRL", "ListNumber", "ValidFrom"),
        ("TSL", "TSL", "SequenceNumber", "ListIssueDateTime"),
        ("BNetzA_VL", "BNetzA-VL", "SequenceNumber", "ListIssueDateTime"),
    ):
        el = status.find(q(OPD, tag))
        next_update = xmldoc.date_time(xmldoc.text(el, q(OPD, "NextUpdate")))
        if el is None or next_update is None:
            continue
        number = xmldoc.text(el, q(OPD, number_tag))
        out.append(
            TrustList(
                name=name,
                next_update=next_update,
                number=int(number) if number and number.isdigit() else None,
                issued=xmldoc.date_time(xmldoc.text(el, q(OPD, issued_tag))),
            )
        )
    return out


def _tls_identity(config: Element | None) -> TlsIdentity | None:
    mode = config.find(q(OPD, "ClientConnectionMode")) if config is not None else None
    source = xmldoc.text(mode, q(OPD, "TlsCertSource"))
    algorithm = xmldoc.text(mode, f"{q(OPD, 'TlsKeyCrypt')}/{q(OPD, 'Algorithm')}")
    length = xmldoc.text(mode, f"{q(OPD, 'TlsKeyCrypt')}/{q(OPD, 'KeyLength')}")
    if source is None or algorithm is None or length is None or not length.isdigit():
        return None
    return TlsIdentity(cert_source=source, algorithm=algorithm, key_length=int(length))


def _od_certificates(root: Element) -> list[CardCertificate]:
    out = _certificate_data(root.find(q(OPD, "ConnCertificates")), "gSMC-K")
    terminals = root.find(q(OPD, "CardTerminals"))
    if terminals is not None:
        for ct in terminals.iter(q(OPD, "CardTerminal")):
            out += _certificate_data(ct.find(q(OPD, "CtCertificates")), "gSMC-KT")
    return out


def _certificate_data(el: Element | None, holder: str) -> list[CardCertificate]:
    if el is None:
        return []
    out: list[CardCertificate] = []
    for c in el.iter(q(OPD, "CertificateData")):
        f = xmldoc.fields(c)
        validity = xmldoc.date(f.get(q(OPD, "validity")))
        if validity is not None:
            out.append(
                CardCertificate(
                    holder=holder,
                    common_name=f.get(q(OPD, "subject_commonName"), ""),
                    validity=validity,
                    iccsn=f.get(q(OPD, "ICCSN"), ""),
                    serial=f.get(q(OPD, "serialNumber"), ""),
                )
            )
    return out


def _card_certificate(f: dict[str, str]) -> CardCertificate | None:
    validity = xmldoc.date(f.get(q(CERT, "validity")))
    if validity is None:
        return None
    handle = f.get(q(CONN, "CardHandle"), "")
    return CardCertificate(
        holder="card" if handle else "gSMC-K",
        common_name=f.get(q(CERT, "subject_commonName"), ""),
        validity=validity,
        iccsn=f.get(q(CERT, "ICCSN"), ""),
        serial=f.get(q(CERT, "serialNumber"), ""),
        ct_id=f.get(q(CERT, "CtID"), ""),
        card_handle=handle,
    )


def _status(el: Element) -> tuple[str | None, tuple[ErrorTrace, ...]]:
    status = el.find(q(CONN, "Status"))
    if status is None:
        return None, ()
    traces: list[ErrorTrace] = []
    for trace in status.iter(q(GERROR, "Trace")):
        code = xmldoc.text(trace, q(GERROR, "Code")) or ""
        traces.append(
            ErrorTrace(
                code=int(code) if code.lstrip("-").isdigit() else 0,
                severity=xmldoc.text(trace, q(GERROR, "Severity")) or "",
                text=xmldoc.text(trace, q(GERROR, "ErrorText")) or "",
            )
        )
    return xmldoc.text(status, q(CONN, "Result")), tuple(traces)


def _state_error(
    subject: str, location: Location, source: str, message: str
) -> OperatingStateEvidence:
    return OperatingStateEvidence(subject=subject, location=location, source=source, error=message)
