"""Fault kinds: what each declares. Transformations live in nslab.faults.apply."""

from __future__ import annotations

from nslab.kinds import KindSpec, Registry
from nslab.schema import Enum, Field, Int, IPAddr, Str

FAULTS = Registry("fault")

NODE = Field(Str(), required=True, doc="Node the fault is applied to.")
IFACE = Field(Str(), required=True, doc="Interface of that node.")

FAULTS.add(
    KindSpec(
        "interface-down",
        "An interface is administratively down.",
        {"node": NODE, "iface": IFACE},
        impl="nslab.faults.apply:interface_down",
    )
)
FAULTS.add(
    KindSpec(
        "missing-route",
        "A route is missing from a node's table.",
        {"node": NODE, "to": Field(Str(), required=True, doc="Network of the route to drop, or 'default'.")},
        impl="nslab.faults.apply:missing_route",
    )
)
FAULTS.add(
    KindSpec(
        "drop-icmp",
        "A firewall rule drops ICMP, optionally only one type.",
        {
            "node": NODE,
            "chain": Field(Enum("INPUT", "FORWARD", "OUTPUT"), default="INPUT"),
            "icmp_type": Field(Str(), default="any", doc="e.g. echo-request, fragmentation-needed, any."),
        },
        impl="nslab.faults.apply:drop_icmp",
    )
)
FAULTS.add(
    KindSpec(
        "wrong-netmask",
        "An address gets the wrong prefix length.",
        {"node": NODE, "iface": IFACE, "prefixlen": Field(Int(0, 32), required=True)},
        impl="nslab.faults.apply:wrong_netmask",
    )
)
FAULTS.add(
    KindSpec(
        "wrong-gateway",
        "A route points at the wrong gateway.",
        {"node": NODE, "to": Field(Str(), default="default"), "via": Field(IPAddr(), required=True)},
        impl="nslab.faults.apply:wrong_gateway",
    )
)
FAULTS.add(
    KindSpec(
        "forwarding-off",
        "A router stops forwarding (net.ipv4.ip_forward=0).",
        {"node": NODE},
        impl="nslab.faults.apply:forwarding_off",
    )
)
