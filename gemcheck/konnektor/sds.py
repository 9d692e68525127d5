"""connector.sds (ServiceDirectory.xsd v3.1.0): product information, the two flags, every service.

gemSpec_Kon TIP1-A_4529-02 / TAB_KON_516-518: the service directory names the
product (type, type version, vendor, firmware), says whether TLS and client
authentication are mandatory, and lists each service version with its
endpoints. When either flag is true only ``EndpointTLS`` may be listed
(TAB_KON_521).
"""

from __future__ import annotations

import datetime as dt
from xml.etree.ElementTree import Element

from gemcheck.evidence.konnektor import ProductInfo, ServiceDirectoryEvidence, ServiceVersion
from gemcheck.konnektor import xmldoc
from gemcheck.konnektor.xmldoc import PI, SDS, SI, XmlError, q
from gemcheck.model import Location


def read_sds(
    data: bytes, subject: str, location: Location, observed_at: dt.datetime | None = None
) -> ServiceDirectoryEvidence:
    """connector.sds as evidence; an unreadable document is error evidence saying why."""
    try:
        root = xmldoc.parse(data)
    except XmlError as exc:
        return ServiceDirectoryEvidence(
            subject=subject, location=location, source="sds", error=f"connector.sds: {exc}"
        )
    if root.tag != q(SDS, "ConnectorServices"):
        return ServiceDirectoryEvidence(
            subject=subject,
            location=location,
            source="sds",
            error=f"connector.sds: root element is {root.tag}, not ConnectorServices ({SDS})",
        )
    product = read_product(root.find(q(PI, "ProductInformation")))
    return ServiceDirectoryEvidence(
        subject=subject,
        location=location,
        source="sds",
        product=product,
        schema="ServiceDirectory.xsd v3.1.0",
        schema_errors=xmldoc.validate(data, "sds"),
        observed_at=observed_at or (product.information_date if product else None),
        tls_mandatory=xmldoc.boolean(xmldoc.text(root, q(SDS, "TLSMandatory"))),
        client_aut_mandatory=xmldoc.boolean(xmldoc.text(root, q(SDS, "ClientAutMandatory"))),
        services=tuple(_services(root.find(q(SI, "ServiceInformation")))),
    )


def read_product(el: Element | None) -> ProductInfo | None:
    """A ``ProductInformation`` element (ProductInformation.xsd v1.1), or None when absent."""
    if el is None:
        return None
    parts = {child.tag: child for child in el}
    type_info = _fields(parts.get(q(PI, "ProductTypeInformation")))
    misc = _fields(parts.get(q(PI, "ProductMiscellaneous")))
    ident_el = parts.get(q(PI, "ProductIdentification"))
    ident = _fields(ident_el)
    version = ident_el.find(q(PI, "ProductVersion")) if ident_el is not None else None
    local = version.find(q(PI, "Local")) if version is not None else None
    local_fields = _fields(local)
    return ProductInfo(
        product_type=type_info.get(q(PI, "ProductType"), ""),
        product_type_version=type_info.get(q(PI, "ProductTypeVersion"), ""),
        vendor_id=ident.get(q(PI, "ProductVendorID"), ""),
        product_code=ident.get(q(PI, "ProductCode"), ""),
        vendor_name=misc.get(q(PI, "ProductVendorName"), ""),
        product_name=misc.get(q(PI, "ProductName"), ""),
        hw_version=local_fields.get(q(PI, "HWVersion")),
        fw_version=local_fields.get(q(PI, "FWVersion")),
        central_version=xmldoc.text(version, q(PI, "Central")),
        information_date=xmldoc.date_time(xmldoc.text(el, q(PI, "InformationDate"))),
    )


def _fields(el: Element | None) -> dict[str, str]:
    return xmldoc.fields(el) if el is not None else {}


def _services(info: Element | None) -> list[ServiceVersion]:
    if info is None:
        return []
    out: list[ServiceVersion] = []
    for service in info.iter(q(SI, "Service")):
        name = service.get("Name", "")
        for version in service.iter(q(SI, "Version")):
            endpoint = version.find(q(SI, "Endpoint"))
            endpoint_tls = version.find(q(SI, "EndpointTLS"))
            wsdl = version.find(q(SI, "WSDL"))
            out.append(
                ServiceVersion(
                    service=name,
                    version=version.get("Version", ""),
                    target_namespace=version.get("TargetNamespace", ""),
                    endpoint=endpoint.get("Location") if endpoint is not None else None,
                    endpoint_tls=endpoint_tls.get("Location", "")
                    if endpoint_tls is not None
                    else "",
                    wsdl=wsdl.get("Location") if wsdl is not None else None,
                )
            )
    return out
