"""Snapshot what a test could leave behind, and compare: the zero-leftovers assertion.

Other work may run on the same machine at the same time (another developer's root tests,
another CI job's labs, containers), so a snapshot only ever holds what one test made, named
by the test's unique prefix (the `prefix` fixture of tests/root/conftest.py):
  - namespaces, /etc/netns entries and state directories whose names start with the prefix;
  - links of the root namespace that carry the prefix in their name or ownership marker, or
    whose veth peer lives in one of the prefix's namespaces (nslab never makes any there);
  - living processes that belong to the test: inside one of the prefix's namespaces, started
    by nslab for one of the prefix's labs (NSLAB_LAB in their environment, which services,
    `nslab exec` and solution steps carry), or started by the test process itself (parent
    chain) and inside a network namespace other than the test's own.
A foreign namespace, process or link is never counted, whatever its name.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from dataclasses import dataclass

TAG = os.environ.get("NSLAB_TEST_TAG", "")
NETNS_DIR = "/run/netns"
ETC_NETNS = "/etc/netns"
MARKER_PREFIX = "nslab:"  # nslab.naming.MARKER_PREFIX: the ifalias of what a lab owns


def base36(number: int) -> str:
    """A short, unique-per-process part of a lab name (names are at most 15 characters)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _ls(path: str, prefix: str) -> frozenset[str]:
    try:
        return frozenset(n for n in os.listdir(path) if n.startswith(prefix))
    except FileNotFoundError:
        return frozenset()


def _state_dir() -> str:
    return os.environ.get("NSLAB_STATE_DIR", "/run/nslab")


def _ip_json(*argv: str) -> list[dict[str, object]]:
    out = subprocess.run(["ip", "-j", *argv], capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")  # type: ignore[no-any-return]


def _root_links(prefix: str, namespaces: frozenset[str]) -> frozenset[str]:
    """Root-namespace links that belong to the test: its prefix in the name or in the marker,
    or a veth whose peer is in one of its namespaces."""
    nsids = {
        entry["nsid"] for entry in _ip_json("netns", "list-id") if str(entry.get("name", "")) in namespaces
    }
    found = set()
    for link in _ip_json("-d", "link", "show"):
        name = str(link.get("ifname", ""))
        alias = str(link.get("ifalias", ""))
        if (
            name.startswith(prefix)
            or alias.startswith(MARKER_PREFIX + prefix)
            or ("link_netnsid" in link and link["link_netnsid"] in nsids)
        ):
            found.add(name)
    return frozenset(found)


def _inodes(namespaces: frozenset[str]) -> set[int]:
    inodes = set()
    for name in namespaces:
        with contextlib.suppress(OSError):
            inodes.add(os.stat(f"{NETNS_DIR}/{name}").st_ino)
    return inodes


def _stat(pid: str) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[1]), fields[19].decode()


def _lab_of(pid: str) -> str:
    """The NSLAB_LAB a process was started with ('' if none)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            env = handle.read()
    except OSError:
        return ""
    for item in env.split(b"\0"):
        if item.startswith(b"NSLAB_LAB="):
            return item[len(b"NSLAB_LAB=") :].decode(errors="replace")
    return ""


def _descends_from(pid: int, ancestor: int, parents: dict[int, int]) -> bool:
    seen = set()
    while pid in parents and pid not in seen:
        seen.add(pid)
        pid = parents[pid]
        if pid == ancestor:
            return True
    return False


def _test_procs(prefix: str, inodes: set[int]) -> frozenset[tuple[int, str]]:
    """Living processes of the test (pid, start time): see the module's docstring."""
    me = os.getpid()
    my_ns = os.stat("/proc/self/ns/net").st_ino
    stats: dict[int, tuple[str, int, str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) is not None:
            stats[int(entry)] = stat
    parents = {pid: stat[1] for pid, stat in stats.items()}
    found = set()
    for pid, (state, _, started) in stats.items():
        if pid == me or state == "Z":
            continue
        try:
            inode = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            continue
        if (
            inode in inodes
            or (inode != my_ns and _descends_from(pid, me, parents))
            or (prefix and _lab_of(str(pid)).startswith(prefix))
        ):
            found.add((pid, started))
    return frozenset(found)


def _state_entries(root: str, prefix: str) -> frozenset[str]:
    """The test's lab directories, plus its namespace owner records (.owners/<lab>); the lock
    directory and other dot entries are nslab's machinery, not a lab's leftovers."""
    owners = _ls(os.path.join(root, ".owners"), prefix)
    return _ls(root, prefix) | frozenset(f".owners/{n}" for n in owners)


@dataclass(frozen=True)
class Snapshot:
    prefix: str
    netns: frozenset[str]
    etc_netns: frozenset[str]
    state: frozenset[str]
    root_links: frozenset[str]
    procs: frozenset[tuple[int, str]]

    @classmethod
    def take(cls, prefix: str) -> Snapshot:
        """What the test with this unique prefix has made, as the kernel and /run show it."""
        assert prefix, "a leak check needs the test's own prefix: it never counts other work"
        netns = _ls(NETNS_DIR, prefix)
        return cls(
            prefix,
            netns,
            _ls(ETC_NETNS, prefix),
            _state_entries(_state_dir(), prefix),
            _root_links(prefix, netns),
            _test_procs(prefix, _inodes(netns)),
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
        leaks = Snapshot.take(before.prefix).leaks_since(before)
        if not leaks or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaks, f"left behind: {leaks}"
