"""TLS evidence: what one endpoint accepted when probed (versions, suites, groups, certificates)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gemcheck.evidence import Evidence
from gemcheck.tls.catalog import Suite

PROBE_AREAS = ("versions", "tls12_suites", "groups", "signatures", "tls13_suites", "tls13_groups")
"""The parts of a probe; ``probe_errors`` is keyed by these."""


@dataclass(frozen=True, slots=True)
class TlsEvidence(Evidence):
    """One TLS endpoint as the probe found it (``error`` set when it could not be probed at all).

    Versions are named ``SSLv3``, ``TLSv1.0`` ... ``TLSv1.3``; suites and groups by
    their IANA names. ``groups`` are the groups accepted for a TLS 1.2 ECDHE key
    exchange (one group offered per handshake), ``tls13_groups`` those a TLS 1.3
    server selects. ``chains`` are the distinct certificate chains presented (DER,
    leaf first; a server with an RSA and an ECC identity presents two).
    ``probe_errors`` maps a probe area to the probes (version, suite code, group)
    that got no decisive answer and why (a timeout, say): a rule judging that area
    reports ``error`` rather than guess.
    ``skipped`` says why nothing was probed (``--offline``).
    """

    kind = "tls"

    endpoint: str = ""
    role: str | None = None
    versions: tuple[str, ...] = ()
    tls12_suites: tuple[Suite, ...] = ()
    tls12_suites_tried: int = 0
    tls13_suites: tuple[Suite, ...] = ()
    groups: tuple[str, ...] = ()
    tls13_groups: tuple[str, ...] = ()
    secure_renegotiation: bool | None = None
    client_auth_requested: bool | None = None
    weak_signature: str | None = None
    signatures_tested: bool = False
    chains: tuple[tuple[bytes, ...], ...] = ()
    handshake: str = ""
    handshake_error: str | None = None
    probe_errors: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    skipped: str | None = None

    @property
    def chain(self) -> tuple[bytes, ...]:
        """The first chain presented (empty when none was seen)."""
        return self.chains[0] if self.chains else ()

    def facets(self) -> Mapping[str, str | None]:
        return {
            "subject": self.subject,
            "file": None,
            "endpoint": self.endpoint,
            "role": self.role,
        }
