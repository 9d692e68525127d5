"""Network evidence: the site's network description, its firewall rulesets and what a probe saw."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from gemcheck.evidence import Evidence

if TYPE_CHECKING:
    from gemcheck.network.reach import Reachability
    from gemcheck.network.rules import Ruleset
    from gemcheck.network.topology import Topology


@dataclass(frozen=True, slots=True)
class SystemRef:
    """A patient-record system of the site (site file ``systems``) and the host it runs on."""

    id: str
    kind: str = "other"
    name: str = ""
    host: str | None = None


@dataclass(frozen=True, slots=True)
class NetworkEvidence(Evidence):
    """The network description with every firewall ruleset, ready for the isolation analysis.

    ``rulesets`` maps gateway ids to their imported rulesets; ``problems`` lists, with file and
    place, everything the importers or the description left uncertain (the analysis treats
    each fail-closed). ``analysis`` answers reachability questions and caches the answers.
    """

    kind = "network"

    topology: Topology | None = None
    rulesets: Mapping[str, Ruleset] = field(default_factory=lambda: MappingProxyType({}))
    problems: tuple[str, ...] = ()
    systems: tuple[SystemRef, ...] = ()
    analysis: Reachability | None = None

    def facets(self) -> Mapping[str, str | None]:
        return {
            "subject": self.subject,
            "file": self.location.file,
            "environment": self.topology.environment if self.topology else None,
        }

    @property
    def patient_hosts(self) -> frozenset[str]:
        """Hosts with patient data: marked in the description or named by a system."""
        if self.topology is None:
            return frozenset()
        known = {h.id for h in self.topology.hosts}
        marked = {h.id for h in self.topology.hosts if h.patient_data}
        return frozenset(marked | {s.host for s in self.systems if s.host in known})


@dataclass(frozen=True, slots=True)
class Probe:
    """One TCP connection attempt and what the description declared for it."""

    target: str
    address: str
    port: int
    declared: str
    observed: str
    detail: str = ""
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ObservedReachabilityEvidence(Evidence):
    """TCP connection attempts from the machine gemcheck runs on (``--probe-reachability``).

    ``declared`` is ``allowed`` or ``blocked`` (what the analysis of the description says for
    this source and target), ``observed`` ``open``, ``refused``, ``timeout`` or ``error``.
    """

    kind = "network-observed"

    source: str = ""
    zone: str | None = None
    probes: tuple[Probe, ...] = ()
    skipped: int = 0
