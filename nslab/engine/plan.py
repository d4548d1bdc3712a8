"""Scenario -> build plan: namespaces, interface indexes, and the netlink messages per node.

Pure and deterministic (no root, no kernel): unit tests check it message by message.
We choose every interface index ourselves so that a node's whole configuration is known
before anything exists, and can go to the kernel in one batched write.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from nslab.engine.naming import marker, netns_name
from nslab.kernel import rtnl
from nslab.scenario import model as m

LO_INDEX = 1


@dataclass
class IfacePlan:
    name: str
    index: int
    kind: str  # veth | bridge | vxlan
    mtu: int | None = None
    mac: str | None = None
    up: bool = True
    master: str | None = None
    addresses: tuple[m.IPInterface, ...] = ()
    vxlan: m.Vxlan | None = None


@dataclass
class VethPlan:
    """A veth pair, created from `here`'s namespace with its peer placed in `there`'s."""

    here: str
    here_iface: IfacePlan
    there: str
    there_iface: IfacePlan


@dataclass
class NodePlan:
    node: m.Node
    netns: str
    marker: str
    ifaces: dict[str, IfacePlan] = field(default_factory=dict)
    veths: list[VethPlan] = field(default_factory=list)  # created when this namespace is
    sysctls: dict[str, str] = field(default_factory=dict)
    uses_ipv6: bool = False

    @property
    def name(self) -> str:
        return self.node.name


@dataclass
class BuildPlan:
    lab: str
    build: str
    nodes: list[NodePlan]

    def node(self, name: str) -> NodePlan:
        for plan in self.nodes:
            if plan.name == name:
                return plan
        raise KeyError(name)


def make(scenario: m.Scenario, lab: str, build: str, first_index: int = 2) -> BuildPlan:
    """first_index: the lowest free interface index in a new namespace (after lo and any
    fallback tunnel devices the host's loaded modules put in every namespace)."""
    plans: dict[str, NodePlan] = {}
    for node in scenario.nodes.values():
        plans[node.name] = NodePlan(node, netns_name(lab, node.name), marker(lab, node.name, build))
    next_index = {name: first_index for name in plans}

    def alloc(node: str) -> int:
        index = next_index[node]
        next_index[node] += 1
        return index

    for node in scenario.nodes.values():
        plan = plans[node.name]
        if node.kind == "switch":
            bridge = node.interfaces.get(m.SWITCH_BRIDGE)
            plan.ifaces[m.SWITCH_BRIDGE] = IfacePlan(
                m.SWITCH_BRIDGE, alloc(node.name), "bridge", mtu=bridge.mtu if bridge else None
            )
        for iface in node.interfaces.values():
            if iface.kind == "bridge" and iface.name not in plan.ifaces:
                plan.ifaces[iface.name] = _from_model(iface, alloc(node.name))

    port_counter = {name: 0 for name in plans}
    for link in scenario.links:
        ends: list[tuple[str, IfacePlan]] = []
        for end in (link.a, link.b):
            node = scenario.nodes[end.node]
            name = end.iface
            if not name:  # a switch port named by nslab
                port_counter[end.node] += 1
                name = f"p{port_counter[end.node]}"
                while name in node.interfaces:
                    port_counter[end.node] += 1
                    name = f"p{port_counter[end.node]}"
            declared = node.interfaces.get(name)
            index = alloc(end.node)
            if ends and ends[0][1].index == index:
                # The two ends of a veth must not share an index: the kernel's linkwatch then
                # deems their carrier change non-urgent and brings the link up (attaches its
                # qdisc) up to a second late, dropping the first packets after `up`.
                index = alloc(end.node)
            port = _from_model(declared, index) if declared else IfacePlan(name, index, "veth")
            if port.mtu is None:
                port.mtu = link.mtu
            if node.kind == "switch" and port.master is None:
                port.master = m.SWITCH_BRIDGE
            plans[end.node].ifaces[name] = port
            ends.append((end.node, port))
        (a_node, a_iface), (b_node, b_iface) = ends
        # Create each pair from the namespace made later, so that both ends have a home.
        order = list(scenario.nodes)
        if order.index(a_node) >= order.index(b_node):
            plans[a_node].veths.append(VethPlan(a_node, a_iface, b_node, b_iface))
        else:
            plans[b_node].veths.append(VethPlan(b_node, b_iface, a_node, a_iface))

    for node in scenario.nodes.values():
        plan = plans[node.name]
        for iface in node.interfaces.values():
            if iface.kind == "vxlan":
                plan.ifaces[iface.name] = _from_model(iface, alloc(node.name))
        plan.uses_ipv6 = any(a.version == 6 for _, a in node.addresses())
        # Every ICMP error shows: rate limiting would make probes and a learner's traceroute
        # see '* * *' depending on how recently the lab was last poked. Scenarios may override.
        plan.sysctls["net.ipv4.icmp_ratelimit"] = "0"
        if plan.uses_ipv6:
            plan.sysctls["net.ipv6.icmp.ratelimit"] = "0"
        if node.kind == "router":
            plan.sysctls["net.ipv4.ip_forward"] = "1"
            if plan.uses_ipv6:
                plan.sysctls["net.ipv6.conf.all.forwarding"] = "1"
        plan.sysctls.update(node.sysctls)
    return BuildPlan(lab, build, list(plans.values()))


def _from_model(iface: m.Interface, index: int) -> IfacePlan:
    return IfacePlan(
        iface.name,
        index,
        iface.kind,
        mtu=iface.mtu,
        mac=iface.mac,
        up=iface.up,
        master=iface.master,
        addresses=iface.addresses,
        vxlan=iface.vxlan,
    )


def lo_requests(plan: NodePlan) -> list[rtnl.Request]:
    """First messages in a new namespace: lo up, and the ownership marker as lo's alias."""
    return [rtnl.set_link(LO_INDEX, "lo", up=True, alias=plan.marker)]


def veth_request(veth: VethPlan, peer_ns_fd: int) -> rtnl.Request:
    here, there = veth.here_iface, veth.there_iface
    return rtnl.veth(
        here.name,
        here.index,
        there.name,
        there.index,
        peer_ns_fd,
        mtu=here.mtu,
        mac=here.mac,
        peer_mtu=there.mtu,
        peer_mac=there.mac,
    )


def config_requests(plan: NodePlan) -> list[rtnl.Request]:
    """Everything else a node needs, in an order the kernel accepts in one batch:
    bridges and vxlans exist, ports join bridges, addresses, links up, neighbours, routes,
    and last the links that the scenario wants down (their routes go with them, as on a real host)."""
    node = plan.node
    requests: list[rtnl.Request] = []
    ifaces = plan.ifaces
    for iface in ifaces.values():
        if iface.kind == "bridge":
            requests.append(rtnl.bridge(iface.name, iface.index, iface.mtu, iface.mac))
    for iface in ifaces.values():
        if iface.kind == "vxlan" and iface.vxlan is not None:
            vx = iface.vxlan
            dev = ifaces[vx.dev].index if vx.dev and vx.dev in ifaces else None
            requests.append(
                rtnl.vxlan(
                    iface.name, iface.index, vx.vni, vx.remote, vx.local, dev, vx.port, iface.mtu, iface.mac
                )
            )
    for iface in ifaces.values():
        if iface.master:
            requests.append(rtnl.set_link(iface.index, iface.name, master=ifaces[iface.master].index))
    for iface in ifaces.values():
        for address in iface.addresses:
            requests.append(rtnl.add_address(iface.index, iface.name, address))
    for iface in ifaces.values():
        requests.append(rtnl.set_link(iface.index, iface.name, up=True))
    for neighbor in node.neighbors:
        port = ifaces[neighbor.dev]
        requests.append(rtnl.add_neighbor(port.index, port.name, neighbor.ip, neighbor.mac))
    for route in node.routes:
        oif = ifaces[route.dev].index if route.dev else None
        requests.append(
            rtnl.add_route(
                route.to,
                route.via,
                oif,
                route.metric,
                route.type,
                route.src,
                onlink=route.onlink,
                mtu=route.mtu,
                advmss=route.advmss,
            )
        )
    for iface in ifaces.values():
        if not iface.up:
            requests.append(rtnl.set_link(iface.index, iface.name, up=False))
    return requests


def default_route_network(version: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")
