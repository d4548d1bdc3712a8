"""Fault kinds: each declares its fields, its semantic hook and where its transformation lives.

A transformation is a pure function (healthy scenario, fault) -> broken scenario, so one
file builds healthy or broken, and `params` + `when:` let a seed choose the fault and its
values with the checks following the same choice. Transformations are imported only when a
lab is built broken (nslab.faults.apply); the hooks in nslab.faults.validate run in
`nslab validate`. docs/faults.md describes what each fault breaks and how it shows.
"""

from __future__ import annotations

from nslab.faults import custom, readdress, settings, sysctls
from nslab.faults import validate as v
from nslab.scenario.kinds import FAULTS as FAULTS
from nslab.scenario.kinds import KindSpec, SemanticHook
from nslab.scenario.schema import Any_, Enum, Field, Int, IPAddr, IPIface, Mac, Str
from nslab.scenario.spec import HOSTNAME, IFNAME, NAME, SYSCTL

NODE = Field(NAME, required=True, doc="Node the fault is applied to.")
IFACE = Field(IFNAME, required=True, doc="Interface of that node (as declared under its interfaces).")
SERVICE = Field(NAME, required=True, doc="Name of the service (under services:).")
PORT = Int(1, 65535)
ROUTE_TO = Str(r"\S+", "a network like 10.0.2.0/24, or 'default'")
CHAIN = Field(
    Enum("INPUT", "FORWARD", "OUTPUT"),
    default="INPUT",
    doc="INPUT: traffic to the node; FORWARD: traffic a router passes on; OUTPUT: traffic from it.",
)
MATCH = Field(
    Str(),
    doc="Words that must all appear in the rule (e.g. '-o eth1'); every such rule when absent.",
)
# A locally administered MAC that the lab gives to no interface.
BOGUS_MAC = "02:00:00:00:0b:ad"


def _add(name: str, doc: str, fields: dict[str, Field], impl: str, hook: SemanticHook) -> None:
    FAULTS.add(KindSpec(name, doc, fields, impl=f"nslab.faults.{impl}", semantic=hook))


# --- interfaces and the link layer ----------------------------------------------------------
_add(
    "interface-down",
    "An interface is administratively down (its connected and gateway routes vanish with it).",
    {"node": NODE, "iface": IFACE},
    "interfaces:interface_down",
    v.interface_down,
)
_add(
    "wrong-netmask",
    "An address gets the wrong prefix length: too short makes remote hosts look local, too long"
    " makes local hosts look remote.",
    {
        "node": NODE,
        "iface": IFACE,
        "prefixlen": Field(Int(0, 128), required=True, doc="The wrong prefix length."),
        "address": Field(IPAddr(), doc="Which address of the interface (default: its first)."),
    },
    "interfaces:wrong_netmask",
    v.wrong_netmask,
)
_add(
    "wrong-address",
    "An interface carries a wrong address (wrong host part, wrong subnet, or both) in place of"
    " one of its own; routes whose gateway it leaves off-link are lost, as in the kernel.",
    {
        "node": NODE,
        "iface": IFACE,
        "to": Field(IPIface(), required=True, doc="The wrong address, with prefix length (10.0.1.77/24)."),
        "address": Field(IPAddr(), doc="Which address of the interface it replaces (default: its first)."),
    },
    "readdress:wrong_address",
    readdress.check_wrong_address,
)
_add(
    "mtu-mismatch",
    "An interface (or both ends of its link) gets an MTU the rest of the path does not carry:"
    " big packets vanish silently while small ones pass.",
    {
        "node": NODE,
        "iface": IFACE,
        "mtu": Field(Int(68, 65535), required=True, doc="The mismatched MTU."),
        "scope": Field(
            Enum("interface", "link"),
            default="interface",
            doc="interface: only this end; link: both ends of its veth link (hosts on an overlay).",
        ),
    },
    "interfaces:mtu_mismatch",
    v.mtu_mismatch,
)
_add(
    "duplicate-ip",
    "An interface takes an address another host on the same segment already uses.",
    {
        "node": NODE,
        "iface": IFACE,
        "address": Field(IPAddr(), required=True, doc="The address to duplicate (another host's)."),
    },
    "interfaces:duplicate_ip",
    v.duplicate_ip,
)
_add(
    "wrong-static-arp",
    "A permanent neighbour (ARP) entry maps a neighbour's IP to a MAC nobody has.",
    {
        "node": NODE,
        "iface": IFACE,
        "ip": Field(IPAddr(), required=True, doc="The neighbour's address (on that interface's subnet)."),
        "mac": Field(Mac(), default=BOGUS_MAC, doc="The wrong MAC."),
    },
    "interfaces:wrong_static_arp",
    v.wrong_static_arp,
)

