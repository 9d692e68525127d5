"""The fleet inventory (``fleet.yaml``): which sites, their ids, tags and overrides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gemcheck import schemas
from gemcheck.errors import InputError, Problem
from gemcheck.profile import read_bytes

SITE_FILE_NAME = "gemcheck.yaml"


@dataclass(frozen=True, slots=True)
class SiteEntry:
    """One site of the fleet, in inventory order (``index`` fixes the order of every output)."""

    index: int
    id: str
    path: Path
    tags: tuple[str, ...] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inventory:
    """A validated inventory with every site expanded (folders walked, ids unique)."""

    name: str
    file: str
    sites: tuple[SiteEntry, ...]

    def shard(self, number: int, total: int) -> tuple[SiteEntry, ...]:
        """Shard ``number`` of ``total`` (1-based): every ``total``-th site from ``number`` on."""
        return tuple(s for s in self.sites if s.index % total == number - 1)


def load_inventory(path: Path) -> Inventory:
    """Read, validate and expand an inventory; every problem is raised together."""
    file = str(path)
    data = schemas.load_document(read_bytes(path), file)
    schemas.validate(data, "inventory-1", file)
    root = path.resolve().parent
    defaults: Mapping[str, Any] = data.get("defaults", {})
    entries: list[tuple[str | None, Path, tuple[str, ...], Mapping[str, Any], str]] = []
    problems: list[Problem] = []
    for i, raw in enumerate(data["sites"]):
        where = f"$.sites[{i}]"
        overrides = {**defaults, **raw.get("overrides", {})}
        tags = tuple(raw.get("tags", ()))
        if "path" in raw:
            entries.append((raw.get("id"), root / raw["path"], tags, overrides, where))
            continue
        folder = root / raw["folder"]
        found = sorted(folder.rglob(SITE_FILE_NAME)) if folder.is_dir() else []
        if not found:
            problems.append(Problem(file, f"{where}.folder", f"no {SITE_FILE_NAME} below {folder}"))
        if raw.get("id") and len(found) > 1:
            problems.append(Problem(file, f"{where}.id", "an id names one site, not a folder"))
        entries += [(raw.get("id"), p, tags, overrides, where) for p in found]
    sites = _number(entries, file, problems)
    if problems:
        raise InputError(problems)
    return Inventory(name=data["fleet"], file=file, sites=tuple(sites))


def _number(
    entries: Sequence[tuple[str | None, Path, tuple[str, ...], Mapping[str, Any], str]],
    file: str,
    problems: list[Problem],
) -> list[SiteEntry]:
    sites: list[SiteEntry] = []
    seen: dict[str, str] = {}
    for index, (given, path, tags, overrides, where) in enumerate(entries):
        site_id = given or path.parent.name
        if site_id in seen:
            problems.append(
                Problem(
                    file,
                    where,
                    f"site id {site_id!r} is used twice (also {seen[site_id]}); "
                    "give one an explicit id",
                )
            )
        seen[site_id] = where
        sites.append(SiteEntry(index, site_id, path, tags, overrides))
    return sites
