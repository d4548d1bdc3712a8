"""A learner's progress: one JSON file per user, in that user's home.

Learners run nslab with sudo, so the learner is $SUDO_USER, not root: the file lives in
~learner/.local/share/nslab/progress.json and is read and written with the learner's
effective uid/gid. That keeps it the learner's file, and it means root never follows a
symlink the learner planted there (the kernel checks the learner's permissions, not root's).

Per scenario: solved (and when), hints used, whether the solution was shown or applied,
check attempts, best score, and the seconds from the lab's creation to the first solve.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import pwd
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

VERSION = 1
MAX_BYTES = 4 << 20  # a progress file is a few KiB; a huge one is not read whole

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Learner:
    name: str
    uid: int
    gid: int
    home: str


def learner() -> Learner:
    """Who is learning: the sudo caller if there is one, else whoever runs nslab."""
    sudo_user = os.environ.get("SUDO_USER")
    if os.geteuid() == 0 and sudo_user and sudo_user != "root":
        try:
            entry = pwd.getpwnam(sudo_user)
            return Learner(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)
        except KeyError:
            pass
    uid = os.geteuid()
    try:
        entry = pwd.getpwuid(uid)
        return Learner(entry.pw_name, uid, os.getegid(), entry.pw_dir)
    except KeyError:
        return Learner(str(uid), uid, os.getegid(), os.environ.get("HOME", "/root"))


def path_for(who: Learner) -> str:
    override = os.environ.get("NSLAB_PROGRESS_FILE")
    if override:
        return override
    data_home = os.path.join(who.home, ".local", "share")
    if who.uid == os.geteuid() and os.environ.get("XDG_DATA_HOME"):
        data_home = os.environ["XDG_DATA_HOME"]
    return os.path.join(data_home, "nslab", "progress.json")


@contextlib.contextmanager
def _as(who: Learner) -> Iterator[None]:
    """Act with the learner's effective ids (only possible, and only needed, when root)."""
    if os.geteuid() != 0 or who.uid == 0:
        yield
        return
    groups = os.getgroups()
    os.setgroups([who.gid])  # root's supplementary groups must not grant access either
    os.setegid(who.gid)
    os.seteuid(who.uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(groups)


def _fresh() -> dict[str, Any]:
    return {"version": VERSION, "scenarios": {}}


def _read(path: str) -> dict[str, Any]:
    """The learner's progress, or a fresh start (with a warning) when the file is not a
    regular file of theirs or does not hold progress. O_NONBLOCK: a FIFO planted here must
    not hang `sudo nslab check`; O_NOFOLLOW: a symlink is not followed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return _fresh()
    except OSError as exc:
        log.warning("progress file %s unusable (%s); starting fresh", path, exc.strerror)
        return _fresh()
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            log.warning("progress file %s is not a regular file of yours; starting fresh", path)
            return _fresh()
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = json.loads(handle.read(MAX_BYTES))
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("progress file %s is corrupt (%s); starting fresh", path, exc)
        return _fresh()
    finally:
        os.close(fd)
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), dict):
        log.warning("progress file %s does not hold progress; starting fresh", path)
        return _fresh()
    broken = sorted(str(name) for name, found in data["scenarios"].items() if not isinstance(found, dict))
    if broken:
        log.warning("progress file %s: ignoring the corrupt entries of %s", path, ", ".join(broken))
    data["scenarios"] = {
        str(name): _clean(path, str(name), found)
        for name, found in data["scenarios"].items()
        if isinstance(found, dict)
    }
    return data


_NUMBERS = (
    "hints_used",
    "hints_after_solve",
    "attempts",
    "best_score",
    "max_score",
    "started",
    "solved_at",
    "seconds",
)
_FLAGS = ("solved", "solution_shown", "solution_applied", "with_solution", "after_seeing_solution")


def _clean(path: str, name: str, found: dict[str, Any]) -> dict[str, Any]:
    """Drop fields of the wrong type (a hand edit gone wrong) instead of failing on them later."""
    bad = [
        k
        for k in _NUMBERS
        if k in found and (isinstance(found[k], bool) or not isinstance(found[k], int | float))
    ]
    bad += [k for k in _FLAGS if k in found and not isinstance(found[k], bool)]
    if bad:
        log.warning("progress file %s: ignoring corrupt %s of %s", path, ", ".join(sorted(bad)), name)
    return {k: v for k, v in found.items() if k not in bad}


def _write(path: str, data: dict[str, Any]) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".progress-", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _open_lock(path: str) -> IO[bytes]:
    """The lock file, never a FIFO or device (opening one could block or act), nor a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")
    return os.fdopen(fd, "ab")


@contextlib.contextmanager
def _updating() -> Iterator[dict[str, Any]]:
    """Read-modify-write under a lock, as the learner. Progress is a convenience: if the
    learner's home is unwritable, grading still works and nothing is raised."""
    who = learner()
    path = path_for(who)
    with _as(who):
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            lock = _open_lock(path + ".lock")
        except OSError as exc:
            log.warning("progress not saved: %s", exc)
            yield _fresh()
            return
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = _read(path)
            yield data
            data["version"] = VERSION
            data["user"] = who.name
            with contextlib.suppress(OSError):
                _write(path, data)


def load_all() -> dict[str, dict[str, Any]]:
    """scenario name -> {"solved": bool, "hints_used": int, ...} for the current learner."""
    who = learner()
    with _as(who):
        scenarios = _read(path_for(who))["scenarios"]
    return {name: entry for name, entry in scenarios.items() if isinstance(entry, dict)}


def entry(scenario: str) -> dict[str, Any]:
    return load_all().get(scenario, {})


def _entry(data: dict[str, Any], scenario: str) -> dict[str, Any]:
    found: dict[str, Any] = data["scenarios"].setdefault(scenario, {})
    found.setdefault("solved", False)
    found.setdefault("hints_used", 0)
    found.setdefault("attempts", 0)
    return found


def _started(found: dict[str, Any], lab_created: float) -> None:
    if lab_created and (not found.get("started") or lab_created < found["started"]):
        found["started"] = lab_created


def record_check(
    scenario: str, lab_created: float, passed: bool, score: int, max_score: int
) -> dict[str, Any]:
    """Count an attempt; the first passing one marks the scenario solved. Returns the entry."""
    with _updating() as data:
        found = _entry(data, scenario)
        _started(found, lab_created)
        found["attempts"] += 1
        found["best_score"] = max(int(found.get("best_score", 0)), score)
        found["max_score"] = max_score
        if passed and not found["solved"]:
            now = time.time()
            found["solved"] = True
            found["solved_at"] = now
            found["seconds"] = round(now - found.get("started", now), 1)
            found["with_solution"] = bool(found.get("solution_applied"))
            found["after_seeing_solution"] = bool(found.get("solution_shown"))
        return dict(found)


def take_hint(scenario: str, available: int, lab_created: float = 0.0) -> int:
    """The index of the hint to show now (0-based); each call moves one step down the ladder.
    Hints read once the scenario is solved move down the ladder too but are not counted as
    used (hints_used is the help the learner needed to solve it)."""
    with _updating() as data:
        found = _entry(data, scenario)
        _started(found, lab_created)
        if found["solved"]:
            after = int(found.get("hints_after_solve", 0))
            index = min(int(found["hints_used"]) + after, max(available - 1, 0))
            found["hints_after_solve"] = min(after + 1, max(available - int(found["hints_used"]), 0))
            return index
        index = min(int(found["hints_used"]), max(available - 1, 0))
        found["hints_used"] = min(int(found["hints_used"]) + 1, available)
        return index


def record_solution(scenario: str, applied: bool, lab_created: float = 0.0) -> None:
    with _updating() as data:
        found = _entry(data, scenario)
        _started(found, lab_created)
        found["solution_shown"] = True
        if applied:
            found["solution_applied"] = True


def note_start(scenario: str, lab_created: float) -> None:
    """Remember when the learner started (a reset builds a new lab, the clock keeps running)."""
    with _updating() as data:
        _started(_entry(data, scenario), lab_created)
