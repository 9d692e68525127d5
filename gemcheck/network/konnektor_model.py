"""The Konnektor's own firewall as gemSpec_Kon §4.2 requires it, for a Konnektor without an export.

A Konnektor is a sealed appliance: its firewall cannot be exported. Unless the site gives a
ruleset for it, gemcheck models the behaviour the specification requires (ti-facts.md §3.6,
[READ] from KON §4.2; the allow-list per segment is partly lost in the source, so LAN -> every
zone behind VPN_TI is allowed here, which over-approximates and is therefore fail-closed):

* input: only from the LAN side (TIP1-A_4806: management only from the LAN; TIP1-A_4736-02,
  TIP1-A_4748: nothing unsolicited from the WAN or the tunnels);
* forward: LAN -> VPN_TI (TIP1-A_4730/5530/4731/4733, NAPT per TIP1-A_5407), LAN -> VPN_SIS
  (TIP1-A_4735), LAN -> LAN-side intranet routes (ANLW_LEKTR_INTRANET_ROUTES, TIP1-A_4724);
  everything else, in particular WAN/TI/SIS -> LAN and LAN -> WAN in clear, is dropped
  (default deny GS-A_4054, drop without ICMP TIP1-A_4744);
* postrouting: NAPT to the tunnel's inner IP for everything leaving through a tunnel.
"""

from __future__ import annotations

from gemcheck.network.rules import Chain, Match, Rule, Ruleset
from gemcheck.network.topology import Gateway

SOURCE = "gemSpec_Kon §4.2 model"


def _rule(match: Match, action: str, req: str, text: str) -> Rule:
    return Rule(match=match, action=action, location=f"model {req}", text=text)  # type: ignore[arg-type]


def konnektor_ruleset(gw: Gateway) -> Ruleset:
    """The modelled firewall of a Konnektor gateway (interfaces and tunnels by their names)."""
    lan = [i.name for i in gw.interfaces if i.role == "lan"]
    ti = [t.name for t in gw.tunnels if t.type == "vpn-ti"]
    sis = [t.name for t in gw.tunnels if t.type == "vpn-sis"]
    inp = [
        _rule(
            Match(in_iface=name),
            "accept",
            "TIP1-A_4806",
            f"services and management from the LAN side ({name})",
        )
        for name in lan
    ]
    fwd: list[Rule] = []
    nat: list[Rule] = []
    lan_may_reach = (
        (ti, "TIP1-A_4730", "TI only into VPN_TI"),
        (sis, "TIP1-A_4735", "internet only into VPN_SIS"),
        (lan, "TIP1-A_4724", "LAN-side intranet routes"),
    )
    for src in lan:
        for targets, requirement, what in lan_may_reach:
            fwd += [
                _rule(
                    Match(in_iface=src, out_iface=t),
                    "accept",
                    requirement,
                    f"LAN ({src}) -> {what} ({t})",
                )
                for t in targets
            ]
    for t in gw.tunnels:
        nat.append(
            Rule(
                match=Match(out_iface=t.name),
                action="masquerade",
                nat_to=(t.address, None),
                location="model TIP1-A_5407",
                text=f"NAPT to the inner IP of {t.name}",
            )
        )
    family = "inet"
    return Ruleset(
        device=gw.id,
        source=SOURCE,
        chains=(
            Chain("input", "konnektor", family, "input", policy="drop", rules=tuple(inp)),
            Chain("forward", "konnektor", family, "forward", policy="drop", rules=tuple(fwd)),
            Chain(
                "postrouting", "konnektor", family, "postrouting", "nat", 100, "accept", tuple(nat)
            ),
        ),
    )
