"""Supervision (issue #11): a killed service process leaves nothing that passes for it, stop
ends children that left with setsid, a start never takes someone else's socket for its own,
restart on a node whose namespace is gone exits 3 and stops nothing, and down still leaves
no process. Every check is by pid + start time of processes the test saw."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nslab.engine import journal, state
from nslab.kernel import procs

# An exec service whose shell leaves a setsid child behind and listens on 7000 through nc.
SCENARIO = """\
metadata: {name: sup, title: supervision}
nodes:
  a: {interfaces: {lo1: {kind: bridge, addresses: [10.9.0.1/24]}}}
services:
  - name: keeper
    kind: exec
    node: a
    port: 7000
    command: "setsid sleep 1000 & while true; do echo hi | nc -l -q1 7000; done"
  - {name: loner, kind: exec, node: a, command: "setsid sleep 1000 & sleep 1000"}
"""


def nslab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nslab", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(params=["pidns", "session"])
def mode(request: pytest.FixtureRequest) -> str:
    """With a PID namespace per service (the default), and without (NSLAB_SERVICE_PIDNS=0:
    what a kernel that refuses the namespace gets)."""
    return str(request.param)


def _env(mode: str) -> dict[str, str]:
    return {"NSLAB_SERVICE_PIDNS": "0"} if mode == "session" else {}


@pytest.fixture
def lab(prefix: str, tmp_path: Path, mode: str) -> Iterator[str]:
    path = tmp_path / "sup.yaml"
    path.write_text(SCENARIO)
    up = nslab("up", str(path), "--prefix", prefix, "--allow-exec", env=_env(mode))
    assert up.returncode == 0, up.stderr
    try:
        yield prefix
    finally:
        nslab("down", prefix)


def entry(lab: str, name: str) -> dict[str, Any]:
    found = [p for p in journal.read(state.lab_dir(lab)).procs if p.get("service") == name]
    return found[-1]


def tree(pid: int, wanted: tuple[str, ...]) -> list[tuple[int, int]]:
    """The service process and all it started, once the shell's children run `wanted`
    (the setsid child is a sleep only after it has called setsid)."""
    deadline = time.monotonic() + 5
    while True:
        found = [(pid, procs.start_time(pid) or 0), *procs.descendants(pid)]
        names = [procs.command(p) for p, _ in found]
        if all(names.count(w) >= wanted.count(w) for w in wanted) and "setsid" not in names:
            return found
        assert time.monotonic() < deadline, names
        time.sleep(0.05)


def alive(targets: list[tuple[int, int]]) -> list[int]:
    return [pid for pid, start in targets if procs.is_running(pid, start)]


def wait_gone(targets: list[tuple[int, int]], within: float = 3.0) -> list[int]:
    deadline = time.monotonic() + within
    while alive(targets) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(targets)


def holders_of(ns: str, port: int) -> set[int]:
    """Pids holding a listening socket on port in namespace ns (read from a helper in it)."""
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "cat", "/proc/self/net/tcp", "/proc/self/net/tcp6"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    inodes = {
        int(f[9])
        for f in (line.split() for line in out.splitlines())
        if len(f) > 9 and f[3] == "0A" and f[1].endswith(f":{port:04X}")
    }
    netns_inode = os.stat(f"/run/netns/{ns}").st_ino
    return {p for p in procs.in_namespaces({netns_inode}) if socket_inodes(p) & inodes}


def socket_inodes(pid: int) -> set[int]:
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def test_kill9_of_the_service_process_then_start(lab: str, mode: str) -> None:
    old = entry(lab, "keeper")
    old_tree = tree(old["pid"], ("sh", "sleep", "nc"))
    assert len(old_tree) >= 3, [procs.command(p) for p, _ in old_tree]
    os.kill(old["pid"], signal.SIGKILL)
    if mode == "pidns":
        # The kernel ends the whole namespace with its init: nothing is left to pass for it.
        assert wait_gone(old_tree) == []
    else:
        assert procs.start_time(old["pid"]) is None or wait_gone(old_tree[:1]) == []
        left = alive(old_tree[1:])
        assert left, "without a PID namespace the shell and its children outlive the kill"
    started = nslab("service", "start", "keeper", "--lab", lab, env=_env(mode))
    assert started.returncode == 0, started.stderr
    if mode == "session":
        # The old nc held the port: start said so, stopped it, and took the port itself.
        assert "a process left from an earlier run (pid" in started.stderr
        assert "still held port 7000/tcp; stopped it" in started.stderr
        assert wait_gone(old_tree) == []
    new = entry(lab, "keeper")
    assert new["pid"] != old["pid"]
    mine = {new["pid"], *(p for p, _ in procs.descendants(new["pid"]))}
    held = holders_of(f"{lab}-a", 7000)
    assert held and held <= mine, (held, mine)
    down = nslab("down", lab)
    assert down.returncode == 0, down.stderr
    assert wait_gone([(new["pid"], new["start"]), *old_tree]) == []


def test_start_refuses_a_port_held_by_a_process_it_did_not_start(lab: str, mode: str) -> None:
    stop = nslab("service", "stop", "keeper", "--lab", lab)
    assert stop.returncode == 0, stop.stderr
    squatter = subprocess.Popen(
        ["ip", "netns", "exec", f"{lab}-a", "nc", "-l", "-k", "7000"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while not holders_of(f"{lab}-a", 7000) and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = nslab("service", "start", "keeper", "--lab", lab, env=_env(mode))
        assert refused.returncode == 5, refused.stderr
        assert f"port 7000/tcp on node a is held by pid {squatter.pid} (nc)" in refused.stderr
        assert f"kill {squatter.pid}" in refused.stderr
        assert squatter.poll() is None, "start killed a process the lab did not start"
    finally:
        squatter.kill()
        squatter.wait()
    started = nslab("service", "start", "keeper", "--lab", lab, env=_env(mode))
    assert started.returncode == 0, started.stderr


def test_stop_ends_a_child_that_called_setsid(lab: str, mode: str) -> None:
    service = entry(lab, "loner")
    members = tree(service["pid"], ("sh", "sleep", "sleep"))
    sid = os.getsid(service["pid"])
    escaped = [p for p, _ in members if procs.command(p) == "sleep" and os.getsid(p) != sid]
    assert escaped, "the scenario's setsid child should be in a session of its own"
    stop = nslab("service", "stop", "loner", "--lab", lab)
    assert stop.returncode == 0, stop.stderr
    assert wait_gone(members) == []


def test_restart_on_a_deleted_node_exits_3_and_stops_nothing(lab: str, mode: str) -> None:
    service = entry(lab, "keeper")
    members = tree(service["pid"], ("sh", "sleep", "nc"))
    # A process of the test's own in the node: the lab did not start it, nobody may kill it.
    bystander = subprocess.Popen(["ip", "netns", "exec", f"{lab}-a", "sleep", "1000"])
    try:
        time.sleep(0.2)
        subprocess.run(["ip", "netns", "del", f"{lab}-a"], check=True)
        restart = nslab("service", "restart", "keeper", "--lab", lab)
        assert restart.returncode == 3, restart.stderr
        assert f"node a of lab {lab} is gone; nslab down {lab} and up again" in restart.stderr
        assert "Traceback" not in restart.stderr
        assert alive(members) == [p for p, _ in members], "restart stopped a service it could not start again"
        start = nslab("service", "start", "loner", "--lab", lab)
        assert start.returncode == 3 and "is gone" in start.stderr
        down = nslab("down", lab)
        assert down.returncode == 0, down.stderr
        assert wait_gone(members) == []
        assert bystander.poll() is None, "down killed a process the lab did not start"
    finally:
        bystander.kill()
        bystander.wait()
