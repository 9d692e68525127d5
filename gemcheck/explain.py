"""``gemcheck explain``: what a check does or what a rule demands, in words a user reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from gemcheck.errors import InputError
from gemcheck.profile import PROFILE_DIR, BoundRule, load
from gemcheck.registry import CheckSpec, load_registry


def explain(item: str, profiles: Sequence[str] = ()) -> str:
    """The explanation of a check id or a rule id (rules are looked up in ``profiles``)."""
    registry = load_registry()
    _, rules = load(list(profiles), registry)
    spec = registry.get(item)
    if spec is not None:
        return _explain_check(spec, [r for r in rules if r.check.id == spec.id])
    for rule in rules:
        if rule.id == item:
            return _explain_rule(rule)
    raise InputError.single(
        item, "$", "no check or rule of that id (see `gemcheck checks` and `gemcheck profiles`)"
    )


def _explain_check(spec: CheckSpec, rules: list[BoundRule]) -> str:
    lines = [
        f"check {spec.id}  (domain {spec.domain}, judges {spec.applies_to.kind} evidence)",
        "",
        spec.doc or "(no description)",
        "",
    ]
    props = spec.params_schema.get("properties", {})
    if props:
        lines.append("Parameters:")
        defaults = spec.params() if not spec.params_schema.get("required") else None
        for name, schema in props.items():
            default = f" (default {json.dumps(_default(defaults, name))})" if defaults else ""
            desc = schema.get("description", "")
            lines.append(f"  {name}: {desc}{default}")
        lines.append("")
    if rules:
        lines.append("Used by rules: " + ", ".join(r.id for r in rules))
    return "\n".join(lines).rstrip() + "\n"


def _default(params: object, name: str) -> object:
    from gemcheck.registry import params_as_json

    return params_as_json(params)[name]


def _shown(file: str) -> str:
    """A bundled profile as ``bundled: ti-pki.yaml``, any other by its path."""
    path = Path(file)
    return f"bundled: {path.name}" if path.parent == PROFILE_DIR.resolve() else file


def _explain_rule(rule: BoundRule) -> str:
    lines = [
        f"rule {rule.id}: {rule.title or rule.check.summary}",
        f"  check:      {rule.check.id}",
        f"  severity:   {rule.severity.value}"
        + (f"  obligation: {rule.obligation.value}" if rule.obligation else ""),
        f"  weight:     {rule.weight:g}",
        f"  profile:    {_shown(rule.file)}",
    ]
    if rule.references:
        lines.append(f"  references: {', '.join(rule.references)}")
    if rule.effective_from or rule.effective_until:
        lines.append(
            f"  in force:   {rule.effective_from or '...'} to {rule.effective_until or '...'}"
        )
    if rule.params_json:
        lines.append(f"  params:     {json.dumps(rule.params_json, sort_keys=True)}")
    if rule.match:
        lines.append(f"  applies to: {json.dumps({k: list(v) for k, v in rule.match.items()})}")
    if rule.source:
        lines.append(f"  source:     {rule.source}")
    if rule.remediation:
        lines.append(f"  remedy:     {rule.remediation}")
    if rule.description:
        lines += ["", rule.description]
    lines += ["", rule.check.doc]
    return "\n".join(lines).rstrip() + "\n"
