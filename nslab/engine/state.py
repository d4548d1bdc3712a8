"""Where a running lab keeps its state: /run/nslab/<lab>/ (tmpfs: gone at reboot, like the lab).

Layout: journal.jsonl (every object, recorded before it is created), meta.json (how the
lab was built), scenario.yaml (a private copy of the source, so grading never reads a
file the learner can edit in place), logs/ and services/, and owner (the marker that
makes the directory nslab's: lab name and build id, written at claim; nothing without it
is ever swept or deleted).

NSLAB_STATE_DIR moves the whole root (tests, or a machine without /run). Beside the labs it
holds .locks/<lab>.lock (one per lab, outliving the lab directory a teardown removes) and
.owners/<lab>/<build>.json (which namespaces nslab made, out of a learner's reach inside a node).
Both go (rmdir, only when empty) with the last lab: after `down` the root is as it was.

Modes never come from the caller's umask (see nslab.engine.statefiles): /run/nslab is 0755
(anyone may list the labs that are up), each lab's directory 0700 and its files 0600, and
every read refuses a state file or directory that another user could have written.

Long on purpose: the state directory, the per-lab lock and the owner records are one
protocol (claim, lock, mark, sweep); apart, each piece would re-derive the others' paths
and invariants.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from nslab.engine import statefiles
from nslab.errors import LabStateError

STATE_ROOT = os.environ.get("NSLAB_STATE_DIR", "/run/nslab")
ETC_NETNS = "/etc/netns"


def lab_dir(lab: str) -> str:
    return os.path.join(STATE_ROOT, lab)


# Same pattern as naming.LAB_NAME (not imported: this module sits on every command's path).
_LAB_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
OWNER_FILE = "owner"


def labs() -> list[str]:
    """Lab directories: valid lab names that carry nslab's owner marker. Anything else in
    the state root (a user's files, when NSLAB_STATE_DIR points somewhere shared) is not
    a lab, so nothing sweeps it."""
    try:
        names = os.listdir(STATE_ROOT)
    except FileNotFoundError:
        return []
    return sorted(d for d in names if _LAB_NAME.fullmatch(d) and owner_of(d) is not None)


def is_lab_name(name: str) -> bool:
    return _LAB_NAME.fullmatch(name) is not None


def owner_of(lab: str) -> dict[str, Any] | None:
    """The owner marker of a lab directory ({"lab", "build"}), or None if it has none."""
    try:
        with open(os.path.join(lab_dir(lab), OWNER_FILE)) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        data = _journal_header(lab)  # a lab built before the owner file existed
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("lab") != lab:
        return None
    return data


@dataclass
class Meta:
    lab: str
    scenario: str
    source: str
    build: str
    healthy: bool
    seed: str | None
    params: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    complete: bool = False


def _journal_header(lab: str) -> Any:
    try:
        with open(os.path.join(lab_dir(lab), "journal.jsonl"), "rb") as handle:
            first = json.loads(handle.readline())
    except (OSError, ValueError):
        return None
    return first if isinstance(first, dict) and first.get("op") == "lab" else None


def claim(lab: str, build: str) -> str:
    """Create the lab's state directory and its owner marker; it existing means the lab is
    up (or half-built). The marker is written first thing: an empty directory without one
    (a kill in between) is removed by teardown with rmdir, which cannot lose a user's file."""
    statefiles.make_dirs(STATE_ROOT, statefiles.SHARED_DIR)
    path = lab_dir(lab)
    try:
        statefiles.make_dir(path, statefiles.PRIVATE_DIR)
    except FileExistsError:
        if not clear_abandoned(lab):
            raise _already_up(lab) from None
        statefiles.make_dir(path, statefiles.PRIVATE_DIR)
    try:
        _write_json(os.path.join(path, OWNER_FILE), {"lab": lab, "build": build, "pid": os.getpid()})
        statefiles.make_dir(os.path.join(path, "logs"), statefiles.PRIVATE_DIR)
    except BaseException:
        # A full disk (or a signal) before the lab is whole: nothing of the build exists yet
        # but this directory, which we just made under the lab's lock, so it is ours to remove.
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


def _already_up(lab: str) -> LabStateError:
    return LabStateError(
        f"lab {lab!r} is already up (or a build of it was interrupted)",
        f"run 'nslab down {lab}' first, or 'nslab up ... --replace', or pick another --prefix",
    )


def node_mounts(lab: str) -> list[str]:
    """Mount points under the lab's nodes/ directory (each node's tmpfs, its overlays and its
    UTS namespace; etcfiles.nodeview_root), deepest first. Only nslab mounts there."""
    from nslab.kernel import netns

    return netns.mounted_under(os.path.join(lab_dir(lab), "nodes"))


def clear_abandoned(lab: str) -> bool:
    """Remove what is left of a lab whose state was removed by hand, and say whether its
    directory is gone. A learner's `rm -rf /run/nslab/LAB` deletes every file and stops with
    EBUSY at the nodes' mount points, so the directory stays: no owner marker, no file, only
    directories and node mounts. Those mounts are unmounted and the empty directories
    removed (rmdir only: a file found anywhere, or a marker, leaves everything as it is)."""
    from nslab.kernel import libc

    path = lab_dir(lab)
    if owner_of(lab) is not None:
        return False
    mounts = node_mounts(lab)
    if _holds_files(path, set(mounts)):
        return False
    for point in mounts:
        with contextlib.suppress(OSError):
            libc.umount_detach(point)
    _remove_empty_dirs(path)
    return not os.path.lexists(path)


def _holds_files(top: str, mounts: set[str]) -> bool:
    """Whether anything but a directory lies under `top`, not looking inside mount points."""
    for root, dirs, files in os.walk(top):
        if files:
            return True
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in mounts]
    return False


