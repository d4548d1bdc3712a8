"""Watch a running `nslab up` from outside, stop it at a chosen point of its build, kill it.

No sleeping and hoping: the watcher polls what a build leaves on the system (its state
directory and journal, /etc/netns entries, named namespaces under /run/netns, which lab
namespace the build's worker thread is in, child processes such as iptables-restore and
services, and their listening sockets). When a kill point's condition holds it freezes the
build and its children with SIGSTOP, records exactly what exists at that instant, then
delivers the real signal (SIGKILL, or SIGTERM to test the rollback).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability import harness as h


@dataclass
class Child:
    pid: int
    start: int
    comm: str
    service: bool
    node: int | None = None


@dataclass
class Progress:
    """What a build has visibly done so far."""

    total: int
    alive: bool = True
    state_dir: bool = False
    meta: bool = False
    ops: dict[str, int] = field(default_factory=dict)
    etc: int = 0
    named: int = 0
    worker_node: int | None = None
    threads: int = 0
    children: dict[int, Child] = field(default_factory=dict)
    live: set[int] = field(default_factory=set)
    listening: int = 0

    def op(self, name: str) -> int:
        return self.ops.get(name, 0)

    @property
    def done(self) -> bool:
        return self.op("done") > 0

    @property
    def all_named(self) -> bool:
        return self.named >= self.total

    def _kids(self, service: bool) -> list[Child]:
        return [c for c in self.children.values() if c.service == service]

    @property
    def restores_seen(self) -> int:
        return len(self._kids(False))

    @property
    def restores_running(self) -> int:
        return sum(1 for c in self._kids(False) if c.pid in self.live)

    @property
    def restores_done(self) -> int:
        return self.restores_seen - self.restores_running

    @property
    def services_seen(self) -> int:
        return len(self._kids(True))

    def phase(self) -> str:
        if not self.state_dir:
            return "starting"
        if not self.op("lab"):
            return "claimed"
        if not self.op("netns"):
            return "files"
        if not self.all_named:
            return "namespaces"
        if self.done:
            return "finishing"
        if self.services_seen:
            return "services"
        if self.restores_seen:
            return "firewall"
        return "configure"


Predicate = Callable[[Progress], bool]


class Watcher:
    def __init__(self, scenario: Path, lab: str, extra: tuple[str, ...] = ()) -> None:
        self.lab = lab
        self.nodes = h.node_order(scenario)
        self.state = os.path.join(h.STATE_ROOT, lab)
        self.journal = os.path.join(self.state, "journal.jsonl")
        self.progress = Progress(total=len(self.nodes))
        self.inode_node: dict[int, int] = {}
        self.tracked = h.Tracked()
        self._journal_size = -1
        self._skip: set[int] = set()
        self.proc = h.spawn("up", str(scenario), "--prefix", lab, *extra)
        self.tracked.add_pid(self.proc.pid)
        self.family: list[int] = []
        self.output = ("", "")

    # -- cheap observation, many times a millisecond --

    def poll(self) -> Progress:
        p = self.progress
        p.alive = self.proc.poll() is None
        if not p.state_dir:
            p.state_dir = os.path.isdir(self.state)
            if not p.state_dir:
                return p
        self._read_journal()
        try:
            p.threads = len(os.listdir(f"/proc/{self.proc.pid}/task"))
        except OSError:
            p.threads = 0
        if not p.meta:
            p.meta = os.path.exists(os.path.join(self.state, "meta.json"))
        if p.op("etc") > p.etc:
            p.etc = len(h.lab_etc(self.lab))
        if p.op("netns") and (p.named < p.total or len(self.inode_node) < p.total):
            names = h.lab_netns(self.lab)
            p.named = len(names)
            for name in names:
                inode = h.nsfs_inode(name)
                node = name[len(self.lab) + 1 :]
                if inode is not None and node in self.nodes:
                    self.inode_node[inode] = self.nodes.index(node)
                    self.tracked.inodes.add(inode)
        if p.named:
            p.worker_node = self._worker_node()
        if p.all_named:
            self._scan_children()
        return p

    def _read_journal(self) -> None:
        try:
            size = os.stat(self.journal).st_size
        except OSError:
            return
        if size == self._journal_size:
            return
        self._journal_size = size
        with open(self.journal, "rb") as handle:
            lines = handle.read().split(b"\n")[:-1]  # a torn last line has no newline yet
        ops: dict[str, int] = {}
        for line in lines:
            try:
                op = json.loads(line)["op"]
            except (ValueError, KeyError, TypeError):
                op = "corrupt"
            ops[op] = ops.get(op, 0) + 1
        self.progress.ops = ops

    def _worker_node(self) -> int | None:
        try:
            tids = os.listdir(f"/proc/{self.proc.pid}/task")
        except OSError:
            return None
        for tid in tids:
            node = self.inode_node.get(h.ns_of(self.proc.pid, tid) or -1)
            if node is not None:
                return node
        return None

    def _scan_children(self) -> None:
        p = self.progress
        family = {self.proc.pid, *p.children}
        for pid in h.pids():
            if pid in p.children or pid in self._skip:  # (pids wrap: no ordering assumed)
                continue
            fields = h._stat_fields(pid)
            if fields is None:
                continue
            if int(fields[1]) not in family:
                self._skip.add(pid)
                continue
            child = Child(pid, int(fields[19]), h.comm(pid), "nslab.services.run" in h.cmdline(pid))
            child.node = self.inode_node.get(h.ns_of(pid) or -1)
            p.children[pid] = child
            self.tracked.procs.add((pid, child.start))
        p.live = {pid for pid, c in p.children.items() if h.is_alive(pid, c.start)}
        for pid in p.live:  # first seen between fork and exec, a child still shows our command line
            child = p.children[pid]
            if not child.service and "nslab.services.run" in h.cmdline(pid):
                child.service = True
        if any(c.service for c in p.children.values()):
            p.listening = sum(1 for pid in p.live if p.children[pid].service and _listens(pid))

    def wait_for(self, predicate: Predicate, timeout: float = 60.0) -> bool:
        """Poll until predicate holds while `up` still runs (True), or `up` ends first (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = self.poll()
            if not p.alive:
                return False
            if p.state_dir and predicate(p):
                return True
            if not p.state_dir:
                time.sleep(0.001)  # still importing: no need to spin yet
        return False

    # -- freezing and killing --

    def freeze(self) -> None:
        """SIGSTOP the build and all its descendants, and wait until every thread is stopped."""
        _stop(self.proc.pid)
        self.family = h.descendants(self.proc.pid)
        for pid in self.family:
            _stop(pid)
            self.tracked.add_pid(pid)

    def frozen_alive(self) -> bool:
        fields = h._stat_fields(self.proc.pid)
        return bool(fields) and fields[0] not in (b"Z", b"X")

    def snapshot(self, rules_in: list[str]) -> dict[str, Any]:
        """Exactly what exists while the build is frozen."""
        p = self.poll()
        names = h.lab_netns(self.lab)
        unmounted = [n for n in names if h.nsfs_inode(n) is None]
        etc = {}
        for entry in h.lab_etc(self.lab):
            try:
                with open(os.path.join(h.ETC_NETNS, entry, ".nslab-owner")) as handle:
                    etc[entry] = "owner" if handle.read().startswith("nslab:") else "empty-owner-file"
            except FileNotFoundError:
                etc[entry] = "no-owner-file"
        kids = [
            {
                "pid": pid,
                "comm": h.comm(pid),
                "service": p.children[pid].service if pid in p.children else False,
                "node": self._node_name(h.ns_of(pid)),
            }
            for pid in self.family
        ]
        rules: dict[str, int] = {}
        if p.all_named and (p.restores_seen or p.done):
            for node in rules_in:
                ns = f"{self.lab}-{node}"
                if h.nsfs_inode(ns) is not None:
                    saved = h.ns_run(ns, "iptables-save").stdout
                    rules[node] = sum(line.startswith("-A ") for line in saved.splitlines())
        return {
            "phase": p.phase(),
            "journal": dict(sorted(p.ops.items())),
            "state_files": sorted(os.listdir(self.state)) if os.path.isdir(self.state) else [],
            "etc_netns": len(etc),
            "etc_incomplete": sorted(k for k, v in etc.items() if v != "owner"),
            "named": len(names),
            "unmounted": unmounted,
            "worker_in": self._node_name_index(p.worker_node),
            "children": kids,
            "rules": rules,
            "services_listening": p.listening,
        }

    def _node_name(self, inode: int | None) -> str | None:
        return self._node_name_index(self.inode_node.get(inode or -1))

    def _node_name_index(self, index: int | None) -> str | None:
        return self.nodes[index] if index is not None else None

    def deliver(self, sig: int, timeout: float = 60.0) -> int:
        """Send the real signal, let the children go on, and collect the exit status."""
        os.kill(self.proc.pid, sig)
        if sig != signal.SIGKILL:
            os.kill(self.proc.pid, signal.SIGCONT)
        for pid in self.family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.output = self.proc.communicate(timeout=timeout)
        return self.proc.returncode

    def abandon(self) -> None:
        """Let an unfrozen build finish (it ended before the kill point)."""
        self.output = self.proc.communicate(timeout=120)


def _stop(pid: int, timeout: float = 5.0) -> None:
    try:
        os.kill(pid, signal.SIGSTOP)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return
        states = []
        for tid in tids:
            fields = h._stat_fields(f"{pid}/task/{tid}")
            states.append(fields[0] if fields else b"X")
        if all(s in (b"T", b"t", b"Z", b"X") for s in states):
            return
        time.sleep(0.0005)
    raise AssertionError(f"process {pid} did not stop")


def _listens(pid: int) -> bool:
    """Whether the process owns a listening TCP socket (in its own namespace)."""
    try:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        for table in ("tcp", "tcp6"):
            with open(f"/proc/{pid}/net/{table}") as handle:
                for line in handle.readlines()[1:]:
                    parts = line.split()
                    if parts[3] == "0A" and parts[9] in inodes:
                        return True
    except OSError:
        return False
    return False


def force_clean(lab: str, tracked: h.Tracked) -> list[str]:
    """Remove whatever a failed kill point left, so that one failure does not cascade.
    Touches only this lab's names and processes this test started. Returns what it did."""
    done = []
    for pid, started in tracked.procs:
        if h.is_alive(pid, started):
            os.kill(pid, signal.SIGKILL)
            done.append(f"killed {pid}")
    ran = h.nslab("cleanup", "--prefix", lab)
    done.append(f"cleanup exit {ran.code}")
    for name in h.lab_netns(lab):
        path = os.path.join(h.NETNS_DIR, name)
        subprocess.run(["umount", "-l", path], capture_output=True, check=False)
        try:
            os.unlink(path)
            done.append(f"removed {path}")
        except OSError:
            pass
    for name in h.lab_etc(lab):
        subprocess.run(["rm", "-rf", os.path.join(h.ETC_NETNS, name)], check=False)
        done.append(f"removed /etc/netns/{name}")
    if h.has_state(lab):
        subprocess.run(["rm", "-rf", os.path.join(h.STATE_ROOT, lab)], check=False)
        done.append("removed the state directory")
    return done
