"""Check kinds: what each declares. Probe implementations live in nslab.checks.probes.*,
meaning checks (run by `nslab validate`) in nslab.checks.semantic, verdicts in nslab.grading.judge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nslab.checks.probes import PROBES
from nslab.scenario.kinds import CHECKS as CHECKS
from nslab.scenario.kinds import KindSpec, SemanticHook
from nslab.scenario.schema import Bool, Either, Enum, Field, Int, IPAddr, ListOf, Str, SysctlKey
from nslab.scenario.schema.base import ScalarType
from nslab.scenario.yamlsrc import YScalar

TARGET = Str(r"[^\s/]+", "an address or a host name")
PORT = Int(1, 65535)
PRESENCE = Enum("present", "absent")
HOP = Str(r"[^\s/]+", "a node name or an address")

if TYPE_CHECKING:
    from nslab.scenario.model import Scenario
    from nslab.scenario.schema.base import Ctx
    from nslab.scenario.semantic import Report
    from nslab.scenario.yamlsrc import YNode


class SysctlWord(ScalarType):
    """A sysctl value as YAML writes it: `1` and `"1"` both mean the text 1 (what /proc shows)."""

    python = (str, int)
    expected = "a sysctl value (a number or a string)"

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> str:
        return str(node.value)

    def hint_for(self, node: YNode) -> str | None:
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            return "sysctls hold numbers: write 1 for on, 0 for off"
        return super().hint_for(node)

    def json_schema(self) -> dict[str, Any]:
        return {"type": ["string", "integer"]}


class AddressText(ScalarType):
    """An address with a prefix length (that length exactly) or without (any length)."""

    python = (str,)
    expected = "an address, like 10.0.1.10 (any prefix length) or 10.0.1.10/24"

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        import ipaddress

        text: str = node.value
        try:
            if "/" in text:
                ipaddress.ip_interface(text)
            else:
                ipaddress.ip_address(text)
        except ValueError:
            return ctx.error(node.loc, f"{path}: {text!r} is not {self.expected}")
        return text

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^[0-9a-fA-F:.]+(/[0-9]{1,3})?$"}


SYSCTL_VALUES = Either(
    SysctlWord(),
    ListOf(SysctlWord(), min_len=1, unique=True),
    doc="One value, or a list of values.",
)


def _hook(name: str) -> SemanticHook:
    """A semantic hook that imports nslab.checks.semantic only when validation runs it."""

    def hook(scenario: Scenario, check: Any, report: Report) -> None:
        from nslab.checks import semantic

        getattr(semantic, name)(scenario, check, report)

    return hook


CHECKS.add(
    KindSpec(
        "ping",
        "ICMP echo reachability; with size and df it tests the path MTU.",
        {
            "to": Field(TARGET, required=True, doc="Address or name to ping."),
            "size": Field(Int(0, 65507), default=56, doc="ICMP payload bytes."),
            "df": Field(
                Bool(), default=False, doc="Set don't-fragment, ignoring the cached path MTU (ping -M probe)."
            ),
            "expect": Field(
                Enum("reachable", "unreachable", "too-big"),
                default="reachable",
                doc="too-big: a frag-needed / packet-too-big comes back (not silence, not another error).",
            ),
        },
        impl=PROBES["ping"],
        semantic=_hook("ping"),
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
        impl=PROBES["tcp"],
        semantic=_hook("target"),
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
        impl=PROBES["udp"],
        semantic=_hook("target"),
    )
)
_HTTP_FIELDS = {
    "url": Field(Str(r"https?://\S+", "an http:// or https:// URL"), required=True),
    "status": Field(Int(100, 599), default=200),
    "contains": Field(Str(), doc="Substring the body must hold."),
    "min_bytes": Field(Int(0), doc="The body must be at least this long (large transfers)."),
    "resolve": Field(IPAddr(), doc="Connect to this address instead of resolving the URL's host."),
    "method": Field(Enum("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"), default="GET"),
    "body": Field(Str(min_len=0), doc="Text sent as the request body (with POST, PUT...)."),
    "body_bytes": Field(
        Int(0, 1 << 30), doc="Send a generated body of this many bytes: an upload, for MTU labs."
    ),
    "expect": Field(Enum("ok", "error"), default="ok", doc="error: the request must fail."),
}
CHECKS.add(
    KindSpec(
        "http",
        "An HTTP request: status, body, size, deadline.",
        dict(_HTTP_FIELDS),
        impl=PROBES["http"],
        semantic=_hook("http"),
    )
)
CHECKS.add(
    KindSpec(
        "https",
        "An HTTPS request verified against the lab CA.",
        dict(_HTTP_FIELDS),
        impl=PROBES["https"],
        semantic=_hook("http"),
    )
)
CHECKS.add(
    KindSpec(
        "dns",
        "A DNS query against a server or the node's resolver.",
        {
            # Not `name`: every check already has a name (the key would collide in YAML).
            "query": Field(Str(), required=True, doc="The name to look up, e.g. www.example.test."),
            "type": Field(Enum("A", "AAAA", "CNAME", "NS", "TXT", "MX", "SOA", "PTR"), default="A"),
            "server": Field(IPAddr(), doc="Server to ask; the node's resolv.conf when absent."),
            "expect": Field(Enum("answer", "nxdomain", "failure"), default="answer"),
            "answers": Field(ListOf(Str()), default=(), doc="Values the answer must contain."),
        },
        impl=PROBES["dns"],
        semantic=_hook("dns"),
    )
)
CHECKS.add(
    KindSpec(
        "path",
        "The router hops toward a target (TTL-stepped probes).",
        {
            "to": Field(TARGET, required=True),
            "via": Field(ListOf(HOP), default=(), doc="Routers (node names or addresses) to pass, in order."),
            "avoid": Field(ListOf(HOP), default=(), doc="Routers (node names or addresses) not to pass."),
            "max_hops": Field(Int(1, 30), default=8),
        },
        impl=PROBES["path"],
        semantic=_hook("path"),
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
        impl=PROBES["route"],
        semantic=_hook("route"),
    )
)
CHECKS.add(
    KindSpec(
        "address",
        "An address on an interface, or exactly the addresses an interface carries.",
        {
            "iface": Field(Str(), required=True),
            "address": Field(
                AddressText(),
                doc="10.0.1.10/24 (that prefix length exactly) or 10.0.1.10 (any prefix length).",
            ),
            "only": Field(
                ListOf(AddressText(), min_len=1, unique=True),
                doc="Every address the interface may carry, and must: nothing else on it"
                " (IPv6 link-local aside). Each with or without a prefix length.",
            ),
            "expect": Field(PRESENCE, default="present"),
        },
        impl=PROBES["address"],
        semantic=_hook("address"),
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
        impl=PROBES["link"],
        semantic=_hook("interface"),
    )
)
CHECKS.add(
    KindSpec(
        "sysctl",
        "A network sysctl's value inside the node.",
        {
            "key": Field(SysctlKey(), required=True),
            "value": Field(SYSCTL_VALUES, doc="The value it must have, or a list of values it may have."),
            "not": Field(SYSCTL_VALUES, doc="A value (or list of values) it must not have."),
        },
        impl=PROBES["sysctl"],
        semantic=_hook("sysctl"),
    )
)
CHECKS.add(
    KindSpec(
        "iptables",
        "A firewall rule present or absent (matched against iptables -S output), and/or a chain's policy.",
        {
            "table": Field(Enum("filter", "nat", "mangle", "raw"), default="filter"),
            "chain": Field(Str(), required=True),
            "match": Field(Str(), doc="Words that must all appear in one rule, e.g. '-p icmp -j DROP'."),
            "policy": Field(Enum("ACCEPT", "DROP"), doc="The built-in chain's policy must be this."),
            "expect": Field(PRESENCE, default="present"),
        },
        impl=PROBES["iptables"],
        semantic=_hook("iptables"),
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
        impl=PROBES["listening"],
    )
)

# ss's state names, as `ss state NAME` takes them (nslab.checks.probes.sockstate.STATES).
TCP_STATES = Enum(
    "established",
    "syn-sent",
    "syn-recv",
    "fin-wait-1",
    "fin-wait-2",
    "time-wait",
    "close-wait",
    "last-ack",
    "listening",
    "closing",
)


def _sockets_meaning(scenario: Scenario, check: Any, report: Report) -> None:
    """A sockets check must name a port and a bound, and its test clients need a local target."""
    p = check.params
    if p.get("port") is None and p.get("peer_port") is None:
        report.error(
            check.loc, f"sockets check {check.name!r} names no port", "give port: (local) or peer_port:"
        )
    if p.get("min") is None and p.get("max") is None:
        report.error(
            check.loc, f"sockets check {check.name!r} sets no bound", "give max: N (at most), min: N, or both"
        )
    elif p.get("min") is not None and p.get("max") is not None and int(p["min"]) > int(p["max"]):
        report.error(check.at("min"), f"min {p['min']} is above max {p['max']}: the check could never pass")
    if not p.get("connect"):
        for key in ("address", "send"):
            if p.get(key) is not None:
                report.error(
                    check.at(key), f"{key} is used only by test clients", "add connect: N, or drop it"
                )
        return
    if p.get("port") is None:
        report.error(check.at("connect"), "test clients connect to port:, which is missing", "add port: N")
    node = scenario.nodes.get(check.node)
    address = p.get("address")
    if node is None or address is None:
        return
    import ipaddress

    ip = ipaddress.ip_address(str(address))
    own = {a.ip for _, a in node.addresses()}
    if not ip.is_loopback and ip not in own:
        report.error(
            check.at("address"),
            f"{address} is not an address of node {node.name!r}: the sockets counted are the node's own",
            "use 127.0.0.1 or one of " + (", ".join(sorted(str(a) for a in own)) or "its addresses"),
        )


CHECKS.add(
    KindSpec(
        "sockets",
        "How many TCP sockets of the node are in one state on a port (what ss -tn state STATE shows),"
        " optionally after test clients connected and hung up.",
        {
            "port": Field(PORT, doc="Local port of the sockets counted (a server's port)."),
            "peer_port": Field(PORT, doc="Remote port of the sockets counted (a client's view)."),
            "state": Field(TCP_STATES, default="close-wait", doc="The TCP state, as ss names it."),
            "max": Field(Int(0), doc="At most this many sockets."),
            "min": Field(Int(0), doc="At least this many sockets."),
            "connect": Field(
                Int(0, 200),
                default=0,
                doc="First open this many connections to port, then hang up on each (clients come and go).",
            ),
            "address": Field(
                IPAddr(),
                doc="Where the test clients connect: 127.0.0.1 when absent, or another of the node's own.",
            ),
            "send": Field(Str(), doc="What each test client sends before it hangs up (e.g. a request line)."),
        },
        impl=PROBES["sockets"],
        semantic=_sockets_meaning,
    )
)


def _arp_meaning(scenario: Scenario, check: Any, report: Report) -> None:
    """An arp check needs an IPv4 address, an interface the node has, and a bound."""
    from nslab.checks import semantic

    semantic.interface(scenario, check, report)
    p = check.params
    if ":" in str(p.get("who_has", "")):
        report.error(
            check.at("who_has"),
            f"arp check {check.name!r}: {p['who_has']} is IPv6, which has neighbour discovery, not ARP",
            "ask for an IPv4 address",
        )
    if p.get("answers") is not None:
        for key in ("min", "max"):
            if p.get(key) is not None:
                report.error(
                    check.at(key),
                    f"arp check {check.name!r} gives both answers and {key}",
                    "answers: N means exactly N; use min:/max: for a range",
                )
    elif p.get("min") is None and p.get("max") is None:
        report.error(
            check.loc,
            f"arp check {check.name!r} sets no bound",
            "give answers: 1 (exactly one station claims it), or min: / max:",
        )
    elif p.get("min") is not None and p.get("max") is not None and int(p["min"]) > int(p["max"]):
        report.error(check.at("min"), f"min {p['min']} is above max {p['max']}: the check could never pass")


CHECKS.add(
    KindSpec(
        "arp",
        "How many stations (distinct MACs) answer an ARP who-has for an address on one of the node's"
        " interfaces: duplicate addresses, ARP poisoning.",
        {
            "iface": Field(Str(), required=True, doc="The node's interface to ask on."),
            "who_has": Field(IPAddr(), required=True, doc="The IPv4 address asked for."),
            "answers": Field(Int(0), doc="Exactly this many distinct MACs answer."),
            "min": Field(Int(0), doc="At least this many."),
            "max": Field(Int(0), doc="At most this many."),
        },
        impl=PROBES["arp"],
        semantic=_arp_meaning,
    )
)
