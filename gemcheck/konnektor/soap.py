"""SOAP 1.1 requests to the Konnektor, built from the namespaces of the gematik XSDs.

Two operations: EventService v7.2 ``GetResourceInformation`` (no card, no
terminal: the Konnektor's own state) and CertificateService v6.0.1
``CheckCertificateExpiration`` with ``Crypt=ECC`` (C_8883). Values are escaped
by ElementTree; the call context is the client system's Mandant, client system
and workplace (and user, if given).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, register_namespace, tostring

from gemcheck.konnektor.xmldoc import CCTX, CERT, CONN, EVT, SOAP_ENV, q

ACTIONS = {
    "GetResourceInformation": f"{EVT}#GetResourceInformation",
    "CheckCertificateExpiration": f"{CERT}#CheckCertificateExpiration",
}
"""SOAPAction per operation, as the WSDLs bind them (EventService v7.2, CertificateService v6.0)."""

for _prefix, _uri in (
    ("soap", SOAP_ENV),
    ("EVT", EVT),
    ("CERT", CERT),
    ("CONN", CONN),
    ("CCTX", CCTX),
):
    register_namespace(_prefix, _uri)


@dataclass(frozen=True, slots=True)
class CallContext:
    """The ConnectorContext of every call (ConnectorContext.xsd v2.0)."""

    mandant: str
    client_system: str
    workplace: str
    user: str | None = None


def get_resource_information(context: CallContext) -> bytes:
    """A GetResourceInformation request without card or terminal: the Konnektor's own state."""
    op = Element(q(EVT, "GetResourceInformation"))
    _context(op, context)
    return _envelope(op)


def check_certificate_expiration(context: CallContext, crypt: str = "ECC") -> bytes:
    """A CheckCertificateExpiration request for all cards of the Mandant, with ``Crypt``."""
    op = Element(q(CERT, "CheckCertificateExpiration"))
    _context(op, context)
    SubElement(op, q(CERT, "Crypt")).text = crypt
    return _envelope(op)


def headers(operation: str) -> dict[str, str]:
    """HTTP headers of a SOAP 1.1 call."""
    return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{ACTIONS[operation]}"'}


def _context(op: Element, context: CallContext) -> None:
    ctx = SubElement(op, q(CCTX, "Context"))
    SubElement(ctx, q(CONN, "MandantId")).text = context.mandant
    SubElement(ctx, q(CONN, "ClientSystemId")).text = context.client_system
    SubElement(ctx, q(CONN, "WorkplaceId")).text = context.workplace
    if context.user:
        SubElement(ctx, q(CONN, "UserId")).text = context.user


def _envelope(op: Element) -> bytes:
    envelope = Element(q(SOAP_ENV, "Envelope"))
    SubElement(envelope, q(SOAP_ENV, "Body")).append(op)
    data: bytes = tostring(envelope, encoding="utf-8", xml_declaration=True)
    return data
