"""The Admission extension (1.3.36.8.3.3): professions, roles and the Telematik-ID.

``cryptography`` decodes a well-formed Admission (``x509.Admissions``). When it
refuses one, :func:`admission_of` decodes it again with ``pyasn1`` against the
Common PKI ``AdmissionSyntax`` to say what is wrong (or, when pyasn1 reads it,
that it is not strict DER), and still recovers the professionOIDs and
registration numbers it can. Every professionInfo of every Admissions element is
read (gemSpec_PKI TUC_PKI_009 reads all; GemLibPki only the first).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from gemcheck.pki.extensions import ExtensionView, Malformed
from gemcheck.pki.oids import ADMISSION

ADMISSION_OID = x509.ObjectIdentifier(ADMISSION)


@dataclass(frozen=True, slots=True)
class ProfessionInfo:
    """One professionInfo: profession texts, profession OIDs and the registration number."""

    items: tuple[str, ...] = ()
    oids: tuple[str, ...] = ()
    registration_number: str | None = None


@dataclass(frozen=True, slots=True)
class AdmissionInfo:
    """What the Admission extension says; ``problem`` is set when it is malformed."""

    present: bool = False
    admissions: int = 0
    professions: tuple[ProfessionInfo, ...] = ()
    problem: str | None = None

    @property
    def profession_oids(self) -> tuple[str, ...]:
        """Every professionOID of every professionInfo, in order, without repeats."""
        return tuple(dict.fromkeys(o for p in self.professions for o in p.oids))

    @property
    def profession_items(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i for p in self.professions for i in p.items))

    @property
    def registration_numbers(self) -> tuple[str, ...]:
        """Every registrationNumber given (the Telematik-ID), in order, without repeats."""
        return tuple(
            dict.fromkeys(p.registration_number for p in self.professions if p.registration_number)
        )


ABSENT = AdmissionInfo()


def admission_of(view: ExtensionView) -> AdmissionInfo:
    """The certificate's Admission, from ``cryptography`` or, when it refuses it, ``pyasn1``."""
    ext = view.get(ADMISSION_OID)
    if ext is not None:
        value = ext.value
        if isinstance(value, x509.Admissions):
            return _from_cryptography(value)
        return _from_pyasn1(ext.value.public_bytes(), "")
    bad = view.broken(ADMISSION_OID)
    if bad is not None:
        return _from_malformed(bad)
    return ABSENT


def _from_cryptography(value: x509.Admissions) -> AdmissionInfo:
    infos: list[ProfessionInfo] = []
    count = 0
    for admission in value:
        count += 1
        for info in admission.profession_infos:
            infos.append(
                ProfessionInfo(
                    items=tuple(_item_text(i) for i in info.profession_items),
                    oids=tuple(o.dotted_string for o in info.profession_oids or ()),
                    registration_number=info.registration_number,
                )
            )
    return AdmissionInfo(True, count, tuple(infos))


def _item_text(item: object) -> str:
    """A professionItem as text (a DirectoryString; NamingAuthority texts are strings too)."""
    return item if isinstance(item, str) else str(item)


def _from_malformed(bad: Malformed) -> AdmissionInfo:
    return _from_pyasn1(bad.value, bad.error)


@functools.lru_cache(maxsize=256)
def _from_pyasn1(value: bytes, crypto_error: str) -> AdmissionInfo:
    """Decode an Admission with pyasn1: the content it can recover and what is wrong with it."""
    from pyasn1.codec.der import decoder, encoder
    from pyasn1.error import PyAsn1Error

    try:
        decoded, rest = decoder.decode(value, asn1Spec=_admission_syntax())
    except PyAsn1Error:
        found = outline(value)
        return AdmissionInfo(
            True,
            0,
            (),
            f"not an AdmissionSyntax: found {found}, expected "
            "SEQUENCE { [GeneralName], SEQUENCE OF Admissions }",
        )
    if rest:
        return AdmissionInfo(True, 0, (), f"{len(rest)} bytes of trailing data after the Admission")
    infos = tuple(_pyasn1_infos(decoded["contentsOfAdmissions"]))
    count = len(decoded["contentsOfAdmissions"])
    if encoder.encode(decoded) != value:
        return AdmissionInfo(True, count, infos, "the Admission is not DER-encoded (BER)")
    if crypto_error:
        return AdmissionInfo(True, count, infos, f"rejected by the X.509 parser: {crypto_error}")
    return AdmissionInfo(True, count, infos)


