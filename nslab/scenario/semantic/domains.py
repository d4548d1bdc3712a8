"""Layer-2 broadcast domains: which interfaces share a segment, VXLAN overlays included."""

from __future__ import annotations

from collections.abc import Iterable

from nslab.scenario import model as m

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


def overlay_domains(scenario: m.Scenario) -> dict[Pair, Pair]:
    """Like broadcast_domains, with each pair of VXLAN ends that point at each other joined."""
    pairs = _l2_pairs(scenario)
    for node, iface, peer in vxlan_ends(scenario):
        if peer is not None:
            pairs.append(((node.name, iface.name), peer))
    return _union_find(pairs)


def vxlan_ends(scenario: m.Scenario) -> list[tuple[m.Node, m.Interface, Pair | None]]:
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
