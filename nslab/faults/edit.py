"""Small, pure edits of a frozen Scenario that the fault transformations share.

Every helper returns a new Scenario and leaves its argument untouched, so the healthy
scenario stays available (the same file builds healthy or broken). Source locations are
kept on every object that survives, so later error messages still point into the file.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from nslab.scenario import model as m
from nslab.scenario.loader import replace

# A fault transformation: (scenario so far, the fault with its fields in .params) -> new scenario.
Transform = Callable[[m.Scenario, m.Fault], m.Scenario]


def as_ip(value: Any) -> m.IPAddress:
    """An address field's value; defaults declared in a KindSpec stay strings (JSON Schema)."""
    return ipaddress.ip_address(str(value))


def update_node(scenario: m.Scenario, name: str, **changes: Any) -> m.Scenario:
    nodes = dict(scenario.nodes)
    nodes[name] = replace(nodes[name], **changes)
    return replace(scenario, nodes=nodes)


def update_iface(scenario: m.Scenario, node: str, iface: str, **changes: Any) -> m.Scenario:
    interfaces = dict(scenario.nodes[node].interfaces)
    interfaces[iface] = replace(interfaces[iface], **changes)
    return update_node(scenario, node, interfaces=interfaces)


def update_service(scenario: m.Scenario, name: str, **changes: Any) -> m.Scenario:
    services = tuple(replace(s, **changes) if s.name == name else s for s in scenario.services)
    return replace(scenario, services=services)


def service_params(scenario: m.Scenario, name: str, **params: Any) -> m.Scenario:
    """Set some of a service's kind-specific parameters (bind, zones...)."""
    service = next(s for s in scenario.services if s.name == name)
    return update_service(scenario, name, params={**service.params, **params})


def route_target(text: str, version: int = 4) -> m.IPNetwork:
    """The network a route fault names: a CIDR, or 'default' (of the given IP version)."""
    if text == "default":
        return ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")
    return ipaddress.ip_network(text)


def routes_to(node: m.Node, target: m.IPNetwork) -> list[m.Route]:
    return [r for r in node.routes if r.to == target]


def drop_routes(scenario: m.Scenario, node: str, keep: Callable[[m.Route], bool]) -> m.Scenario:
    routes = tuple(r for r in scenario.nodes[node].routes if keep(r))
    return update_node(scenario, node, routes=routes)


def set_sysctls(scenario: m.Scenario, node: str, values: Mapping[str, str]) -> m.Scenario:
    return update_node(scenario, node, sysctls={**scenario.nodes[node].sysctls, **values})


def iface_sysctl(family: str, iface: str, key: str) -> str:
    """net.ipv4.conf.IFACE.KEY in sysctl notation, where '/' stands for a '.' inside a name."""
    return f"net.{family}.conf.{iface.replace('.', '/')}.{key}"


def effective_mtu(scenario: m.Scenario, node: str, iface: str) -> int:
    """The MTU an interface gets when built: its own, else its link's, else the kernel's 1500."""
    declared = scenario.nodes[node].interfaces.get(iface)
    if declared is not None and declared.mtu is not None:
        return declared.mtu
    link = link_of(scenario, node, iface)
    if link is not None and link.mtu is not None:
        return link.mtu
    return 1500


def link_of(scenario: m.Scenario, node: str, iface: str) -> m.Link | None:
    for link in scenario.links:
        if (link.a.node, link.a.iface) == (node, iface) or (link.b.node, link.b.iface) == (node, iface):
            return link
    return None


def peer_of(link: m.Link, node: str, iface: str) -> m.Endpoint:
    return link.b if (link.a.node, link.a.iface) == (node, iface) else link.a


def owner_of(scenario: m.Scenario, address: m.IPAddress, besides: tuple[str, str]) -> m.IPInterface | None:
    """The address (with its prefix) as another interface than `besides` holds it."""
    for node in scenario.nodes.values():
        for iface in node.interfaces.values():
            for a in iface.addresses:
                if a.ip == address and (node.name, iface.name) != besides:
                    return a
    return None
