"""Files in the lab's state directory: made with explicit modes, read back only if trusted.

Root reads these files on every later verb (`down` kills the pids the journal names, `check`
grades the scenario copy), so a file another user could write is a way to root. Nothing
here depends on the caller's umask: every file and directory gets its mode with fchmod/chmod
after it is made (a `umask 000` shell would otherwise leave them world-writable).

Modes: directories 0700 and files 0600 (the scenario copy holds the solution; logs and
service settings may give it away). The exceptions are files an unprivileged program inside
a node must read, listed where they are written (per-node hosts, resolv.conf, the lab CA
certificate): 0644 and never group/other-writable.

Reading refuses (exit 4, with a fix) a file or directory that is not a regular file or
directory, is not owned by the effective uid, or is writable by group or other.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator

from nslab.errors import EnvironmentProblem

PRIVATE = 0o600
SHARED = 0o644  # readable inside the node by unprivileged programs; say why at each use
PRIVATE_DIR = 0o700
SHARED_DIR = 0o755


class UntrustedState(EnvironmentProblem):
    """A state file or directory that someone other than nslab's user could have written."""


def _refuse(path: str, why: str) -> UntrustedState:
    return UntrustedState(
        f"refusing to use {path}: {why}; nslab makes its state files owned by root and writable"
        " only by root, so another user may have planted or changed it",
        f"check it with 'ls -la {path}'; remove the lab's state with 'sudo rm -rf {os.path.dirname(path)}'"
        " and its namespaces with 'sudo nslab cleanup' (which finds them by ownership marker)",
    )


def verify(path: str, st: os.stat_result, want_dir: bool = False) -> None:
    """Raise UntrustedState unless st (of path) is ours and writable only by us."""
    kind_ok = stat.S_ISDIR(st.st_mode) if want_dir else stat.S_ISREG(st.st_mode)
    if not kind_ok:
        raise _refuse(path, "it is not a " + ("directory" if want_dir else "regular file"))
    if st.st_uid != os.geteuid():
        raise _refuse(path, f"it is owned by uid {st.st_uid}, not {os.geteuid()}")
    if st.st_mode & 0o022:
        raise _refuse(path, f"it is writable by group or other (mode {stat.S_IMODE(st.st_mode):04o})")


def verify_file(path: str) -> None:
    """A trusted state file, checked before a reader that handles its content (encoding,
    size) opens it: lstat, so a symlink is refused. FileNotFoundError passes through."""
    verify(path, os.lstat(path))


def verify_dir(path: str) -> None:
    """A state directory must be ours and not group/other-writable (lstat: no symlinks)."""
    verify(path, os.lstat(path), want_dir=True)


def make_dir(path: str, mode: int = PRIVATE_DIR, exist_ok: bool = False) -> None:
    """mkdir with exactly `mode`; an existing directory must pass verify_dir."""
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        if not exist_ok:
            raise
        verify_dir(path)
        return
    os.chmod(path, mode)  # the umask may have taken bits away; the mode is ours to choose


def make_dirs(path: str, mode: int = PRIVATE_DIR) -> None:
    """os.makedirs(exist_ok=True), with each directory it makes given exactly `mode`."""
    parent = os.path.dirname(path)
    if parent and parent != path and not os.path.isdir(parent):
        make_dirs(parent, mode)
    make_dir(path, mode, exist_ok=True)


def open_new(path: str, mode: int = PRIVATE, append: bool = False) -> int:
    """A file descriptor for writing path, which gets exactly `mode` (never follows a symlink).
    append=True keeps an existing file (which must then be trusted); otherwise it is truncated."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_APPEND if append else os.O_TRUNC
    fd = os.open(path, flags, mode)
    try:
        if append:
            verify(path, os.fstat(fd))
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_atomic(path: str, data: str | bytes, mode: int = PRIVATE) -> None:
    """Write a whole file under a temporary name with `mode`, then rename it into place."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data.encode() if isinstance(data, str) else data)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_bytes(path: str) -> bytes:
    """The contents of a trusted state file. O_NONBLOCK: a FIFO planted here must not hang
    root; O_NOFOLLOW: nor may a symlink point it elsewhere. FileNotFoundError passes through."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise _refuse(path, "it is a symbolic link") from None
        raise
    try:
        verify(path, os.fstat(fd))
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str) -> str:
    return read_bytes(path).decode(errors="replace")


@contextlib.contextmanager
def owner_only_umask() -> Iterator[None]:
    """umask 077 while code that does not choose its modes writes into the state directory
    (the service supervisor's logs and configs, openssl's keys): whatever the caller's umask,
    what it makes is private. Process-wide, so only for the CLI's own verbs."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
