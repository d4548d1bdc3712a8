"""The few syscalls Python 3.11's os module lacks (unshare, setns, mount), via ctypes."""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare_net() -> None:
    """Move the calling thread (only) into a new, empty network namespace."""
    _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")


def unshare_pid_for_children() -> None:
    """Make the calling thread's NEXT child init (pid 1) of a new PID namespace. The thread
    itself stays where it is; only its children are affected, so do it in a thread of its own."""
    _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")


def setns_net(fd: int) -> None:
    """Move the calling thread (only) into the network namespace behind fd."""
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


def bind_mount(source: str, target: str) -> None:
    _check(_libc.mount(source.encode(), target.encode(), None, MS_BIND, None), f"mount {target}")


def make_shared(target: str) -> None:
    _check(_libc.mount(b"none", target.encode(), None, MS_SHARED | MS_REC, None), f"make-shared {target}")


def umount_detach(target: str) -> None:
    _check(_libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")
