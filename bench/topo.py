"""The star topology every way of building is measured on, and the names each way uses.

One switch namespace holds a bridge `br0`; N host namespaces each hold `eth0`, a veth whose
peer `pI` is a port of the bridge; every host has lo up, one address in 10.0.0.0/16 and a
default route out of eth0 (`ip route add default dev eth0`: nslab refuses a `via` that no node
holds, and a gateway host would change the topology).
Namespace names always start with "be" (this suite's prefix on a shared machine).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

NETWORK = ipaddress.IPv4Network("10.0.0.0/16")
NETNS_DIR = "/run/netns"


@dataclass(frozen=True)
class Star:
    n: int
    prefix: str  # namespace names are f"{prefix}-sw" and f"{prefix}-h{i}"

    def host_ip(self, i: int) -> str:
        """Address of host i (1-based)."""
        return str(NETWORK.network_address + i)

    def host_cidr(self, i: int) -> str:
        return f"{self.host_ip(i)}/{NETWORK.prefixlen}"

    @property
    def switch_ns(self) -> str:
        return f"{self.prefix}-sw"

    def host_ns(self, i: int) -> str:
        return f"{self.prefix}-h{i}"

    def namespaces(self) -> list[str]:
        return [self.switch_ns] + [self.host_ns(i) for i in range(1, self.n + 1)]

    def hosts(self) -> range:
        return range(1, self.n + 1)

    def leftovers(self) -> list[str]:
        """Our namespaces still named under /run/netns (an empty list after a clean teardown)."""
        try:
            present = set(os.listdir(NETNS_DIR))
        except FileNotFoundError:
            return []
        return [name for name in self.namespaces() if name in present]


def nslab_yaml(n: int, name: str) -> str:
    """The same star as an nslab scenario: node `sw` (a switch) and hosts h1..hN.
    With --prefix P, nslab names the namespaces P-sw and P-hI, like the other ways."""
    star = Star(n, "x")
    lines = [
        "metadata:",
        f"  name: {name}",
        f"  title: Benchmark star of {n} hosts",
        "nodes:",
        "  sw: {kind: switch}",
    ]
    for i in star.hosts():
        lines += [
            f"  h{i}:",
            f"    interfaces: {{eth0: {{addresses: [{star.host_cidr(i)}]}}}}",
            "    routes: [{to: default, dev: eth0}]",
        ]
    lines.append("links:")
    lines += [f"  - [h{i}:eth0, sw]" for i in star.hosts()]
    return "\n".join(lines) + "\n"
