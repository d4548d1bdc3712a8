"""Run another program as the service (unbound, an instructor's command) and stay its parent.

The supervised pid is this process; the program is its child. "ready" is sent once a
socket on the expected port belongs to this process tree (matched by socket inode in
/proc/<pid>/fd): a daemon left from an earlier run, or anything else already listening on
that port, must not pass for the program just started. No probe connection is made, so
none shows up in the program's logs. A SIGTERM to us stops the program too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable

from nslab.kernel import procs, sockets
from nslab.services.logs import Failed, say

STARTUP_TIMEOUT = 12.0  # below the supervisor's 15 s, so our message arrives first


def host_pid() -> int:
    """Our pid as the host sees it (we may be pid 1 of our own PID namespace; /proc is the
    host's, so its "self" link names the host pid)."""
    try:
        return int(os.readlink("/proc/self"))
    except (OSError, ValueError):
        return os.getpid()


def own_listening(port: int, protos: tuple[str, ...]) -> set[str]:
    """Which of `protos` have a socket on `port` held by us or one of our descendants."""
    found = [s for s in sockets.listening() if s.port == port and s.proto in protos]
    if not found:
        return set()
    me = host_pid()
    tree = [me, *(pid for pid, _ in procs.descendants(me))]
    return {s.proto for held in sockets.holders(tree, found).values() for s in held}


def foreign_holders(port: int, protos: tuple[str, ...]) -> str:
    """' (port N is held by pid P (name), which this service did not start)', or ''."""
    found = [s for s in sockets.listening() if s.port == port and s.proto in protos]
    me = host_pid()
    mine = {me, *(pid for pid, _ in procs.descendants(me))}
    ns = procs.netns_inode(me)
    others = [p for p in procs.in_namespaces({ns} if ns else set()) if p not in mine]
    held = sockets.holders(others, found)
    if not held:
        return ""
    who = ", ".join(f"pid {pid} ({procs.command(pid)})" for pid in sorted(held))
    return f"; port {port} is held by {who}, which this service did not start"


def run(
    argv: list[str],
    name: str,
    ready: Callable[[], None],
    port: int | None,
    protos: tuple[str, ...] = ("tcp", "udp"),
    every: bool = False,
    env: dict[str, str] | None = None,
) -> None:
    """Start argv, report ready once `port` listens (at once when port is None), then wait.
    Ready means: on any of `protos`, or with every=True on all of them."""
    # Its own process group, so that stopping it reaches whatever it started (sh -c ...).
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, process_group=0, env=env)
    test = all if every else any
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while port is not None and not test(p in own_listening(port, protos) for p in protos):
            if process.poll() is not None:
                raise Failed(
                    f"{argv[0]} exited with status {process.returncode} before listening on {port}"
                    + foreign_holders(port, protos)
                )
            if time.monotonic() > deadline:
                raise Failed(
                    f"{argv[0]} did not listen on port {port} within {STARTUP_TIMEOUT:.0f} s"
                    + foreign_holders(port, protos)
                )
            time.sleep(0.02)
        ready()
        code = process.wait()
        say(f"{name}: {argv[0]} exited with status {code}")
        if code != 0:
            raise Failed(f"{argv[0]} exited with status {code}")
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the child's process group within half a second (teardown gives us one second
    before SIGKILL). The group may outlive its leader: a shell's children, for instance."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