def _remove_empty_dirs(top: str) -> None:
    """rmdir `top` and its subdirectories, deepest first; a non-empty one stays."""
    for root, dirs, _ in os.walk(top, topdown=False):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(root, name))
    with contextlib.suppress(OSError):
        os.rmdir(top)


def write_meta(meta: Meta) -> None:
    _write_json(os.path.join(lab_dir(meta.lab), "meta.json"), asdict(meta))


def read_meta(lab: str) -> Meta | None:
    try:
        check_dir(lab)
        data = json.loads(statefiles.read_bytes(os.path.join(lab_dir(lab), "meta.json")))
        return Meta(**data)
    except (OSError, ValueError, TypeError):
        return None


def check_dir(lab: str) -> None:
    """Raise UntrustedState (exit 4) unless /run/nslab and the lab's directory are ours and
    writable only by us; OSError (e.g. not found) passes through."""
    statefiles.verify_dir(STATE_ROOT)
    statefiles.verify_dir(lab_dir(lab))


def require_meta(lab: str) -> Meta:
    meta = read_meta(lab)
    if meta is None:
        running = ", ".join(labs()) or "none"
        raise LabStateError(
            f"lab {lab!r} is not up", f"labs up now: {running}; start one with 'nslab up NAME'"
        )
    return meta


def _write_json(path: str, data: Any) -> None:
    statefiles.write_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def remove_lab_dir(lab: str, build: str | None = None) -> None:
    """Remove the lab's directory if it is nslab's (carries the owner marker, and with
    `build`, that build's). An unmarked directory is only rmdir'ed: if it is empty it was
    a claim killed before its marker; if not, it is not ours to delete."""
    owner = owner_of(lab)
    if owner is None:
        with contextlib.suppress(OSError):
            for name in _unfinished_marker(lab):
                os.unlink(os.path.join(lab_dir(lab), name))
        # Teardown has unmounted the nodes: what rm -rf could not remove is empty directories.
        _remove_empty_dirs(lab_dir(lab))
        return
    if build is not None and owner.get("build") != build:
        return
    shutil.rmtree(lab_dir(lab), ignore_errors=True)


_MARKER_TMP = re.compile(re.escape(OWNER_FILE) + r"\.\d+\.tmp")


def _unfinished_marker(lab: str) -> list[str]:
    """The temporary files of an owner marker whose write was killed (claim: mkdir, then
    write_atomic of `owner`), when they are all the directory holds: a kill between
    creating owner.<pid>.tmp and renaming it leaves the directory unmarked but not empty.
    Each must be a regular file of ours, empty or a marker naming this lab; anything else
    in the directory and nothing is returned (so nothing is deleted)."""
    path = lab_dir(lab)
    found = []
    for name in os.listdir(path):
        st = os.lstat(os.path.join(path, name))
        if not _MARKER_TMP.fullmatch(name) or not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            return []
        if st.st_size:
            try:
                data = json.loads(statefiles.read_bytes(os.path.join(path, name)))
            except (OSError, ValueError, statefiles.UntrustedState):
                return []
            if not isinstance(data, dict) or data.get("lab") != lab:
                return []
        found.append(name)
    return found


