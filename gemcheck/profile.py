"""Profiles: load, validate, resolve ``extends``, apply a site's tailoring, bind rules to checks.

A profile is YAML or JSON matching ``schemas/profile-1.schema.json``. Names
without a path (``ti-pki``) are the bundled profiles in ``gemcheck/profiles``;
anything else is a file path, relative to the file that names it.

Every problem is collected and raised together as one :class:`InputError`
before any I/O of the audit happens.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from gemcheck import schemas
from gemcheck.errors import InputError, Problem, json_path
from gemcheck.model import JSONValue, Obligation, ProfileRef, Severity
from gemcheck.registry import CheckSpec, Registry, build_params

PROFILE_DIR = Path(__file__).parent / "profiles"
DEFAULT_PROFILE = "ti-site"


@dataclass(frozen=True, slots=True)
class ProfileFile:
    """One profile file as written: its data, where it came from and its hash."""

    id: str
    version: str
    title: str
    description: str
    path: Path
    sha256: str
    extends: tuple[str, ...]
    rules: tuple[Mapping[str, JSONValue], ...]

    @property
    def ref(self) -> ProfileRef:
        return ProfileRef(self.id, self.version, self.sha256)


@dataclass(frozen=True, slots=True)
class RuleDraft:
    """A rule after ``extends`` and tailoring were merged, before binding to its check."""

    id: str
    data: Mapping[str, JSONValue]
    file: str
    where: str
    disabled: str | None = None  # the justification, when a site disabled the rule


@dataclass(frozen=True, slots=True)
class ResolvedProfile:
    """The profiles named for an audit, with every file they pulled in and their merged rules."""

    files: tuple[ProfileFile, ...]
    rules: tuple[RuleDraft, ...]


@dataclass(frozen=True, slots=True)
class BoundRule:
    """A rule ready to run: its check, typed parameters and everything a report says about it."""

    id: str
    check: CheckSpec
    params: Any
    severity: Severity
    weight: float
    obligation: Obligation | None
    references: tuple[str, ...]
    match: Mapping[str, tuple[str | None, ...]]
    effective_from: dt.date | None
    effective_until: dt.date | None
    title: str
    description: str
    remediation: str
    source: str
    file: str
    disabled: str | None = None
    params_json: Mapping[str, JSONValue] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.check.domain

    def effective_on(self, day: dt.date) -> bool:
        """True when ``day`` lies inside the rule's effective window (both ends inclusive)."""
        if self.effective_from is not None and day < self.effective_from:
            return False
        return self.effective_until is None or day <= self.effective_until


# -- loading ------------------------------------------------------------------------------------


def bundled_profiles() -> list[ProfileFile]:
    """Every profile shipped with gemcheck, by id."""
    return sorted((load_profile_file(p) for p in PROFILE_DIR.glob("*.yaml")), key=lambda pf: pf.id)


def locate(name: str, relative_to: Path | None = None) -> Path:
    """The file of a profile reference: a bundled name or a path."""
    if "/" not in name and "\\" not in name and not name.endswith((".yaml", ".yml", ".json")):
        path = PROFILE_DIR / f"{name}.yaml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in PROFILE_DIR.glob("*.yaml")))
            raise InputError.single(name, "$", f"no bundled profile of that name (known: {known})")
        return path
    path = Path(name)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    return path


