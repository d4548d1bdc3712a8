"""Run another program as the service (unbound, an instructor's command) and stay its parent.

The supervised pid is this process; the program is its child in the same session. "ready"
is sent once the program listens on the expected port (read from /proc/net, so no probe
connection shows up in the program's logs), and a SIGTERM to us stops the program too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable

from nslab.services.logs import Failed, say

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp*
STARTUP_TIMEOUT = 12.0  # below the supervisor's 15 s, so our message arrives first


def listening_ports() -> set[tuple[str, int]]:
    """(proto, port) of every listening TCP socket and bound UDP socket in our namespace."""
    found: set[tuple[str, int]] = set()
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/net/{proto}") as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4:
                continue
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if proto.startswith("udp") or fields[3] == LISTEN:
                found.add((proto.rstrip("6"), port))
    return found


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
        while port is not None and not test((p, port) in listening_ports() for p in protos):
            if process.poll() is not None:
                raise Failed(f"{argv[0]} exited with status {process.returncode} before listening on {port}")
            if time.monotonic() > deadline:
                raise Failed(f"{argv[0]} did not listen on port {port} within {STARTUP_TIMEOUT:.0f} s")
            time.sleep(0.01)
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
