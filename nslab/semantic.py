"""Cross-reference and network sanity checks on a structurally valid scenario.

Structure (types, keys) is checked by nslab.spec; this module checks meaning: that names
refer to things that exist, that gateways are reachable, that no broadcast domain holds
one address twice. Like the structural pass, it collects every problem before stopping.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from nslab import model as m
from nslab.errors import Diagnostic, Loc
from nslab.schema import did_you_mean

MAX_NODES_PER_LAB = 2000


class Report:
    """Collects diagnostics and offers the lookups that kind hooks need."""

    def __init__(self, scenario: m.Scenario, broken: set[str] | None = None) -> None:
        self.scenario = scenario
        self.diagnostics: list[Diagnostic] = []
        # Entries that failed structural validation: references to them are not errors again.
        self.broken = broken or set()
        self.partial = bool(broken)

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

    def interface(self, node: m.Node, iface: str, loc: Loc) -> m.Interface | None:
        found = node.interfaces.get(iface)
        if found is None:
            names = tuple(node.interfaces)
            hint = did_you_mean(iface, names) or (
                "its interfaces: " + ", ".join(names) if names else "it declares no interfaces"
            )
            self.error(loc, f"node {node.name!r} has no interface {iface!r}", hint)
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


def check(scenario: m.Scenario, broken: set[str] | None = None) -> list[Diagnostic]:
    report = Report(scenario, broken)
    if len(scenario.nodes) > MAX_NODES_PER_LAB:
        report.error(
            scenario.at("nodes"), f"{len(scenario.nodes)} nodes; at most {MAX_NODES_PER_LAB} per lab"
        )
    _check_links(report)
    for node in scenario.nodes.values():
        _check_node(report, node)
    _check_broadcast_domains(report)
    _check_kinds(report)
    _check_conditions(report)
    _check_solution(report)
    return report.diagnostics


def _check_links(report: Report) -> None:
    used: dict[tuple[str, str], Loc] = {}
    for link in report.scenario.links:
        ends = []
        for end in (link.a, link.b):
            node = report.node(end.node, end.loc, "link endpoint")
            if node is None:
                continue
            if node.kind == "switch":
                if end.iface and end.iface in node.interfaces and node.interfaces[end.iface].kind != "veth":
                    report.error(end.loc, f"{end} is a {node.interfaces[end.iface].kind}, not a port")
            elif not end.iface:
                report.error(
                    end.loc,
                    f"link endpoint {end.node!r} names no interface",
                    f"write {end.node}:IFACE with one of: {', '.join(node.interfaces) or '(none declared)'}",
                )
                continue
            else:
                iface = report.interface(node, end.iface, end.loc)
                if iface is not None and iface.kind != "veth":
                    report.error(end.loc, f"{end} is a {iface.kind} interface; links join veth interfaces")
            ends.append(end)
            if end.iface:
                key = (end.node, end.iface)
                if key in used:
                    report.error(
                        end.loc,
                        f"{end} is already linked at line {used[key].line}",
                        "a veth interface has exactly one peer; use a switch to join more",
                    )
                used[key] = end.loc
        if len(ends) == 2 and ends[0].node == ends[1].node:
            report.error(link.loc, f"link joins node {ends[0].node!r} to itself")


def linked_interfaces(scenario: m.Scenario) -> set[tuple[str, str]]:
    return {(e.node, e.iface) for link in scenario.links for e in (link.a, link.b)}


def _check_node(report: Report, node: m.Node) -> None:
    linked = linked_interfaces(report.scenario)
    names = tuple(node.interfaces)
    for iface in node.interfaces.values():
        if iface.kind == "veth" and (node.name, iface.name) not in linked and not report.partial:
            report.error(
                iface.loc,
                f"interface {node.name}:{iface.name} is not connected by any link",
                f"add a link such as [{node.name}:{iface.name}, OTHER:eth0], or make it kind: bridge",
            )
        if iface.kind == "vxlan" and iface.vxlan is None:
            report.error(
                iface.loc, f"interface {node.name}:{iface.name} is kind vxlan but has no 'vxlan:' settings"
            )
        if iface.kind != "vxlan" and iface.vxlan is not None:
            report.error(
                iface.at("vxlan"), f"'vxlan:' settings on {node.name}:{iface.name}, which is {iface.kind}"
            )
        if iface.vxlan is not None:
            _check_vxlan(report, node, iface, iface.vxlan)
        if iface.master is not None:
            master = node.interfaces.get(iface.master)
            if master is None or master.kind != "bridge":
                bridges = [i.name for i in node.interfaces.values() if i.kind == "bridge"]
                hint = did_you_mean(iface.master, bridges) or (
                    "bridges here: " + ", ".join(bridges) if bridges else "declare one with kind: bridge"
                )
                report.error(
                    iface.at("master"), f"master {iface.master!r} is not a bridge of {node.name!r}", hint
                )
            elif iface.master == iface.name:
                report.error(iface.at("master"), f"{iface.name} cannot be its own master")
        if node.kind == "switch" and iface.addresses:
            report.error(
                iface.at("addresses"),
                f"switch {node.name!r} ports carry no addresses",
                "make the node kind: router or host to give it addresses",
            )
    subnets = [(name, a.network) for name, a in node.addresses()]
    for route in node.routes:
        _check_route(report, node, route, subnets, names)
    for neighbor in node.neighbors:
        report.interface(node, neighbor.dev, neighbor.at("dev"))
    _check_firewall(report, node)


def _check_vxlan(report: Report, node: m.Node, iface: m.Interface, vx: m.Vxlan) -> None:
    own = {a.ip for _, a in node.addresses()}
    if vx.local is not None and vx.local not in own:
        report.error(vx.at("local"), f"vxlan local {vx.local} is not an address of {node.name!r}")
    if vx.dev is not None:
        report.interface(node, vx.dev, vx.at("dev"))
    if vx.remote in own:
        report.error(vx.at("remote"), f"vxlan remote {vx.remote} is an address of {node.name!r} itself")


def _check_route(
    report: Report,
    node: m.Node,
    route: m.Route,
    subnets: list[tuple[str, m.IPNetwork]],
    names: tuple[str, ...],
) -> None:
    if route.dev is not None:
        report.interface(node, route.dev, route.at("dev"))
    if route.type != "unicast":
        if route.via is not None or route.dev is not None:
            report.error(route.loc, f"a {route.type} route takes neither 'via' nor 'dev'")
        return
    if route.via is None and route.dev is None:
        report.error(route.loc, f"route to {route.to} needs 'via' (a gateway) or 'dev'", "e.g. via: 10.0.1.1")
        return
    if route.via is not None:
        if route.via.version != route.to.version:
            report.error(
                route.at("via"), f"gateway {route.via} and destination {route.to} differ in IP version"
            )
            return
        on_link = [name for name, net in subnets if route.via in net and (route.dev in (None, name))]
        if not on_link:
            attached = ", ".join(f"{net} ({name})" for name, net in subnets) or "none"
            report.error(
                route.at("via"),
                f"gateway {route.via} of {node.name!r} is outside every attached subnet",
                f"a gateway must be on-link; attached subnets: {attached}",
            )
        if any(route.via == a.ip for _, a in node.addresses()):
            report.error(route.at("via"), f"gateway {route.via} is an address of {node.name!r} itself")


def _check_firewall(report: Report, node: m.Node) -> None:
    from nslab.firewall import lint_table

    if node.firewall is None:
        return
    for table, text in node.firewall.tables().items():
        loc = node.firewall.at(table)
        for line_offset, message, hint in lint_table(table, text):
            report.error(Loc(loc.file, loc.line + line_offset, loc.col), message, hint)


Pair = tuple[str, str]


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


def broadcast_domains(scenario: m.Scenario) -> dict[tuple[str, str], tuple[str, str]]:
    """Map each (node, interface) to a representative of its L2 broadcast domain."""
    pairs: list[Any] = []
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
    return _union_find(pairs)


def _check_broadcast_domains(report: Report) -> None:
    domains = broadcast_domains(report.scenario)
    seen: dict[tuple[tuple[str, str], ipaddress.IPv4Address | ipaddress.IPv6Address], tuple[str, Loc]] = {}
    for node in report.scenario.nodes.values():
        for iface in node.interfaces.values():
            domain = domains.get((node.name, iface.name), (node.name, iface.name))
            for addr in iface.addresses:
                key = (domain, addr.ip)
                where = f"{node.name}:{iface.name}"
                if key in seen:
                    other, _ = seen[key]
                    report.error(
                        iface.at("addresses"),
                        f"address {addr.ip} on {where} is also on {other}, in the same broadcast domain",
                        "give each interface its own address (a duplicate IP is a fault, not a topology)",
                    )
                else:
                    seen[key] = (where, iface.at("addresses"))


def _check_kinds(report: Report) -> None:
    from nslab.checks.kinds import CHECKS
    from nslab.faults.kinds import FAULTS
    from nslab.services.kinds import SERVICES

    scenario = report.scenario
    names: dict[str, Loc] = {}
    for service in scenario.services:
        report.node(service.node, service.at("node"), "service node")
        if service.name in names:
            report.error(service.at("name"), f"service name {service.name!r} is used twice")
        names[service.name] = service.loc
        _run_hook(SERVICES.get(service.kind).semantic, report, service)
    check_names: dict[str, Loc] = {}
    for chk in scenario.checks:
        report.node(chk.node, chk.at("node"), "check 'from'")
        if chk.name in check_names:
            report.error(
                chk.at("name"),
                f"check name {chk.name!r} is used twice (first at line {check_names[chk.name].line})",
            )
        check_names[chk.name] = chk.loc
        _run_hook(CHECKS.get(chk.kind).semantic, report, chk)
    for fault in scenario.faults:
        _run_hook(FAULTS.get(fault.kind).semantic, report, fault)


def _run_hook(hook: Any, report: Report, obj: Any) -> None:
    if hook is not None:
        hook(report.scenario, obj, report)


def _check_conditions(report: Report) -> None:
    scenario = report.scenario
    conditional: list[m.Fault | m.Check] = [*scenario.faults, *scenario.checks]
    for obj in conditional:
        for name, values in obj.when.items():
            if name not in scenario.params:
                hint = did_you_mean(name, tuple(scenario.params)) or "declare it under params:"
                report.error(obj.at("when"), f"'when' names unknown parameter {name!r}", hint)
                continue
            allowed = report.param_values(name)
            for value in values:
                if value not in allowed:
                    report.error(
                        obj.at("when"),
                        f"parameter {name!r} never takes the value {value!r}",
                        "its values: " + ", ".join(repr(v) for v in allowed),
                    )


def _check_solution(report: Report) -> None:
    for step in report.scenario.solution:
        report.node(step.node, step.at("node"), "solution step node")