# --- routing --------------------------------------------------------------------------------
_ROUTE = {"node": NODE, "to": Field(ROUTE_TO, required=True, doc="Network of the route, or 'default'.")}
_add(
    "missing-route",
    "A route is missing from a node's table (every route to exactly that network).",
    dict(_ROUTE),
    "routing:missing_route",
    v.missing_route,
)
_add(
    "missing-default-route",
    "A node has no default route: only its attached subnets (and explicit routes) are reachable.",
    {"node": NODE, "version": Field(Enum(4, 6), default=4, doc="IPv4 or IPv6 default route.")},
    "routing:missing_default_route",
    v.missing_default_route,
)
_add(
    "missing-return-route",
    "The far end (or a router on the way back) lacks the route back: requests arrive, replies never do.",
    dict(_ROUTE),
    "routing:missing_return_route",
    v.missing_route,
)
_add(
    "wrong-gateway",
    "A route points at the wrong gateway (on-link, but not a router that can deliver).",
    {
        "node": NODE,
        "to": Field(ROUTE_TO, default="default", doc="Network of the route, or 'default'."),
        "via": Field(IPAddr(), required=True, doc="The wrong gateway (on an attached subnet)."),
    },
    "routing:wrong_gateway",
    v.wrong_gateway,
)
_add(
    "sysctl",
    "One net.* sysctl of a node set to a value the lab does not work with, for settings the named"
    " kinds do not cover (e.g. net.ipv4.conf.eth1.rp_filter=1, net.ipv4.ip_forward=0).",
    {
        "node": NODE,
        "key": Field(SYSCTL, required=True, doc="The sysctl, as under a node's sysctls:."),
        "value": Field(Any_(), required=True, doc="Its value (true/false become 1/0)."),
    },
    "sysctls:sysctl",
    sysctls.check_sysctl,
)
_add(
    "forwarding-off",
    "A router stops forwarding (net.ipv4.ip_forward=0, and IPv6 forwarding if it has IPv6).",
    {"node": NODE},
    "routing:forwarding_off",
    v.forwarding_off,
)
_add(
    "rp-filter-strict",
    "Strict reverse-path filtering (rp_filter=1) on a node that sits on an asymmetric path:"
    " packets arriving on an interface it would not use to reply are dropped.",
    {"node": NODE, "iface": Field(IFNAME, doc="Interface to make strict (default: all of them).")},
    "routing:rp_filter_strict",
    v.rp_filter_strict,
)

# --- firewall and NAT -----------------------------------------------------------------------
_add(
    "drop-icmp",
    "A firewall rule drops ICMP, all of it or one type/code (fragmentation-needed: the MTU black hole).",
    {
        "node": NODE,
        "chain": CHAIN,
        "icmp_type": Field(
            Str(),
            default="any",
            doc="An iptables ICMP name (echo-request, fragmentation-needed...), N or N/M.",
        ),
    },
    "filtering:drop_icmp",
    v.drop_icmp,
)
_PORT_RULE = {
    "node": NODE,
    "port": Field(PORT, required=True, doc="Destination port."),
    "proto": Field(Enum("tcp", "udp"), default="tcp", doc="Transport protocol."),
    "chain": CHAIN,
}
_add(
    "firewall-drop",
    "A firewall rule silently drops a port: clients time out.",
    dict(_PORT_RULE),
    "filtering:firewall_drop",
    v.port_rule,
)
_add(
    "firewall-reject",
    "A firewall rule rejects a port: clients are refused at once (or told the host is unreachable).",
    {
        **_PORT_RULE,
        "reject_with": Field(
            Enum(
                "icmp-port-unreachable",
                "tcp-reset",
                "icmp-host-unreachable",
                "icmp-net-unreachable",
                "icmp-host-prohibited",
                "icmp-net-prohibited",
                "icmp-admin-prohibited",
            ),
            default="icmp-port-unreachable",
            doc="The answer the rule sends (iptables' default: icmp-port-unreachable).",
        ),
    },
    "filtering:firewall_reject",
    v.port_rule,
)
_add(
    "missing-snat",
    "The masquerade (SNAT) rule of a NAT router is gone: private sources leave untranslated and"
    " replies never find their way back.",
    {"node": NODE, "match": MATCH},
    "nat:missing_snat",
    v.missing_snat,
)
_add(
    "dnat-wrong-port",
    "A port forward (DNAT) sends to the right host but the wrong port.",
    {"node": NODE, "port": Field(PORT, required=True, doc="The wrong inside port."), "match": MATCH},
    "nat:dnat_wrong_port",
    v.dnat_wrong_port,
)

