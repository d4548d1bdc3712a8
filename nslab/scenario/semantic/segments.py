"""Whole segments: no address twice in a broadcast domain, prefixes that agree, VXLAN ends that
find each other."""

from __future__ import annotations

from nslab.errors import Loc
from nslab.scenario import model as m
from nslab.scenario.semantic.domains import Pair, vxlan_ends
from nslab.scenario.semantic.report import Report


def check_vxlan_peers(report: Report) -> None:
    seen: dict[tuple[str, int, int], str] = {}
    for node, iface, peer in vxlan_ends(report.scenario):
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


def check_segments(report: Report) -> None:
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
