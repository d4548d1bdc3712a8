"""Named network namespaces, created and entered per thread, without forking.

Network namespaces belong to threads, not processes (kernel-gotchas #1): a worker thread
unshares or setns()es itself, and any socket or child process it creates lives in that
namespace. The CLI's main thread never switches.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from nslab.errors import EnvironmentProblem
from nslab.kernel import libc

NETNS_DIR = "/run/netns"
T = TypeVar("T")


def path_of(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def exists(name: str) -> bool:
    return os.path.exists(path_of(name))


def is_placeholder(name: str) -> bool:
    """An empty file where a namespace should be mounted: left when a process dies between
    creating the name and binding the namespace onto it (or by a failed `ip netns add`)."""
    path = path_of(name)
    try:
        info = os.stat(path)
        parent = os.stat(NETNS_DIR)
    except OSError:
        return False
    return info.st_dev == parent.st_dev and info.st_size == 0


def list_names() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def ensure_dir() -> None:
    """Prepare /run/netns the way `ip netns add` does: a shared mount, so that namespaces
    created later are also visible from other mount namespaces (e.g. `ip netns exec`)."""
    os.makedirs(NETNS_DIR, mode=0o755, exist_ok=True)
    try:
        try:
            libc.make_shared(NETNS_DIR)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            libc.bind_mount(NETNS_DIR, NETNS_DIR)
            libc.make_shared(NETNS_DIR)
    except PermissionError:
        raise EnvironmentProblem(
            f"cannot prepare {NETNS_DIR} (mount: permission denied)",
            "nslab needs CAP_SYS_ADMIN; in a container, run it with --privileged",
        ) from None


def current_fd() -> int:
    """A fd for the calling thread's current network namespace (to come back to it)."""
    return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


def open_fd(name: str) -> int:
    """Open a named namespace. Never creates one (pyroute2's setns default would: gotcha #3)."""
    return os.open(path_of(name), os.O_RDONLY | os.O_CLOEXEC)


def inode_of(name: str) -> int:
    return os.stat(path_of(name)).st_ino


def new_here() -> None:
    """Move the calling thread into a fresh namespace (not yet named)."""
    libc.unshare_net()


def name_current(name: str) -> None:
    """Give the calling thread's namespace a name under /run/netns (O_EXCL: never reuse one)."""
    target = path_of(name)
    fd = os.open(target, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444)
    os.close(fd)
    try:
        libc.bind_mount("/proc/thread-self/ns/net", target)
    except OSError:
        os.unlink(target)
        raise


def remove(name: str) -> bool:
    """Unname a namespace; the kernel frees it once no process or socket holds it.
    Returns False if it was already gone."""
    target = path_of(name)
    try:
        libc.umount_detach(target)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    try:
        os.unlink(target)
    except FileNotFoundError:
        return False
    return True


@contextlib.contextmanager
def entered(fd: int, home: int) -> Iterator[None]:
    """Switch the calling (worker) thread into fd's namespace, and back to `home` afterwards."""
    libc.setns_net(fd)
    try:
        yield
    finally:
        libc.setns_net(home)


def run_in(name: str, fn: Callable[[], T]) -> T:
    """Run fn in a short-lived thread that lives inside the named namespace."""
    result: list[T] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            fd = open_fd(name)
            try:
                libc.setns_net(fd)
            finally:
                os.close(fd)
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=body, name=f"netns:{name}", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


# --- A node's own mount and UTS namespaces (kernel-gotchas #14) ------------------------------
# `ip netns exec` alone leaves a shell in the host's mount and UTS namespaces: a root learner
# could rename the machine or, after one `umount`, write the host's /etc. These helpers build
# the pieces of a node's own view; nslab.engine.etcfiles composes them.

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
MS_RDONLY = 1
MS_PRIVATE = 1 << 18
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (unified syscall table)


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def mounted_under(directory: str) -> list[str]:
    """Mount points at or below `directory` in this mount namespace, deepest first."""
    prefix = directory.rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo", "rb") as handle:
        for line in handle:
            point = line.split(b" ", 5)[4].decode("unicode_escape")  # \040 etc. in names
            if point == directory or point.startswith(prefix):
                found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def set_readonly(path: str, readonly: bool, recursive: bool) -> None:
    """Set or clear the read-only flag of the mount(s) at path (mount_setattr, Linux 5.12+):
    it changes only this mount namespace's copies and keeps every other flag."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY if readonly else 0, 0 if readonly else MOUNT_ATTR_RDONLY, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    result = _libc.syscall(
        SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), flags, ctypes.byref(attr), ctypes.sizeof(attr)
    )
    _check(result, f"mount_setattr {path}")


def new_private_mounts() -> None:
    """Give the calling process its own copy of the mount tree; nothing mounted or unmounted in
    it propagates back to the host. The process must be single-threaded (CLONE_NEWNS)."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    mount("none", "/", None, libc.MS_REC | MS_PRIVATE)


def bind_new_uts(path: str, hostname: str) -> None:
    """Make a new UTS namespace with `hostname` and keep it alive by binding it onto `path`
    (a new, empty file), the way a network namespace is named; the calling thread stays in its
    own UTS namespace."""
    home = os.open("/proc/thread-self/ns/uts", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.unshare(CLONE_NEWUTS), "unshare(CLONE_NEWUTS)")
        try:
            name = hostname.encode()
            _check(_libc.sethostname(name, len(name)), "sethostname")
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444)
            os.close(fd)
            try:
                libc.bind_mount("/proc/thread-self/ns/uts", path)
            except OSError:
                os.unlink(path)
                raise
        finally:
            _check(_libc.setns(home, CLONE_NEWUTS), "setns(uts)")
    finally:
        os.close(home)


def enter_uts(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, CLONE_NEWUTS), f"setns {path}")
    finally:
        os.close(fd)
