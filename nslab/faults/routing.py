"""Faults in routing: missing routes, a wrong gateway, forwarding off, strict reverse-path filtering."""

from __future__ import annotations

from nslab.faults.edit import drop_routes, iface_sysctl, route_target, set_sysctls, update_node
from nslab.scenario import model as m
from nslab.scenario.loader import replace


def missing_route(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """Every route of the node to that exact network goes (whatever its gateway or metric)."""
    target = route_target(fault.params["to"])
    return drop_routes(scenario, fault.params["node"], lambda r: r.to != target)


def missing_return_route(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """The same edit as missing-route, made on the far end: requests arrive, replies cannot leave."""
    return missing_route(scenario, fault)


def missing_default_route(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    target = route_target("default", fault.params["version"])
    return drop_routes(scenario, fault.params["node"], lambda r: r.to != target)


def wrong_gateway(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    target = route_target(fault.params["to"])
    node = scenario.nodes[fault.params["node"]]
    routes = tuple(replace(r, via=fault.params["via"]) if r.to == target else r for r in node.routes)
    return update_node(scenario, node.name, routes=routes)


def forwarding_off(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    node = scenario.nodes[fault.params["node"]]
    values = {"net.ipv4.ip_forward": "0"}
    if any(a.version == 6 for _, a in node.addresses()):
        values["net.ipv6.conf.all.forwarding"] = "0"
    return set_sysctls(scenario, node.name, values)


def rp_filter_strict(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """rp_filter=1 on `all` and on the interface (or every interface of the node).

    The kernel applies the larger of conf/all and conf/IFACE, so setting `all` alone would
    leave an interface that the scenario set to loose (2) loose: both are set."""
    node = scenario.nodes[fault.params["node"]]
    names = [fault.params["iface"]] if fault.params["iface"] else list(node.interfaces)
    values = {"net.ipv4.conf.all.rp_filter": "1"}
    values.update({iface_sysctl("ipv4", name, "rp_filter"): "1" for name in names})
    return set_sysctls(scenario, node.name, values)
