"""Semantic hooks of the fault kinds: does the healthy scenario hold what the fault names?

Each hook gets (scenario, fault, report) and reports through report.error(fault.at(FIELD),
message, hint), so an error points at the exact value in the file and offers a
did-you-mean where a name is close. A fault that would change nothing is an error too: a
lab whose "broken" build equals its healthy build cannot teach anything. And a fault that
the kernel would refuse to build (an off-link gateway, a VXLAN MTU above its underlay's)
is caught here, before anything is created.

These hooks run during `nslab validate`, so they import nothing heavy.

Long on purpose: one short hook per fault kind (25 kinds), side by side, so that the
validation of every fault reads as one catalogue.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from nslab.faults import rules
from nslab.faults.edit import as_ip, effective_mtu, iface_sysctl, link_of, owner_of, route_target
from nslab.kernel.icmptypes import ICMP_TYPES
from nslab.scenario import model as m
from nslab.scenario.schema import did_you_mean
from nslab.scenario.semantic import Report, broadcast_domains

VXLAN_OVERHEAD = {4: 50, 6: 70}  # outer Ethernet + IP + UDP + VXLAN headers


def _hint(word: str, choices: Iterable[str], what: str, empty: str) -> str:
    names = tuple(choices)
    if not names:
        return empty
    return did_you_mean(word, names) or f"{what}: " + ", ".join(names)


def node_of(report: Report, fault: m.Fault) -> m.Node | None:
    return report.node(fault.params["node"], fault.at("node"), "fault node")


def iface_of(report: Report, node: m.Node, fault: m.Fault, key: str = "iface") -> m.Interface | None:
    return report.interface(node, fault.params[key], fault.at(key))


def forwards(node: m.Node) -> bool:
    return node.sysctls.get("net.ipv4.ip_forward", "1" if node.kind == "router" else "0") == "1"


def on_link(node: m.Node, gateway: m.IPAddress, dev: str | None = None) -> bool:
    return any(
        gateway in a.network and gateway != a.ip
        for i in node.interfaces.values()
        if dev in (None, i.name)
        for a in i.addresses
    )


def _describe(route: m.Route) -> str:
    to = "default" if route.is_default else str(route.to)
    return f"{to} via {route.via}" if route.via else f"{to} dev {route.dev}" if route.dev else to


def route_of(report: Report, node: m.Node, fault: m.Fault, key: str = "to") -> list[m.Route]:
    """The node's routes to the network the fault names (reported when there are none)."""
    text = str(fault.params[key])
    try:
        target = route_target(text)
    except ValueError:
        report.error(fault.at(key), f"{text!r} is not a network or 'default'", "e.g. 10.0.2.0/24 or default")
        return []
    found = [r for r in node.routes if r.to == target]
    if not found:
        known = ["default" if r.is_default else str(r.to) for r in node.routes]
        hint = _hint(text, known, "its routes", f"{node.name!r} has no routes")
        report.error(fault.at(key), f"node {node.name!r} has no route to {text}", hint)
    return found


# --- interfaces and the link layer ------------------------------------------------------