# --- the per-lab lock -------------------------------------------------------------------

LOCK_WAIT = float(os.environ.get("NSLAB_LOCK_WAIT", "2"))
# (lab, thread) -> (fd, depth): the locks this process holds. Re-entrant per thread only:
# another thread of the same process opens its own file description and waits like a
# second process would.
_held: dict[tuple[str, int], tuple[int, int]] = {}
_held_guard = threading.Lock()


def lock_path(lab: str) -> str:
    return os.path.join(STATE_ROOT, ".locks", f"{lab}.lock")


@contextlib.contextmanager
def lab_lock(lab: str, verb: str, wait: float | None = None) -> Iterator[None]:
    """Hold the lab's lock for a verb that changes the lab. The lock file lives outside the
    lab directory (a teardown removes that directory while the lock is held), is root's and
    mode 0600. Re-entrant within one thread (`up --replace` tears down, then builds). A
    second holder waits up to `wait` seconds, then gets exit 3 naming who holds it."""
    if _inherited(lab):
        yield  # the parent process holds it for us (a solution step's `nslab service ...`)
        return
    key = (lab, threading.get_ident())
    with _held_guard:
        if key in _held:
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
            reentered = True
        else:
            reentered = False
    if not reentered:
        fd = _acquire(lab, verb, LOCK_WAIT if wait is None else wait)
        with _held_guard:
            _held[key] = (fd, 1)
    try:
        yield
    finally:
        _release(key)


HELD_ENV = "NSLAB_HELD_LOCK"


def lock_for_children(lab: str) -> tuple[dict[str, str], int]:
    """(environment, fd) that let a child process run verbs under the lock this thread holds
    for `lab` (pass the fd with subprocess's pass_fds): the child shares the lock's open file
    description, so it holds the very same flock, and waiting for it would deadlock."""
    with _held_guard:
        fd, _ = _held[(lab, threading.get_ident())]
    return {HELD_ENV: f"{lab}:{fd}"}, fd


def _inherited(lab: str) -> bool:
    """Does this process hold `lab`'s lock through a descriptor its parent passed down? Only
    if that descriptor is the current lock file, and locked (flock on a shared open file
    description succeeds at once; on anything else it would not)."""
    held_lab, _, number = os.environ.get(HELD_ENV, "").partition(":")
    if held_lab != lab or not number.isdigit():
        return False
    fd = int(number)
    try:
        if os.fstat(fd).st_ino != os.stat(lock_path(lab)).st_ino:
            return False
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _acquire(lab: str, verb: str, wait: float) -> int:
    path = lock_path(lab)
    deadline = time.monotonic() + wait
    while True:
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except (FileNotFoundError, FileExistsError):  # makedirs raced an rmdir
            # The last holder of another lab removed the empty .locks between our mkdir and
            # our create: make it again (bounded by the wait, so a root that cannot exist fails).
            if time.monotonic() >= deadline + 1:
                raise
            continue
        try:
            got = _try_lock(fd, path)
            if got is True:
                try:
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, f"{os.getpid()} {verb}\n".encode(), 0)
                except BaseException:
                    # A full disk: leave no lock file behind (we hold it, so it is ours to
                    # unlink, exactly as _release does).
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                    raise
                return fd
            if got is None and time.monotonic() >= deadline:
                raise LabStateError(
                    f"lab {lab} is busy ({_holder(fd)})", "wait for it to finish, then try again"
                )
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        if got is None:
            time.sleep(0.02)


