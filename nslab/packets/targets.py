"""Which interfaces to capture on: NODE[:IFACE] names resolved against a running lab.

Nodes come from the lab's journal (the namespaces it built); interfaces are listed live
inside each namespace, so an interface a learner added is found too. `lo` is skipped unless
named: it only carries the node's talk to itself.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass

from nslab.engine import state
from nslab.engine.journal import read
from nslab.errors import LabStateError, UsageError
from nslab.kernel import netns


@dataclass(frozen=True)
class Target:
    node: str
    netns: str
    iface: str

    @property
    def name(self) -> str:
        """The interface name a capture file shows (pcapng if_name): node:iface."""
        return f"{self.node}:{self.iface}"


def lab_nodes(lab: str) -> dict[str, str]:
    """Node -> namespace name, in build order."""
    return {str(e["node"]): str(e["name"]) for e in read(state.lab_dir(lab)).netns if e.get("node")}


def interfaces(ns: str) -> list[str]:
    """The namespace's interfaces by index, listed from a thread inside it (the main thread's
    /sys/class/net shows the root namespace: kernel-gotchas #9)."""
    if not netns.exists(ns):
        raise LabStateError(
            f"namespace {ns} is gone", "rebuild the lab with 'nslab reset' (or 'nslab down' and 'nslab up')"
        )
    return [name for _, name in sorted(netns.run_in(ns, socket.if_nameindex))]


def resolve(lab: str, specs: Sequence[str], everything: bool = False) -> list[Target]:
    """Targets for NODE[:IFACE] specs (NODE alone = its interfaces but lo), or every
    interface of every node. All unknown names are reported at once, with a did-you-mean."""
    nodes = lab_nodes(lab)
    if not nodes:
        raise LabStateError(f"lab {lab} has no nodes in its journal", "rebuild it with 'nslab reset'")
    listed: dict[str, list[str]] = {}

    def ifaces_of(node: str) -> list[str]:
        if node not in listed:
            listed[node] = interfaces(nodes[node])
        return listed[node]

    from nslab.scenario.schema import did_you_mean  # the error path only: it costs the YAML loader

    wanted: list[tuple[str, str]] = []
    problems: list[str] = []
    hints: list[str] = []
    if everything:
        wanted += [(node, i) for node in nodes for i in ifaces_of(node) if i != "lo"]
    for spec in specs:
        node, _, iface = spec.partition(":")
        if node not in nodes:
            problems.append(f"lab {lab} has no node {node!r}")
            hints.append(did_you_mean(node, list(nodes)) or "nodes: " + ", ".join(nodes))
            continue
        have = ifaces_of(node)
        if not iface:
            wanted += [(node, i) for i in have if i != "lo"]
        elif iface in have:
            wanted.append((node, iface))
        else:
            problems.append(f"node {node} has no interface {iface!r}")
            hints.append(did_you_mean(iface, have) or f"{node} has: " + ", ".join(have))
    if problems:
        raise UsageError("; ".join(problems), "; ".join(hints))
    if not wanted:
        raise UsageError(
            "nothing to capture on",
            "name NODE or NODE:IFACE (e.g. h1:eth0), or use --all for every interface",
        )
    unique = list(dict.fromkeys(wanted))
    return [Target(node, nodes[node], iface) for node, iface in unique]
