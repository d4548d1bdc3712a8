"""Services of a running lab, one at a time: list, start, stop, restart, logs.

What `nslab service` calls, and what fault code may call to kill a service on purpose.
Every (re)start appends a "proc" entry to the lab's journal, so `nslab status` shows the
newest process and `nslab down` stops every process the lab ever started.

A service process is init of its own PID namespace (see services/supervisor.py), so
stopping it ends all it started, setsid or not. Before a start, whatever already holds the
service's port in its node is looked at: a leftover of an earlier run of this service is
stopped (and said so), anything else is refused (exit 5) with the way out, so a start
never passes off someone else's socket as its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nslab.engine import journal, state, statefiles
from nslab.engine.journal import Journal
from nslab.errors import KernelError, LabStateError, ScenarioError, UsageError
from nslab.kernel import netns, procs, sockets
from nslab.scenario import model as m
from nslab.services import refs, supervisor


@dataclass
class ServiceState:
    name: str
    kind: str
    node: str
    autostart: bool
    listens: list[str]
    pid: int | None
    alive: bool
    log: str
    stopped: list[procs.Stopped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what start had to do first, in words

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "node": self.node,
            "autostart": self.autostart,
            "listens": self.listens,
            "pid": self.pid,
            "alive": self.alive,
            "log": self.log,
        }


def scenario_of(lab: str) -> m.Scenario:
    from nslab.labs.lifecycle import load_running

    return load_running(lab)[1]


def _latest(lab: str, name: str) -> dict[str, Any] | None:
    entries = journal.read(state.lab_dir(lab)).procs
    return next((p for p in reversed(entries) if p.get("service") == name), None)


def _alive(entry: dict[str, Any] | None) -> bool:
    """The journaled process still runs: same pid, same start time, and not a zombie (a dead
    child that its parent has not collected yet still has both)."""
    if entry is None or "start" not in entry or not procs.is_same(entry["pid"], entry["start"]):
        return False
    try:
        with open(f"/proc/{entry['pid']}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    return data[data.rindex(b")") + 2 : data.rindex(b")") + 3] not in (b"Z", b"X")


def _describe(lab: str, service: m.Service) -> ServiceState:
    entry = _latest(lab, service.name)
    listens = [f"{bind}:{port}/{proto}" for proto, port, bind in refs.listens(service)]
    if service.kind == "exec" and service.params.get("port"):
        listens = [f"port {service.params['port']}"]  # whatever the command opens there
    return ServiceState(
        service.name,
        service.kind,
        service.node,
        service.autostart,
        listens,
        entry["pid"] if entry else None,
        _alive(entry),
        supervisor.log_path(state.lab_dir(lab), service.name),
    )


def _effective(lab: str, scenario: m.Scenario, service: m.Service) -> m.Service:
    from nslab.services import editable

    return editable.effective(state.lab_dir(lab), scenario, service)


def listing(lab: str) -> list[ServiceState]:
    """Every service as its settings file says; the scenario's version where that file is
    broken (start and restart report the mistake)."""
    scenario = scenario_of(lab)
    out = []
    for declared in scenario.services:
        service = declared
        with contextlib.suppress(ScenarioError):
            service = _effective(lab, scenario, declared)
        out.append(_describe(lab, service))
    return out


def find(scenario: m.Scenario, name: str) -> m.Service:
    from nslab.scenario.schema import did_you_mean

    known = {s.name: s for s in scenario.services}
    if name not in known:
        names = sorted(known)
        hint = did_you_mean(name, names) or (
            "its services: " + ", ".join(names) if names else "this lab declares no services"
        )
        raise UsageError(f"lab has no service {name!r}", hint)
    return known[name]


@contextlib.contextmanager
def _locked(lab: str, name: str) -> Iterator[None]:
    """One start/stop of a given service at a time (two terminals, one learner), under the
    lab's lock (no teardown or rebuild of the lab meanwhile)."""
    with state.lab_lock(lab, f"nslab service {name}"), _service_lock(lab, name):
        yield