# --- services and names ---------------------------------------------------------------------
_add(
    "dead-listener",
    "A service is left stopped (autostart: false): connections are refused.",
    {"service": SERVICE},
    "services:dead_listener",
    v.dead_listener,
)
_add(
    "bind-localhost",
    "A service listens on loopback only: it answers itself but refuses everyone else.",
    {"service": SERVICE, "address": Field(IPAddr(), default="127.0.0.1", doc="The loopback address.")},
    "services:bind_localhost",
    v.bind_localhost,
)
_add(
    "resolver-down",
    "The recursive resolver is left stopped: every lookup through it fails.",
    {"service": SERVICE},
    "services:resolver_down",
    v.resolver_down,
)
_add(
    "wrong-dns-record",
    "A DNS record holds the wrong value: the name resolves, to the wrong place.",
    {
        "service": SERVICE,
        "zone": Field(Str(), required=True, doc="The zone (as named under the service's zones)."),
        "name": Field(Str(), required=True, doc="Owner name, relative to the zone or absolute."),
        "type": Field(Enum("A", "AAAA", "CNAME", "NS", "TXT", "MX", "PTR"), default="A", doc="Record type."),
        "value": Field(Str(), required=True, doc="The wrong value."),
    },
    "names:wrong_dns_record",
    v.wrong_dns_record,
)
_add(
    "stale-hosts-entry",
    "The node's /etc/hosts maps a name to an old address, which wins over DNS.",
    {
        "node": NODE,
        "name": Field(HOSTNAME, required=True, doc="The host name."),
        "address": Field(IPAddr(), required=True, doc="The stale address."),
    },
    "names:stale_hosts_entry",
    v.stale_hosts_entry,
)

# --- web: TLS and HTTP (nslab.faults.web holds the transformations and their hooks) -------
from nslab.faults import web as _web  # noqa: E402  (light: the hooks import nothing heavy)
from nslab.scenario.schema import ListOf  # noqa: E402

_URL_PATH = Str(r"/\S*", "a URL path starting with /")
_add(
    "tls-wrong-name",
    "An https service's certificate names other hosts than the one clients ask for: the TLS"
    " handshake fails name verification (the chain itself is fine).",
    {
        "service": Field(NAME, required=True, doc="Name of the https service (under services:)."),
        "names": Field(
            ListOf(Str(), min_len=1),
            required=True,
            doc="The wrong names the certificate holds instead of the service's names (the node's"
            " own name and addresses stay in it).",
        ),
    },
    "web:tls_wrong_name",
    _web.check_tls_wrong_name,
)
_add(
    "page-moved",
    "A web page (or payload) of an http/https service moves to another path: the old path"
    " answers 404, or, for /, the server's placeholder page with status 200.",
    {
        "service": Field(NAME, required=True, doc="Name of the http or https service (under services:)."),
        "path": Field(_URL_PATH, default="/", doc="The page's path (a key of its pages or sizes)."),
        "to": Field(_URL_PATH, required=True, doc="Where the page ends up (a path not in use there)."),
    },
    "web:page_moved",
    _web.check_page_moved,
)


# --- the author's own rule ------------------------------------------------------------------
_RULE_LINE = Str(r"\s*(-A|--append|-I|--insert)\s+\S.*", "an iptables rule line starting with -A or -I")
_add(
    "firewall-rule",
    "One iptables rule line of the author's own (-A or -I) added, or one of the node's own rules"
    " deleted or replaced, for what the named kinds do not cover, such as a firewall on the path"
    " that drops the server's SYN-ACKs, or an ACCEPT rule that goes missing.",
    {
        "node": NODE,
        "table": Field(Enum("filter", "nat", "mangle", "raw"), default="filter", doc="The iptables table."),
        "action": Field(
            Enum("add", "delete", "replace"),
            default="add",
            doc="add: append the rule; delete: remove the node's own rule; replace: put 'with' in its place.",
        ),
        "rule": Field(
            _RULE_LINE,
            required=True,
            doc="The rule, as in a node's firewall: section (e.g. '-I FORWARD -i eth1 -p tcp"
            " --tcp-flags SYN,ACK SYN,ACK -j DROP'); for delete and replace, one of the node's own"
            " rules (the same words; -A and -I count as the same rule).",
        ),
        "with": Field(_RULE_LINE, doc="For action: replace, the rule line that takes its place."),
    },
    "custom:firewall_rule",
    custom.check_firewall_rule,
)
_add(
    "service-edit",
    "A text edit in one of a service's string settings: a bug in an exec service's code, a wrong"
    " word in any text setting. The learner repairs it in the service's settings file.",
    {
        "service": SERVICE,
        "field": Field(Str(), default="command", doc="The text setting to edit (an exec service's command)."),
        "replace": Field(Str(), required=True, doc="The exact text to replace; it must occur once."),
        "with": Field(Str(), required=True, doc="What replaces it."),
    },
    "settings:service_edit",
    settings.check_service_edit,
)
