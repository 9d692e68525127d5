"""Konnektor evidence: service directory, operating state, certificate expiry, parameters, access.

Every XML source (``connector.sds``, OperatingData, a GetResourceInformation or
CheckCertificateExpiration response) becomes one :class:`KonnektorEvidence`
subclass; ``source`` says which, so a profile rule can ``match`` on it. The
admin's parameter file, and the configuration block of OperatingData, become
:class:`KonnektorParametersEvidence` keyed by gemSpec_Kon parameter names. A
live audit adds :class:`KonnektorAccessEvidence`: what the Konnektor answered to
a client without credentials and over plain HTTP.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from gemcheck.evidence import Evidence
from gemcheck.model import EMPTY, JSONValue


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """``ProductInformation`` (ProductInformation.xsd v1.1): what the Konnektor says it is."""

    product_type: str
    product_type_version: str
    vendor_id: str
    product_code: str
    vendor_name: str = ""
    product_name: str = ""
    hw_version: str | None = None
    fw_version: str | None = None
    central_version: str | None = None
    information_date: dt.datetime | None = None

    @property
    def key(self) -> str:
        """``VENDORID/ProductCode``, the key profiles use for firmware minimums."""
        return f"{self.vendor_id}/{self.product_code}"

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "product_type": self.product_type,
            "product_type_version": self.product_type_version,
            "vendor": self.key,
            "firmware": self.fw_version or self.central_version,
            "product": self.product_name,
        }


@dataclass(frozen=True, slots=True)
class CardCertificate:
    """One certificate the Konnektor reports: of its gSMC-K, a terminal's gSMC-KT, or a card."""

    holder: str
    common_name: str
    validity: dt.date
    iccsn: str = ""
    serial: str = ""
    ct_id: str = ""
    card_handle: str = ""


@dataclass(frozen=True, slots=True)
class KonnektorEvidence(Evidence):
    """Base of the Konnektor's XML sources.

    ``source`` is ``sds``, ``operating-data``, ``resource-information`` or
    ``certificate-expiration`` (a rule's ``match: {source: ...}`` selects by it).

    ``schema_errors`` lists where the document breaks its gematik XSD (it is
    still read as far as possible); ``observed_at`` is when the data describe
    the Konnektor (InformationDate, or the time of a live query).
    """

    kind: ClassVar[str] = "konnektor"

    source: str = ""
    product: ProductInfo | None = None
    certificates: tuple[CardCertificate, ...] = ()
    schema: str = ""
    schema_errors: tuple[str, ...] = ()
    observed_at: dt.datetime | None = None

    def facets(self) -> Mapping[str, str | None]:
        return {
            "subject": self.subject,
            "file": self.location.file,
            "source": self.source,
            "vendor": self.product.key if self.product else None,
        }


@dataclass(frozen=True, slots=True)
class ServiceVersion:
    """One ``Service/Versions/Version`` of connector.sds with its endpoints."""

    service: str
    version: str
    target_namespace: str = ""
    endpoint: str | None = None
    endpoint_tls: str = ""
    wsdl: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceDirectoryEvidence(KonnektorEvidence):
    """connector.sds: product, the TLSMandatory/ClientAutMandatory flags, every service."""

    kind: ClassVar[str] = "konnektor-sds"

    tls_mandatory: bool | None = None
    client_aut_mandatory: bool | None = None
    services: tuple[ServiceVersion, ...] = ()


@dataclass(frozen=True, slots=True)
class ErrorState:
    """One ``ErrorState`` (TAB_KON_503): condition, severity, type, whether active, since when."""

    condition: str
    severity: str
    type: str
    value: bool
    valid_from: dt.datetime | None = None

    @property
    def base(self) -> str:
        """The condition without its ``($ctId)``/``($no)`` argument (``EC_OTHER_ERROR_STATE``)."""
        return _ARGUMENT.sub("", self.condition)


_ARGUMENT = re.compile(r"\(.*\)$")