def interface_down(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    iface = node and iface_of(report, node, fault)
    if node and iface and not iface.up:
        report.error(fault.at("iface"), f"{node.name}:{iface.name} is already down in the healthy scenario")


def wrong_netmask(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    iface = node and iface_of(report, node, fault)
    if not (node and iface):
        return
    if not iface.addresses:
        report.error(
            fault.at("iface"), f"{node.name}:{iface.name} has no address whose netmask could be wrong"
        )
        return
    address = fault.params["address"]
    target = next((a for a in iface.addresses if address in (None, a.ip)), None)
    if target is None:
        known = [str(a.ip) for a in iface.addresses]
        report.error(
            fault.at("address"),
            f"{address} is not an address of {node.name}:{iface.name}",
            _hint(str(address), known, "its addresses", ""),
        )
        return
    prefixlen: int = fault.params["prefixlen"]
    if prefixlen > target.max_prefixlen:
        report.error(fault.at("prefixlen"), f"/{prefixlen} is too long for IPv{target.version}")
        return
    if prefixlen == target.network.prefixlen:
        report.error(
            fault.at("prefixlen"), f"{target} already has /{prefixlen}: the fault would change nothing"
        )
        return
    wrong = ipaddress.ip_interface(f"{target.ip}/{prefixlen}")
    net = wrong.network
    if wrong.version == 4 and prefixlen <= 30 and wrong.ip in (net.network_address, net.broadcast_address):
        which = "network" if wrong.ip == net.network_address else "broadcast"
        report.error(
            fault.at("prefixlen"),
            f"with /{prefixlen}, {target.ip} is the {which} address of {net}",
            "pick a prefix length that keeps it a host address",
        )
    _gateways_stay_on_link(report, fault, node, iface.name, target, wrong)


def _gateways_stay_on_link(
    report: Report, fault: m.Fault, node: m.Node, iface: str, old: m.IPInterface, new: m.IPInterface
) -> None:
    """The builder adds routes after addresses: a gateway off-link would make the kernel refuse it."""
    interfaces = dict(node.interfaces)
    changed = tuple(new if a == old else a for a in interfaces[iface].addresses)
    interfaces[iface] = m.Interface(name=iface, addresses=changed)
    after = m.Node(name=node.name, interfaces=interfaces)
    reported: set[m.IPAddress] = set()
    for route in node.routes:
        if route.onlink:
            continue  # the kernel takes an on-link gateway without a subnet around it
        if route.via is not None and route.via not in reported and not on_link(after, route.via, route.dev):
            reported.add(route.via)
            common = _common_prefix(old.ip, route.via)
            report.error(
                fault.at("prefixlen"),
                f"with /{new.network.prefixlen}, gateway {route.via} (route {_describe(route)}) is off-link;"
                " the kernel would refuse the route",
                f"a prefix length of /{common} or shorter keeps the gateway on-link",
            )


def _common_prefix(a: m.IPAddress, b: m.IPAddress) -> int:
    bits = a.max_prefixlen
    diff = int(a) ^ int(b)
    return bits - diff.bit_length()


def mtu_mismatch(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    iface = node and iface_of(report, node, fault)
    if not (node and iface):
        return
    mtu: int = fault.params["mtu"]
    if fault.params["scope"] == "link" and link_of(scenario, node.name, iface.name) is None:
        report.error(
            fault.at("scope"),
            f"{node.name}:{iface.name} is the end of no link",
            "scope: link changes both ends of a veth link; use scope: interface here",
        )
    if mtu == effective_mtu(scenario, node.name, iface.name):
        report.error(
            fault.at("mtu"), f"{node.name}:{iface.name} already has MTU {mtu}: the fault changes nothing"
        )
    if iface.vxlan is not None and iface.vxlan.dev is not None and iface.vxlan.dev in node.interfaces:
        overhead = VXLAN_OVERHEAD[iface.vxlan.remote.version]
        ceiling = effective_mtu(scenario, node.name, iface.vxlan.dev) - overhead
        if mtu > ceiling:
            report.error(
                fault.at("mtu"),
                f"the kernel refuses MTU {mtu} on {iface.name}: its underlay {iface.vxlan.dev} leaves room"
                f" for {ceiling} after {overhead} bytes of VXLAN headers",
                "to show an overlay black hole, give the hosts on the overlay the bigger MTU instead"
                " (scope: link on their links)",
            )


def duplicate_ip(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    iface = node and iface_of(report, node, fault)
    if not (node and iface):
        return
    address: m.IPAddress = fault.params["address"]
    if any(a.ip == address for a in iface.addresses):
        report.error(fault.at("address"), f"{address} is already {node.name}:{iface.name}'s own address")
        return
    owner = owner_of(scenario, address, (node.name, iface.name))
    if owner is None:
        known = sorted({str(a.ip) for n in scenario.nodes.values() for _, a in n.addresses()})
        report.error(
            fault.at("address"),
            f"no interface has {address}: a duplicate needs an original",
            _hint(str(address), known, "addresses in this lab", "the lab has no addresses"),
        )
        return
    domains = broadcast_domains(scenario)
    here = domains.get((node.name, iface.name))
    holders = [
        (n.name, i.name)
        for n in scenario.nodes.values()
        for i in n.interfaces.values()
        if any(a.ip == address for a in i.addresses)
    ]
    if not any(domains.get(h) == here for h in holders):
        where = ", ".join(f"{n}:{i}" for n, i in holders)
        report.error(
            fault.at("address"),
            f"{address} belongs to {where}, on another segment than {node.name}:{iface.name}:"
            " nothing would clash",
            "pick an address of a host on the same switch or link",
        )


def wrong_static_arp(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    iface = node and iface_of(report, node, fault)
    if not (node and iface):
        return
    ip: m.IPAddress = fault.params["ip"]
    if not any(ip in a.network and ip != a.ip for a in iface.addresses):
        subnets = ", ".join(str(a.network) for a in iface.addresses) or "none"
        report.error(
            fault.at("ip"),
            f"{ip} is not on the subnet of {node.name}:{iface.name}; an entry there would never be used",
            f"pick an address in its subnet(s): {subnets}",
        )
    mac = str(fault.params["mac"]).lower()
    for other in scenario.nodes.values():
        for i in other.interfaces.values():
            if i.mac and i.mac.lower() == mac and any(a.ip == ip for a in i.addresses):
                report.error(fault.at("mac"), f"{mac} is {ip}'s real MAC ({other.name}:{i.name})")


# --- routing ------------------------------------------------------------------------------


def missing_route(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    if node:
        route_of(report, node, fault)


def missing_default_route(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    version: int = fault.params["version"]
    if node and not any(r.is_default and r.to.version == version for r in node.routes):
        report.error(
            fault.at("node"),
            f"node {node.name!r} has no IPv{version} default route to remove",
            "its routes: " + (", ".join(_describe(r) for r in node.routes) or "none"),
        )


def wrong_gateway(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    if not node:
        return
    found = route_of(report, node, fault)
    via: m.IPAddress = fault.params["via"]
    for route in found:
        if route.via == via:
            report.error(fault.at("via"), f"{via} is already the gateway of that route")
        elif via.version != route.to.version:
            report.error(fault.at("via"), f"gateway {via} and route {route.to} differ in IP version")
        elif not route.onlink and not on_link(node, via, route.dev):
            subnets = ", ".join(f"{a.network} ({n})" for n, a in node.addresses()) or "none"
            report.error(
                fault.at("via"),
                f"gateway {via} is off-link for {node.name!r}: the kernel would refuse the route",
                f"a wrong gateway still has to be on an attached subnet: {subnets}",
            )


def forwarding_off(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    if node and not forwards(node):
        routers = [n.name for n in scenario.nodes.values() if forwards(n)]
        report.error(
            fault.at("node"),
            f"node {node.name!r} does not forward in the healthy scenario: the fault would change nothing",
            _hint(node.name, routers, "nodes that forward", "no node of this scenario forwards"),
        )


def rp_filter_strict(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    if not node:
        return
    names = list(node.interfaces)
    if fault.params["iface"] is not None:
        if iface_of(report, node, fault) is None:
            return
        names = [fault.params["iface"]]
    if not any(a.version == 4 for _, a in node.addresses()):
        report.error(fault.at("node"), f"node {node.name!r} has no IPv4 address; rp_filter is IPv4 only")
    keys = ["net.ipv4.conf.all.rp_filter", *(iface_sysctl("ipv4", n, "rp_filter") for n in names)]
    if all(node.sysctls.get(k) == "1" for k in keys):
        report.error(fault.at("node"), f"rp_filter is already strict on {node.name!r}")


# --- firewall and NAT ---------------------------------------------------------------------


def _chain_sees_traffic(report: Report, node: m.Node, fault: m.Fault) -> None:
    # A switch's bridged frames pass its FORWARD chain too (bridge-nf-call-iptables is 1).
    if fault.params["chain"] == "FORWARD" and not (forwards(node) or node.kind == "switch"):
        report.error(
            fault.at("chain"),
            f"node {node.name!r} does not forward, so its FORWARD chain sees no traffic",
            "use INPUT (traffic to the node) or OUTPUT (traffic from it), or a router",
        )


def drop_icmp(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    if node:
        _chain_sees_traffic(report, node, fault)
    icmp_type = str(fault.params["icmp_type"])
    if not rules.icmp_type_ok(icmp_type):
        hint = did_you_mean(icmp_type, tuple(ICMP_TYPES))
        report.error(
            fault.at("icmp_type"),
            f"{icmp_type!r} is not an ICMP type iptables knows",
            (hint + " " if hint else "") + "give a name (echo-request, fragmentation-needed...), a number"
            " or TYPE/CODE like 3/4",
        )


def port_rule(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    if node:
        _chain_sees_traffic(report, node, fault)
    if fault.params.get("reject_with") == "tcp-reset" and fault.params["proto"] != "tcp":
        report.error(
            fault.at("reject_with"), "tcp-reset answers TCP only", "use icmp-port-unreachable for udp"
        )


def _nat_rules(report: Report, fault: m.Fault, targets: tuple[str, ...], what: str) -> list[rules.RuleLine]:
    node = node_of(report, fault)
    if not node:
        return []
    every = rules.find_rules(node, "nat", targets, None)
    words = fault.params["match"]
    found = [r for r in every if not words or r.has_words(words)]
    if not every:
        report.error(
            fault.at("node"),
            f"node {node.name!r} has no {what} rule in its nat table: there is nothing to break",
            f"add the working rule to nodes.{node.name}.firewall.nat first",
        )
    elif not found:
        listing = "; ".join(r.text for r in every)
        report.error(
            fault.at("match"), f"no {what} rule of {node.name!r} has all the words {words!r}", listing
        )
    return found


def missing_snat(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    _nat_rules(report, fault, ("MASQUERADE", "SNAT"), "SNAT or MASQUERADE")


def dnat_wrong_port(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    port: int = fault.params["port"]
    for rule in _nat_rules(report, fault, ("DNAT",), "DNAT"):
        dest = rules.dnat_destination(rule.text)
        if dest is None:
            report.error(fault.at("node"), f"DNAT rule {rule.text!r} has no --to-destination")
            continue
        current = dest[1]
        if current is None and "--dport" in rule.tokens:
            current = rule.tokens[rule.tokens.index("--dport") + 1]
        if current == str(port):
            report.error(
                fault.at("port"), f"{rule.text!r} already sends to port {port}: nothing would change"
            )


# --- services and names -------------------------------------------------------------------


def _service(report: Report, fault: m.Fault, kinds: tuple[str, ...] = ()) -> m.Service | None:
    service = report.service(fault.params["service"], fault.at("service"))
    if service is not None and kinds and service.kind not in kinds:
        report.error(
            fault.at("service"),
            f"service {service.name!r} is a {service.kind} service; {fault.kind} needs {' or '.join(kinds)}",
        )
        return None
    return service


def dead_listener(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    service = _service(report, fault)
    if service is not None and not service.autostart:
        report.error(
            fault.at("service"), f"service {service.name!r} is already left stopped (autostart: false)"
        )


def resolver_down(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    service = _service(report, fault, ("resolver",))
    if service is not None and not service.autostart:
        report.error(
            fault.at("service"), f"resolver {service.name!r} is already left stopped (autostart: false)"
        )


def bind_localhost(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    from nslab.services.kinds import SERVICES

    address = as_ip(fault.params["address"])
    if not address.is_loopback:
        report.error(fault.at("address"), f"{address} is not a loopback address", "use 127.0.0.1 or ::1")
    service = _service(report, fault)
    if service is None or service.kind not in SERVICES:
        return
    if "bind" not in SERVICES.get(service.kind).fields:
        able = [s.name for s in SERVICES.all() if "bind" in s.fields]
        report.error(
            fault.at("service"),
            f"a {service.kind} service has no bind address to change",
            "service kinds with one: " + ", ".join(able),
        )
    elif service.params.get("bind") == address:
        report.error(fault.at("address"), f"service {service.name!r} already listens on {address} only")


def wrong_dns_record(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    from nslab.faults.names import record_matches, zone_key
    from nslab.services.names import absolute

    p = fault.params
    service = _service(report, fault, ("dns",))
    if service is None:
        return
    zones = service.params.get("zones", {})
    key = zone_key(zones, p["zone"])
    if key is None:
        report.error(
            fault.at("zone"),
            f"dns service {service.name!r} serves no zone {p['zone']!r}",
            _hint(p["zone"], zones, "its zones", "it serves no zones"),
        )
        return
    records = zones[key]["records"]
    found = [r for r in records if record_matches(r, key, p["name"], p["type"])]
    if not found:
        names = sorted({r["name"] for r in records if r["type"] == p["type"]})
        report.error(
            fault.at("name"),
            f"zone {key!r} has no {p['type']} record for {absolute(p['name'], key)}",
            _hint(p["name"], names, f"its {p['type']} records", f"it has no {p['type']} records"),
        )
        return
    value = str(p["value"])
    if p["type"] in ("A", "AAAA"):
        version = 4 if p["type"] == "A" else 6
        try:
            ok = ipaddress.ip_address(value).version == version
        except ValueError:
            ok = False
        if not ok:
            report.error(
                fault.at("value"), f"{value!r} is not an IPv{version} address, as a {p['type']} record holds"
            )
    if all(str(r["value"]) == value for r in found):
        report.error(fault.at("value"), f"the record already holds {value}: the fault would change nothing")


def stale_hosts_entry(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    node = node_of(report, fault)
    if node and node.hosts.get(fault.params["name"]) == (fault.params["address"],):
        report.error(
            fault.at("address"),
            f"{node.name!r} already maps {fault.params['name']} to {fault.params['address']}",
        )
