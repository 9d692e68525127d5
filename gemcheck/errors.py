"""Errors that stop an audit before it starts, each naming the file and the place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: the file, the JSON path inside it, and what is wrong."""

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        place = f" at {self.where}" if self.where and self.where != "$" else ""
        return f"{self.file}{place}: {self.message}"


class GemcheckError(Exception):
    """Base of gemcheck's own errors."""


class InputError(GemcheckError):
    """An input (profile, site file, CLI argument) is invalid: the audit cannot start (exit 2).

    Carries every problem found, not only the first, so that a user fixes them in one go.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, where: str, message: str) -> InputError:
        """An error with one problem."""
        return cls([Problem(file, where, message)])


def json_path(parts: Iterable[str | int]) -> str:
    """Render a jsonschema-style path (``['rules', 3, 'check']``) as ``$.rules[3].check``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