@dataclass(frozen=True, slots=True)
class VpnStatus:
    """VPNTIStatus / VPNSISStatus: online or not, and since when."""

    online: bool
    timestamp: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class TrustList:
    """A trust list the Konnektor holds (``CRL``, ``TSL``, ``BNetzA-VL``) and its NextUpdate."""

    name: str
    next_update: dt.datetime
    number: int | None = None
    issued: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class TlsIdentity:
    """The Konnektor's TLS certificate toward client systems (OperatingData C_11600)."""

    cert_source: str
    algorithm: str
    key_length: int


@dataclass(frozen=True, slots=True)
class OperatingStateEvidence(KonnektorEvidence):
    """OperatingData or a GetResourceInformation response: VPN status, error states, trust lists."""

    kind: ClassVar[str] = "konnektor-state"

    vpn_ti: VpnStatus | None = None
    vpn_sis: VpnStatus | None = None
    error_states: tuple[ErrorState, ...] = ()
    trust_lists: tuple[TrustList, ...] = ()
    tls_identity: TlsIdentity | None = None
    internet_mode: str | None = None

    def active(self) -> tuple[ErrorState, ...]:
        """The error states with ``Value=true``."""
        return tuple(s for s in self.error_states if s.value)


@dataclass(frozen=True, slots=True)
class ErrorTrace:
    """One ``GERROR:Trace`` of a SOAP response status (code 4257: card not ECC-ready)."""

    code: int
    severity: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class CertificateExpirationEvidence(KonnektorEvidence):
    """A CheckCertificateExpiration response (``crypt``: the Crypt the request asked for)."""

    kind: ClassVar[str] = "konnektor-cert-expiration"

    result: str = ""
    traces: tuple[ErrorTrace, ...] = ()
    crypt: str | None = None


@dataclass(frozen=True, slots=True)
class KonnektorParametersEvidence(Evidence):
    """Konnektor parameters keyed by gemSpec_Kon names (``ANCL_TLS_MANDATORY`` ...).

    ``values`` holds the valid, normalised values; ``invalid`` maps a name to
    what is wrong with its value; ``unknown`` lists names gemcheck does not
    know. ``source`` is ``parameters`` (the admin's file) or ``operating-data``
    (the Configuration block of OperatingData, a subset).
    """

    kind: ClassVar[str] = "konnektor-params"

    source: str = ""
    values: Mapping[str, JSONValue] = field(default_factory=lambda: EMPTY)
    invalid: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    unknown: tuple[str, ...] = ()
    read_on: dt.date | None = None

    def facets(self) -> Mapping[str, str | None]:
        return {"subject": self.subject, "file": self.location.file, "source": self.source}


@dataclass(frozen=True, slots=True)
class HttpProbe:
    """One request of the live audit and how the Konnektor answered it.

    ``outcome``: ``answered`` (an HTTP response; ``status`` set), ``refused``
    (TLS alert, 401 or 403 for lack of credentials), ``closed`` (nothing
    listens) or ``error`` (timeout, reset, garbage: could not tell).
    """

    url: str
    purpose: str
    outcome: str
    status: int | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {
            "url": self.url,
            "purpose": self.purpose,
            "outcome": self.outcome,
        }
        if self.status is not None:
            out["status"] = self.status
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True, slots=True)
class KonnektorAccessEvidence(Evidence):
    """What a live audit learnt about access to the Konnektor's client-system interface.

    ``unauthenticated`` is a SOAP call without client certificate or password;
    ``plain_http`` are requests for connector.sds and the SOAP endpoints over
    plain HTTP; ``tls_profile`` is the client TLS setting that reached the
    Konnektor (``default``, ``brainpool`` or ``legacy``); ``server_verified``
    whether its certificate was checked against the site's ``konnektor.ca``.
    """

    kind: ClassVar[str] = "konnektor-access"

    endpoint: str = ""
    auth: str = ""
    unauthenticated: HttpProbe | None = None
    plain_http: tuple[HttpProbe, ...] = ()
    tls_profile: str = ""
    server_verified: bool = False
