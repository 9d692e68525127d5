"""The TI address zones (gemSpec_Net V1.23.0), from the shipped ``data/ti-ipv4-zones.csv``.

The CSV is copied unchanged from ``../shared/spec-data/derived/ti-ipv4-zones.csv``
(GS-A_4029-06 for PU, GS-A_4850-04 for TU, A_19403 for IPv6). GS-A_4851 says
RU must not reuse PU or TU ranges and follows the TU scheme; gemcheck therefore
judges an RU site against the TU zones and the RU IPv6 block [INFERRED].
"""

from __future__ import annotations

import csv
import functools
import ipaddress
from dataclasses import dataclass
from pathlib import Path

ZONES_CSV = Path(__file__).parent / "data" / "ti-ipv4-zones.csv"


@dataclass(frozen=True, slots=True)
class Zone:
    """One TI address block: environment, zone name, network, class and requirement."""

    environment: str
    name: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    zone_class: str
    requirement: str


@functools.cache
def all_zones() -> tuple[Zone, ...]:
    """Every row of the CSV that names a network."""
    with ZONES_CSV.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: list[Zone] = []
    for row in rows:
        try:
            network = ipaddress.ip_network(row["cidr"], strict=True)
        except ValueError:
            continue  # the RU row says "n/a": RU reuses no range of its own
        out.append(
            Zone(
                row["environment"], row["zone"], network, row["gemcheck_class"], row["requirement"]
            )
        )
    return tuple(out)


def zones_for(environment: str) -> tuple[Zone, ...]:
    """The zones a site of ``environment`` (PU, TU, RU) must keep its own networks out of."""
    if environment == "RU":
        return tuple(
            z
            for z in all_zones()
            if z.environment == "RU" or (z.environment == "TU" and z.network.version == 4)
        )
    return tuple(z for z in all_zones() if z.environment == environment)
