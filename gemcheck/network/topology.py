"""The network description (``network.yaml``, schema ``network-1``): zones, hosts, gateways, routes.

A *zone* is one network segment with a kind (``lan``, ``guest``, ``internet``, ``ti-zentral`` ...)
and its CIDRs. Zones of the TI kinds default to the environment's ranges (gemSpec_Net
GS-A_4029-06 / GS-A_4850-04, shipped as ``ti-ipv4-zones.csv``); an ``internet`` zone defaults to
everything. TI zones and an ``internet`` zone that the description leaves out are added, so a
description names only the site's own segments.

*Hosts* sit in a zone, listen on *services* and may hold patient data. *Gateways* connect
zones: the Konnektor (LAN/WAN adapters, ``VPN_TI``/``VPN_SIS`` tunnels, in-line or parallel),
routers and firewalls, each optionally with the firewall export that filters it.

Every problem is reported at once with the file and the JSON path (:class:`InputError`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gemcheck import schemas
from gemcheck.errors import InputError, Problem
from gemcheck.network.rules import Address, Network

SITE_KINDS = frozenset({"lan", "dmz", "admin", "guest"})
TI_KINDS = ("ti-dezentral", "ti-zentral", "ti-gesicherte-fd", "ti-offene-fd", "bestandsnetze")
"""Zones that traffic must reach only through the Konnektor's VPN_TI (TIP1-A_4730ff.)."""
EXTERNAL_KINDS = frozenset({"internet", "sis", *TI_KINDS})

_CSV_KIND = {
    "ti_dezentral": "ti-dezentral",
    "ti_dezentral_hsk": "ti-dezentral",
    "ti_zentral": "ti-zentral",
    "ti_gesicherte_fd": "ti-gesicherte-fd",
    "ti_offene_fd": "ti-offene-fd",
    "ti_wanda": "ti-offene-fd",
    "ti_dezentral_sis": "sis",
}
"""CSV classes -> zone kinds (WANDA with the offene Fachdienste: [INFERRED] from A_17411)."""

MAX_BYTES = 64 * 1024 * 1024
"""Larger descriptions are refused (10,000 hosts take about 1.5 MB)."""

DEFAULT_ZONES = (
    "internet",
    "ti-dezentral",
    "ti-zentral",
    "ti-gesicherte-fd",
    "ti-offene-fd",
    "sis",
)


@dataclass(frozen=True, slots=True)
class Service:
    """A port a host or gateway listens on."""

    port: int
    proto: str = "tcp"
    name: str = ""
    management: bool = False
    interfaces: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.port}/{self.proto}"


@dataclass(frozen=True, slots=True)
class Route:
    """A static route: destination network, next hop (address or gateway id) and/or device."""

    network: Network
    via: str | None = None
    dev: str | None = None

    def __str__(self) -> str:
        parts = [f"route {self.network}"]
        if self.via:
            parts.append(f"via {self.via}")
        if self.dev:
            parts.append(f"dev {self.dev}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Zone:
    """A network segment; ``implicit`` when gemcheck added it (TI zones, the internet)."""

    id: str
    kind: str
    networks: tuple[Network, ...]
    gateway: str | None = None
    implicit: bool = False

    @property
    def external(self) -> bool:
        """Outside the site: the internet, the TI, the SIS side, Bestandsnetze."""
        return self.kind in EXTERNAL_KINDS


@dataclass(frozen=True, slots=True)
class Host:
    """An end system; ``services`` ``None`` means undeclared (any port may be open)."""

    id: str
    addresses: tuple[Address, ...]
    zone: str
    role: str = "other"
    patient_data: bool = False
    services: tuple[Service, ...] | None = None
    gateway: str | None = None
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True, slots=True)
class Interface:
    """A gateway's interface, named as in the device's ruleset."""

    name: str
    zone: str
    address: Address | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Tunnel:
    """A Konnektor VPN tunnel (``vpn-ti`` or ``vpn-sis``) and the zones it leads to."""

    name: str
    type: str
    address: Address | None = None
    zones: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Gateway:
    """A Konnektor, router or firewall."""

    id: str
    type: str
    interfaces: tuple[Interface, ...]
    mode: str | None = None
    tunnels: tuple[Tunnel, ...] = ()
    routes: tuple[Route, ...] = ()
    services: tuple[Service, ...] | None = None
    ruleset: Path | None = None
    format: str | None = None

    @property
    def addresses(self) -> tuple[Address, ...]:
        """Every address of the device (interfaces and tunnel inner IPs)."""
        found = [i.address for i in self.interfaces] + [t.address for t in self.tunnels]
        return tuple(a for a in found if a is not None)

    def interface(self, name: str) -> Interface | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def tunnel(self, name: str) -> Tunnel | None:
        return next((t for t in self.tunnels if t.name == name), None)

    def interface_in(self, zone: str) -> str | None:
        """The name of the device's (first) interface in ``zone``."""
        return next((i.name for i in self.interfaces if i.zone == zone), None)