@contextlib.contextmanager
def _service_lock(lab: str, name: str) -> Iterator[None]:
    directory = os.path.join(state.lab_dir(lab), "services")
    statefiles.make_dirs(directory)
    fd = os.open(os.path.join(directory, f"{name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def node_netns(lab: str, node: str) -> str:
    """The namespace of a node of the running lab; exit 3 if it is no longer the one the
    lab built (deleted by hand, or a new one under the same name)."""
    entries = journal.read(state.lab_dir(lab))
    netns_of = {e.get("node", ""): e["name"] for e in entries.netns}
    if node not in netns_of:
        raise LabStateError(f"node {node} is not part of the running lab {lab}")
    name = str(netns_of[node])
    try:
        inode: int | None = netns.inode_of(name)
    except OSError:
        inode = None
    expected = entries.inodes.get(name)
    if inode is None or netns.is_placeholder(name) or (expected is not None and inode != expected):
        raise LabStateError(
            f"node {node} of lab {lab} is gone; nslab down {lab} and up again",
            f"its network namespace {name} was deleted outside nslab; nothing was stopped or started",
        )
    return name


def start(lab: str, name: str) -> ServiceState:
    scenario = scenario_of(lab)
    service = _effective(lab, scenario, find(scenario, name))  # the learner's edits count
    with _locked(lab, name):
        ns = node_netns(lab, service.node)
        entry = _latest(lab, name)
        if entry is not None and _alive(entry):
            raise LabStateError(
                f"service {name} is already running (pid {entry['pid']})",
                f"'nslab service restart {name}' stops it and starts it again",
            )
        notes = _clear_port(lab, service, ns)
        _spawn(lab, scenario, service, ns)
    result = _describe(lab, service)
    result.notes = notes
    return result


def _wanted(service: m.Service) -> list[tuple[str, int, str]]:
    """(proto, port, bind) the service is going to listen on."""
    if service.kind == "exec":
        port = service.params.get("port")
        return [(p, int(port), "::") for p in ("tcp", "udp")] if port else []
    return refs.listens(service)


def _sockets_in(ns: str) -> list[sockets.Socket]:
    """Listening sockets of a named namespace, read from a thread that entered it."""
    out: list[list[sockets.Socket]] = []

    def body() -> None:
        fd = netns.open_fd(ns)
        try:
            from nslab.kernel import libc

            libc.setns_net(fd)
        finally:
            os.close(fd)
        out.append(sockets.listening("thread-self"))

    thread = threading.Thread(target=body, name=f"sockets:{ns}", daemon=True)
    thread.start()
    thread.join()
    return out[0] if out else []


def _earlier_runs(lab: str, name: str) -> dict[int, int]:
    """{pid: start time} of what earlier runs of this service left behind. A run in its own
    PID namespace leaves nothing (its namespace dies with it); one without (a kernel that
    refused the namespace) may leave its session, and whatever those started with setsid."""
    left: dict[int, int] = {}
    for entry in journal.read(state.lab_dir(lab)).procs:
        if entry.get("service") != name or "start" not in entry or entry.get("pidns"):
            continue
        if procs.is_running(entry["pid"], entry["start"]):
            continue  # alive: that is "already running", not a leftover
        for pid, started in procs.session_members(entry["pid"], since=entry["start"]):
            left[pid] = started
            left.update(procs.descendants(pid))
    return left


def _clear_port(lab: str, service: m.Service, ns: str) -> list[str]:
    """Make sure nothing holds the service's ports in its node: stop leftovers of this
    service, refuse (exit 5) for anything else. Returns what was done, in words."""
    wanted = _wanted(service)
    if not wanted:
        return []
    clash = [s for s in _sockets_in(ns) if any(_collides(s, want) for want in wanted)]
    if not clash:
        return []
    held = sockets.holders(procs.in_namespaces({netns.inode_of(ns)}), clash)
    ours = _earlier_runs(lab, service.name)
    notes: list[str] = []
    foreign = {pid: socks for pid, socks in held.items() if pid not in ours}
    if foreign:
        pid, socks = sorted(foreign.items())[0]
        raise KernelError(
            f"service {service.name}: port {_ports(socks)} on node {service.node} is held by pid {pid} "
            f"({procs.command(pid)}), which this lab's service did not start",
            f"stop that process (kill {pid}) or give the service another port "
            f"('nslab service config {service.name}'), then 'nslab service start {service.name}'",
        )
    # The whole earlier run goes, not just the holder: its shell would start another.
    _, stuck = procs.stop(list(ours.items()), grace=0.5)
    if stuck:
        raise KernelError(f"service {service.name}: earlier run's process(es) {stuck} would not stop")
    for pid, socks in sorted(held.items()):
        notes.append(
            f"service {service.name}: a process left from an earlier run (pid {pid}) "
            f"still held port {_ports(socks)}; stopped it"
        )
    return notes


def _collides(sock: sockets.Socket, want: tuple[str, int, str]) -> bool:
    proto, port, bind = want
    return sock.proto == proto and sock.port == port and sockets.overlap(sock.address, bind)


def _ports(socks: list[sockets.Socket]) -> str:
    return ", ".join(sorted({f"{s.port}/{s.proto}" for s in socks}))


def _spawn(lab: str, scenario: m.Scenario, service: m.Service, ns: str) -> None:
    directory = state.lab_dir(lab)
    netns_of = {e.get("node", ""): e["name"] for e in journal.read(directory).netns}
    log = Journal(directory)
    try:
        with statefiles.owner_only_umask():  # the supervisor's logs and configs are private
            supervisor.prepare_tls(lab, scenario, netns_of, log, directory)
            item = supervisor.spawn(lab, ns, service, directory, scenario)
        supervisor.record(log, item)
    finally:
        log.close()
    try:
        supervisor.wait_ready([item], threading.Event())
    except KernelError:
        start_time = procs.start_time(item.pid)
        if start_time is not None:
            procs.stop([(item.pid, start_time)])
        raise


def _stop_entry(entry: dict[str, Any]) -> tuple[list[procs.Stopped], list[int]]:
    """Stop a journaled service process and everything it started: the process first (it
    stops its own children gracefully), then whatever of its tree is left."""
    pid, started = entry["pid"], entry["start"]
    members = procs.tree_of(pid, started, entry.get("pidns"))
    done, stuck = procs.stop([(pid, started)])
    more, stuck_more = procs.stop(members, grace=0.5)
    return done + more, stuck + stuck_more


def stop(lab: str, name: str) -> ServiceState:
    """Stop the service's newest process and everything it started. Stopping a service that
    is not running is not an error: the result says nothing was stopped."""
    scenario = scenario_of(lab)
    service = find(scenario, name)
    with _locked(lab, name):
        entry = _latest(lab, name)
        stopped: list[procs.Stopped] = []
        stuck: list[int] = []
        if entry is not None and _alive(entry):
            stopped, stuck = _stop_entry(entry)
        left = _earlier_runs(lab, name)
        if left:
            more, stuck_more = procs.stop(list(left.items()), grace=0.5)
            stopped += more
            stuck += stuck_more
        if stuck:
            raise KernelError(f"service {name}: process(es) {stuck} would not stop")
    result = _describe(lab, service)
    result.stopped = stopped
    return result


def restart(lab: str, name: str) -> ServiceState:
    scenario = scenario_of(lab)
    service = _effective(lab, scenario, find(scenario, name))  # a typo in the settings must not leave it down
    node_netns(lab, service.node)  # a node that is gone: say so, and stop nothing
    stopped = stop(lab, name).stopped
    result = start(lab, name)
    result.stopped = stopped
    return result


def log_tail(lab: str, name: str, lines: int) -> str:
    find(scenario_of(lab), name)
    path = supervisor.log_path(state.lab_dir(lab), name)
    try:
        with open(path, errors="replace") as handle:
            text = handle.read().splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(text[-lines:] if lines > 0 else text)
