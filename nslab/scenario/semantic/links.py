"""Links: both ends exist, are used once, agree on the MTU; switch port names."""

from __future__ import annotations

import re

from nslab.errors import Loc
from nslab.scenario import model as m
from nslab.scenario.semantic.domains import Pair
from nslab.scenario.semantic.report import Report

SWITCH_PORT = re.compile(r"p[0-9]+")


def link_index(scenario: m.Scenario) -> dict[Pair, m.Link]:
    return {(e.node, e.iface): link for link in scenario.links for e in (link.a, link.b) if e.iface}


def linked_interfaces(scenario: m.Scenario) -> set[tuple[str, str]]:
    return {(e.node, e.iface) for link in scenario.links for e in (link.a, link.b)}


def check_links(report: Report) -> None:
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
