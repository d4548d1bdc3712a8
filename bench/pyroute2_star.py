"""Baseline: pyroute2's IPRoute used fork-free, the way a careful library user would.

pyroute2's own netns.create() forks a child per namespace; to keep this baseline fair we
create namespaces as nslab and the floor do (unshare in a worker thread, then
pyroute2.netns.attach binds /proc/thread-self/ns/net to the name) and open one IPRoute per
namespace inside that thread (pyroute2 0.9 binds a socket to the thread that first uses it).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading

from topo import NETNS_DIR, Star

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def load() -> None:
    """Import pyroute2 before any timing (an in-process user pays this once per process)."""
    import pyroute2  # noqa: F401


def _unshare() -> None:
    if _libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare")


def _build(star: Star) -> None:
    from pyroute2 import IPRoute, netns

    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        os.makedirs(NETNS_DIR, exist_ok=True)
        _unshare()
        netns.attach(star.switch_ns, "thread-self")
        with IPRoute() as ipr:
            ipr.link("set", index=1, state="up")
            ipr.link("add", ifname="br0", kind="bridge", br_stp_state=0, br_forward_delay=0)
            bridge = ipr.link_lookup(ifname="br0")[0]
            ipr.link("set", index=bridge, state="up")
        switch = os.open(os.path.join(NETNS_DIR, star.switch_ns), os.O_RDONLY)
        try:
            for i in star.hosts():
                _unshare()
                netns.attach(star.host_ns(i), "thread-self")
                with IPRoute() as ipr:
                    ipr.link("set", index=1, state="up")
                    ipr.link("add", ifname="eth0", kind="veth", peer={"ifname": f"p{i}", "net_ns_fd": switch})
                    eth0 = ipr.link_lookup(ifname="eth0")[0]
                    ipr.addr("add", index=eth0, address=star.host_ip(i), prefixlen=16)
                    ipr.link("set", index=eth0, state="up")
                    ipr.route("add", dst="0.0.0.0/0", oif=eth0, scope=253)
            if _libc.setns(switch, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(switch)
        with IPRoute() as ipr:
            index = {link.get("ifname"): link["index"] for link in ipr.get_links()}
            for i in star.hosts():
                ipr.link("set", index=index[f"p{i}"], master=bridge, state="up")
    finally:
        _libc.setns(home, CLONE_NEWNET)
        os.close(home)


def build(star: Star) -> None:
    error: list[BaseException] = []

    def body() -> None:
        try:
            _build(star)
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=body, name="bench-pyroute2")
    thread.start()
    thread.join()
    if error:
        raise error[0]


def teardown(star: Star) -> None:
    from pyroute2 import netns

    for name in star.namespaces():
        with contextlib.suppress(FileNotFoundError):
            netns.remove(name)
