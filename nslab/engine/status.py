"""What is running: labs, their namespaces and services, checked against the live system."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from nslab.engine import journal, state
from nslab.engine.naming import parse_marker
from nslab.engine.teardown import read_markers
from nslab.kernel import iptables, netns, procs
from nslab.scenario import firewall


@dataclass
class NodeStatus:
    name: str
    netns: str
    present: bool
    owned: bool


@dataclass
class ServiceStatus:
    name: str
    node: str
    pid: int
    alive: bool


@dataclass
class LabStatus:
    lab: str
    scenario: str
    healthy_build: bool
    complete: bool
    age_seconds: float
    seed: str | None
    params: dict[str, Any]
    nodes: list[NodeStatus] = field(default_factory=list)
    services: list[ServiceStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def lab_status(lab: str) -> LabStatus:
    meta = state.read_meta(lab)
    entries = journal.read(state.lab_dir(lab))
    if meta is None:
        status = LabStatus(lab, "?", False, False, 0.0, None, {})
        status.problems.append(
            "state files are missing or corrupt; 'nslab down' or 'nslab cleanup' removes the lab"
        )
        return status
    status = LabStatus(
        lab, meta.scenario, meta.healthy, meta.complete, time.time() - meta.created, meta.seed, meta.params
    )
    if not meta.complete:
        status.problems.append("the build did not finish (interrupted?); run 'nslab down' and build it again")
    names = [e["name"] for e in entries.netns]
    present = [n for n in names if netns.exists(n)]
    markers = read_markers(present)
    for entry in entries.netns:
        name = entry["name"]
        owner = parse_marker(markers.get(name) or "")
        node = NodeStatus(
            entry.get("node", "?"), name, name in present, owner is not None and owner[0] == lab
        )
        status.nodes.append(node)
        if not node.present:
            status.problems.append(f"node {node.name}: namespace {name} is gone (deleted by hand?)")
        elif not node.owned:
            status.problems.append(f"node {node.name}: namespace {name} is not this lab's")
    for rules in entries.rules:
        name = rules["netns"]
        if name in present and not firewall.has_rules(iptables.save(name)):
            status.problems.append(
                f"node {rules.get('node', '?')}: every firewall rule nslab loaded is gone (flushed?);"
                " 'nslab reset' rebuilds the lab"
            )
    latest = {p.get("service", f"pid{p['pid']}"): p for p in entries.procs}  # a restart appends
    for proc in latest.values():
        alive = "start" in proc and procs.is_running(proc["pid"], proc["start"])
        svc = ServiceStatus(proc.get("service", "?"), proc.get("node", "?"), proc["pid"], alive)
        status.services.append(svc)
        if not alive:
            status.problems.append(f"service {svc.name} on {svc.node} is not running (pid {svc.pid})")
    return status


def orphans(known: list[str]) -> list[LabStatus]:
    """Labs whose namespaces (found by marker) outlived their state directory."""
    by_lab: dict[str, list[str]] = {}
    for name, alias in read_markers(netns.list_names()).items():
        owner = parse_marker(alias or "")
        if owner is not None and owner[0] not in known and name == f"{owner[0]}-{owner[1]}":
            by_lab.setdefault(owner[0], []).append(name)
    out = []
    for lab, names in sorted(by_lab.items()):
        status = LabStatus(lab, "?", False, False, 0.0, None, {})
        status.nodes = [NodeStatus(n[len(lab) + 1 :], n, True, True) for n in sorted(names)]
        status.problems.append(
            f"{len(names)} namespace(s) of lab {lab} remain but its state is gone (deleted by hand,"
            f" or a build killed early); 'nslab down {lab}' or 'nslab cleanup --prefix {lab}' removes them"
        )
        out.append(status)
    return out


def all_labs() -> list[LabStatus]:
    known = state.labs()
    return [lab_status(lab) for lab in known] + orphans(known)
