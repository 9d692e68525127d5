"""Collect Konnektor evidence from the site's ``konnektor`` section: saved files, or live.

Files (``sds``, ``operating_data``, ``resource_information``,
``certificate_expiration``, ``parameters``) are read offline; ``endpoint`` is
audited live unless ``--offline`` is given. A file that cannot be read is error
evidence naming it; the other inputs are still collected.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from gemcheck.collect import CollectOptions
from gemcheck.collect.certs import display_path
from gemcheck.evidence import Evidence
from gemcheck.evidence.konnektor import (
    CertificateExpirationEvidence,
    OperatingStateEvidence,
    ServiceDirectoryEvidence,
)
from gemcheck.konnektor.xmldoc import MAX_XML_BYTES
from gemcheck.model import JSONValue, Location
from gemcheck.site import Site


def collect_files(site: Site, options: CollectOptions) -> Iterator[Evidence]:
    """Evidence from the saved Konnektor files the site names."""
    from gemcheck.konnektor.operating import (
        read_certificate_expiration,
        read_operating_data,
        read_resource_information,
    )
    from gemcheck.konnektor.parameters import load_parameters
    from gemcheck.konnektor.sds import read_sds

    section = site.konnektor
    readers: tuple[tuple[str, type[Evidence], str, Callable[..., Evidence]], ...] = (
        ("sds", ServiceDirectoryEvidence, "sds", read_sds),
        (
            "resource_information",
            OperatingStateEvidence,
            "resource-information",
            read_resource_information,
        ),
        (
            "certificate_expiration",
            CertificateExpirationEvidence,
            "certificate-expiration",
            functools.partial(read_certificate_expiration, crypt="ECC"),
        ),
    )
    for key, kind, source, reader in readers:
        for path, shown in _files(site, section.get(key)):
            yield _xml(path, shown, kind, source, reader)
    for path, shown in _files(site, section.get("operating_data")):
        yield from _read_operating_data(path, shown, read_operating_data)
    for path, shown in _files(site, section.get("parameters")):
        yield load_parameters(path, shown)


def collect_live(site: Site, options: CollectOptions) -> list[Evidence]:
    """Evidence of a live audit of ``konnektor.endpoint`` (nothing when offline or not set)."""
    section = site.konnektor
    endpoint = section.get("endpoint")
    if options.offline or not isinstance(endpoint, str):
        return []
    from gemcheck.konnektor.client import LiveTarget, collect_live
    from gemcheck.konnektor.soap import CallContext

    context: Mapping[str, Any] | None = section.get("context")
    p12 = section.get("client_p12")
    target = LiveTarget(
        endpoint=endpoint,
        context=CallContext(
            mandant=str(context["mandant"]),
            client_system=str(context["client_system"]),
            workplace=str(context["workplace"]),
            user=context.get("user"),
        )
        if context
        else None,
        client_p12=site.path(p12) if isinstance(p12, str) else None,
        p12_password_env=_str(section.get("p12_password_env")),
        basic_user=_str(section.get("basic_user")),
        basic_password_env=_str(section.get("basic_password_env")),
        ca=tuple(site.path(str(p)) for p in _list(section.get("ca"))),
        http_ports=tuple(int(p) for p in _list(section.get("http_ports", [80]))),
        timeout=options.timeout,
    )
    return collect_live(target)


def _files(site: Site, value: JSONValue) -> Iterator[tuple[Path, str]]:
    for item in _list(value):
        path = site.path(str(item))
        yield path, display_path(path, site.root)


def _list(value: JSONValue) -> list[JSONValue]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _str(value: JSONValue) -> str | None:
    return value if isinstance(value, str) else None


def _read(path: Path) -> bytes | str:
    """The file's bytes, or why they cannot be had."""
    try:
        size = path.stat().st_size
        if size > MAX_XML_BYTES:
            return f"file is {size} bytes, more than {MAX_XML_BYTES}"
        return path.read_bytes()
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"


def _xml(
    path: Path,
    shown: str,
    kind: type[Any],
    source: str,
    reader: Callable[[bytes, str, Location], Evidence],
) -> Evidence:
    location = Location(file=shown)
    data = _read(path)
    if isinstance(data, str):
        evidence: Evidence = kind(subject=shown, location=location, source=source, error=data)
        return evidence
    return reader(data, shown, location)


def _read_operating_data(
    path: Path,
    shown: str,
    reader: Callable[[bytes, str, Location], tuple[Evidence, Evidence | None]],
) -> Iterator[Evidence]:
    location = Location(file=shown)
    data = _read(path)
    if isinstance(data, str):
        yield OperatingStateEvidence(
            subject=shown, location=location, source="operating-data", error=data
        )
        return
    state, params = reader(data, shown, location)
    yield state
    if params is not None:
        yield params
