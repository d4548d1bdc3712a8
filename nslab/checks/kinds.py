"""Check kinds: what each declares. Probe implementations live in nslab.checks.probes.*."""

from __future__ import annotations

from nslab.kinds import KindSpec, Registry
from nslab.schema import Bool, Enum, Field, Int, IPAddr, ListOf, Str

CHECKS = Registry("check")

TARGET = Str(r"[^\s/]+", "an address or a host name")
PORT = Int(1, 65535)
PRESENCE = Enum("present", "absent")

CHECKS.add(
    KindSpec(
        "ping",
        "ICMP echo reachability; with size and df it tests the path MTU.",
        {
            "to": Field(TARGET, required=True, doc="Address or name to ping."),
            "size": Field(Int(0, 65507), default=56, doc="ICMP payload bytes."),
            "df": Field(Bool(), default=False, doc="Set don't-fragment (like ping -M do)."),
            "expect": Field(Enum("reachable", "unreachable"), default="reachable"),
        },
        impl="nslab.checks.probes.ping:probe",
    )
)
CHECKS.add(
    KindSpec(
        "tcp",
        "TCP connect; reports whether it saw open, refused (RST), timeout (dropped) or unreachable (ICMP).",
        {
            "to": Field(TARGET, required=True),
            "port": Field(PORT, required=True),
            "expect": Field(Enum("open", "refused", "timeout", "unreachable"), default="open"),
        },
        impl="nslab.checks.probes.tcp:probe",
    )
)
CHECKS.add(
    KindSpec(
        "udp",
        "UDP request/response to a service.",
        {
            "to": Field(TARGET, required=True),
            "port": Field(PORT, required=True),
            "send": Field(Str(), default="ping"),
            "contains": Field(Str(), doc="Substring the reply must hold."),
            "expect": Field(Enum("reply", "no-reply"), default="reply"),
        },
        impl="nslab.checks.probes.udp:probe",
    )
)
_HTTP_FIELDS = {
    "url": Field(Str(r"https?://\S+", "an http:// or https:// URL"), required=True),
    "status": Field(Int(100, 599), default=200),
    "contains": Field(Str(), doc="Substring the body must hold."),
    "min_bytes": Field(Int(0), doc="The body must be at least this long (large transfers)."),
    "resolve": Field(IPAddr(), doc="Connect to this address instead of resolving the URL's host."),
    "expect": Field(Enum("ok", "error"), default="ok", doc="error: the request must fail."),
}
CHECKS.add(
    KindSpec(
        "http",
        "An HTTP request: status, body, size, deadline.",
        dict(_HTTP_FIELDS),
        impl="nslab.checks.probes.http:probe",
    )
)
CHECKS.add(
    KindSpec(
        "https",
        "An HTTPS request verified against the lab CA.",
        dict(_HTTP_FIELDS),
        impl="nslab.checks.probes.http:probe",
    )
)
CHECKS.add(
    KindSpec(
        "dns",
        "A DNS query against a server or the node's resolver.",
        {
            "name": Field(Str(), required=True),
            "type": Field(Enum("A", "AAAA", "CNAME", "NS", "TXT", "MX", "SOA", "PTR"), default="A"),
            "server": Field(IPAddr(), doc="Server to ask; the node's resolv.conf when absent."),
            "expect": Field(Enum("answer", "nxdomain", "failure"), default="answer"),
            "answers": Field(ListOf(Str()), default=(), doc="Values the answer must contain."),
        },
        impl="nslab.checks.probes.dns:probe",
    )
)
CHECKS.add(
    KindSpec(
        "path",
        "The router hops toward a target (TTL-stepped probes).",
        {
            "to": Field(TARGET, required=True),
            "via": Field(ListOf(IPAddr()), default=(), doc="Hop addresses that must appear, in order."),
            "avoid": Field(ListOf(IPAddr()), default=(), doc="Hop addresses that must not appear."),
            "max_hops": Field(Int(1, 30), default=8),
        },
        impl="nslab.checks.probes.path:probe",
    )
)
CHECKS.add(
    KindSpec(
        "route",
        "A route in the node's main table.",
        {
            "to": Field(Str(), required=True, doc="Network or 'default'."),
            "via": Field(IPAddr()),
            "expect": Field(PRESENCE, default="present"),
        },
        impl="nslab.checks.probes.state:route",
    )
)
CHECKS.add(
    KindSpec(
        "address",
        "An address on an interface.",
        {
            "iface": Field(Str(), required=True),
            "address": Field(Str(), required=True, doc="With prefix length, e.g. 10.0.1.10/24."),
            "expect": Field(PRESENCE, default="present"),
        },
        impl="nslab.checks.probes.state:address",
    )
)
CHECKS.add(
    KindSpec(
        "link",
        "An interface's state and MTU.",
        {
            "iface": Field(Str(), required=True),
            "up": Field(Bool()),
            "mtu": Field(Int(68, 65535)),
        },
        impl="nslab.checks.probes.state:link",
    )
)
CHECKS.add(
    KindSpec(
        "sysctl",
        "A network sysctl's value inside the node.",
        {
            "key": Field(Str(r"net\.[a-z0-9_.\-/]+", "a net.* sysctl"), required=True),
            "value": Field(Str(), required=True),
        },
        impl="nslab.checks.probes.state:sysctl",
    )
)
CHECKS.add(
    KindSpec(
        "iptables",
        "A firewall rule present or absent (matched against iptables -S output).",
        {
            "table": Field(Enum("filter", "nat", "mangle", "raw"), default="filter"),
            "chain": Field(Str(), required=True),
            "match": Field(
                Str(), required=True, doc="Words that must all appear in one rule, e.g. '-p icmp -j DROP'."
            ),
            "expect": Field(PRESENCE, default="present"),
        },
        impl="nslab.checks.probes.state:iptables",
    )
)
CHECKS.add(
    KindSpec(
        "listening",
        "A listening socket on a port (what ss -tlnp shows).",
        {
            "port": Field(PORT, required=True),
            "proto": Field(Enum("tcp", "udp"), default="tcp"),
            "address": Field(IPAddr(), doc="Bound address; any when absent."),
            "expect": Field(PRESENCE, default="present"),
        },
        impl="nslab.checks.probes.state:listening",
    )
)
