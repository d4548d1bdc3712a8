"""Lab processes: identified by pid + start time (never by name), stopped by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass


def start_time(pid: int) -> int | None:
    """The process start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and ')': split after the last ')'.
    rest = data[data.rindex(b")") + 2 :].split()
    return int(rest[19])


def is_same(pid: int, started: int) -> bool:
    return start_time(pid) == started


def is_running(pid: int, started: int) -> bool:
    """The same process, and not a zombie waiting for its parent to collect it."""
    return is_same(pid, started) and not _is_zombie(pid)


def command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return "?"


def netns_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def in_namespaces(inodes: set[int]) -> list[int]:
    """Pids of processes living in any of the given network namespaces (by inode)."""
    if not inodes:
        return []
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        if netns_inode(int(entry)) in inodes:
            found.append(int(entry))
    return found


@dataclass
class Stopped:
    pid: int
    command: str
    forced: bool


def stop(targets: list[tuple[int, int]], grace: float = 1.0) -> tuple[list[Stopped], list[int]]:
    """SIGTERM each (pid, start time) that is still the same process, SIGKILL after `grace`.
    Returns what was stopped and pids that would not die."""
    alive: dict[int, tuple[int, str]] = {}
    for pid, started in targets:
        if is_same(pid, started):
            alive[pid] = (started, command(pid))
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                alive.pop(pid)
    stopped: list[Stopped] = []
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            if not is_same(pid, alive[pid][0]) or _reap(pid):
                stopped.append(Stopped(pid, alive.pop(pid)[1], False))
        if alive:
            time.sleep(0.01)
    for pid, (started, name) in list(alive.items()):
        if is_same(pid, started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        stopped.append(Stopped(pid, name, True))
    stuck = []
    for item in stopped:
        if item.forced:
            for _ in range(100):
                if _reap(item.pid) or start_time(item.pid) is None:
                    break
                time.sleep(0.01)
            else:
                stuck.append(item.pid)
    return stopped, stuck


def _reap(pid: int) -> bool:
    """Collect our own exited children (zombies still 'exist' in /proc)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == pid
    except ChildProcessError:
        return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        return data[data.rindex(b")") + 2 : data.rindex(b")") + 3] == b"Z"
    except OSError:
        return True
