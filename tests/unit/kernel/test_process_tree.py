"""Sockets by owner, signals by pid + start time, a service's tree: on real processes
this test starts (no root needed)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from nslab.kernel import procs, sockets


@pytest.mark.parametrize(("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_a_listening_socket_is_found_with_its_address_and_owner(family: int, host: str) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        sock.listen()
        port = sock.getsockname()[1]
        inode = os.fstat(sock.fileno()).st_ino
        found = [s for s in sockets.listening() if s.port == port]
        assert found == [sockets.Socket("tcp", host, port, inode)]
        assert inode in sockets.socket_inodes(os.getpid())
        assert sockets.holders([os.getpid()], found) == {os.getpid(): found}
    assert not [s for s in sockets.listening() if s.port == port]


def test_overlap_follows_the_kernel_rules() -> None:
    assert sockets.overlap("0.0.0.0", "10.0.0.1")
    assert sockets.overlap("::", "10.0.0.1")  # dual-stack
    assert not sockets.overlap("127.0.0.1", "10.0.0.1")
    assert not sockets.overlap("0.0.0.0", "::1")


@pytest.fixture
def shell() -> Iterator[subprocess.Popen[bytes]]:
    """A shell in its own session with a child that left it with setsid, and one that did not."""
    process = subprocess.Popen(["sh", "-c", "setsid sleep 100 & sleep 100 & wait"], start_new_session=True)
    yield process
    for pid, start in procs.tree_of(process.pid, procs.start_time(process.pid) or 0):
        procs.signal_verified(pid, start, signal.SIGKILL)
    process.kill()
    process.wait()


def _wait_for_children(pid: int, count: int) -> list[tuple[int, int]]:
    """Until `count` children run sleep (the setsid one has called setsid() by then)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = procs.descendants(pid)
        if [procs.command(p) for p, _ in found] == ["sleep"] * count:
            break
        time.sleep(0.02)
    return found


def test_the_tree_includes_a_child_that_called_setsid(shell: subprocess.Popen[bytes]) -> None:
    children = _wait_for_children(shell.pid, 2)
    assert len(children) == 2
    escaped = [pid for pid, _ in children if os.getsid(pid) != shell.pid]
    assert len(escaped) == 1
    tree = procs.tree_of(shell.pid, procs.start_time(shell.pid) or 0)
    assert sorted(tree) == sorted(children)
    assert procs.tree_of(shell.pid, 1) == []  # another start time: not that process


def test_a_signal_needs_the_right_start_time(shell: subprocess.Popen[bytes]) -> None:
    started = procs.start_time(shell.pid)
    assert started is not None
    assert not procs.signal_verified(shell.pid, started + 1, signal.SIGKILL)
    time.sleep(0.05)
    assert shell.poll() is None
    assert procs.signal_verified(shell.pid, started, signal.SIGKILL)
    assert shell.wait(timeout=5) == -signal.SIGKILL
    assert not procs.signal_verified(shell.pid, started, signal.SIGKILL)
