"""Start a lab's services as supervised processes inside their nodes' namespaces.

Each service is `python -m nslab.services.run CONFIG` started from a thread that has
entered the node's namespace (a child inherits its parent thread's namespace). It writes
one line to an inherited pipe once it is listening ("ready") or failed ("error: ..."), so
`nslab up` returns only when every service answers. pid + start time go to the journal;
output goes to logs/<service>.log in the lab's state directory.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from nslab import model as m
from nslab.errors import KernelError
from nslab.journal import Journal
from nslab.kernel import libc, netns, procs
from nslab.plan import BuildPlan

READY_TIMEOUT = 15.0


@dataclass
class Started:
    service: m.Service
    pid: int
    ready_fd: int
    log: str


def config_for(lab: str, service: m.Service, directory: str) -> dict[str, Any]:
    return {
        "lab": lab,
        "name": service.name,
        "kind": service.kind,
        "node": service.node,
        "params": _jsonable(dict(service.params)),
        "state_dir": directory,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def spawn(lab: str, netns_name: str, service: m.Service, directory: str) -> Started:
    """Start one service process inside netns_name (from a thread that enters it)."""
    services_dir = os.path.join(directory, "services")
    os.makedirs(services_dir, exist_ok=True)
    config_path = os.path.join(services_dir, f"{service.name}.json")
    with open(config_path, "w") as handle:
        json.dump(config_for(lab, service, directory), handle)
    log_path = os.path.join(directory, "logs", f"{service.name}.log")
    ready_r, ready_w = os.pipe()
    result: list[subprocess.Popen[bytes]] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            fd = netns.open_fd(netns_name)
            try:
                libc.setns_net(fd)
            finally:
                os.close(fd)
            with open(log_path, "ab") as log:
                result.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "nslab.services.run", config_path],
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        pass_fds=(ready_w,),
                        env={**os.environ, "NSLAB_READY_FD": str(ready_w), "PYTHONUNBUFFERED": "1"},
                        start_new_session=True,  # a Ctrl-C in the learner's terminal must not kill it
                        close_fds=True,
                    )
                )
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=body, name=f"spawn:{service.name}", daemon=True)
    thread.start()
    thread.join()
    os.close(ready_w)
    if error:
        os.close(ready_r)
        raise KernelError(f"service {service.name}: could not start: {error[0]}")
    return Started(service, result[0].pid, ready_r, log_path)


def wait_ready(started: list[Started], cancel: threading.Event, timeout: float = READY_TIMEOUT) -> None:
    """Wait until every service reported ready; raise with its log on the first failure."""
    pending = {s.ready_fd: s for s in started}
    buffers: dict[int, bytes] = {fd: b"" for fd in pending}
    deadline = time.monotonic() + timeout
    try:
        while pending:
            if cancel.is_set():
                raise KeyboardInterrupt
            left = deadline - time.monotonic()
            if left <= 0:
                names = ", ".join(s.service.name for s in pending.values())
                raise KernelError(
                    f"services did not become ready within {timeout:.0f} s: {names}",
                    "see the logs with 'nslab service logs NAME'",
                )
            readable, _, _ = select.select(list(pending), [], [], min(left, 0.1))
            for fd in readable:
                chunk = os.read(fd, 4096)
                buffers[fd] += chunk
                if b"\n" in buffers[fd] or not chunk:
                    svc = pending.pop(fd)
                    line = buffers[fd].decode(errors="replace").strip()
                    if line != "ready":
                        raise KernelError(
                            f"service {svc.service.name} on {svc.service.node} failed to start: "
                            f"{line or 'exited without a word'}",
                            f"its log: {svc.log}" + _tail(svc.log),
                        )
    finally:
        for s in started:
            os.close(s.ready_fd)


def _tail(path: str, lines: int = 5) -> str:
    try:
        with open(path, errors="replace") as handle:
            text = handle.read().strip().splitlines()[-lines:]
    except OSError:
        return ""
    return ("\n      " + "\n      ".join(text)) if text else ""


def record(journal: Journal, started: Started) -> None:
    start = procs.start_time(started.pid)
    journal.record(
        "proc", pid=started.pid, start=start, service=started.service.name, node=started.service.node
    )


def start_services(
    lab: str,
    scenario: m.Scenario,
    bplan: BuildPlan,
    journal: Journal,
    directory: str,
    cancel: threading.Event,
) -> None:
    """Start every service of the scenario in parallel and wait for all of them."""
    started: list[Started] = []
    try:
        for service in (s for s in scenario.services if s.autostart):
            item = spawn(lab, bplan.node(service.node).netns, service, directory)
            record(journal, item)
            started.append(item)
    except BaseException:
        for item in started:
            os.close(item.ready_fd)
        raise
    wait_ready(started, cancel)
