"""Evidence: frozen facts that collection gathered and checks judge.

Every piece of evidence has a subject (what it is about, as a user names it) and
a location (the file or endpoint it came from). A failed collection is evidence
too: ``error`` says what went wrong, and every rule that applies to it reports
an ``error`` result instead of running its check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from gemcheck.model import NOWHERE, Location


@dataclass(frozen=True, slots=True)
class Evidence:
    """Base of all evidence types."""

    kind: ClassVar[str] = "evidence"

    subject: str
    location: Location = NOWHERE
    error: str | None = None

    def facets(self) -> Mapping[str, str | None]:
        """Attributes a profile rule's ``match`` can select on (``{"type": "C.HCI.AUT"}``)."""
        return {"subject": self.subject, "file": self.location.file}


E = TypeVar("E", bound=Evidence)


class EvidenceSet:
    """All evidence of one site, looked up by type."""

    def __init__(self, items: Iterable[Evidence] = ()) -> None:
        self._items: list[Evidence] = list(items)
        self._by_type: dict[type[Evidence], list[Evidence]] = {}

    def of_type(self, cls: type[E]) -> list[E]:
        """Every item that is a ``cls`` (subclasses included), in collection order."""
        cached = self._by_type.get(cls)
        if cached is None:
            cached = [item for item in self._items if isinstance(item, cls)]
            self._by_type[cls] = cached
        return cached  # type: ignore[return-value]

    def __iter__(self) -> Iterator[Evidence]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
