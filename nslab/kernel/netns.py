"""Named network namespaces, created and entered per thread, without forking.

Network namespaces belong to threads, not processes (kernel-gotchas #1): a worker thread
unshares or setns()es itself, and any socket or child process it creates lives in that
namespace. The CLI's main thread never switches.
"""

from __future__ import annotations

import contextlib
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
