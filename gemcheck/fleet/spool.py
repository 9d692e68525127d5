"""Site outcomes kept on disk, not in memory: the fleet report's sites as a lazy sequence.

Outcomes arrive in any order from the workers; each is appended to a temporary file as
one JSON line and only its offset is remembered. Reading the sequence returns them in
inventory order, one at a time, so a fleet of any size needs memory for one outcome.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, overload

from gemcheck.fleet.report import SiteOutcome


class SiteSpool(Sequence[SiteOutcome]):
    """Outcomes by inventory index, stored in an anonymous temporary file."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives with the spool
        self._where: dict[int, tuple[int, int]] = {}

    def add(self, outcome: SiteOutcome) -> None:
        """Store one outcome (its index decides its place)."""
        data = json.dumps(outcome.as_dict(), ensure_ascii=False).encode()
        self._file.seek(0, 2)
        self._where[outcome.index] = (self._file.tell(), len(data))
        self._file.write(data)

    def __len__(self) -> int:
        return len(self._where)

    @overload
    def __getitem__(self, i: int) -> SiteOutcome: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[SiteOutcome]: ...

    def __getitem__(self, i: int | slice) -> SiteOutcome | Sequence[SiteOutcome]:
        order = sorted(self._where)
        if isinstance(i, slice):
            return [self._read(k) for k in order[i]]
        return self._read(order[i])

    def __iter__(self) -> Iterator[SiteOutcome]:
        for index in sorted(self._where):
            yield self._read(index)

    def _read(self, index: int) -> SiteOutcome:
        offset, length = self._where[index]
        self._file.seek(offset)
        return SiteOutcome.from_dict(json.loads(self._file.read(length)))
