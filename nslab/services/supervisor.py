"""Start a lab's services as supervised processes inside their nodes' namespaces.

Each service is `python -m nslab.services.run CONFIG` started from a thread that has
entered the node's namespace (a child inherits its parent thread's namespace). It writes
one line to an inherited pipe once it is listening ("ready") or failed ("error: ..."), so
`nslab up` returns only when every service answers. pid + start time go to the journal;
output goes to logs/<service>.log in the lab's state directory.

Each service process is init (pid 1) of its own PID namespace. That is the supervision:
when it dies, for any reason (stop, kill -9, a crash), the kernel kills everything it
started, including children that left its session with setsid, so no daemon outlives its
service. (cgroups would do the same, but here there is no systemd to delegate a cgroup v2
subtree and the hierarchy may be v1-only or read-only; a PID namespace needs nothing but
CAP_SYS_ADMIN, which nslab has.) Where the kernel refuses one, the service runs as before,
in its own session, and stop falls back to its session and descendants.

All services are spawned first and awaited together: they start in parallel, so N services
add roughly the sum of their start-up CPU time divided by the cores, not N start-ups in a
row (docs/services.md has measured figures).
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nslab.engine import etcfiles
from nslab.engine.journal import Journal
from nslab.engine.plan import BuildPlan
from nslab.errors import KernelError
from nslab.kernel import libc, netns, procs
from nslab.scenario import model as m
from nslab.services import editable

READY_TIMEOUT = 15.0
logger = logging.getLogger(__name__)


@dataclass
class Started:
    service: m.Service
    pid: int
    ready_fd: int
    log: str
    pidns: int | None = None  # inode of its own PID namespace, None without one


def log_path(directory: str, name: str) -> str:
    return os.path.join(directory, "logs", f"{name}.log")


def config_for(
    lab: str, service: m.Service, directory: str, netns_name: str, scenario: m.Scenario | None
) -> dict[str, Any]:
    """Everything the service process needs, as JSON: it never reads the scenario itself."""
    from nslab.services.kinds import SERVICES

    node = scenario.nodes.get(service.node) if scenario is not None else None
    config: dict[str, Any] = {
        "lab": lab,
        "name": service.name,
        "kind": service.kind,
        "impl": SERVICES.get(service.kind).impl,  # run.py imports this alone, not the registry
        "node": service.node,
        "netns": netns_name,
        "addresses": [str(a.ip) for _, a in node.addresses()] if node is not None else [],
        "params": editable.jsonable(dict(service.params)),
        "state_dir": directory,
    }
    if service.kind == "resolver" and scenario is not None:
        # unbound answers some special-use names itself (test., 10.in-addr.arpa. ...);
        # the zones this lab serves must reach the lab's servers instead.
        config["lab_zones"] = sorted(
            {str(z) for s in scenario.services if s.kind == "dns" for z in (s.params.get("zones") or {})}
        )
    return config


def _python() -> tuple[list[str], dict[str, str]]:
    """The interpreter command for a service process, and its environment.

    `-S` skips site initialisation (a third of an interpreter start here: .pth files, the
    editable-install finder); the parent's import path, with nslab's own location first,
    stands in for it, so the child finds exactly the modules the parent would.
    """
    import nslab

    home = os.path.dirname(os.path.dirname(os.path.abspath(nslab.__file__)))
    paths = [home] + [p for p in sys.path if p and os.path.isdir(p) and p != home]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONSTARTUP", None)
    return [sys.executable, "-S", "-m", "nslab.services.run"], env


def spawn(
    lab: str, netns_name: str, service: m.Service, directory: str, scenario: m.Scenario | None = None
) -> Started:
    """Start one service process inside netns_name (from a thread that enters it)."""
    services_dir = os.path.join(directory, "services")
    os.makedirs(services_dir, exist_ok=True)
    config_path = os.path.join(services_dir, f"{service.name}.json")
    with open(config_path, "w") as handle:
        json.dump(config_for(lab, service, directory, netns_name, scenario), handle)
    log = log_path(directory, service.name)
    ready_r, ready_w = os.pipe()
    result: list[subprocess.Popen[bytes]] = []
    error: list[BaseException] = []
    argv, env = _python()
    env["NSLAB_READY_FD"] = str(ready_w)
    # What `nslab shell` sets too; an instructor's command (and anything it starts) can read it.
    env.update(NSLAB_LAB=lab, NSLAB_NODE=service.node, NSLAB_SERVICE=service.name)

    # The service lives in the node's own view, as a learner's shell does: the same /etc
    # overlay and UTS namespace. It keeps its lab state directory (config, logs, settings) and
    # /run/netns (`ip netns exec` in an exec service) at their own paths.
    view = etcfiles.ensure_node_view(lab, netns_name, service.node)
    keep = (directory, netns.NETNS_DIR)

    code = etcfiles.code_paths()

    def enter_node() -> None:  # in the forked child, single-threaded: it may unshare mounts
        etcfiles.enter_prepared(view, netns_name, keep, code)

    def body() -> None:
        try:
            fd = netns.open_fd(netns_name)
            try:
                libc.setns_net(fd)
            finally:
                os.close(fd)
            _own_pid_namespace(service.name)
            with open(log, "ab") as out:
                result.append(
                    subprocess.Popen(
                        [*argv, config_path],
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        pass_fds=(ready_w,),
                        env=env,
                        cwd="/",  # never hold the learner's working directory busy
                        start_new_session=True,  # a Ctrl-C in the learner's terminal must not kill it
                        close_fds=True,
                        preexec_fn=enter_node,
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
    pid = result[0].pid
    pidns = procs.pidns_inode(pid)
    return Started(service, pid, ready_r, log, pidns if pidns != procs.pidns_inode("self") else None)


def _own_pid_namespace(name: str) -> None:
    """This (spawning) thread's next child becomes init of a new PID namespace.
    NSLAB_SERVICE_PIDNS=0 skips it: the path a kernel without PID namespaces takes, for
    tests of that path and for a host where the namespace gets in the way."""
    if os.environ.get("NSLAB_SERVICE_PIDNS") == "0":
        return
    try:
        libc.unshare_pid_for_children()
    except OSError as exc:
        logger.warning("service %s: no PID namespace (%s); supervising its session instead", name, exc)


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
                            f"{line.removeprefix('error: ') or 'it exited without a word'}",
                            "the end of its log:" + _tail(svc.log),
                        )
    finally:
        for s in started:
            os.close(s.ready_fd)


def _tail(path: str, lines: int = 5) -> str:
    try:
        with open(path, errors="replace") as handle:
            text = handle.read().strip().splitlines()[-lines:]
    except OSError:
        return " (no log)"
    return ("\n      " + "\n      ".join(text)) if text else " (empty)"


def record(journal: Journal, started: Started) -> None:
    start = procs.start_time(started.pid)
    extra = {"pidns": started.pidns} if started.pidns is not None else {}
    journal.record(
        "proc", pid=started.pid, start=start, service=started.service.name, node=started.service.node, **extra
    )


def prepare_tls(
    lab: str, scenario: m.Scenario, netns_of: Mapping[str, str], journal: Journal, directory: str
) -> None:
    """With an https service in the lab: make the lab CA and have every node trust it."""
    if not any(s.kind == "https" for s in scenario.services):
        return
    from nslab.services import ca

    cert = ca.ensure_ca(directory, lab)
    with open(cert) as handle:
        pem = handle.read()
    for node, ns in netns_of.items():
        if node in scenario.nodes:
            etcfiles.add_ca_trust(journal, lab, ns, pem)


def start_services(
    lab: str,
    scenario: m.Scenario,
    bplan: BuildPlan,
    journal: Journal,
    directory: str,
    cancel: threading.Event,
) -> None:
    """Start every autostart service of the scenario in parallel and wait for all of them."""
    prepare_tls(lab, scenario, {p.name: p.netns for p in bplan.nodes}, journal, directory)
    for service in scenario.services:  # also the stopped ones: a learner may fix, then start them
        editable.write_initial(lab, directory, service)
    started: list[Started] = []
    try:
        for service in (s for s in scenario.services if s.autostart):
            item = spawn(lab, bplan.node(service.node).netns, service, directory, scenario)
            record(journal, item)
            started.append(item)
    except BaseException:
        for item in started:
            os.close(item.ready_fd)
        raise
    wait_ready(started, cancel)
