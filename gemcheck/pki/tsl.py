"""gematik's trust list (TSL, ETSI TS 102 231 XML): parse it safely and read what trust needs.

What a TSL gives an audit: the CA certificates of the TI (``CA/PKC`` services),
their status and status history (``inaccord``, ``revoked``, ``expired``, each
with its starting time), which certificate types each CA may issue (the
``ExtensionOID`` values of its ``ServiceInformationExtensions`` are type OIDs,
gemSpec_PKI TUC_PKI_007), the OCSP responders (``ServiceSupplyPoint``) and the
OCSP signer certificates (``Certstatus/OCSP`` services).

Parsing uses ``defusedxml`` with DTDs forbidden: a TSL never has a document
type declaration, and refusing every DTD refuses entity-expansion bombs and
external entities before a single entity is read. The XML signature is checked
in :mod:`gemcheck.pki.tslsig`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

TSL_NS = "http://uri.etsi.org/02231/v2#"
MAX_TSL_BYTES = 32 * 1024 * 1024
"""Larger files are refused before parsing (gematik's TSLs are about 1 MB)."""

SVC_CA_PKC = "http://uri.etsi.org/TrstSvc/Svctype/CA/PKC"
SVC_OCSP = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/OCSP"
SVC_CERT_CHANGE = "http://uri.etsi.org/TrstSvc/Svctype/TSLServiceCertChange"
STATUS_INACCORD = "http://uri.etsi.org/TrstSvc/Svcstatus/inaccord"
STATUS_REVOKED = "http://uri.etsi.org/TrstSvc/Svcstatus/revoked"
STATUS_EXPIRED = "http://uri.etsi.org/TrstSvc/Svcstatus/expired"


class TslError(ValueError):
    """A file that cannot be used as a TSL; ``code`` is gematik's error code for it."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """A service's status (an ETSI status URI) from ``since`` on (None: no starting time given)."""

    status: str
    since: dt.datetime | None

    @property
    def short(self) -> str:
        """The last part of the status URI (``inaccord``, ``revoked`` ...)."""
        return self.status.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class TslService:
    """One ``TSPService``: a CA, an OCSP signer, a trust-anchor change, ..."""

    index: int
    provider: str
    type_identifier: str
    name: str
    status: ServiceStatus
    history: tuple[ServiceStatus, ...] = ()
    certificates: tuple[x509.Certificate, ...] = ()
    supply_points: tuple[str, ...] = ()
    extension_oids: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def short_type(self) -> str:
        """The service type without its URI prefix (``CA/PKC``, ``Certstatus/OCSP`` ...)."""
        return self.type_identifier.split("/Svctype/", 1)[-1]

    def status_at(self, moment: dt.datetime) -> ServiceStatus | None:
        """The status in force at ``moment`` (current status and history), None if none started yet.

        A status without a starting time counts as in force from the beginning.
        """
        earliest = dt.datetime.min.replace(tzinfo=dt.UTC)
        started = [s for s in (self.status, *self.history) if (s.since or earliest) <= moment]
        return max(started, key=lambda s: s.since or earliest) if started else None

    def ocsp_urls(self) -> tuple[str, ...]:
        """The supply points that can be OCSP responders (http/https, not a ``.invalid`` host)."""
        return tuple(u for u in self.supply_points if _usable_url(u))


@dataclass(frozen=True, slots=True)
class TrustList:
    """The parts of a TSL an audit uses."""

    id: str
    sequence_number: int | None
    issue_date: dt.datetime | None
    next_update: dt.datetime | None
    operator: str
    services: tuple[TslService, ...]
    problems: tuple[str, ...] = ()

    def of_type(self, *type_identifiers: str) -> Iterator[TslService]:
        """The services of the given type identifiers."""
        return (s for s in self.services if s.type_identifier in type_identifiers)


def parse_tsl(data: bytes) -> TrustList:
    """Parse a TSL; raises :class:`TslError` for anything that is not a usable TSL."""
    if len(data) > MAX_TSL_BYTES:
        raise TslError(
            f"file is {len(data)} bytes, more than {MAX_TSL_BYTES}", "TE_1011_TSL_NOT_WELLFORMED"
        )
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise TslError(_refusal(data, exc), "TE_1011_TSL_NOT_WELLFORMED") from None
    except ET.ParseError as exc:
        raise TslError(f"not well-formed XML: {exc}", "TE_1011_TSL_NOT_WELLFORMED") from None
    if root.tag != _q("TrustServiceStatusList"):
        raise TslError(
            f"root element is {root.tag}, not {{{TSL_NS}}}TrustServiceStatusList "
            "(not an ETSI TS 102 231 trust list)",
            "TE_1012_TSL_SCHEMA_NOT_VALID",
        )
    info = root.find(_q("SchemeInformation"))
    if info is None:
        raise TslError("no SchemeInformation element", "TE_1012_TSL_SCHEMA_NOT_VALID")
    problems: list[str] = []
    services = tuple(_services(root))
    changes = sum(1 for s in services if s.type_identifier == SVC_CERT_CHANGE)
    if changes > 1:
        problems.append(
            f"{changes} TSLServiceCertChange entries announce a new trust anchor; at most one is "
            "allowed (SE_1003_MULTIPLE_TRUST_ANCHOR)"
        )
    next_update = _date(info.findtext(f"{_q('NextUpdate')}/{_q('dateTime')}"))
    if next_update is None:
        problems.append("NextUpdate/dateTime is missing or not a date: the TSL never expires")
    return TrustList(
        id=root.get("Id", ""),
        sequence_number=_int(info.findtext(_q("TSLSequenceNumber"))),
        issue_date=_date(info.findtext(_q("ListIssueDateTime"))),
        next_update=next_update,
        operator=_name(info.find(_q("SchemeOperatorName"))),
        services=services,
        problems=tuple(problems),
    )


def _refusal(data: bytes, exc: DefusedXmlException) -> str:
    what = (
        "declares entities (an XML bomb or external entity)"
        if b"<!ENTITY" in data
        else ("has a document type declaration (DTD)")
    )
    return (
        f"refused: the file {what}; a TSL never has one, so it is not parsed ({type(exc).__name__})"
    )


def _services(root: ET.Element) -> Iterator[TslService]:
    index = 0
    for tsp in root.iterfind(f"{_q('TrustServiceProviderList')}/{_q('TrustServiceProvider')}"):
        provider = _name(tsp.find(f"{_q('TSPInformation')}/{_q('TSPName')}"))
        for svc in tsp.iterfind(f"{_q('TSPServices')}/{_q('TSPService')}"):
            index += 1
            info = svc.find(_q("ServiceInformation"))
            if info is None:
                continue
            yield _service(index, provider, info, svc.find(_q("ServiceHistory")))


def _service(index: int, provider: str, info: ET.Element, history: ET.Element | None) -> TslService:
    problems: list[str] = []
    certs: list[x509.Certificate] = []
    for n, text in enumerate(
        _texts(info, "ServiceDigitalIdentity", "DigitalId", "X509Certificate")
    ):
        try:
            certs.append(x509.load_der_x509_certificate(base64.b64decode(text)))
        except (ValueError, binascii.Error):
            problems.append(
                f"certificate {n + 1} is not a readable X.509 certificate "
                "(TE_1002_TSL_CERT_EXTRACTION_ERROR)"
            )
    type_id = (info.findtext(_q("ServiceTypeIdentifier")) or "").strip()
    supply = tuple(_texts(info, "ServiceSupplyPoints", "ServiceSupplyPoint"))
    if type_id == SVC_CA_PKC and not supply:
        problems.append("no ServiceSupplyPoint (TE_1026_SERVICESUPPLYPOINT_MISSING)")
    past = (
        ()
        if history is None
        else tuple(_status(h) for h in history.iterfind(_q("ServiceHistoryInstance")))
    )
    return TslService(
        index=index,
        provider=provider,
        type_identifier=type_id,
        name=_name(info.find(_q("ServiceName"))),
        status=_status(info),
        history=past,
        certificates=tuple(certs),
        supply_points=supply,
        extension_oids=tuple(_extension_oids(info)),
        problems=tuple(problems),
    )


def _status(element: ET.Element) -> ServiceStatus:
    return ServiceStatus(
        (element.findtext(_q("ServiceStatus")) or "").strip(),
        _date(element.findtext(_q("StatusStartingTime"))),
    )


def _extension_oids(info: ET.Element) -> Iterator[str]:
    """ExtensionOID values, whatever namespace prefix the TSL writer gave them."""
    extensions = info.find(_q("ServiceInformationExtensions"))
    if extensions is None:
        return
    for ext in extensions:
        for child in ext:
            if child.tag.rsplit("}", 1)[-1] == "ExtensionOID" and child.text:
                yield child.text.strip()


def _texts(element: ET.Element, *path: str) -> Iterator[str]:
    for node in element.iterfind("/".join(_q(p) for p in path)):
        text = "".join((node.text or "").split())
        if text:
            yield text


def _name(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return (element.findtext(_q("Name")) or "").strip()


def _date(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _int(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


def _usable_url(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and bool(host) and not host.endswith(".invalid")


def _q(local: str) -> str:
    return f"{{{TSL_NS}}}{local}"
