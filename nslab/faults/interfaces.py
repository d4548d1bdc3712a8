"""Faults on interfaces and the link layer: down, netmask, MTU, duplicate IP, static ARP."""

from __future__ import annotations

import ipaddress

from nslab.faults.edit import link_of, owner_of, peer_of, update_iface, update_node
from nslab.scenario import model as m
from nslab.scenario.loader import replace


def interface_down(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    return update_iface(scenario, fault.params["node"], fault.params["iface"], up=False)


def chosen_address(iface: m.Interface, address: m.IPAddress | None) -> m.IPInterface:
    """The address a fault changes: the one named, else the interface's first."""
    if address is None:
        return iface.addresses[0]
    return next(a for a in iface.addresses if a.ip == address)


def wrong_netmask(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    p = fault.params
    iface = scenario.nodes[p["node"]].interfaces[p["iface"]]
    target = chosen_address(iface, p["address"])
    wrong = ipaddress.ip_interface(f"{target.ip}/{p['prefixlen']}")
    addresses = tuple(wrong if a == target else a for a in iface.addresses)
    return update_iface(scenario, p["node"], p["iface"], addresses=addresses)


def mtu_mismatch(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """One interface, or both ends of its link, get an MTU the rest of the path does not share."""
    node, iface, mtu = fault.params["node"], fault.params["iface"], fault.params["mtu"]
    link = link_of(scenario, node, iface)
    scenario = update_iface(scenario, node, iface, mtu=mtu)
    if fault.params["scope"] != "link" or link is None:
        return scenario
    # The link's MTU reaches a switch port (named by nslab, so never declared); a declared
    # peer with an MTU of its own would ignore the link's, so it is set as well.
    scenario = replace(
        scenario, links=tuple(replace(lk, mtu=mtu) if lk is link else lk for lk in scenario.links)
    )
    peer = peer_of(link, node, iface)
    if peer.iface in scenario.nodes[peer.node].interfaces:
        scenario = update_iface(scenario, peer.node, peer.iface, mtu=mtu)
    return scenario


def duplicate_ip(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """The interface takes another host's address (with that host's prefix length) in place
    of its own first address of the same IP version."""
    node, name = fault.params["node"], fault.params["iface"]
    original = owner_of(scenario, fault.params["address"], (node, name))
    assert original is not None  # the semantic hook insists on it
    iface = scenario.nodes[node].interfaces[name]
    same_version = [a for a in iface.addresses if a.version == original.version]
    if same_version:
        addresses = tuple(original if a == same_version[0] else a for a in iface.addresses)
    else:
        addresses = (*iface.addresses, original)
    return update_iface(scenario, node, name, addresses=addresses)


def wrong_static_arp(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """A permanent neighbour entry maps a neighbour's IP to a MAC nobody has."""
    node = scenario.nodes[fault.params["node"]]
    ip, dev = fault.params["ip"], fault.params["iface"]
    entry = m.Neighbor(ip=ip, mac=fault.params["mac"], dev=dev, loc=fault.loc)
    kept = tuple(n for n in node.neighbors if not (n.ip == ip and n.dev == dev))
    return update_node(scenario, node.name, neighbors=(*kept, entry))