@dataclass(frozen=True, slots=True)
class Topology:
    """A validated network description."""

    file: str
    environment: str
    zones: tuple[Zone, ...]
    hosts: tuple[Host, ...]
    gateways: tuple[Gateway, ...]
    internet_reaches_private: bool = False

    def zone(self, zone_id: str) -> Zone:
        return next(z for z in self.zones if z.id == zone_id)

    def host(self, host_id: str) -> Host | None:
        return next((h for h in self.hosts if h.id == host_id), None)


def ti_ranges(environment: str) -> dict[str, tuple[Network, ...]]:
    """The environment's TI networks by zone kind (from the shipped CSV)."""
    from gemcheck.konnektor.zones import zones_for

    out: dict[str, list[Network]] = {}
    for row in zones_for(environment):
        kind = _CSV_KIND.get(row.zone_class)
        if kind is not None:
            out.setdefault(kind, []).append(row.network)
    return {k: _outermost(v) for k, v in out.items()}


def ti_space(environment: str) -> tuple[Network, ...]:
    """Every TI network of the environment, reserves included (for the overlap rule)."""
    from gemcheck.konnektor.zones import zones_for

    return _outermost(row.network for row in zones_for(environment))


def _outermost(networks: Iterable[Network]) -> tuple[Network, ...]:
    nets = sorted(set(networks), key=lambda n: (n.version, n.prefixlen))
    kept: list[Network] = []
    for n in nets:
        if not any(k.version == n.version and n.subnet_of(k) for k in kept):  # type: ignore[arg-type]
            kept.append(n)
    return tuple(sorted(kept, key=lambda n: (n.version, int(n.network_address))))


# -- loading --------------------------------------------------------------------------------------


def load_topology(path: Path, environment: str = "PU", *, shown: str | None = None) -> Topology:
    """Read, schema-validate and check a network description; InputError lists every problem.

    ``shown`` is how the file is named in problems and locations (default: the path).
    """
    file = shown or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError.single(file, "$", f"file is {size} bytes, more than {MAX_BYTES}")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError.single(file, "$", f"cannot read: {exc.strerror or exc}") from None
    try:
        data = _json(raw, file) if raw.lstrip()[:1] == b"{" else schemas.load_document(raw, file)
    except RecursionError:
        raise InputError.single(file, "$", "nested too deeply (a YAML alias loop?)") from None
    if not _conforms(data):
        schemas.validate(data, "network-1", file)
    return build_topology(data, file, environment, path.parent)


def _conforms(data: Any) -> bool:
    """The fast test first; ``jsonschema`` then reports what is wrong (see fastschema)."""
    from gemcheck.network.fastschema import Unsupported, conforms

    try:
        return conforms(data, schemas.schema("network-1"))
    except Unsupported:
        return False


def _json(raw: bytes, file: str) -> Any:
    """A JSON description (a generated one, say) with the fast JSON parser; YAML otherwise."""
    import json

    try:
        return json.loads(raw)
    except ValueError:
        return schemas.load_document(raw, file)


def build_topology(
    data: Mapping[str, Any], file: str, environment: str, root: Path | None = None
) -> Topology:
    """A :class:`Topology` from schema-valid data (``root``: where ruleset paths resolve)."""
    b = _Builder(file, str(data.get("environment") or environment), root or Path.cwd())
    topo = b.build(data)
    if b.problems:
        raise InputError(b.problems)
    return topo


