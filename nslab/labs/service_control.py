"""Services of a running lab, one at a time: list, start, stop, restart, logs.

What `nslab service` calls, and what fault code may call to kill a service on purpose.
Every (re)start appends a "proc" entry to the lab's journal, so `nslab status` shows the
newest process and `nslab down` stops every process the lab ever started.
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
from nslab.kernel import procs
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
    """One start/stop of a given service at a time (two terminals, one learner)."""
    directory = os.path.join(state.lab_dir(lab), "services")
    statefiles.make_dirs(directory)
    fd = os.open(os.path.join(directory, f"{name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def start(lab: str, name: str) -> ServiceState:
    scenario = scenario_of(lab)
    service = _effective(lab, scenario, find(scenario, name))  # the learner's edits count
    with _locked(lab, name):
        entry = _latest(lab, name)
        if entry is not None and _alive(entry):
            raise LabStateError(
                f"service {name} is already running (pid {entry['pid']})",
                f"'nslab service restart {name}' stops it and starts it again",
            )
        _spawn(lab, scenario, service)
    return _describe(lab, service)


def _spawn(lab: str, scenario: m.Scenario, service: m.Service) -> None:
    directory = state.lab_dir(lab)
    netns_of = {e.get("node", ""): e["name"] for e in journal.read(directory).netns}
    if service.node not in netns_of:
        raise LabStateError(f"node {service.node} of service {service.name} is not part of the running lab")
    log = Journal(directory)
    try:
        with statefiles.owner_only_umask():  # the supervisor's logs and configs are private
            supervisor.prepare_tls(lab, scenario, netns_of, log, directory)
            item = supervisor.spawn(lab, netns_of[service.node], service, directory, scenario)
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


def session_members(sid: int) -> list[tuple[int, int]]:
    """(pid, start time) of every process in session `sid`: a service and all it started."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        rest = data[data.rindex(b")") + 2 :].split()
        if int(rest[3]) == sid:
            found.append((int(entry), int(rest[19])))
    return found


def stop(lab: str, name: str) -> ServiceState:
    """Stop the service's newest process and everything it started. Stopping a service that
    is not running is not an error: the result says nothing was stopped."""
    scenario = scenario_of(lab)
    service = find(scenario, name)
    with _locked(lab, name):
        entry = _latest(lab, name)
        stopped: list[procs.Stopped] = []
        if entry is not None and _alive(entry):
            members = [t for t in session_members(entry["pid"]) if t[0] != entry["pid"]]
            done, stuck = procs.stop([(entry["pid"], entry["start"])])
            stopped += done
            more, stuck_more = procs.stop(members, grace=0.5)
            stopped += more
            if stuck or stuck_more:
                raise KernelError(f"service {name}: process(es) {stuck + stuck_more} would not stop")
    result = _describe(lab, service)
    result.stopped = stopped
    return result


def restart(lab: str, name: str) -> ServiceState:
    scenario = scenario_of(lab)
    _effective(lab, scenario, find(scenario, name))  # a typo in the settings must not leave it down
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