def _try_lock(fd: int, path: str) -> bool | None:
    """True: locked. None: someone holds it. False: we locked a file its holder had just
    unlinked on release (someone else may lock the new one): open the path again."""
    os.fchmod(fd, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
            raise
        return None
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _release(key: tuple[str, int]) -> None:
    with _held_guard:
        fd, depth = _held[key]
        if depth > 1:
            _held[key] = (fd, depth - 1)
            return
        del _held[key]
    # Unlink while still holding it (waiters re-check the inode), so locks do not pile up.
    with contextlib.suppress(OSError):
        os.unlink(lock_path(key[0]))
    os.close(fd)  # closing drops the flock
    _remove_if_empty(os.path.dirname(lock_path(key[0])))


def _remove_if_empty(directory: str) -> None:
    """Leave no empty machinery behind once the last lab is gone. rmdir only ever removes an
    empty directory, so this cannot lose another lab's file; whoever needs the directory
    next makes it again (and retries if it vanished between their mkdir and their create)."""
    with contextlib.suppress(OSError):
        os.rmdir(directory)


def _holder(fd: int) -> str:
    try:
        pid, _, verb = os.pread(fd, 200, 0).decode(errors="replace").strip().partition(" ")
    except OSError:
        pid, verb = "", ""
    if not pid.isdigit():
        return "another nslab command holds its lock"
    return f"pid {pid} is running `{verb or 'nslab'}`"


# --- namespace owner records --------------------------------------------------------------


def owners_dir(lab: str) -> str:
    return os.path.join(STATE_ROOT, ".owners", lab)


def write_owners(lab: str, build: str, namespaces: list[tuple[str, str, int]]) -> None:
    """Record that nslab made these namespaces ((name, node, inode) each). Unlike lo's alias
    (the marker inside a namespace), a learner in a node cannot change this. One file per
    build, .owners/<lab>/<build>.json, written as the namespaces are named (the journal's
    `named` line): one write per build, not one per namespace."""
    if not namespaces:
        return
    directory = owners_dir(lab)
    rows = [[name, node, inode] for name, node, inode in namespaces]
    record = {"lab": lab, "build": build, "namespaces": rows}
    for attempt in range(10):
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            _write_json(os.path.join(directory, f"{build}.json"), record)
            return
        except (FileNotFoundError, FileExistsError):  # makedirs raced an rmdir
            # Another lab's teardown removed .owners while it was empty, between our mkdir
            # of it and of .owners/<lab>: make both again.
            if attempt == 9:
                raise
        except BaseException:
            with contextlib.suppress(OSError):
                os.rmdir(directory)  # only if empty: another build's record stays
            raise


def _owner_files(lab: str) -> dict[str, list[Any]]:
    """build -> [[netns, node, inode], ...] for one lab."""
    try:
        names = os.listdir(owners_dir(lab))
    except FileNotFoundError:
        return {}
    out = {}
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(owners_dir(lab), name)) as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("lab") == lab and isinstance(data.get("namespaces"), list):
            out[name.removesuffix(".json")] = data["namespaces"]
    return out


def owner_records(lab: str | None = None) -> dict[int, dict[str, Any]]:
    """inode -> {"netns", "lab", "node", "build"}, for one lab or (None) every lab."""
    if lab is None:
        try:
            names = os.listdir(os.path.join(STATE_ROOT, ".owners"))
        except FileNotFoundError:
            return {}
        out: dict[int, dict[str, Any]] = {}
        for name in names:
            if _LAB_NAME.fullmatch(name):
                out.update(owner_records(name))
        return out
    records = {}
    for build, rows in _owner_files(lab).items():
        for row in rows:
            if (
                isinstance(row, list)
                and len(row) == 3
                and isinstance(row[0], str)
                and isinstance(row[2], int)
            ):
                records[row[2]] = {"netns": row[0], "lab": lab, "node": str(row[1]), "build": build}
    return records


def forget_owners(lab: str, alive: set[int], build: str | None = None, locked: bool = False) -> None:
    """Drop the lab's owner files (or one build's) of which no namespace is `alive`; with
    `locked` (the caller holds the lab's lock), also records whose write was killed."""
    for name, rows in _owner_files(lab).items():
        if build is not None and name != build:
            continue
        if not any(isinstance(r, list) and len(r) == 3 and r[2] in alive for r in rows):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(owners_dir(lab), f"{name}.json"))
    with contextlib.suppress(OSError):
        for name in os.listdir(owners_dir(lab)) if locked else []:
            if name.endswith(".tmp") and (build is None or name.startswith(f"{build}.json.")):
                # A record's write killed before its rename (the caller holds the lab's lock:
                # no writer is running): only ever our own partial file.
                os.unlink(os.path.join(owners_dir(lab), name))
    _remove_if_empty(owners_dir(lab))
    _remove_if_empty(os.path.dirname(owners_dir(lab)))


def etc_dir(netns: str) -> str:
    return os.path.join(ETC_NETNS, netns)
