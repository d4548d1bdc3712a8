"""Turn a healthy scenario into a broken one by applying its active faults in order."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from nslab import model as m
from nslab.faults.kinds import FAULTS
from nslab.loader import replace


def apply_faults(scenario: m.Scenario) -> m.Scenario:
    """Each fault kind names a function (scenario, params) -> scenario."""
    for fault in scenario.active_faults():
        transform: Callable[[m.Scenario, dict[str, Any]], m.Scenario] = FAULTS.get(fault.kind).load()
        scenario = transform(scenario, dict(fault.params))
    return scenario


def _update_node(scenario: m.Scenario, name: str, **changes: Any) -> m.Scenario:
    nodes = dict(scenario.nodes)
    nodes[name] = replace(nodes[name], **changes)
    return replace(scenario, nodes=nodes)


def _update_iface(scenario: m.Scenario, node: str, iface: str, **changes: Any) -> m.Scenario:
    interfaces = dict(scenario.nodes[node].interfaces)
    interfaces[iface] = replace(interfaces[iface], **changes)
    return _update_node(scenario, node, interfaces=interfaces)


def _route_target(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network("0.0.0.0/0" if text == "default" else text)


def interface_down(scenario: m.Scenario, params: dict[str, Any]) -> m.Scenario:
    return _update_iface(scenario, params["node"], params["iface"], up=False)


def missing_route(scenario: m.Scenario, params: dict[str, Any]) -> m.Scenario:
    target = _route_target(params["to"])
    node = scenario.nodes[params["node"]]
    return _update_node(scenario, node.name, routes=tuple(r for r in node.routes if r.to != target))


def wrong_gateway(scenario: m.Scenario, params: dict[str, Any]) -> m.Scenario:
    target = _route_target(params["to"])
    node = scenario.nodes[params["node"]]
    routes = tuple(replace(r, via=params["via"]) if r.to == target else r for r in node.routes)
    return _update_node(scenario, node.name, routes=routes)


def forwarding_off(scenario: m.Scenario, params: dict[str, Any]) -> m.Scenario:
    node = scenario.nodes[params["node"]]
    return _update_node(scenario, node.name, sysctls={**node.sysctls, "net.ipv4.ip_forward": "0"})


def wrong_netmask(scenario: m.Scenario, params: dict[str, Any]) -> m.Scenario:
    iface = scenario.nodes[params["node"]].interfaces[params["iface"]]
    addresses = tuple(ipaddress.ip_interface(f"{a.ip}/{params['prefixlen']}") for a in iface.addresses)
    return _update_iface(scenario, params["node"], params["iface"], addresses=addresses)


def drop_icmp(scenario: m.Scenario, params: dict[str, Any]) -> m.Scenario:
    node = scenario.nodes[params["node"]]
    icmp = "" if params["icmp_type"] == "any" else f" --icmp-type {params['icmp_type']}"
    rule = f"-I {params['chain']} -p icmp{icmp} -j DROP"
    fw = node.firewall or m.Firewall()
    # Appended (so the scenario's own lines keep their positions for error messages);
    # -I still puts the rule first in the chain.
    text = fw.filter + ("\n" if fw.filter and not fw.filter.endswith("\n") else "") + rule + "\n"
    return _update_node(scenario, node.name, firewall=replace(fw, filter=text))
