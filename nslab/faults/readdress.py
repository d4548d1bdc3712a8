"""wrong-address: an interface carries another address than the one it should (a wrong host
part, a wrong subnet, or both), in place of one of its own.

When the new address leaves a gateway off-link, the node loses the routes through that
gateway, as a live kernel does when an address changes under its routes (and as it would
refuse to add them to a fresh build): a learner sees the wrong address AND the missing
default route, which is what a mistyped address on a real box looks like.
"""

from __future__ import annotations

import ipaddress

from nslab.faults.edit import update_iface, update_node
from nslab.faults.interfaces import chosen_address
from nslab.scenario import model as m
from nslab.scenario.semantic import Report


def gateway_on_link(node: m.Node, route: m.Route) -> bool:
    """Would the kernel take this route on this node's addresses? (src must be local too.)"""
    if route.src is not None and not any(a.ip == route.src for _, a in node.addresses()):
        return False
    if route.via is None or (route.via.version == 6 and route.via.is_link_local):
        return True
    return any(
        route.via in a.network and route.via != a.ip
        for name, a in node.addresses()
        if route.dev in (None, name)
    )


def drop_off_link_routes(scenario: m.Scenario, node_name: str) -> m.Scenario:
    """Routes whose gateway (or source) the node's addresses no longer reach go, as in the kernel.

    Routes declared `onlink` are the exception: the kernel takes those without a subnet."""
    node = scenario.nodes[node_name]
    kept = tuple(r for r in node.routes if r.onlink or gateway_on_link(node, r))
    return scenario if kept == node.routes else update_node(scenario, node_name, routes=kept)


def wrong_address(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    p = fault.params
    iface = scenario.nodes[p["node"]].interfaces[p["iface"]]
    target = chosen_address(iface, p["address"])
    new = ipaddress.ip_interface(str(p["to"]))
    addresses = tuple(new if a == target else a for a in iface.addresses)
    scenario = update_iface(scenario, p["node"], p["iface"], addresses=addresses)
    return drop_off_link_routes(scenario, p["node"])


def check_wrong_address(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    from nslab.faults.validate import iface_of, node_of

    p = fault.params
    node = node_of(report, fault)
    iface = node and iface_of(report, node, fault)
    if not (node and iface):
        return
    if not iface.addresses:
        report.error(fault.at("iface"), f"{node.name}:{iface.name} has no address to replace")
        return
    target = next((a for a in iface.addresses if p["address"] in (None, a.ip)), None)
    if target is None:
        known = ", ".join(str(a.ip) for a in iface.addresses)
        report.error(
            fault.at("address"),
            f"{p['address']} is not an address of {node.name}:{iface.name}",
            f"its addresses: {known}",
        )
        return
    new: m.IPInterface = p["to"]
    if new.version != target.version:
        report.error(
            fault.at("to"),
            f"{new} is IPv{new.version} but it replaces the IPv{target.version} address {target}",
            "replace an address with one of the same IP version",
        )
        return
    if new == target:
        report.error(fault.at("to"), f"{node.name}:{iface.name} already has {new}: nothing would change")
        return
    if new in iface.addresses:
        report.error(fault.at("to"), f"{new} is already another address of {node.name}:{iface.name}")
        return
