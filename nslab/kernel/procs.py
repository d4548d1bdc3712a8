"""Lab processes: identified by pid + start time (never by name), stopped by pid.

Every signal goes through `signal_verified`: a pidfd is opened first, then the start time
is checked, so the signal reaches the process we mean even if it dies and its pid is
reused in between (without pidfd_open: the same check right before os.kill).
"""

from __future__ import annotations

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


def _stat_fields(pid: int | str) -> list[bytes] | None:
    """Fields 3.. of /proc/PID/stat (after the command name)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2 :].split()


def signal_verified(pid: int, started: int, sig: int) -> bool:
    """Send sig to pid only if it is still the process that started at `started`.
    True if sent; False if that process is gone."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except OSError:  # no pidfd_open (kernel < 5.3): check, then kill, as before
        if not is_same(pid, started):
            return False
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return False
        return True
    try:
        # The pidfd pins this process: if the start time matches now, it is the one we mean.
        if not is_same(pid, started):
            return False
        try:
            signal.pidfd_send_signal(fd, sig)
        except ProcessLookupError:
            return False
        return True
    finally:
        os.close(fd)


def pidns_inode(pid: int | str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/pid").st_ino
    except OSError:
        return None


def _all_pids() -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def in_pid_namespace(inode: int) -> list[tuple[int, int]]:
    """(pid, start time) of every process in the PID namespace with that inode: a service
    run as init of its own PID namespace and everything it started, setsid or not."""
    found = []
    for pid in _all_pids():
        if pidns_inode(pid) == inode and (started := start_time(pid)) is not None:
            found.append((pid, started))
    return found


def session_members(sid: int, since: int = 0) -> list[tuple[int, int]]:
    """(pid, start time) of every process in session `sid` that started at or after `since`
    (a session outlives its leader; `since` keeps a reused sid from matching)."""
    found = []
    for pid in _all_pids():
        rest = _stat_fields(pid)
        if rest is not None and int(rest[3]) == sid and int(rest[19]) >= since:
            found.append((pid, int(rest[19])))
    return found


def descendants(pid: int) -> list[tuple[int, int]]:
    """(pid, start time) of every living descendant of pid, also those that left its
    session with setsid (they keep their parent until it dies)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for other in _all_pids():
        rest = _stat_fields(other)
        if rest is not None:
            children.setdefault(int(rest[1]), []).append((other, int(rest[19])))
    out: list[tuple[int, int]] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def tree_of(pid: int, started: int, pidns: int | None = None) -> list[tuple[int, int]]:
    """(pid, start time) of what a service process started, itself excluded, listed while
    it still runs (that proves membership). In its own PID namespace: everyone there.
    Without: its session, and the descendants of each, which finds those that called
    setsid as long as their parent lives."""
    if not is_same(pid, started):
        return []
    if pidns is not None and pidns_inode(pid) == pidns:
        return [t for t in in_pid_namespace(pidns) if t[0] != pid]
    found = dict(session_members(pid, since=started))
    for member in list(found):
        found.update(descendants(member))
    found.update(descendants(pid))
    found.pop(pid, None)
    return list(found.items())


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
        name = command(pid)
        if signal_verified(pid, started, signal.SIGTERM):
            alive[pid] = (started, name)
    stopped: list[Stopped] = []
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            if not is_same(pid, alive[pid][0]) or _reap(pid):
                stopped.append(Stopped(pid, alive.pop(pid)[1], False))
        if alive:
            time.sleep(0.01)
    for pid, (started, name) in list(alive.items()):
        signal_verified(pid, started, signal.SIGKILL)
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
