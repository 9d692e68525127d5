"""Safe XML: parse with defusedxml, validate against the shipped gematik XSDs, read typed values.

Parsing refuses DTDs, entity declarations and external references outright
(XML bombs and XXE never reach a parser that would expand them); validation
parses the already-checked bytes once more with ``lxml`` (entities, DTD loading
and network off) and reports every schema violation with its line.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

XSD_DIR = Path(__file__).parent / "xsd"
MAX_XML_BYTES = 16 * 1024 * 1024
"""Larger documents are refused: a real connector.sds or OperatingData is a few dozen kB."""

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SDS = "http://ws.gematik.de/conn/ServiceDirectory/v3.1"
SI = "http://ws.gematik.de/conn/ServiceInformation/v2.0"
PI = "http://ws.gematik.de/int/version/ProductInformation/v1.1"
OPD = "http://ws.gematik.de/conn/OperatingData/v1.1"
CONN = "http://ws.gematik.de/conn/ConnectorCommon/v5.0"
CCTX = "http://ws.gematik.de/conn/ConnectorContext/v2.0"
EVT = "http://ws.gematik.de/conn/EventService/v7.2"
CERT = "http://ws.gematik.de/conn/CertificateService/v6.0"
GERROR = "http://ws.gematik.de/tel/error/v2.0"

SCHEMAS = {
    "sds": "conn/ServiceDirectory.xsd",
    "operating-data": "conn/OperatingData.xsd",
    "resource-information": "conn/EventService.xsd",
    "certificate-expiration": "conn/CertificateService_v6_0_2.xsd",
}
"""Which XSD judges which source (a SOAP response: the first child of ``soap:Body``)."""

MAX_SCHEMA_ERRORS = 20


class XmlError(ValueError):
    """The bytes are not a document gemcheck will read (says why and, if known, where)."""


def parse(data: bytes) -> Element:
    """The root element of ``data``, refusing DTDs, entities, external references and huge input."""
    if len(data) > MAX_XML_BYTES:
        raise XmlError(f"document is {len(data)} bytes, more than {MAX_XML_BYTES}")
    if not data.strip():
        raise XmlError("document is empty")
    try:
        root: Element = safe_et.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise XmlError(
            f"refused: the document declares a DTD or entities ({type(exc).__name__}); "
            "Konnektor documents never do"
        ) from None
    except ParseError as exc:
        line, column = exc.position
        raise XmlError(f"not well-formed XML at line {line}, column {column + 1}") from None
    return root


def soap_body_child(root: Element) -> Element:
    """The operation element inside a SOAP 1.1 envelope (a fault is an error naming its string)."""
    if root.tag != q(SOAP_ENV, "Envelope"):
        return root
    body = root.find(q(SOAP_ENV, "Body"))
    if body is None or len(body) == 0:
        raise XmlError("SOAP envelope without a body element")
    child = body[0]
    if child.tag == q(SOAP_ENV, "Fault"):
        text = (child.findtext("faultstring") or "").strip()
        raise XmlError(f"SOAP fault: {text[:200] or 'no faultstring'}")
    return child


def validate(data: bytes, source: str) -> tuple[str, ...]:
    """Every place where ``data`` breaks the XSD of ``source`` (empty: valid).

    Call only with bytes :func:`parse` accepted. A SOAP envelope is judged by
    its body's first element, as the WSDL binds it.
    """
    from lxml import etree

    try:
        doc = etree.fromstring(data, parser=_instance_parser())
    except etree.XMLSyntaxError as exc:
        return (f"line {exc.lineno}: {exc.msg}",)
    if doc.tag == q(SOAP_ENV, "Envelope"):
        body = doc.find(q(SOAP_ENV, "Body"))
        if body is None or len(body) == 0:
            return ("SOAP envelope without a body element",)
        doc = body[0]
    schema = _schema(source)
    if schema.validate(doc):
        return ()
    errors = [f"line {e.line}: {e.message}" for e in schema.error_log]
    if len(errors) > MAX_SCHEMA_ERRORS:
        errors = [*errors[:MAX_SCHEMA_ERRORS], f"... and {len(errors) - MAX_SCHEMA_ERRORS} more"]
    return tuple(errors)


def _instance_parser() -> Any:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@functools.cache
def _schema(source: str) -> Any:
    from lxml import etree

    path = XSD_DIR / SCHEMAS[source]
    return etree.XMLSchema(etree.parse(str(path), parser=_instance_parser()))


# -- reading values ----------------------------------------------------------------------------


def q(namespace: str, name: str) -> str:
    """The ElementTree name ``{namespace}name``."""
    return f"{{{namespace}}}{name}"


def fields(el: Element) -> dict[str, str]:
    """The stripped text of each direct child, keyed by its ``{namespace}name`` (one pass)."""
    return {child.tag: (child.text or "").strip() for child in el}


def text(parent: Element | None, path: str) -> str | None:
    """The stripped text at ``path`` below ``parent`` (None when absent)."""
    if parent is None:
        return None
    found = parent.findtext(path)
    return found.strip() if found is not None else None


def boolean(value: str | None) -> bool | None:
    """xs:boolean (``true``/``1``/``false``/``0``); None when absent or not a boolean."""
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return None


def date_time(value: str | None) -> dt.datetime | None:
    """xs:dateTime as an aware datetime (no zone means UTC); None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def date(value: str | None) -> dt.date | None:
    """xs:date (``2029-05-31``, maybe with a zone suffix); None when absent or unreadable."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
