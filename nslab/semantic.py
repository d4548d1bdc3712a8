"""Cross-reference and network sanity checks on a structurally valid scenario.

Structure (types, keys) is checked by nslab.spec; this module checks meaning: that names
refer to things that exist, that gateways are reachable, that no broadcast domain holds
one address twice, that both ends of a VXLAN tunnel agree. Like the structural pass, it
collects every problem before stopping.

The scenario as written is the *healthy* lab (faults break it later, on purpose), so
anything that could not work as written is an error here: a gateway no node answers
for, a nameserver outside the lab, a link whose two ends disagree on the MTU.

After structural errors, these checks still run on the parts that were valid, but the
checks that conclude "nothing in the lab has X" are skipped (X may be in a broken part).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from nslab import model as m
from nslab.errors import Diagnostic, Loc
from nslab.schema import Ref, did_you_mean

log = logging.getLogger(__name__)

MAX_NODES_PER_LAB = 2000
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
_SWITCH_PORT = re.compile(r"p[0-9]+")

Pair = tuple[str, str]


class Report:
    """Collects diagnostics and offers the lookups that kind hooks need."""

    def __init__(self, scenario: m.Scenario, broken: set[str] | None = None) -> None:
        self.scenario = scenario
        self.diagnostics: list[Diagnostic] = []
        # Entries that failed structural validation: references to them are not errors again.
        self.broken = broken or set()
        self.partial = bool(broken)
        self._owners: dict[m.IPAddress, list[Pair]] | None = None
        self._domains: dict[Pair, Pair] | None = None

    def error(self, loc: Loc, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(loc, message, hint))

    def node(self, name: str, loc: Loc, what: str = "node") -> m.Node | None:
        found = self.scenario.nodes.get(name)
        if found is None and f"nodes.{name}" not in self.broken:
            invalid = [
                p.split(".", 1)[1] for p in self.broken if p.startswith("nodes.") and p.count(".") == 1
            ]
            names = tuple(sorted([*self.scenario.nodes, *invalid]))
            hint = did_you_mean(name, names) or "known nodes: " + ", ".join(names)
            self.error(loc, f"{what} {name!r} is not a node of this scenario", hint)
        return found

    def interface(self, node: m.Node, iface: str, loc: Loc, path: str | None = None) -> m.Interface | None:
        """The interface, or None after reporting it missing (`path` prefixes the message)."""
        found = node.interfaces.get(iface)
        if found is None and f"nodes.{node.name}.interfaces.{iface}" not in self.broken:
            names = tuple(node.interfaces)
            hint = did_you_mean(iface, names) or (
                "its interfaces: " + ", ".join(names) if names else "it declares no interfaces"
            )
            prefix = f"{path}: " if path else ""
            self.error(loc, f"{prefix}node {node.name!r} has no interface {iface!r}", hint)
        return found

    def service(self, name: str, loc: Loc) -> m.Service | None:
        services = {s.name: s for s in self.scenario.services}
        found = services.get(name)
        if found is None:
            hint = did_you_mean(name, tuple(services)) or (
                "services: " + ", ".join(services) if services else "the scenario declares no services"
            )
            self.error(loc, f"{name!r} is not a service of this scenario", hint)
        return found

    def param_values(self, name: str) -> tuple[Any, ...]:
        param = self.scenario.params.get(name)
        if param is None:
            return ()
        return param.choices or (param.default,)

    def incomplete(self, node: m.Node) -> bool:
        """Did part of this node fail structural validation? Then what it seems to lack
        (an address, an interface) may be in the part that failed."""
        prefix = f"nodes.{node.name}."
        return any(path.startswith(prefix) for path in self.broken)

    def owners(self, address: m.IPAddress) -> list[Pair]:
        """(node, interface) pairs that carry this address."""
        if self._owners is None:
            self._owners = {}
            for node in self.scenario.nodes.values():
                for iface in node.interfaces.values():
                    for a in iface.addresses:
                        self._owners.setdefault(a.ip, []).append((node.name, iface.name))
        return self._owners.get(address, [])

    def domain(self, node: str, iface: str) -> Pair:
        """The L2 segment of an interface, VXLAN overlays included."""
        if self._domains is None:
            self._domains = _overlay_domains(self.scenario)
        return self._domains.get((node, iface), (node, iface))


def check(
    scenario: m.Scenario,
    broken: set[str] | None = None,
    used_params: set[str] | None = None,
    partial: bool | None = None,
) -> list[Diagnostic]:
    """Every meaning problem. `partial`: the structural pass found errors (default: whether
    any entry is `broken`), so checks that conclude "nothing in the lab has X" stay quiet."""
    report = Report(scenario, broken)
    if partial is not None:
        report.partial = partial
    if len(scenario.nodes) > MAX_NODES_PER_LAB:
        report.error(
            scenario.at("nodes"), f"{len(scenario.nodes)} nodes; at most {MAX_NODES_PER_LAB} per lab"
        )
    links = _link_index(scenario)
    _check_links(report)
    for node in scenario.nodes.values():
        _check_node(report, node, links)
    _check_segments(report)
    _check_vxlan_peers(report)
    _check_kinds(report)
    if used_params is not None:
        _check_unused_params(report, used_params)
    _check_conditions(report)
    _check_solution(report)
    return report.diagnostics


# --- links ---------------------------------------------------------------------------------


def _link_index(scenario: m.Scenario) -> dict[Pair, m.Link]:
    return {(e.node, e.iface): link for link in scenario.links for e in (link.a, link.b) if e.iface}


def linked_interfaces(scenario: m.Scenario) -> set[tuple[str, str]]:
    return {(e.node, e.iface) for link in scenario.links for e in (link.a, link.b)}


def _check_links(report: Report) -> None:
    used: dict[Pair, Loc] = {}
    for i, link in enumerate(report.scenario.links):
        path = f"links[{i}]"
        ends = [e for e in (link.a, link.b) if _check_end(report, e, path, used)]
        if len(ends) < 2:
            # A link that could not be placed leaves its interfaces looking unlinked and its
            # segment smaller than meant: skip the "nothing has X" checks from here on.
            report.partial = True
        if len(ends) == 2 and ends[0].node == ends[1].node:
            report.error(link.loc, f"{path}: the link joins node {ends[0].node!r} to itself")
        if len(ends) == 2:
            _check_link_mtu(report, link, path)
    _check_port_names(report)


def _check_port_names(report: Report) -> None:
    """Unnamed switch ports get p1, p2, ... (skipping declared names, as the planner does);
    a port named in a link but not declared must not take one of those names."""
    counters: dict[str, int] = {}
    automatic: set[Pair] = set()
    named: list[tuple[int, m.Endpoint]] = []
    for i, link in enumerate(report.scenario.links):
        for end in (link.a, link.b):
            node = report.scenario.nodes.get(end.node)
            if node is None or node.kind != "switch":
                continue
            if end.iface:
                if end.iface not in node.interfaces:
                    named.append((i, end))
                continue
            counters[node.name] = counters.get(node.name, 0) + 1
            while f"p{counters[node.name]}" in node.interfaces:
                counters[node.name] += 1
            automatic.add((node.name, f"p{counters[node.name]}"))
    for i, end in named:
        if (end.node, end.iface) in automatic:
            report.error(
                end.loc,
                f"links[{i}]: {end} clashes with the name nslab gives an unnamed port of {end.node!r}",
                f"declare {end.iface} under nodes.{end.node}.interfaces, or choose another port name",
            )


def _check_end(report: Report, end: m.Endpoint, path: str, used: dict[Pair, Loc]) -> bool:
    node = report.node(end.node, end.loc, f"{path}: endpoint")
    if node is None:
        return False
    if node.kind == "switch":
        declared = node.interfaces.get(end.iface) if end.iface else None
        if declared is not None and declared.kind != "veth":
            report.error(
                end.loc,
                f"{path}: {end} is a {declared.kind} interface; a switch port must be a veth",
                f"leave the port name out ({end.node}) and nslab names the port",
            )
            return False
    elif not end.iface:
        free = [i.name for i in node.interfaces.values() if i.kind == "veth"]
        report.error(
            end.loc,
            f"{path}: endpoint {end.node!r} names no interface",
            f"write {end.node}:IFACE with one of its veth interfaces: {', '.join(free) or '(none declared)'}",
        )
        return False
    else:
        iface = report.interface(node, end.iface, end.loc, path)
        if iface is None:
            return False
        if iface.kind != "veth":
            report.error(end.loc, f"{path}: {end} is a {iface.kind} interface; links join veth interfaces")
            return False
    if end.iface:
        key = (end.node, end.iface)
        if key in used:
            report.error(
                end.loc,
                f"{path}: {end} is already linked at line {used[key].line}",
                "a veth has exactly one peer; to join more nodes, link each one to a switch",
            )
        used[key] = end.loc
    return True


def _check_link_mtu(report: Report, link: m.Link, path: str) -> None:
    mtus = {}
    for end in (link.a, link.b):
        iface = report.scenario.nodes[end.node].interfaces.get(end.iface) if end.iface else None
        if iface is not None and iface.mtu is not None:
            if link.mtu is not None and iface.mtu != link.mtu:
                report.error(
                    link.at("mtu"),
                    f"{path}.mtu: {link.mtu} contradicts the mtu {iface.mtu} that {end} declares",
                    "set the MTU in one place",
                )
            mtus[str(end)] = iface.mtu
    if len(mtus) == 2 and len(set(mtus.values())) == 2:
        a, b = mtus.items()
        report.error(
            link.loc,
            f"{path}: the two ends of this link have different MTUs ({a[0]} {a[1]}, {b[0]} {b[1]})",
            "both ends of a cable carry the same MTU; a mismatch is a fault (see the mtu-mismatch kind)",
        )


# --- one node ------------------------------------------------------------------------------


def _check_node(report: Report, node: m.Node, links: Mapping[Pair, m.Link]) -> None:
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


def _addresses_on(report: Report, segments: set[Pair], net: m.IPNetwork, exclude: str) -> list[str]:
    out = []
    for other in report.scenario.nodes.values():
        if other.name == exclude:
            continue
        for iface in other.interfaces.values():
            if report.domain(other.name, iface.name) in segments:
                out += [f"{a.ip} ({other.name})" for a in iface.addresses if a.ip in net]
    return out


def _check_sysctls(report: Report, node: m.Node) -> None:
    names = {*node.interfaces, "all", "default", "lo"}
    if node.kind == "switch":
        names.add(m.SWITCH_BRIDGE)
    for key, value in node.sysctls.items():
        loc = node.at(f"sysctls.{key}")
        match = _IFACE_SYSCTL.match(key)
        if match:
            name = match.group(1).replace("/", ".")
            if name not in names and not (node.kind == "switch" and _SWITCH_PORT.fullmatch(name)):
                hint = did_you_mean(name, sorted(names)) or "its interfaces: " + ", ".join(sorted(names))
                report.error(
                    loc,
                    f"nodes.{node.name}.sysctls: {key} names interface {name!r}, which {node.name!r} lacks",
                    hint,
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
    from nslab.firewall import lint

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


# --- layer 2 segments -----------------------------------------------------------------------


def _union_find(items: Iterable[tuple[Pair, Pair]]) -> dict[Pair, Pair]:
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in items:
        parent[find(a)] = find(b)
    return {x: find(x) for x in list(parent)}


def _l2_pairs(scenario: m.Scenario) -> list[tuple[Pair, Pair]]:
    pairs: list[tuple[Pair, Pair]] = []
    for link in scenario.links:
        a = (link.a.node, link.a.iface or f"?{id(link)}a")
        b = (link.b.node, link.b.iface or f"?{id(link)}b")
        pairs.append((a, b))
        for end, key in ((link.a, a), (link.b, b)):
            node = scenario.nodes.get(end.node)
            if node is not None and node.kind == "switch":
                pairs.append((key, (end.node, m.SWITCH_BRIDGE)))
    for node in scenario.nodes.values():
        for iface in node.interfaces.values():
            pairs.append(((node.name, iface.name), (node.name, iface.name)))
            if iface.master:
                pairs.append(((node.name, iface.name), (node.name, iface.master)))
    return pairs


def broadcast_domains(scenario: m.Scenario) -> dict[tuple[str, str], tuple[str, str]]:
    """Map each (node, interface) to a representative of its L2 broadcast domain."""
    return _union_find(_l2_pairs(scenario))


def _overlay_domains(scenario: m.Scenario) -> dict[Pair, Pair]:
    """Like broadcast_domains, with each pair of VXLAN ends that point at each other joined."""
    pairs = _l2_pairs(scenario)
    for node, iface, peer in _vxlan_ends(scenario):
        if peer is not None:
            pairs.append(((node.name, iface.name), peer))
    return _union_find(pairs)


def _vxlan_ends(scenario: m.Scenario) -> list[tuple[m.Node, m.Interface, Pair | None]]:
    """Each vxlan interface with its matching peer (same VNI and port, pointing back), if any."""
    owners: dict[m.IPAddress, str] = {}
    for node in scenario.nodes.values():
        for _, a in node.addresses():
            owners.setdefault(a.ip, node.name)
    out = []
    for node in scenario.nodes.values():
        own = {a.ip for _, a in node.addresses()}
        for iface in node.interfaces.values():
            vx = iface.vxlan
            if vx is None or iface.kind != "vxlan":
                continue
            peer: Pair | None = None
            other = scenario.nodes.get(owners.get(vx.remote, ""))
            for candidate in other.interfaces.values() if other is not None else ():
                cvx = candidate.vxlan
                if (
                    cvx
                    and candidate.kind == "vxlan"
                    and cvx.remote in own
                    and (cvx.vni, cvx.port) == (vx.vni, vx.port)
                ):
                    peer = (other.name, candidate.name) if other else None
            out.append((node, iface, peer))
    return out


def _check_vxlan_peers(report: Report) -> None:
    seen: dict[tuple[str, int, int], str] = {}
    for node, iface, peer in _vxlan_ends(report.scenario):
        vx = iface.vxlan
        assert vx is not None
        path = f"nodes.{node.name}.interfaces.{iface.name}.vxlan"
        key = (node.name, vx.vni, vx.port)
        if key in seen:
            report.error(
                vx.at("vni"),
                f"{path}.vni: {seen[key]} on {node.name!r} already uses VNI {vx.vni} on port {vx.port}",
                "the kernel allows one vxlan device per VNI and port; use another VNI",
            )
        seen.setdefault(key, iface.name)
        if peer is not None or report.partial or vx.remote.is_multicast:
            continue
        _report_missing_peer(report, node, vx, path)


def _report_missing_peer(report: Report, node: m.Node, vx: m.Vxlan, path: str) -> None:
    holders = report.owners(vx.remote)
    if not holders:
        report.error(
            vx.at("remote"),
            f"{path}.remote: {vx.remote} is not an address of any node in this lab",
            "point it at the underlay address of the node holding the other end",
        )
        return
    other = report.scenario.nodes[holders[0][0]]
    own = {a.ip for _, a in node.addresses()}
    back = [i for i in other.interfaces.values() if i.kind == "vxlan" and i.vxlan and i.vxlan.remote in own]
    if not back:
        report.error(
            vx.at("remote"),
            f"{path}.remote: {other.name!r} has no vxlan interface pointing back at {node.name!r}",
            f"give {other.name!r} a vxlan interface with vni {vx.vni} "
            f"whose remote is an address of {node.name!r}",
        )
        return
    order = list(report.scenario.nodes)
    if order.index(other.name) < order.index(node.name):
        return  # a disagreement between two ends is reported once, at the end written first
    # The counterpart: the end with the same VNI if any (then the ports differ), else the same port.
    match = next((i for i in back if i.vxlan and i.vxlan.vni == vx.vni), None)
    match = match or next((i for i in back if i.vxlan and i.vxlan.port == vx.port), back[0])
    theirs = match.vxlan
    assert theirs is not None
    for key in ("vni", "port"):
        if getattr(theirs, key) != getattr(vx, key):
            report.error(
                vx.at(key),
                f"{path}.{key}: {getattr(vx, key)} here, but {getattr(theirs, key)} on the other end "
                f"({other.name}:{match.name})",
                "both ends of a VXLAN tunnel use the same VNI and UDP port",
            )


def _check_segments(report: Report) -> None:
    """Within one broadcast domain: no address twice, one prefix length per subnet, no MAC twice."""
    addresses: dict[tuple[Pair, m.IPAddress], tuple[str, Loc]] = {}
    networks: dict[Pair, dict[m.IPNetwork, str]] = {}
    macs: dict[tuple[Pair, str], str] = {}
    for node in report.scenario.nodes.values():
        for iface in node.interfaces.values():
            domain = report.domain(node.name, iface.name)
            where = f"{node.name}:{iface.name}"
            path = f"nodes.{node.name}.interfaces.{iface.name}"
            for i, addr in enumerate(iface.addresses):
                loc = iface.at(f"addresses[{i}]")
                first = addresses.setdefault((domain, addr.ip), (where, loc))
                if first[1] != loc:
                    report.error(
                        loc,
                        f"{path}.addresses[{i}]: {addr.ip} is also on {first[0]} (line {first[1].line}), "
                        "in the same broadcast domain",
                        "give each interface its own address (a duplicate IP is a fault, not a topology)",
                    )
                    continue
                _check_prefix(
                    report, networks.setdefault(domain, {}), addr, where, loc, f"{path}.addresses[{i}]"
                )
            if iface.mac is not None:
                other = macs.setdefault((domain, iface.mac.lower()), where)
                if other != where:
                    report.error(
                        iface.at("mac"),
                        f"{path}.mac: {iface.mac} is also the MAC of {other}, on the same segment",
                    )


def _check_prefix(
    report: Report, networks: dict[m.IPNetwork, str], addr: m.IPInterface, where: str, loc: Loc, path: str
) -> None:
    for net, other in networks.items():
        if (
            net.version == addr.version
            and net != addr.network
            and (addr.ip in net or net.network_address in addr.network)
        ):
            report.error(
                loc,
                f"{path}: {addr} and {other} share a segment and a subnet, but not the prefix length",
                "hosts of one subnet use one prefix length (a wrong netmask is a fault, see wrong-netmask)",
            )
            return
    networks.setdefault(addr.network, f"{_with_prefix(addr)} on {where}")


def _with_prefix(addr: m.IPInterface) -> str:
    return f"{addr.ip}/{addr.network.prefixlen}"


# --- services, faults, checks ----------------------------------------------------------------


def _check_kinds(report: Report) -> None:
    from nslab.checks.kinds import CHECKS
    from nslab.faults.kinds import FAULTS
    from nslab.services.kinds import SERVICES

    scenario = report.scenario
    names: dict[str, Loc] = {}
    for i, service in enumerate(scenario.services):
        report.node(service.node, service.at("node"), f"services[{i}].node:")
        if service.name in names:
            report.error(
                service.at("name"),
                f"services[{i}].name: {service.name!r} is used twice "
                f"(first at line {names[service.name].line})",
            )
        names.setdefault(service.name, service.at("name"))
        _run_kind(report, SERVICES.get(service.kind), service, service.node)
    check_names: dict[str, Loc] = {}
    for i, chk in enumerate(scenario.checks):
        report.node(chk.node, chk.at("node"), f"checks[{i}].from:")
        if chk.name in check_names:
            report.error(
                chk.at("name"),
                f"checks[{i}].name: {chk.name!r} is used twice (first at line {check_names[chk.name].line})",
            )
        check_names.setdefault(chk.name, chk.at("name"))
        _run_kind(report, CHECKS.get(chk.kind), chk, chk.node)
    for fault in scenario.faults:
        node = fault.params.get("node")
        _run_kind(report, FAULTS.get(fault.kind), fault, node if isinstance(node, str) else None)


def _run_kind(report: Report, spec: Any, obj: Any, node: str | None) -> None:
    _check_refs(report, spec, obj, node)
    if spec.semantic is None:
        return
    if not report.partial:
        spec.semantic(report.scenario, obj, report)
        return
    # With structural errors elsewhere a kind's hook may meet a half-built scenario; the
    # errors already found explain the file, so a hook that trips over the gaps is skipped.
    try:
        spec.semantic(report.scenario, obj, report)
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        log.debug("semantic hook of %s skipped on a partial scenario: %r", spec.name, exc)


def _check_refs(report: Report, spec: Any, obj: Any, node_name: str | None) -> None:
    """Fields a kind declares as Ref(...) must name a node, an interface or a service."""
    for key, field in spec.fields.items():
        value = obj.params.get(key)
        if not isinstance(field.type, Ref) or not isinstance(value, str):
            continue
        loc = obj.at(key)
        if field.type.target == "node":
            report.node(value, loc, f"{key}:")
        elif field.type.target == "service":
            report.service(value, loc)
        else:
            owner = obj.params.get(field.type.of) if field.type.of not in (None, "from") else node_name
            node = report.scenario.nodes.get(owner) if isinstance(owner, str) else None
            if node is not None:
                report.interface(node, value, loc, key)


def _check_unused_params(report: Report, used: set[str]) -> None:
    conditional: list[m.Fault | m.Check] = [*report.scenario.faults, *report.scenario.checks]
    named = {name for obj in conditional for name in obj.when}
    for name, param in report.scenario.params.items():
        if name not in used and name not in named:
            report.error(
                param.loc,
                f"params.{name}: the parameter is never used",
                f"write ${{{name}}} in a value, or name it in a fault's or check's when:",
            )


def _check_conditions(report: Report) -> None:
    scenario = report.scenario
    groups: list[tuple[str, Iterable[m.Fault | m.Check | m.SolutionStep]]] = [
        ("faults", scenario.faults),
        ("checks", scenario.checks),
        ("solution", scenario.solution),
    ]
    for section, objs in groups:
        for i, obj in enumerate(objs):
            for name, values in obj.when.items():
                _check_condition(report, obj, f"{section}[{i}].when.{name}", name, values)


def _check_condition(
    report: Report, obj: m.Fault | m.Check | m.SolutionStep, path: str, name: str, values: tuple[Any, ...]
) -> None:
    loc = obj.at(f"when.{name}")
    if name not in report.scenario.params:
        hint = did_you_mean(name, tuple(report.scenario.params)) or "declare it under params:"
        report.error(loc, f"{path}: unknown parameter {name!r}, so this can never match", hint)
        return
    allowed = report.param_values(name)
    for value in values:
        if value in allowed:
            continue
        if str(value) in (str(a) for a in allowed):
            hint = f"{value!r} is text here but the parameter's values are not; match their quoting"
        else:
            hint = "its values: " + ", ".join(repr(v) for v in allowed)
        report.error(loc, f"{path}: parameter {name!r} never takes the value {value!r}", hint)


def _check_solution(report: Report) -> None:
    for i, step in enumerate(report.scenario.solution):
        report.node(step.node, step.at("node"), f"solution[{i}].node:")
