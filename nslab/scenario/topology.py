"""The scenario as a picture: L2 segments and who sits on them, as text, Mermaid or DOT."""

from __future__ import annotations

from dataclasses import dataclass, field

from nslab.scenario import model as m
from nslab.scenario.semantic import broadcast_domains


@dataclass
class Member:
    node: str
    iface: str
    addresses: tuple[str, ...]


@dataclass
class Segment:
    label: str
    switches: list[str] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    subnets: list[str] = field(default_factory=list)


def segments(scenario: m.Scenario) -> list[Segment]:
    """One segment per broadcast domain that holds at least one addressed or routed interface."""
    domains = broadcast_domains(scenario)
    groups: dict[tuple[str, str], Segment] = {}
    for link in scenario.links:
        for end in (link.a, link.b):
            node = scenario.nodes[end.node]
            key = (end.node, end.iface) if end.iface else (end.node, m.SWITCH_BRIDGE)
            root = domains.get(key, key)
            seg = groups.setdefault(root, Segment(""))
            if node.kind == "switch":
                if end.node not in seg.switches:
                    seg.switches.append(end.node)
                continue
            iface = node.interfaces.get(end.iface)
            addrs = tuple(str(a) for a in iface.addresses) if iface else ()
            seg.members.append(Member(end.node, end.iface, addrs))
            for a in iface.addresses if iface else ():
                if str(a.network) not in seg.subnets:
                    seg.subnets.append(str(a.network))
    out = []
    for seg in groups.values():
        if seg.switches:
            seg.label = "switch " + ", ".join(seg.switches)
        else:
            seg.label = "cable " + " <-> ".join(f"{x.node}:{x.iface}" for x in seg.members)
        out.append(seg)
    return out


def ascii_drawing(scenario: m.Scenario) -> str:
    lines: list[str] = []
    roles = {name: node.kind for name, node in scenario.nodes.items()}
    for seg in segments(scenario):
        subnet = f"   [{', '.join(seg.subnets)}]" if seg.subnets else ""
        lines.append(f"({seg.label}){subnet}")
        for i, member in enumerate(seg.members):
            branch = "└──" if i == len(seg.members) - 1 else "├──"
            addr = " ".join(member.addresses) or "(no address)"
            lines.append(f"  {branch} {member.node} [{roles[member.node]}] {member.iface} {addr}")
        lines.append("")
    overlays = [
        (node.name, iface)
        for node in scenario.nodes.values()
        for iface in node.interfaces.values()
        if iface.vxlan
    ]
    for name, iface in overlays:
        assert iface.vxlan is not None
        addr = " ".join(str(a) for a in iface.addresses)
        lines.append(f"(vxlan {iface.vxlan.vni}) {name}:{iface.name} -> {iface.vxlan.remote} {addr}".rstrip())
    routers = [n for n in scenario.nodes.values() if n.kind == "router"]
    if routers:
        lines.append("routers: " + ", ".join(r.name for r in routers))
    return "\n".join(lines).rstrip() + "\n"


def _id(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def mermaid(scenario: m.Scenario) -> str:
    shapes = {"host": ('["', '"]'), "router": ('(("', '"))'), "switch": ('[/"', '"/]')}
    lines = ["graph LR"]
    for node in scenario.nodes.values():
        left, right = shapes[node.kind]
        lines.append(f"  {_id(node.name)}{left}{node.name}{right}")
    for link in scenario.links:
        label = _edge_label(scenario, link)
        lines.append(
            f"  {_id(link.a.node)} ---|{label}| {_id(link.b.node)}"
            if label
            else f"  {_id(link.a.node)} --- {_id(link.b.node)}"
        )
    return "\n".join(lines) + "\n"


def dot(scenario: m.Scenario) -> str:
    shapes = {"host": "box", "router": "ellipse", "switch": "hexagon"}
    lines = [f'graph "{scenario.name}" {{', "  rankdir=LR;"]
    for node in scenario.nodes.values():
        lines.append(f'  "{node.name}" [shape={shapes[node.kind]}];')
    for link in scenario.links:
        label = _edge_label(scenario, link)
        lines.append(f'  "{link.a.node}" -- "{link.b.node}" [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edge_label(scenario: m.Scenario, link: m.Link) -> str:
    parts = []
    for end in (link.a, link.b):
        iface = scenario.nodes[end.node].interfaces.get(end.iface)
        if iface and iface.addresses:
            parts.append(f"{end.iface} {iface.addresses[0]}")
        elif end.iface:
            parts.append(end.iface)
    return " / ".join(parts)
