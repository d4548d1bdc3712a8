"""Services as supervised processes: status, restart, the CLI, teardown, and a failed start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from nslab.engine import state, status
from nslab.errors import KernelError
from nslab.kernel import netns, procs
from nslab.labs import lifecycle as lab
from nslab.labs import service_control as control

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
PAIR = str(SCENARIOS / "service-pair.yaml")


def services_of(prefix: str) -> dict[str, status.ServiceStatus]:
    return {s.name: s for s in status.lab_status(prefix).services}


def nslab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["python3", "-m", "nslab", *args], capture_output=True, text=True, timeout=60)


def test_status_shows_a_killed_service_dead_and_a_restart_alive(prefix: str) -> None:
    lab.up(PAIR, prefix=prefix, allow_exec=True)
    try:
        before = services_of(prefix)
        assert sorted(before) == ["children", "web"] and all(s.alive for s in before.values())
        os.kill(before["web"].pid, signal.SIGKILL)
        # This test process started the lab, so it is the service's parent and must collect
        # it (as init does for `nslab up` run from a shell) before it stops being a zombie.
        os.waitpid(before["web"].pid, 0)
        after = status.lab_status(prefix)
        assert not {s.name: s for s in after.services}["web"].alive
        assert f"service web on h2 is not running (pid {before['web'].pid})" in after.problems
        again = control.start(prefix, "web")
        now = status.lab_status(prefix)
        assert now.ok and {s.name: s.pid for s in now.services}["web"] == again.pid != before["web"].pid
    finally:
        lab.down_one(prefix)


def test_down_stops_every_service_and_what_it_started(prefix: str) -> None:
    lab.up(PAIR, prefix=prefix, allow_exec=True)
    try:
        inode = netns.inode_of(f"{prefix}-h2")
        # The exec service is ready once spawned; its shell starts the sleeps a moment later.
        deadline = time.monotonic() + 5
        while True:
            in_lab = [(pid, procs.start_time(pid)) for pid in procs.in_namespaces({inode})]
            commands = sorted(procs.command(pid) for pid, _ in in_lab)
            if commands == ["children", "httpd", "sh", "sleep", "sleep"] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert commands == ["children", "httpd", "sh", "sleep", "sleep"], commands
    finally:
        report = lab.down_one(prefix)
    assert sorted(p.command for p in report.processes) == ["children", "httpd"]
    assert report.strays == [] and not report.problems  # the children went with their service
    assert not [pid for pid, start in in_lab if start is not None and running(pid, start)]


def running(pid: int, start: int) -> bool:
    """Still the same process, and not a zombie waiting for init to collect it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    return procs.is_same(pid, start) and data[data.rindex(b")") + 2 : data.rindex(b")") + 3] != b"Z"


def test_a_service_that_cannot_bind_fails_up_with_its_log_and_leaves_nothing(prefix: str) -> None:
    with pytest.raises(KernelError) as err:
        lab.up(str(SCENARIOS / "service-bindfail.yaml"), prefix=prefix, allow_exec=True)
    assert err.value.message == (
        "service broken on a failed to start: "
        "cannot listen on [::1]:8080/tcp: Cannot assign requested address"
    )
    assert "broken: error: cannot listen on [::1]:8080/tcp" in (err.value.hint or "")
    assert not os.path.exists(state.lab_dir(prefix))
    assert not any(netns.exists(f"{prefix}-{node}") for node in ("a", "b"))


def _status_json(prefix: str) -> dict[str, Any]:
    done = nslab("status", prefix, "--json")
    return {s["name"]: s for s in json.loads(done.stdout)["labs"][0]["services"]}


def test_cli_service_commands(prefix: str) -> None:
    up = nslab("up", PAIR, "--prefix", prefix, "--allow-exec")
    assert up.returncode == 0, up.stderr
    try:
        listed = json.loads(nslab("service", "list", "--lab", prefix, "--json").stdout)["services"]
        rows = {r["name"]: r for r in listed}
        assert rows["web"]["alive"] and rows["web"]["listens"] == ["0.0.0.0:8080/tcp"]
        assert not rows["spare"]["alive"] and rows["spare"]["pid"] is None and not rows["spare"]["autostart"]

        start = nslab("service", "start", "spare", "--lab", prefix)
        assert start.returncode == 0 and "listening on 0.0.0.0:9999/tcp" in start.stdout, start.stderr
        twice = nslab("service", "start", "spare", "--lab", prefix)
        assert twice.returncode == 3 and "already running" in twice.stderr
        unknown = nslab("service", "stop", "sapre", "--lab", prefix)
        assert unknown.returncode == 2 and "did you mean 'spare'?" in unknown.stderr

        stop = nslab("service", "stop", "web", "--lab", prefix)
        assert stop.returncode == 0 and stop.stdout.startswith("stopped web on h2"), stop.stderr
        # The stopped process was a child of init (nslab up exited); status shows it dead once
        # init has collected it, which is immediate under systemd and may lag in a VM or container.
        deadline = time.monotonic() + 10
        while _status_json(prefix)["web"]["alive"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _status_json(prefix)["web"]["alive"]
        restart = nslab("service", "restart", "web", "--lab", prefix)
        assert restart.returncode == 0 and _status_json(prefix)["web"]["alive"], restart.stderr
        logs = nslab("service", "logs", "web", "--lab", prefix, "-n", "0")
        assert logs.stdout.count("web: listening on 0.0.0.0:8080/tcp (http)") == 2
    finally:
        down = nslab("down", prefix)
    assert down.returncode == 0, down.stderr
