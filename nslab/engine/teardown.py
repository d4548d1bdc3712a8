"""Remove a lab: from its journal, or by ownership marker when the journal is gone.

Order matters (kernel-gotchas #6): stop processes first, since a living process keeps a
"deleted" namespace and its devices alive. Deleting a whole namespace removes its devices
in one batch, far faster than deleting links one by one. Every step is idempotent and the
teardown carries on past failures, reporting them together.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from dataclasses import dataclass, field

from nslab.engine import etcfiles, journal, state, statefiles
from nslab.engine.naming import parse_marker
from nslab.kernel import libc, netns, procs, rtnl


@dataclass
class TeardownReport:
    lab: str
    namespaces: int = 0
    processes: list[procs.Stopped] = field(default_factory=list)
    strays: list[procs.Stopped] = field(default_factory=list)
    etc_dirs: int = 0
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    found: bool = False


def read_markers(names: list[str]) -> dict[str, str | None]:
    """The lo alias (our ownership marker) of each named namespace; None if unreadable."""
    out: dict[str, str | None] = {}

    def body() -> None:
        # This thread hops between namespaces and then ends: it never needs to go back.
        for name in names:
            out[name] = None
            try:
                fd = netns.open_fd(name)
            except OSError:
                continue
            try:
                libc.setns_net(fd)
            except OSError:
                continue  # an empty file left by a failed `ip netns add`, or no privilege
            finally:
                os.close(fd)
            try:
                with rtnl.Rtnl() as sock:
                    out[name] = next((lk.alias for lk in sock.links() if lk.index == 1), "")
            except OSError:
                pass

    thread = threading.Thread(target=body, name="nslab-markers", daemon=True)
    thread.start()
    thread.join()
    return out


def down(lab: str) -> TeardownReport:
    """Tear down one lab from its journal (idempotent)."""
    report = TeardownReport(lab)
    directory = state.lab_dir(lab)
    try:
        entries = journal.read(directory)
    except statefiles.UntrustedState as exc:
        # Its pids and paths are not ours to act on; the ownership markers still find the lab.
        entries = journal.Entries()
        report.problems.append(f"ignored the journal: {exc.message}")
    report.found = os.path.isdir(directory)
    build = entries.header.get("build")
    names = [e["name"] for e in entries.netns if netns.exists(e["name"])]
    for name in [n for n in names if netns.is_placeholder(n)]:
        # Journaled, so created by this build (the name was free when the build began), and
        # killed before the namespace was bound onto it: only the empty file is left.
        names.remove(name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(netns.path_of(name))
    ours = []
    unproven = []
    for name in names:
        # The journal saw this very namespace named (same inode: nsfs inodes are unique
        # among live namespaces): ours without entering it to read the marker.
        if entries.inodes.get(name) is not None and _inode(name) == entries.inodes[name]:
            ours.append(name)
        else:
            unproven.append(name)
    markers = read_markers(unproven)
    for name in unproven:
        owner = parse_marker(markers.get(name) or "")
        if owner is None or owner[0] != lab or (build and owner[2] != build):
            # Recorded, but not made by this build (the name was taken): never touch it.
            report.skipped.append(name)
            continue
        ours.append(name)
    # A journal that lost lines (emptied or corrupted by hand) must not strand namespaces:
    # also take every namespace that carries this lab's marker, whatever build made it.
    unlisted = [n for n in netns.list_names() if n.startswith(f"{lab}-") and n not in names]
    for name, alias in read_markers(unlisted).items():
        owner = parse_marker(alias or "")
        if owner is not None and owner[0] == lab and name == f"{lab}-{owner[1]}":
            ours.append(name)
            report.found = True
    _remove_namespaces(report, ours, [(p["pid"], p["start"]) for p in entries.procs if "start" in p])
    etc_dirs = list(dict.fromkeys([*entries.etc, *(state.etc_dir(n) for n in ours)]))
    for path in etc_dirs:
        _remove_etc(report, path, lab)
    state.remove_lab_dir(lab)
    return report


def _inode(name: str) -> int | None:
    try:
        return netns.inode_of(name)
    except OSError:
        return None


def _remove_namespaces(report: TeardownReport, names: list[str], journaled: list[tuple[int, int]]) -> None:
    stopped, stuck = procs.stop(journaled)
    report.processes.extend(stopped)
    inodes = set()
    for name in names:
        with contextlib.suppress(OSError):
            inodes.add(netns.inode_of(name))
    strays = procs.in_namespaces(inodes)
    if strays:
        # Processes living inside our namespaces (a learner's tcpdump, a service whose pid
        # was not yet journaled): the namespace cannot go while they run.
        targets = [(pid, st) for pid in strays if (st := procs.start_time(pid)) is not None]
        stray_stopped, stray_stuck = procs.stop(targets, grace=0.5)
        report.strays.extend(stray_stopped)
        stuck += stray_stuck
    for pid in stuck:
        report.problems.append(f"process {pid} ({procs.command(pid)}) would not stop")
    for name in names:
        try:
            if netns.remove(name):
                report.namespaces += 1
        except OSError as exc:
            report.problems.append(f"namespace {name}: {exc.strerror}")


def _remove_etc(report: TeardownReport, path: str, lab: str) -> None:
    """Remove /etc/netns/<ns> if it is this lab's: a symlink into the lab's state directory
    (the files go with that directory), or a directory marked by an older nslab."""
    if os.path.dirname(path) != state.ETC_NETNS:
        report.problems.append(f"journal names {path}, outside {state.ETC_NETNS}: left alone")
        return
    if os.path.islink(path):
        if not etcfiles.is_ours(path, lab):
            report.skipped.append(path)
            return
        try:
            os.unlink(path)
            report.etc_dirs += 1
        except OSError as exc:
            report.problems.append(f"{path}: {exc.strerror}")
        return
    if not os.path.isdir(path):
        return
    if etcfiles.legacy_owner(path) != f"nslab:{lab}\n":
        report.skipped.append(path)
        return
    shutil.rmtree(path, onerror=lambda fn, p, exc: report.problems.append(f"{p}: {exc[1]}"))
    report.etc_dirs += 1


def sweep(only: str = "") -> list[TeardownReport]:
    """Find nslab's namespaces on the live system by marker and remove them, lab by lab,
    even when journals are missing or corrupt. Touches nothing without our marker.
    `only`: restrict to labs whose name starts with it."""
    reports = {lab: down(lab) for lab in state.labs() if lab.startswith(only)}
    names = netns.list_names()
    markers = read_markers(names)
    by_lab: dict[str, list[str]] = {}
    for name, alias in markers.items():
        owner = parse_marker(alias or "")
        if owner is not None and name == f"{owner[0]}-{owner[1]}" and owner[0].startswith(only):
            by_lab.setdefault(owner[0], []).append(name)
    for lab, lab_names in by_lab.items():
        report = reports.setdefault(lab, TeardownReport(lab, found=True))
        report.found = True
        _remove_namespaces(report, lab_names, [])
        for name in lab_names:
            etc = state.etc_dir(name)
            if os.path.lexists(etc):  # a symlink whose target went with the state directory
                _remove_etc(report, etc, lab)
        state.remove_lab_dir(lab)
    return list(reports.values())