class _Builder:
    def __init__(self, file: str, environment: str, root: Path) -> None:
        self.file = file
        self.environment = environment
        self.root = root
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.file, where, message))

    def network(self, text: str, where: str) -> Network | None:
        try:
            return ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            self.problem(where, f"not a network: {text!r}")
            return None

    def address(self, text: str, where: str) -> Address | None:
        try:
            return ipaddress.ip_address(text.strip())
        except ValueError:
            self.problem(where, f"not an IP address: {text!r}")
            return None

    def build(self, data: Mapping[str, Any]) -> Topology:
        zones = self.zones(data.get("zones", ()))
        by_zone = {z.id: z for z in zones}
        gateways = tuple(
            self.gateway(g, f"$.gateways[{i}]", by_zone)
            for i, g in enumerate(data.get("gateways", ()))
        )
        hosts = tuple(
            self.host(h, f"$.hosts[{i}]", by_zone, {g.id: g for g in gateways})
            for i, h in enumerate(data.get("hosts", ()))
        )
        self.check_ids(hosts, gateways)
        self.check_zone_gateways(data.get("zones", ()), gateways)
        options = data.get("options", {})
        return Topology(
            file=self.file,
            environment=self.environment,
            zones=zones,
            hosts=hosts,
            gateways=gateways,
            internet_reaches_private=bool(options.get("internet_reaches_private", False)),
        )

    # zones

    def zones(self, raw: Iterable[Mapping[str, Any]]) -> tuple[Zone, ...]:
        defaults = ti_ranges(self.environment)
        out: list[Zone] = []
        seen: set[str] = set()
        for i, z in enumerate(raw):
            where = f"$.zones[{i}]"
            if z["id"] in seen:
                self.problem(f"{where}.id", f"zone {z['id']!r} is defined twice")
            seen.add(z["id"])
            if "cidrs" in z:
                nets = [self.network(c, f"{where}.cidrs[{j}]") for j, c in enumerate(z["cidrs"])]
                networks = tuple(n for n in nets if n is not None)
            elif z["kind"] == "internet":
                networks = _EVERYTHING
            elif z["kind"] in defaults:
                networks = defaults[z["kind"]]
            else:
                networks = ()
                self.problem(where, f"zone {z['id']!r} of kind {z['kind']} needs cidrs")
            out.append(Zone(z["id"], z["kind"], networks, z.get("gateway")))
        kinds = {z.kind for z in out}
        for kind in DEFAULT_ZONES:
            if kind in kinds:
                continue
            networks = _EVERYTHING if kind == "internet" else defaults.get(kind, ())
            if not networks:
                continue
            zone_id = kind if kind not in seen else f"{kind}-implicit"
            out.append(Zone(zone_id, kind, networks, implicit=True))
            seen.add(zone_id)
        return tuple(out)

    def check_zone_gateways(
        self, raw: Iterable[Mapping[str, Any]], gws: tuple[Gateway, ...]
    ) -> None:
        attached = {(i.zone, g.id) for g in gws for i in g.interfaces}
        for i, z in enumerate(raw):
            gw = z.get("gateway")
            if gw is not None and (z["id"], gw) not in attached:
                self.problem(
                    f"$.zones[{i}].gateway", f"gateway {gw!r} has no interface in zone {z['id']!r}"
                )

    # hosts

    def host(
        self,
        h: Mapping[str, Any],
        where: str,
        zones: Mapping[str, Zone],
        gateways: Mapping[str, Gateway],
    ) -> Host:
        texts = [h["address"]] if "address" in h else list(h["addresses"])
        key = "address" if "address" in h else "addresses"
        addrs = [
            self.address(t, f"{where}.{key}" if key == "address" else f"{where}.{key}[{j}]")
            for j, t in enumerate(texts)
        ]
        addresses = tuple(a for a in addrs if a is not None)
        zone = zones.get(h["zone"])
        if zone is None:
            self.problem(f"{where}.zone", f"unknown zone {h['zone']!r}")
        else:
            for a in addresses:
                if not _inside(a, zone.networks):
                    self.problem(
                        where,
                        f"host {h['id']!r}: {a} is not inside zone {zone.id!r} "
                        f"({', '.join(map(str, zone.networks))})",
                    )
        gw = h.get("gateway")
        if gw is not None and gw not in gateways:
            self.problem(f"{where}.gateway", f"unknown gateway {gw!r}")
        return Host(
            id=h["id"],
            addresses=addresses,
            zone=h["zone"],
            role=h.get("role", "other"),
            patient_data=bool(h.get("patient_data", False)),
            services=self.services(h["services"], f"{where}.services") if "services" in h else None,
            gateway=gw,
            routes=self.routes(h.get("routes", ()), f"{where}.routes"),
        )

    def services(self, raw: Iterable[Mapping[str, Any]], where: str) -> tuple[Service, ...]:
        return tuple(
            Service(
                port=s["port"],
                proto=s.get("proto", "tcp"),
                name=s.get("name", ""),
                management=bool(s.get("management", False)),
                interfaces=tuple(s.get("interfaces", ())),
            )
            for s in raw
        )

    def routes(self, raw: Iterable[Mapping[str, Any]], where: str) -> tuple[Route, ...]:
        out: list[Route] = []
        for i, r in enumerate(raw):
            net = self.network(r["to"], f"{where}[{i}].to")
            if net is not None:
                out.append(Route(net, r.get("via"), r.get("dev")))
        return tuple(out)

    # gateways

    def gateway(self, g: Mapping[str, Any], where: str, zones: Mapping[str, Zone]) -> Gateway:
        interfaces = tuple(
            self.interface(i, f"{where}.interfaces[{j}]", zones)
            for j, i in enumerate(g["interfaces"])
        )
        names = [i.name for i in interfaces] + [t["name"] for t in g.get("tunnels", ())]
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.problem(where, f"gateway {g['id']!r}: interface/tunnel name {name!r} used twice")
        tunnels = tuple(
            self.tunnel(t, f"{where}.tunnels[{j}]", zones)
            for j, t in enumerate(g.get("tunnels", ()))
        )
        mode = g.get("mode")
        if g["type"] == "konnektor":
            mode = self.konnektor(g, where, interfaces, mode)
        else:
            if tunnels:
                self.problem(f"{where}.tunnels", "only a Konnektor has VPN_TI/VPN_SIS tunnels")
            if mode is not None:
                self.problem(f"{where}.mode", "a deployment mode applies to a Konnektor only")
        routes = self.routes(g.get("routes", ()), f"{where}.routes")
        for i, r in enumerate(routes):
            if r.dev is not None and r.dev not in names:
                self.problem(
                    f"{where}.routes[{i}].dev",
                    f"gateway {g['id']!r} has no interface or tunnel {r.dev!r}",
                )
        ruleset = g.get("ruleset")
        return Gateway(
            id=g["id"],
            type=g["type"],
            interfaces=interfaces,
            mode=mode,
            tunnels=tunnels,
            routes=routes,
            services=self.services(g["services"], f"{where}.services") if "services" in g else None,
            ruleset=(self.root / ruleset) if ruleset else None,
            format=g.get("format"),
        )

    def interface(self, i: Mapping[str, Any], where: str, zones: Mapping[str, Zone]) -> Interface:
        address = self.address(i["address"], f"{where}.address") if "address" in i else None
        zone = zones.get(i["zone"])
        if zone is None:
            self.problem(f"{where}.zone", f"unknown zone {i['zone']!r}")
        elif address is not None and not zone.external and not _inside(address, zone.networks):
            self.problem(f"{where}.address", f"{address} is not inside zone {zone.id!r}")
        return Interface(i["name"], i["zone"], address, i.get("role"))

    def tunnel(self, t: Mapping[str, Any], where: str, zones: Mapping[str, Zone]) -> Tunnel:
        address = self.address(t["address"], f"{where}.address") if "address" in t else None
        if "zones" in t:
            names = tuple(t["zones"])
            for j, z in enumerate(names):
                if z not in zones:
                    self.problem(f"{where}.zones[{j}]", f"unknown zone {z!r}")
        else:
            wanted = set(TI_KINDS) if t["type"] == "vpn-ti" else {"sis", "internet"}
            names = tuple(z.id for z in zones.values() if z.kind in wanted)
        return Tunnel(t["name"], t["type"], address, names)

    def konnektor(
        self, g: Mapping[str, Any], where: str, interfaces: tuple[Interface, ...], mode: str | None
    ) -> str:
        roles = [i.role for i in interfaces]
        if "lan" not in roles:
            self.problem(
                f"{where}.interfaces",
                f"Konnektor {g['id']!r} needs an interface with role: lan (its LAN adapter)",
            )
        has_wan = "wan" in roles
        if mode is None:
            return "in-line" if has_wan else "parallel"
        if mode == "in-line" and not has_wan:
            self.problem(
                f"{where}.mode",
                "an in-line Konnektor needs its WAN adapter (an interface with role: wan)",
            )
        if mode == "parallel" and has_wan:
            self.problem(
                f"{where}.mode",
                "a parallel Konnektor has its WAN adapter disabled "
                "(ANLW_WAN_ADAPTER_MODUS=DISABLED): no role: wan "
                "interface",
            )
        return str(mode)

    def check_ids(self, hosts: tuple[Host, ...], gateways: tuple[Gateway, ...]) -> None:
        seen: set[str] = set()
        for kind, ids in (("host", [h.id for h in hosts]), ("gateway", [g.id for g in gateways])):
            for i in ids:
                if i in seen:
                    self.problem(
                        "$",
                        f"{kind} id {i!r} is used twice (host and gateway ids share one namespace)",
                    )
                seen.add(i)


_EVERYTHING: tuple[Network, ...] = (
    ipaddress.ip_network("0.0.0.0/0"),
    ipaddress.ip_network("::/0"),
)


def _inside(address: Address, networks: Iterable[Network]) -> bool:
    return any(address.version == n.version and address in n for n in networks)