def load_profile_file(path: Path) -> ProfileFile:
    """Read and schema-validate one profile file (no ``extends`` resolution).

    Parsed files are remembered by path, size and modification time, so a fleet of
    sites sharing profiles parses each profile once per process.
    """
    try:
        stat = path.stat()
    except OSError:
        return _parse_profile_file(path)
    return _cached_profile_file(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _cached_profile_file(path: Path, mtime_ns: int, size: int) -> ProfileFile:
    return _parse_profile_file(path)


def _parse_profile_file(path: Path) -> ProfileFile:
    raw = read_bytes(path)
    data = schemas.load_document(raw, str(path))
    schemas.validate(data, "profile-1", str(path))
    return ProfileFile(
        id=data["id"],
        version=str(data["version"]),
        title=data["title"],
        description=data.get("description", ""),
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        extends=tuple(data.get("extends", ())),
        rules=tuple(data.get("rules", ())),
    )


def read_bytes(path: Path) -> bytes:
    """A file's bytes, or an InputError naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError.single(str(path), "$", f"cannot read: {exc.strerror or exc}") from None


# -- resolution ---------------------------------------------------------------------------------


def resolve(names: Sequence[str], base_dir: Path | None = None) -> ResolvedProfile:
    """Load the named profiles and everything they extend; merge rules by id.

    Parents come first; a child that names a rule id again overrides the fields
    it gives (``params`` are merged key by key). Several top-level profiles are
    merged in the order given.
    """
    files: dict[Path, ProfileFile] = {}
    merged: dict[str, tuple[dict[str, JSONValue], str, str]] = {}
    problems: list[Problem] = []

    def visit(name: str, relative_to: Path | None, stack: tuple[Path, ...]) -> None:
        path = locate(name, relative_to).resolve()
        if path in stack:
            chain = " -> ".join(p.name for p in (*stack, path))
            problems.append(Problem(str(path), "$.extends", f"extends cycle: {chain}"))
            return
        if path in files:
            return
        pf = load_profile_file(path)
        for i, parent in enumerate(pf.extends):
            try:
                visit(parent, path.parent, (*stack, path))
            except InputError as exc:
                problems.extend(Problem(str(path), f"$.extends[{i}]", str(p)) for p in exc.problems)
        files[path] = pf
        for i, rule in enumerate(pf.rules):
            _merge_rule(merged, rule, str(path), f"$.rules[{i}]")

    for name in names:
        visit(name, base_dir, ())
    if problems:
        raise InputError(problems)
    drafts = tuple(RuleDraft(rid, data, file, where) for rid, (data, file, where) in merged.items())
    return ResolvedProfile(files=tuple(files.values()), rules=drafts)


def _merge_rule(
    merged: dict[str, tuple[dict[str, JSONValue], str, str]],
    rule: Mapping[str, JSONValue],
    file: str,
    where: str,
) -> None:
    rid = str(rule["id"])
    if rid not in merged:
        merged[rid] = (dict(rule), file, where)
        return
    base, _, _ = merged[rid]
    combined = {**base, **rule}
    if "params" in base and "params" in rule:
        combined["params"] = {**base["params"], **rule["params"]}
    merged[rid] = (combined, file, where)


def tailor(
    resolved: ResolvedProfile, tailoring: Mapping[str, Mapping[str, JSONValue]], file: str
) -> ResolvedProfile:
    """Apply a site's tailoring: override a rule's params or severity, or disable it.

    The site schema already requires a justification for ``disabled: true``; a
    tailoring entry for a rule that no profile defines is an error.
    """
    if not tailoring:
        return resolved
    by_id = {d.id: d for d in resolved.rules}
    problems = [
        Problem(file, f"$.tailoring.{rid}", f"no rule {rid!r} in the audit's profiles")
        for rid in tailoring
        if rid not in by_id
    ]
    if problems:
        raise InputError(problems)
    out: list[RuleDraft] = []
    for draft in resolved.rules:
        t = tailoring.get(draft.id)
        if t is None:
            out.append(draft)
            continue
        data = dict(draft.data)
        if "severity" in t:
            data["severity"] = t["severity"]
        if "params" in t:
            data["params"] = {**data.get("params", {}), **t["params"]}
        disabled = str(t["justification"]) if t.get("disabled") else None
        out.append(RuleDraft(draft.id, data, file, f"$.tailoring.{draft.id}", disabled))
    return ResolvedProfile(files=resolved.files, rules=tuple(out))


# -- binding ------------------------------------------------------------------------------------


def bind(resolved: ResolvedProfile, registry: Registry) -> list[BoundRule]:
    """Bind every rule to its check and typed parameters, or raise all binding problems at once."""
    problems: list[Problem] = []
    bound: list[BoundRule] = []
    for draft in resolved.rules:
        rule = _bind_one(draft, registry, problems)
        if rule is not None:
            bound.append(rule)
    if problems:
        raise InputError(problems)
    return sorted(bound, key=lambda r: (r.domain, r.id))


def _bind_one(draft: RuleDraft, registry: Registry, problems: list[Problem]) -> BoundRule | None:
    data = draft.data
    if "check" not in data:
        problems.append(Problem(draft.file, draft.where, f"rule {draft.id} names no check"))
        return None
    spec = registry.get(str(data["check"]))
    if spec is None:
        hint = _closest(str(data["check"]), registry.checks)
        problems.append(
            Problem(draft.file, f"{draft.where}.check", f"unknown check {data['check']!r}{hint}")
        )
        return None
    params_json = dict(data.get("params") or {})
    errors, params = _typed_params(spec, json.dumps(params_json, sort_keys=True))
    if errors:
        problems.extend(
            Problem(draft.file, json_path([*_parts(draft.where), "params", *path]), msg)
            for path, msg in errors
        )
        return None
    return BoundRule(
        id=draft.id,
        check=spec,
        params=params,
        severity=Severity(data.get("severity", "medium")),
        weight=float(data.get("weight", 1)),
        obligation=Obligation(data["obligation"]) if "obligation" in data else None,
        references=tuple(data.get("references", ())),
        match=_match(data.get("match") or {}),
        effective_from=_date(data.get("effective_from")),
        effective_until=_date(data.get("effective_until")),
        title=str(data.get("title", "")),
        description=str(data.get("description", "")).strip(),
        remediation=str(data.get("remediation", "")),
        source=str(data.get("source", "")).strip(),
        file=draft.file,
        disabled=draft.disabled,
        params_json=params_json,
    )


def _typed_params(
    spec: CheckSpec, params_text: str
) -> tuple[list[tuple[list[str | int], str]], Any]:
    """Schema problems of a rule's params, or the typed params object (cached: frozen)."""
    cls = cast(Hashable, spec.params)  # classes hash by identity; mypy cannot see it for type[Any]
    return _typed_params_cached(spec.id, cls, params_text, json.dumps(spec.params_schema))


@functools.lru_cache(maxsize=4096)
def _typed_params_cached(
    check_id: str, cls: Any, params_text: str, schema_text: str
) -> tuple[list[tuple[list[str | int], str]], Any]:
    values = json.loads(params_text)
    errors = schemas.errors_of(values, json.loads(schema_text))
    return errors, (None if errors else build_params(cls, values))


def _parts(where: str) -> list[str | int]:
    """Undo :func:`json_path` for the simple paths this module builds."""
    parts: list[str | int] = []
    for token in where.lstrip("$").replace("[", ".[").split("."):
        if not token:
            continue
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return parts


def _match(raw: Mapping[str, JSONValue]) -> dict[str, tuple[str | None, ...]]:
    return {k: tuple(v) if isinstance(v, list) else (v,) for k, v in raw.items()}


def _date(value: JSONValue) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else None


def _closest(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load(
    names: Sequence[str],
    registry: Registry,
    *,
    base_dir: Path | None = None,
    tailoring: Mapping[str, Mapping[str, JSONValue]] | None = None,
    tailoring_file: str = "",
) -> tuple[ResolvedProfile, list[BoundRule]]:
    """Resolve, tailor and bind in one go: what ``gemcheck audit`` does before collecting."""
    resolved = resolve(names or [DEFAULT_PROFILE], base_dir)
    resolved = tailor(resolved, tailoring or {}, tailoring_file)
    return resolved, bind(resolved, registry)
