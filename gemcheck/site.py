"""The site file (``gemcheck.yaml``): what one site consists of and where its inputs are.

Relative paths in a site file resolve against the file's folder; paths given as
CLI flags resolve against the working directory (the CLI makes them absolute
before merging them in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gemcheck import schemas
from gemcheck.model import EMPTY, JSONValue
from gemcheck.profile import read_bytes

EXAMPLE_SITE = Path(__file__).parent / "examples" / "praxis" / "gemcheck.yaml"


@dataclass(frozen=True, slots=True)
class CertSource:
    """A certificate file or folder named by the site, with its role and password variable."""

    path: Path
    role: str | None = None
    password_env: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    """One site's inputs, schema-validated, paths resolved."""

    name: str
    root: Path
    file: str
    environment: str = "PU"
    profiles: tuple[str, ...] = ()
    certificates: tuple[CertSource, ...] = ()
    trust: Mapping[str, JSONValue] = field(default_factory=lambda: EMPTY)
    konnektor: Mapping[str, JSONValue] = field(default_factory=lambda: EMPTY)
    endpoints: tuple[Mapping[str, JSONValue], ...] = ()
    network: Mapping[str, JSONValue] = field(default_factory=lambda: EMPTY)
    systems: tuple[Mapping[str, JSONValue], ...] = ()
    tailoring: Mapping[str, Mapping[str, JSONValue]] = field(default_factory=lambda: EMPTY)

    def path(self, value: str) -> Path:
        """A path from the site file, resolved against the site's folder."""
        p = Path(value)
        return p if p.is_absolute() else self.root / p


def load_site(path: Path) -> dict[str, Any]:
    """Read a site file into plain data (validated when turned into a :class:`Site`)."""
    return dict(schemas.load_document(read_bytes(path), str(path)) or {})


def build_site(data: Mapping[str, Any], root: Path, file: str) -> Site:
    """Validate site data against ``site-1`` and build the :class:`Site`."""
    schemas.validate(data, "site-1", file)
    certs = tuple(_cert_source(entry, root) for entry in data.get("certificates", ()))
    endpoints = tuple(
        MappingProxyType({"url": e} if isinstance(e, str) else dict(e))
        for e in data.get("endpoints", ())
    )
    return Site(
        name=data["site"],
        root=root,
        file=file,
        environment=data.get("environment", "PU"),
        profiles=tuple(data.get("profiles", ())),
        certificates=certs,
        trust=MappingProxyType(dict(data.get("trust", {}))),
        konnektor=MappingProxyType(dict(data.get("konnektor", {}))),
        endpoints=endpoints,
        network=MappingProxyType(dict(data.get("network", {}))),
        systems=tuple(MappingProxyType(dict(s)) for s in data.get("systems", ())),
        tailoring=MappingProxyType(dict(data.get("tailoring", {}))),
    )


def _cert_source(entry: str | Mapping[str, Any], root: Path) -> CertSource:
    if isinstance(entry, str):
        entry = {"path": entry}
    p = Path(entry["path"])
    return CertSource(
        path=p if p.is_absolute() else root / p,
        role=entry.get("role"),
        password_env=entry.get("password_env"),
    )