def _pyasn1_infos(admissions: Iterable[Any]) -> Iterable[ProfessionInfo]:
    for admission in admissions:
        for info in admission["professionInfos"]:
            items = tuple(str(i.getComponent()) for i in info["professionItems"])
            oids = tuple(str(o) for o in info["professionOIDs"]) if info["professionOIDs"] else ()
            reg = info["registrationNumber"]
            yield ProfessionInfo(items, oids, str(reg) if reg.isValue else None)


def outline(value: bytes) -> str:
    """The ASN.1 shape of some DER (``SEQUENCE { UTF8String }``) for messages, via pyasn1."""
    from pyasn1.codec.ber import decoder
    from pyasn1.error import PyAsn1Error

    try:
        decoded, _ = decoder.decode(value)
    except PyAsn1Error:
        return f"undecodable bytes {value[:8].hex()}..."
    return _shape(decoded)


def _shape(node: Any, depth: int = 0) -> str:
    name = type(node).__name__
    if name in ("Sequence", "SequenceOf", "Set", "SetOf") and depth >= 3:
        return "SEQUENCE { ... }" if name.startswith("Sequence") else "SET { ... }"
    if name in ("Sequence", "SequenceOf", "Set", "SetOf"):
        inner = ", ".join(_shape(node[i], depth + 1) for i in range(min(len(node), 4)))
        label = "SEQUENCE" if name.startswith("Sequence") else "SET"
        return f"{label} {{ {inner}{', ...' if len(node) > 4 else ''} }}"
    return {"UTF8String": "UTF8String", "ObjectIdentifier": "OBJECT IDENTIFIER"}.get(name, name)


@functools.cache
def _admission_syntax() -> Any:
    """The Common PKI / ISIS-MTT AdmissionSyntax as a pyasn1 spec (built on first use)."""
    from pyasn1.type import char, namedtype, tag, univ
    from pyasn1_alt_modules import rfc5280

    def explicit(n: int) -> tag.Tag:
        return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, n)

    def optional(name: str, spec: Any) -> Any:
        return namedtype.OptionalNamedType(name, spec)

    def naming_authority() -> Any:
        return univ.Sequence(
            componentType=namedtype.NamedTypes(
                optional("namingAuthorityId", univ.ObjectIdentifier()),
                optional("namingAuthorityUrl", char.IA5String()),
                optional("namingAuthorityText", rfc5280.DirectoryString()),
            )
        )

    profession_info = univ.Sequence(
        componentType=namedtype.NamedTypes(
            optional("namingAuthority", naming_authority().subtype(explicitTag=explicit(0))),
            namedtype.NamedType(
                "professionItems", univ.SequenceOf(componentType=rfc5280.DirectoryString())
            ),
            optional("professionOIDs", univ.SequenceOf(componentType=univ.ObjectIdentifier())),
            optional("registrationNumber", char.PrintableString()),
            optional("addProfessionInfo", univ.OctetString()),
        )
    )
    admissions = univ.Sequence(
        componentType=namedtype.NamedTypes(
            optional("admissionAuthority", rfc5280.GeneralName().subtype(explicitTag=explicit(0))),
            optional("namingAuthority", naming_authority().subtype(explicitTag=explicit(1))),
            namedtype.NamedType("professionInfos", univ.SequenceOf(componentType=profession_info)),
        )
    )
    return univ.Sequence(
        componentType=namedtype.NamedTypes(
            optional("admissionAuthority", rfc5280.GeneralName()),
            namedtype.NamedType("contentsOfAdmissions", univ.SequenceOf(componentType=admissions)),
        )
    )
