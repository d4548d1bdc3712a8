"""Other work on the machine, as another job or developer would leave it while a test runs:
a namespace with links and a sleeping process in it that is not ours (no common ancestor,
and an NSLAB_LAB of another lab). Removed afterwards by its own pid and name only."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_counter = itertools.count()
OTHER_LAB = "tzzzz-1z"  # shaped like a test prefix of another run, never one of ours


@dataclass(frozen=True)
class ForeignWork:
    ns: str  # matches no prefix nslab or its tests use
    pid: int
    started: str  # the process's start time: we end that process and no other


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    return None if fields[0] == b"Z" else fields[19].decode()


@contextmanager
def foreign_work(tmp_path: Path) -> Iterator[ForeignWork]:
    ns = f"zzforeign{os.getpid()}x{next(_counter)}"
    pidfile = tmp_path / f"{ns}.pid"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    work: ForeignWork | None = None
    try:
        for cmd in (
            ["link", "add", "fgn0", "type", "veth", "peer", "name", "fgn1"],
            ["link", "set", "fgn0", "up"],
            ["link", "set", "fgn1", "up"],
        ):
            subprocess.run(["ip", "-n", ns, *cmd], check=True)
        # setsid -f: the sleeper's parent exits at once, so it is nobody's child here.
        script = f"echo $$ > {pidfile}; exec env NSLAB_LAB={OTHER_LAB} ip netns exec {ns} sleep 600"
        subprocess.run(["setsid", "-f", "sh", "-c", script], check=True)
        deadline = time.monotonic() + 10
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert time.monotonic() < deadline, "the foreign sleeper did not start"
            time.sleep(0.01)
        pid = int(pidfile.read_text())
        while True:  # until the exec chain has reached sleep inside the namespace
            with open(f"/proc/{pid}/comm") as handle:
                if handle.read().strip() == "sleep":
                    break
            assert time.monotonic() < deadline, "the foreign sleeper did not reach sleep"
            time.sleep(0.01)
        assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{ns}").st_ino
        started = _start_time(pid)
        assert started is not None
        work = ForeignWork(ns, pid, started)
        yield work
    finally:
        _end_sleeper(work, pidfile, ns)
        subprocess.run(["ip", "netns", "del", ns], check=False)


def _end_sleeper(work: ForeignWork | None, pidfile: Path, ns: str) -> None:
    """End the sleeper by its pid: the one recorded, or (if setup broke off) the one in the
    pid file, but only while it still lives in our namespace."""
    if work is None:
        try:
            pid = int(pidfile.read_text())
            if os.stat(f"/proc/{pid}/ns/net").st_ino != os.stat(f"/run/netns/{ns}").st_ino:
                return
        except (OSError, ValueError):
            return
        started = _start_time(pid)
        if started is None:
            return
        work = ForeignWork(ns, pid, started)
    if _start_time(work.pid) == work.started:
        os.kill(work.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _start_time(work.pid) == work.started and time.monotonic() < deadline:
            time.sleep(0.01)
