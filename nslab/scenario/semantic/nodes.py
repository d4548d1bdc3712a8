"""One node at a time: interfaces, VXLAN settings, bridge masters, routes and gateways, sysctls,
resolver settings and the firewall lint."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nslab.errors import Loc
from nslab.scenario import model as m
from nslab.scenario.schema import did_you_mean
from nslab.scenario.semantic.domains import Pair
from nslab.scenario.semantic.links import SWITCH_PORT
from nslab.scenario.semantic.report import Report

IPV6_MIN_MTU = 1280


# Devices the kernel creates in every new namespace when the matching module is loaded.
KERNEL_DEVICES = (
    "lo",
    "tunl0",
    "gre0",
    "gretap0",
    "erspan0",
    "ip_vti0",
    "ip6_vti0",
    "sit0",
    "ip6tnl0",
    "ip6gre0",
)


_IFACE_SYSCTL = re.compile(r"net\.ipv[46]\.(?:conf|neigh)\.([^.]+)\.")


def check_node(report: Report, node: m.Node, links: Mapping[Pair, m.Link]) -> None:
    for iface in node.interfaces.values():
        _check_interface(report, node, iface, links)
    seen: dict[tuple[Any, ...], Loc] = {}
    for i, route in enumerate(node.routes):
        _check_route(report, node, route, f"nodes.{node.name}.routes[{i}]", seen)
    neighbors: dict[tuple[Any, str], int] = {}
    for i, neighbor in enumerate(node.neighbors):
        path = f"nodes.{node.name}.neighbors[{i}]"
        report.interface(node, neighbor.dev, neighbor.at("dev"), f"{path}.dev")
        key = (neighbor.ip, neighbor.dev)
        if key in neighbors:
            report.error(
                neighbor.loc,
                f"{path}: a second entry for {neighbor.ip} on {neighbor.dev} "
                f"(the first is neighbors[{neighbors[key]}])",
            )
        neighbors.setdefault(key, i)
    _check_sysctls(report, node)
    _check_resolving(report, node)
    _check_firewall(report, node)


def _check_interface(report: Report, node: m.Node, iface: m.Interface, links: Mapping[Pair, m.Link]) -> None:
    path = f"nodes.{node.name}.interfaces.{iface.name}"
    where = f"{node.name}:{iface.name}"
    if iface.name in KERNEL_DEVICES:
        what = "the loopback interface" if iface.name == "lo" else "a device the kernel may create"
        report.error(
            node.at(f"interfaces.{iface.name}"),
            f"{path}: {iface.name!r} is {what} in every namespace",
            "choose another name, e.g. eth0",
        )
    if node.kind == "switch" and iface.name == m.SWITCH_BRIDGE and iface.kind != "bridge":
        report.error(
            iface.at("kind"), f"{path}: a switch's {m.SWITCH_BRIDGE} is its bridge; it must be kind: bridge"
        )
    unlinked = iface.kind == "veth" and (node.name, iface.name) not in links
    if unlinked and not report.partial and iface.vxlan is None and not _switch_bridge(node, iface):
        report.error(
            iface.loc,
            f"{path}: {where} is not connected by any link",
            f"add a link such as [{where}, OTHER:eth0], or make it kind: bridge",
        )
    if node.kind == "switch" and iface.addresses:
        report.error(
            iface.at("addresses[0]"),
            f"{path}.addresses: switch {node.name!r} works at layer 2; its ports carry no addresses",
            "give the address to a host or router on the switch instead",
        )
    _check_vxlan_settings(report, node, iface, path)
    _check_master(report, node, iface, path)
    _check_ipv6_mtu(report, node, iface, links.get((node.name, iface.name)), path)


def _switch_bridge(node: m.Node, iface: m.Interface) -> bool:
    return node.kind == "switch" and iface.name == m.SWITCH_BRIDGE


def _check_vxlan_settings(report: Report, node: m.Node, iface: m.Interface, path: str) -> None:
    if iface.kind == "vxlan" and iface.vxlan is None:
        report.error(iface.loc, f"{path}: a vxlan interface needs 'vxlan:' settings (vni, remote)")
    if iface.kind != "vxlan" and iface.vxlan is not None:
        report.error(
            iface.at("vxlan"), f"{path}.vxlan: settings for a {iface.kind} interface", "add kind: vxlan"
        )
    vx = iface.vxlan
    if vx is None or iface.kind != "vxlan":
        return
    own = {a.ip for _, a in node.addresses()}
    local_ok = vx.local is not None
    if vx.local is not None and vx.local.version != vx.remote.version:
        report.error(
            vx.at("local"), f"{path}.vxlan: local {vx.local} and remote {vx.remote} differ in IP version"
        )
        local_ok = False
    elif vx.local is not None and vx.local not in own and not report.incomplete(node):
        report.error(vx.at("local"), f"{path}.vxlan.local: {vx.local} is not an address of {node.name!r}")
        local_ok = False
    if vx.remote in own:
        report.error(
            vx.at("remote"), f"{path}.vxlan.remote: {vx.remote} is an address of {node.name!r} itself"
        )
    dev = None if vx.dev is None else report.interface(node, vx.dev, vx.at("dev"), f"{path}.vxlan.dev")
    if dev is not None and dev.name == iface.name:
        report.error(vx.at("dev"), f"{path}.vxlan.dev: a vxlan interface cannot carry itself")
    elif dev is not None and local_ok and all(a.ip != vx.local for a in dev.addresses):
        report.error(
            vx.at("local"),
            f"{path}.vxlan.local: {vx.local} is not on the underlay dev {dev.name}",
            "local must be an address of the dev interface",
        )


def _check_master(report: Report, node: m.Node, iface: m.Interface, path: str) -> None:
    if iface.master is None:
        return
    master = node.interfaces.get(iface.master)
    if iface.master == iface.name:
        report.error(iface.at("master"), f"{path}.master: {iface.name} cannot be its own master")
    elif master is None or master.kind != "bridge":
        bridges = [i.name for i in node.interfaces.values() if i.kind == "bridge"]
        hint = did_you_mean(iface.master, bridges) or (
            "bridges here: " + ", ".join(bridges) if bridges else "declare one with kind: bridge"
        )
        report.error(
            iface.at("master"), f"{path}.master: {iface.master!r} is not a bridge of {node.name!r}", hint
        )
    elif iface.kind == "bridge":
        report.error(iface.at("master"), f"{path}.master: a bridge cannot be a port of another bridge")
    if iface.addresses:
        report.error(
            iface.at("addresses[0]"),
            f"{path}.addresses: {iface.name} is a port of bridge {iface.master}; "
            "the address belongs on the bridge",
            f"move it to {iface.master}'s addresses",
        )


def _check_ipv6_mtu(report: Report, node: m.Node, iface: m.Interface, link: m.Link | None, path: str) -> None:
    mtu = iface.mtu if iface.mtu is not None else link.mtu if link is not None else None
    if mtu is None or mtu >= IPV6_MIN_MTU or not any(a.version == 6 for a in iface.addresses):
        return
    loc = iface.at("mtu") if iface.mtu is not None else link.at("mtu") if link is not None else iface.loc
    report.error(
        loc,
        f"{path}: MTU {mtu} is below {IPV6_MIN_MTU}, the IPv6 minimum; "
        "the kernel would drop its IPv6 addresses",
        f"raise the MTU to at least {IPV6_MIN_MTU}, or use only IPv4 here",
    )


def _check_route(
    report: Report, node: m.Node, route: m.Route, path: str, seen: dict[tuple[Any, ...], Loc]
) -> None:
    dest = "default" if route.is_default else str(route.to)
    # IPv4 keeps one route per destination and metric; IPv6 joins routes with different
    # next hops into one multipath route, so only an identical one clashes there.
    key: tuple[Any, ...] = (route.to, route.metric or 0)
    if route.to.version == 6:
        key += (route.via, route.dev)
    if key in seen:
        report.error(
            route.loc,
            f"{path}: a second route to {dest} with the same metric (the first is at line {seen[key].line})",
            "the kernel keeps one route per destination and metric; give one a different metric",
        )
    seen.setdefault(key, route.loc)
    dev = None if route.dev is None else report.interface(node, route.dev, route.at("dev"), f"{path}.dev")
    if dev is not None and dev.master is not None:
        report.error(
            route.at("dev"),
            f"{path}.dev: {dev.name} is a port of bridge {dev.master}; routes use the bridge",
            f"write dev: {dev.master}",
        )
    if route.src is not None:
        if route.src.version != route.to.version:
            report.error(
                route.at("src"), f"{path}.src: {route.src} and destination {dest} differ in IP version"
            )
        elif not report.incomplete(node) and not any(route.src == a.ip for _, a in node.addresses()):
            report.error(route.at("src"), f"{path}.src: {route.src} is not an address of {node.name!r}")
    _check_route_extras(report, route, path)
    if route.type != "unicast":
        for key_name in ("via", "dev"):
            if getattr(route, key_name) is not None:
                report.error(
                    route.at(key_name),
                    f"{path}.{key_name}: a {route.type} route drops traffic here; "
                    "it takes neither 'via' nor 'dev'",
                )
        return
    if route.via is None and route.dev is None:
        report.error(
            route.loc, f"{path}: the route to {dest} needs 'via' (a gateway) or 'dev'", "e.g. via: 10.0.1.1"
        )
    elif route.via is not None:
        _check_gateway(report, node, route, route.via, dev, path, dest)
    elif (
        dev is not None
        and not report.partial
        and route.src is None
        and not any(a.version == route.to.version for a in dev.addresses)
    ):
        report.error(
            route.at("dev"),
            f"{path}.dev: {dev.name} has no IPv{route.to.version} address, "
            "so packets on this route have no source",
            f"give {dev.name} an address, or set src: to an address of {node.name!r}",
        )


def _check_gateway(
    report: Report,
    node: m.Node,
    route: m.Route,
    via: m.IPAddress,
    dev: m.Interface | None,
    path: str,
    dest: str,
) -> None:
    if via.version != route.to.version:
        report.error(
            route.at("via"), f"{path}.via: gateway {via} and destination {dest} differ in IP version"
        )
        return
    if any(via == a.ip for _, a in node.addresses()):
        report.error(route.at("via"), f"{path}.via: gateway {via} is an address of {node.name!r} itself")
        return
    if via.is_link_local and via.version == 6:
        # fe80:: addresses are made by the kernel on every interface, so they are on-link
        # by definition, but only the outgoing interface says which link.
        if route.dev is None:
            report.error(
                route.at("via"),
                f"{path}.via: the link-local gateway {via} needs 'dev' to say which link it is on",
                "add dev: with the interface that faces the gateway",
            )
        return
    if route.onlink:
        _check_onlink_gateway(report, node, route, via, dev, path)
        return
    on_link = [
        (name, a) for name, a in node.addresses() if via in a.network and (dev is None or name == dev.name)
    ]
    if not on_link and report.incomplete(node):
        return
    if not on_link:
        elsewhere = [f"{a.network} on {name}" for name, a in node.addresses() if via in a.network]
        if dev is not None and elsewhere:
            hint = f"{via} is on {', '.join(elsewhere)}; fix dev or via"
        else:
            attached = ", ".join(f"{a.network} ({name})" for name, a in node.addresses()) or "none"
            hint = f"a gateway must be on a subnet of {node.name!r}: {attached}"
        report.error(
            route.at("via"), f"{path}.via: gateway {via} is not on a subnet attached to {node.name!r}", hint
        )
        return
    if report.partial:
        return
    segments = {report.domain(node.name, name) for name, _ in on_link}
    holders = [o for o in report.owners(via) if o[0] != node.name and report.domain(*o) in segments]
    if not holders:
        net = on_link[0][1].network
        peers = _addresses_on(report, segments, net, exclude=node.name)
        report.error(
            route.at("via"),
            f"{path}.via: no node on the {net} segment of {node.name!r} has the address {via}",
            f"addresses there: {', '.join(peers)}"
            if peers
            else "nothing else on that segment has an address",
        )


def _check_route_extras(report: Report, route: m.Route, path: str) -> None:
    """onlink, mtu and advmss: what the kernel needs before it takes them."""
    if route.onlink and (route.type != "unicast" or route.via is None or route.dev is None):
        need = "a unicast route" if route.type != "unicast" else "both 'via' and 'dev'"
        report.error(
            route.at("onlink"),
            f"{path}.onlink: an on-link gateway needs {need}",
            "onlink says 'this gateway is on dev's link': name the gateway (via) and the link (dev)",
        )
    if route.type != "unicast":
        for key_name in ("mtu", "advmss"):
            if getattr(route, key_name) is not None:
                report.error(
                    route.at(key_name),
                    f"{path}.{key_name}: a {route.type} route sends nothing, so it has no {key_name}",
                )
    if route.mtu is not None and route.to.version == 6 and route.mtu < 1280:
        report.error(route.at("mtu"), f"{path}.mtu: IPv6 needs an MTU of at least 1280, not {route.mtu}")


def _check_onlink_gateway(
    report: Report, node: m.Node, route: m.Route, via: m.IPAddress, dev: m.Interface | None, path: str
) -> None:
    """An on-link gateway needs no subnet of the node around it, but something on dev's
    segment must answer for it, or every packet of the route waits on an ARP no one answers."""
    if dev is None or report.partial:
        return
    here = report.domain(node.name, dev.name)
    holders = [o for o in report.owners(via) if o[0] != node.name and report.domain(*o) == here]
    if not holders:
        report.error(
            route.at("via"),
            f"{path}.via: no node on the segment of {node.name}:{dev.name} has the on-link gateway {via}",
            "give the gateway's address to the router on that link",
        )


def _addresses_on(report: Report, segments: set[Pair], net: m.IPNetwork, exclude: str) -> list[str]:
    out = []
    for other in report.scenario.nodes.values():
        if other.name == exclude:
            continue
        for iface in other.interfaces.values():
            if report.domain(other.name, iface.name) in segments:
                out += [f"{a.ip} ({other.name})" for a in iface.addresses if a.ip in net]
    return out


def sysctl_interface(node: m.Node, key: str) -> tuple[str, str] | None:
    """(interface, hint) when a per-interface sysctl names an interface the node lacks."""
    names = {*node.interfaces, "all", "default", "lo"}
    if node.kind == "switch":
        names.add(m.SWITCH_BRIDGE)
    match = _IFACE_SYSCTL.match(key)
    if not match:
        return None
    name = match.group(1).replace("/", ".")
    if name in names or (node.kind == "switch" and SWITCH_PORT.fullmatch(name)):
        return None
    return name, did_you_mean(name, sorted(names)) or "its interfaces: " + ", ".join(sorted(names))


def _check_sysctls(report: Report, node: m.Node) -> None:
    for key, value in node.sysctls.items():
        loc = node.at(f"sysctls.{key}")
        problem = sysctl_interface(node, key)
        if problem is not None:
            report.error(
                loc,
                f"nodes.{node.name}.sysctls: {key} names interface {problem[0]!r}, which {node.name!r} lacks",
                problem[1],
            )
        if key == "net.ipv4.ip_forward" and node.kind == "router" and value == "0":
            report.error(
                loc,
                f"nodes.{node.name}.sysctls: router {node.name!r} with net.ipv4.ip_forward=0 does not route",
                "make it kind: host, or break forwarding with the forwarding-off fault",
            )


def _check_resolving(report: Report, node: m.Node) -> None:
    if report.partial:
        return
    if node.resolv is not None:
        for i, server in enumerate(node.resolv.nameservers):
            if not server.is_loopback and not report.owners(server):
                report.error(
                    node.resolv.at(f"nameservers[{i}]"),
                    f"nodes.{node.name}.resolv.nameservers[{i}]: "
                    f"{server} is not an address of any node in this lab",
                    "a lab is a closed world; point it at a node that runs a dns or resolver service",
                )
    for name, addresses in node.hosts.items():
        for address in addresses:
            if not address.is_loopback and not report.owners(address):
                report.error(
                    node.at(f"hosts.{name}"),
                    f"nodes.{node.name}.hosts[{name!r}]: {address} is not an address of any node in this lab",
                    "a lab is a closed world; use an address one of its nodes has",
                )


def _check_firewall(report: Report, node: m.Node) -> None:
    from nslab.scenario.firewall import lint

    if node.firewall is None:
        return
    interfaces = tuple(node.interfaces)
    for table, text in node.firewall.tables().items():
        loc = node.firewall.at(table)
        for problem in lint(table, text, interfaces):
            col = loc.col + problem.column if problem.column is not None else loc.col
            line = loc.line + problem.offset
            report.error(
                Loc(loc.file, line, col),
                f"nodes.{node.name}.firewall.{table}: {problem.message}",
                problem.hint,
            )
