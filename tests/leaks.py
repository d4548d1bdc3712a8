"""Snapshot everything a lab could leave behind, and compare: the zero-leftovers assertion.

With NSLAB_TEST_TAG set (several developers testing on one machine at once), only names
starting with the tag count, and processes are attributed through the namespace they live
in; CI leaves it unset and checks everything.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass

TAG = os.environ.get("NSLAB_TEST_TAG", "")


def _tagged(names: frozenset[str]) -> frozenset[str]:
    return frozenset(n for n in names if n.startswith(TAG)) if TAG else names


def _ls(path: str) -> frozenset[str]:
    try:
        return frozenset(os.listdir(path))
    except FileNotFoundError:
        return frozenset()


def _root_links() -> frozenset[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return frozenset(line.split(": ")[1].split("@")[0] for line in out.splitlines() if ": " in line)


def _tagged_inodes() -> set[int]:
    inodes = set()
    for name in _tagged(_ls("/run/netns")):
        with contextlib.suppress(OSError):
            inodes.add(os.stat(f"/run/netns/{name}").st_ino)
    return inodes


def _foreign_ns_procs(only: set[int] | None = None) -> frozenset[tuple[int, str]]:
    """Processes in a network namespace other than ours (pid, start time); with `only`,
    just those in the namespaces with these inodes."""
    mine = os.stat("/proc/self/ns/net").st_ino
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            inode = os.stat(f"/proc/{entry}/ns/net").st_ino
            if inode == mine or (only is not None and inode not in only):
                continue
            with open(f"/proc/{entry}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        if data[data.rindex(b")") + 2 : data.rindex(b")") + 3] == b"Z":
            continue
        found.add((int(entry), data[data.rindex(b")") + 2 :].split()[19].decode()))
    return frozenset(found)


def _state_entries(root: str) -> frozenset[str]:
    """Lab directories, plus namespace owner records (.owners/<lab>); the lock directory
    and other dot entries are nslab's machinery, not a lab's leftovers."""
    labs = _tagged(frozenset(n for n in _ls(root) if not n.startswith(".")))
    owners = _tagged(_ls(os.path.join(root, ".owners")))
    return labs | frozenset(f".owners/{n}" for n in owners)


@dataclass(frozen=True)
class Snapshot:
    netns: frozenset[str]
    etc_netns: frozenset[str]
    state: frozenset[str]
    root_links: frozenset[str]
    procs: frozenset[tuple[int, str]]

    @classmethod
    def take(cls) -> Snapshot:
        return cls(
            _tagged(_ls("/run/netns")),
            _tagged(_ls("/etc/netns")),
            _state_entries(os.environ.get("NSLAB_STATE_DIR", "/run/nslab")),
            _root_links(),
            _foreign_ns_procs(_tagged_inodes() if TAG else None),
        )

    def leaks_since(self, before: Snapshot) -> dict[str, list[object]]:
        out: dict[str, list[object]] = {}
        for field in ("netns", "etc_netns", "state", "root_links", "procs"):
            extra = sorted(getattr(self, field) - getattr(before, field))
            if extra:
                out[field] = extra
        return out


def assert_no_leaks(before: Snapshot, settle: float = 2.0) -> None:
    """Fail with the list of leftovers. Processes may take a moment to be reaped."""
    deadline = time.monotonic() + settle
    while True:
        leaks = Snapshot.take().leaks_since(before)
        if not leaks or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaks, f"left behind: {leaks}"
