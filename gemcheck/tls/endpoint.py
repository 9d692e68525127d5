"""Endpoints as users write them: ``host:port``, ``https://host[:port][/path]``, ``[::1]:443``."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORT = 443


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A TCP endpoint to probe: host (name or address literal) and port."""

    host: str
    port: int

    @property
    def is_address(self) -> bool:
        """True for an IP literal (no SNI is sent then)."""
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoint(text: str) -> Endpoint:
    """Parse an endpoint; raises ValueError with a message a user understands."""
    value = text.strip()
    if not value:
        raise ValueError("empty endpoint")
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("https", "http"):
            raise ValueError(f"unsupported scheme {parts.scheme!r} (use https:// or host:port)")
    else:
        parts = urlsplit(f"//{value}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"invalid port in {text!r}") from None
    host = parts.hostname
    if not host:
        raise ValueError(f"no host in {text!r}")
    return Endpoint(host, port if port is not None else DEFAULT_PORT)
