"""``gemcheck certs inspect``: the decoded view of TI certificates a TI admin needs.

One block per certificate (type, Telematik-ID, professions and roles, key,
validity, issuer, serial, OCSP URL, KeyUsage/EKU, SHA-256 fingerprint) and one
error block per file that could not be read; the other files are still shown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtensionOID

from gemcheck.checks.pki import key_usage_names
from gemcheck.collect.certs import display_path, expand, load_file
from gemcheck.evidence.certificate import CertificateEvidence
from gemcheck.model import JSONValue
from gemcheck.pki.admission import admission_of
from gemcheck.pki.algorithms import key_info, signature_algorithm
from gemcheck.pki.extensions import ExtensionView, alt_names, extension_view, ocsp_urls
from gemcheck.pki.oids import ADMISSION, CERT_TYPES, KEY_USAGES, POLICIES, ROLES, eku_name
from gemcheck.pki.types import identify

Item = dict[str, JSONValue]

_LABELS = (
    ("subject", "subject"),
    ("type", "type"),
    ("telematik_id", "telematik-id"),
    ("professions", "profession"),
    ("roles", "roles"),
    ("key", "key"),
    ("signature_algorithm", "signature"),
    ("validity", "validity"),
    ("issuer", "issuer"),
    ("serial", "serial"),
    ("alt_names", "alt. names"),
    ("ocsp", "ocsp"),
    ("key_usage", "key usage"),
    ("extended_key_usage", "ext. key usage"),
    ("policies", "policies"),
    ("sha256", "sha-256"),
    ("problems", "problems"),
)


def inspect_paths(
    paths: Sequence[Path], *, password_env: str | None = None, root: Path | None = None
) -> list[Item]:
    """One item per certificate (or unreadable file) of the given files and folders."""
    root = root or Path.cwd()
    items: list[Item] = []
    for given in paths:
        before = len(items)
        for path in expand(given):
            for ev in load_file(path, root, password_env=password_env, scanned=given.is_dir()):
                items.append(describe(ev))
        if len(items) == before:
            items.append({"file": display_path(given, root), "error": "no certificate found"})
    return items


def describe(ev: CertificateEvidence) -> Item:
    """The decoded view of one certificate evidence (or its error) as JSON values."""
    where: Item = {"file": ev.location.file or ev.subject, "index": ev.location.index}
    if ev.certificate is None:
        return {**where, "error": ev.error or "unreadable"}
    cert = ev.certificate
    view = extension_view(cert)
    ti = identify(cert, view)
    adm = admission_of(view)
    sig = signature_algorithm(cert)
    problems = [f"{m.name}: {m.error}" for m in view.malformed if m.oid != ADMISSION]
    if ti.problem:
        problems.append(ti.problem)
    if adm.problem:
        problems.append(f"admission: {adm.problem}")
    tids = adm.registration_numbers
    return {
        **where,
        "format": ev.source_format,
        "subject": _name(cert, "subject"),
        "type": ti.name,
        "type_oid": ti.oid,
        "telematik_id": tids[0] if tids else None,
        "professions": list(adm.profession_items),
        "roles": [_role(o) for o in adm.profession_oids],
        "key": str(key_info(cert)),
        "signature_algorithm": sig.name,
        "not_before": _iso(cert.not_valid_before_utc),
        "not_after": _iso(cert.not_valid_after_utc),
        "issuer": _name(cert, "issuer"),
        "serial": f"{cert.serial_number:X}",
        "alt_names": [f"{kind} {value}" for kind, value in alt_names(view)],
        "ocsp": list(ocsp_urls(view)),
        "key_usage": _key_usage(view),
        "extended_key_usage": _eku(view),
        "policies": [_policy(p) for p in ti.policies],
        "sha256": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        "problems": problems,
    }


def _role(oid: str) -> JSONValue:
    role = ROLES.get(oid)
    return {"oid": oid, "name": role.ref if role else None, "item": role.item if role else None}


def _name(cert: x509.Certificate, which: str) -> str:
    try:
        name: x509.Name = getattr(cert, which)
        return name.rfc4514_string()
    except ValueError as exc:
        return f"(undecodable: {exc})"


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _key_usage(view: ExtensionView) -> list[JSONValue]:
    ext = view.get(ExtensionOID.KEY_USAGE)
    if ext is None:
        return []
    assert isinstance(ext.value, x509.KeyUsage)
    names = key_usage_names(ext.value)
    return [n for n in KEY_USAGES if n in names]


def _eku(view: ExtensionView) -> list[JSONValue]:
    ext = view.get(ExtensionOID.EXTENDED_KEY_USAGE)
    if ext is None:
        return []
    assert isinstance(ext.value, x509.ExtendedKeyUsage)
    return [eku_name(o.dotted_string) for o in ext.value]


def _policy(oid: str) -> str:
    label = CERT_TYPES.get(oid) or POLICIES.get(oid)
    return f"{oid} ({label})" if label else oid


# -- rendering -------------------------------------------------------------------------------------


def render_json(items: Iterable[Item]) -> str:
    return json.dumps(list(items), indent=2, ensure_ascii=False) + "\n"


def render_text(items: Iterable[Item]) -> str:
    """The blocks as an admin reads them: one per certificate, one per unreadable file."""
    blocks: list[str] = []
    for item in items:
        where = f"{item['file']}" + (f" #{item['index']}" if item.get("index") is not None else "")
        if "error" in item:
            blocks.append(f"{where}\n  error           {item['error']}")
            continue
        lines = [where]
        for key, label in _LABELS:
            text = _field(item, key)
            if text:
                lines.append(f"  {label:<15} {text}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _field(item: Item, key: str) -> str:
    if key == "type":
        if item["type"] is None:
            return "(none: not a TI certificate type)"
        return f"{item['type']}" + (f" ({item['type_oid']})" if item["type_oid"] else "")
    if key == "validity":
        return f"{item['not_before']} .. {item['not_after']}"
    if key == "roles":
        return "; ".join(
            f"{r['oid']} {r['name']} ({r['item']})" if r["name"] else str(r["oid"])
            for r in item["roles"]
        )
    value = item.get(key)
    if isinstance(value, list):
        return ("; " if key in ("roles", "problems") else ", ").join(str(v) for v in value)
    return "" if value is None else str(value)
