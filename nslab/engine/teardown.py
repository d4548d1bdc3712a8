"""Remove a lab: from its journal, or by ownership marker when the journal is gone.

Order matters (kernel-gotchas #6): stop processes first, since a living process keeps a
"deleted" namespace and its devices alive. Deleting a whole namespace removes its devices
in one batch, far faster than deleting links one by one. Every step is idempotent and the
teardown carries on past failures, reporting them together.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import threading
from dataclasses import dataclass, field

from nslab.engine import etcfiles, journal, state, statefiles
from nslab.engine.naming import parse_marker
from nslab.errors import LabStateError
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
    busy: str | None = None


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


def down(lab: str, build: str | None = None) -> TeardownReport:
    """Tear down one lab from its journal (idempotent). The caller holds the lab's lock.

    `build`: a rollback's own build id; then only objects journaled or recorded with that
    build are touched, and a journal or state directory of another build is left alone."""
    report = TeardownReport(lab)
    directory = state.lab_dir(lab)
    try:
        entries = journal.read(directory)
    except statefiles.UntrustedState as exc:
        # Its pids and paths are not ours to act on; the ownership markers still find the lab.
        entries = journal.Entries()
        report.problems.append(f"ignored the journal: {exc.message}")
    report.found = state.owner_of(lab) is not None or os.path.isdir(directory)
    if build is not None and entries.header.get("build") not in (None, build):
        entries = journal.Entries()  # another build's journal: none of it is this rollback's
        report.found = False
    proof_build = build or entries.header.get("build")
    names = [e["name"] for e in entries.netns if netns.exists(e["name"])]
    for name in [n for n in names if netns.is_placeholder(n)]:
        # Journaled, so created by this build (the name was free when the build began), and
        # killed before the namespace was bound onto it: only the empty file is left.
        names.remove(name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(netns.path_of(name))
    records = {
        inode: r for inode, r in state.owner_records(lab).items() if build is None or r.get("build") == build
    }
    recorded = [r["netns"] for r in records.values() if r["netns"] not in names and netns.exists(r["netns"])]
    ours = []
    unproven = []
    for name in [*names, *recorded]:
        # Proof by inode (nsfs inodes are unique among live namespaces), without entering
        # the namespace: the journal saw it named, or its owner record was written when it
        # was created. Neither can be changed from inside a node.
        inode = _inode(name)
        if inode is not None and (
            entries.inodes.get(name) == inode or records.get(inode, {}).get("netns") == name
        ):
            ours.append(name)
            report.found = True
        elif name in names:
            unproven.append(name)
    markers = read_markers(unproven)
    for name in unproven:
        owner = parse_marker(markers.get(name) or "")
        if owner is None or owner[0] != lab or (proof_build and owner[2] != proof_build):
            # Recorded, but not made by this build (the name was taken): never touch it.
            report.skipped.append(name)
            continue
        ours.append(name)
    # A journal that lost lines (emptied or corrupted by hand) must not strand namespaces:
    # also take every namespace that carries this lab's marker (a rollback: its build's).
    unlisted = [n for n in netns.list_names() if n.startswith(f"{lab}-") and n not in names and n not in ours]
    for name, alias in read_markers(unlisted).items():
        owner = parse_marker(alias or "")
        if owner is not None and owner[0] == lab and name == f"{lab}-{owner[1]}":
            if build is not None and owner[2] != build:
                continue
            ours.append(name)
            report.found = True
    journaled = [p for p in entries.procs if "start" in p]
    # Listed before anything is stopped, while each service process proves its tree: what a
    # service started with setsid may live on in a namespace deleted by hand, where the
    # sweep by namespace below cannot see it. A service in its own PID namespace needs no
    # list (the kernel ends its tree with it); one without (the kernel refused) does.
    trees = [t for p in journaled if not p.get("pidns") for t in procs.tree_of(p["pid"], p["start"])]
    _remove_namespaces(report, ours, [(p["pid"], p["start"]) for p in journaled], trees)
    # Every /etc/netns link that may point into this lab, journaled or not: the etc writer
    # runs beside the namespace worker, so a kill can leave a link whose journal line (or
    # namespace) never came. _remove_etc only unlinks a link into this lab's own state.
    planned = [e["name"] for e in entries.netns]
    etc_dirs = list(
        dict.fromkeys([*entries.etc, *(state.etc_dir(n) for n in [*ours, *planned, *_node_dirs(lab)])])
    )
    for path in etc_dirs:
        _remove_etc(report, path, lab)
    # Always, even with no record: an empty .owners/<lab> (a build killed, or out of space,
    # between making it and writing the record) goes too.
    alive = {inode for inode, r in records.items() if _inode(r["netns"]) == inode}
    state.forget_owners(lab, alive, build, locked=True)
    dir_owner = state.owner_of(lab)
    if build is None or dir_owner is None or dir_owner.get("build") == build:
        _unmount_lab(report, lab, owned=dir_owner is not None)
    if dir_owner is None and build is None:
        # The lab's state was removed by hand (`rm -rf` stops at the nodes' mounts, just
        # unmounted): its /etc/netns links dangle, and nothing else names them. (Only then:
        # a listing of /etc/netns is not free on a big class.)
        for _ in _sweep_stale_etc_links(lab, exact=True):
            report.etc_dirs += 1
            report.found = True
    state.remove_lab_dir(lab, build)
    return report


def _node_dirs(lab: str) -> list[str]:
    """Namespace names that have a node directory in the lab's state (etcfiles.nodeview_root):
    each may have an /etc/netns link into it, whatever the journal says."""
    try:
        return [n for n in os.listdir(os.path.join(state.lab_dir(lab), "nodes")) if n.startswith(f"{lab}-")]
    except OSError:
        return []


def owner_of_namespace(name: str) -> tuple[str, str, str] | None:
    """(lab, node, build) of a namespace nslab made, by owner record or else by marker."""
    inode = _inode(name)
    if inode is not None:
        record = state.owner_records().get(inode)
        if record is not None and record.get("netns") == name:
            return str(record["lab"]), str(record.get("node", "")), str(record.get("build", ""))
    return parse_marker(read_markers([name]).get(name) or "")


def _unmount_lab(report: TeardownReport, lab: str, owned: bool = True) -> None:
    """Unmount the nodes' tmpfs, overlays and UTS namespaces: everything mounted under the
    lab's state directory is the lab's (etcfiles.nodeview_root), found by location so that
    a build killed right after a mount leaves nothing behind. Deepest first. `owned`: the
    directory has its owner marker; without it (state removed by hand) only the mounts
    under nodes/, where nslab makes them, are taken."""
    try:
        points = netns.mounted_under(state.lab_dir(lab)) if owned else state.node_mounts(lab)
    except OSError:
        return
    for point in points:
        try:
            libc.umount_detach(point)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOENT):
                report.problems.append(f"{point}: {exc.strerror}")


def _inode(name: str) -> int | None:
    try:
        return netns.inode_of(name)
    except OSError:
        return None


def _remove_namespaces(
    report: TeardownReport,
    names: list[str],
    journaled: list[tuple[int, int]],
    trees: list[tuple[int, int]] | None = None,
) -> None:
    stopped, stuck = procs.stop(journaled)
    report.processes.extend(stopped)
    left, left_stuck = procs.stop([t for t in trees or [] if t not in journaled], grace=0.5)
    report.strays.extend(left)
    stuck += left_stuck
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
    """Find nslab's labs on the live system and remove them, lab by lab, each under its
    lock, even when journals are missing or corrupt: by state directory (with nslab's owner
    marker), by namespace owner record, or by the marker inside the namespace. Touches
    nothing without one of those. `only`: restrict to labs whose name starts with it.
    A lab another command holds comes back with `busy` set and is left alone."""
    found = set(state.labs())
    found |= _labs_with_node_mounts()
    live = netns.list_names()
    for inode, record in state.owner_records().items():
        if record["netns"] in live and _inode(record["netns"]) == inode:
            found.add(str(record["lab"]))
    claimed = {r["netns"] for r in state.owner_records().values()}
    for name, alias in read_markers([n for n in live if n not in claimed]).items():
        owner = parse_marker(alias or "")
        if owner is not None and name == f"{owner[0]}-{owner[1]}":
            found.add(owner[0])
    reports = []
    for lab in sorted(found):
        if not lab.startswith(only):
            continue
        try:
            with state.lab_lock(lab, "nslab cleanup"):
                reports.append(down(lab))
        except LabStateError as exc:
            reports.append(TeardownReport(lab, found=True, busy=exc.message))
    _sweep_stale_records(only)
    by_lab = {r.lab: r for r in reports}
    for lab, _ in _sweep_stale_etc_links(only):
        if lab not in by_lab:
            by_lab[lab] = TeardownReport(lab, found=True)
            reports.append(by_lab[lab])
        by_lab[lab].etc_dirs += 1
    return reports


def _labs_with_node_mounts() -> set[str]:
    """Labs with node mounts under the state root (etcfiles.nodeview_root): one whose state
    was removed by hand still has them (`rm -rf` stops at mount points), and no marker."""
    labs: set[str] = set()
    try:
        points = netns.mounted_under(state.STATE_ROOT)
    except OSError:
        return labs
    for point in points:
        parts = os.path.relpath(point, state.STATE_ROOT).split(os.sep)
        if len(parts) >= 3 and parts[1] == "nodes" and state.is_lab_name(parts[0]):
            labs.add(parts[0])
    return labs


def _sweep_stale_records(only: str) -> None:
    """Owner records whose namespace is gone (a build killed before naming it)."""
    records = state.owner_records()
    alive = {inode for inode, r in records.items() if _inode(r["netns"]) == inode}
    for lab in {str(r["lab"]) for r in records.values()}:
        if lab.startswith(only):
            state.forget_owners(lab, alive)


def _sweep_stale_etc_links(only: str, exact: bool = False) -> list[tuple[str, str]]:
    """/etc/netns symlinks into nslab's state root whose target is gone (the lab's state
    was removed by hand): nslab's own, and they would block the next build. Returns
    (lab, path) of each link removed. `exact`: only lab `only`, not every lab it prefixes."""
    removed = []
    for path in etcfiles.stale_links():
        lab = os.path.relpath(os.readlink(path), state.STATE_ROOT).split(os.sep)[0]
        wanted = lab == only if exact else lab.startswith(only)
        if wanted and os.path.basename(path).startswith(f"{lab}-"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append((lab, path))
    return removed
