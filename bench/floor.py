"""The floor: the least Python that builds (and removes) the star, straight over rtnetlink.

Independent of nslab's code on purpose (stdlib + ctypes only). One worker thread moves
through the namespaces; per namespace: unshare, one netlink socket, one write holding every
message, an ack requested on the last message only (errors are always reported, and the
kernel handles a write's messages in order), then a bind mount to name the namespace.
Interface indexes are chosen by us (100 and up, above any fallback tunnel device) so that
no message has to wait for a reply to learn an index.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import struct
import threading

from topo import NETNS_DIR, Star

CLONE_NEWNET = 0x40000000
MS_BIND, MS_REC, MS_SHARED, MNT_DETACH = 4096, 16384, 1 << 20, 2
RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 20, 24
F_REQUEST, F_ACK, F_EXCL, F_CREATE = 0x1, 0x4, 0x200, 0x400
IFLA_IFNAME, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 3, 10, 18, 28
IFA_LOCAL, IFA_ADDRESS = 2, 1
RTA_OIF = 4
IFF_UP = 1
BRIDGE_INDEX = ETH0_INDEX = 100  # port pI of the bridge gets index 100 + i

_libc = ctypes.CDLL(None, use_errno=True)


def _ok(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _attr(kind: int, payload: bytes) -> bytes:
    return struct.pack("=HH", 4 + len(payload), kind) + payload + b"\0" * (-len(payload) % 4)


def _link(index: int, up: bool = False, attrs: bytes = b"") -> tuple[int, int, bytes]:
    return RTM_NEWLINK, 0, struct.pack("=BxHiII", 0, 0, index, IFF_UP if up else 0, IFF_UP) + attrs


def _new_link(index: int, name: str, kind: str, data: bytes = b"") -> tuple[int, int, bytes]:
    info = _attr(1, kind.encode() + b"\0") + (_attr(2, data) if data else b"")
    body = struct.pack("=BxHiII", 0, 0, index, 0, 0) + _attr(IFLA_IFNAME, name.encode() + b"\0")
    return RTM_NEWLINK, F_CREATE | F_EXCL, body + _attr(IFLA_LINKINFO, info)


def _send(messages: list[tuple[int, int, bytes]]) -> None:
    """Send every message in one write on a socket of the calling thread's namespace."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as sock:
        out = bytearray()
        for seq, (kind, flags, body) in enumerate(messages, 1):
            flags |= F_REQUEST | (F_ACK if seq == len(messages) else 0)
            out += struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body
        sock.send(out)
        while True:
            data = sock.recv(65536)
            offset = 0
            while offset < len(data):
                length, kind, _, seq, _ = struct.unpack_from("=IHHII", data, offset)
                if kind == 2:  # NLMSG_ERROR: an error, or the ack of the last message
                    err = -struct.unpack_from("=i", data, offset + 16)[0]
                    if err:
                        raise OSError(err, f"netlink message {seq}: {os.strerror(err)}")
                    if seq == len(messages):
                        return
                offset += (length + 3) & ~3


def _name_here(name: str) -> None:
    path = os.path.join(NETNS_DIR, name)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    _ok(_libc.mount(b"/proc/thread-self/ns/net", path.encode(), None, MS_BIND, None), f"mount {path}")


def _prepare_dir() -> None:
    """/run/netns as a shared mount, as `ip netns add` leaves it."""
    os.makedirs(NETNS_DIR, exist_ok=True)
    if _libc.mount(b"none", NETNS_DIR.encode(), None, MS_SHARED | MS_REC, None) != 0:
        _ok(_libc.mount(NETNS_DIR.encode(), NETNS_DIR.encode(), None, MS_BIND | MS_REC, None), "bind")
        _ok(_libc.mount(b"none", NETNS_DIR.encode(), None, MS_SHARED | MS_REC, None), "make-shared")


def _host_messages(star: Star, i: int, switch_fd: int) -> list[tuple[int, int, bytes]]:
    """lo up; eth0 with its peer pI created directly in the switch; address; eth0 up; route."""
    peer = struct.pack("=BxHiII", 0, 0, BRIDGE_INDEX + i, 0, 0) + _attr(IFLA_IFNAME, f"p{i}".encode() + b"\0")
    peer += _attr(IFLA_NET_NS_FD, struct.pack("=i", switch_fd))
    ip = socket.inet_aton(star.host_ip(i))
    addr = (
        struct.pack("=BBBBI", socket.AF_INET, 16, 0, 0, ETH0_INDEX)
        + _attr(IFA_LOCAL, ip)
        + _attr(IFA_ADDRESS, ip)
    )
    # default route: main table, static, scope link, unicast, out of eth0
    route = struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 0, 0, 254, 4, 253, 1, 0)
    route += _attr(RTA_OIF, struct.pack("=I", ETH0_INDEX))
    return [
        _link(1, up=True),
        _new_link(ETH0_INDEX, "eth0", "veth", _attr(1, peer)),  # VETH_INFO_PEER
        (RTM_NEWADDR, F_CREATE | F_EXCL, addr),
        _link(ETH0_INDEX, up=True),
        (RTM_NEWROUTE, F_CREATE | F_EXCL, route),
    ]


def _build(star: Star) -> None:
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _prepare_dir()
        _ok(_libc.unshare(CLONE_NEWNET), "unshare")
        stp_off = _attr(5, struct.pack("=I", 0)) + _attr(1, struct.pack("=I", 0))  # stp 0, fwd delay 0
        bridge = _new_link(BRIDGE_INDEX, "br0", "bridge", stp_off)
        _send([_link(1, up=True), bridge, _link(BRIDGE_INDEX, up=True)])
        _name_here(star.switch_ns)
        switch = os.open(os.path.join(NETNS_DIR, star.switch_ns), os.O_RDONLY)
        try:
            for i in star.hosts():
                _ok(_libc.unshare(CLONE_NEWNET), "unshare")
                _send(_host_messages(star, i, switch))
                _name_here(star.host_ns(i))
            _ok(_libc.setns(switch, CLONE_NEWNET), "setns")
        finally:
            os.close(switch)
        master = _attr(IFLA_MASTER, struct.pack("=I", BRIDGE_INDEX))
        _send([_link(BRIDGE_INDEX + i, up=True, attrs=master) for i in star.hosts()])
    finally:
        _libc.setns(home, CLONE_NEWNET)
        os.close(home)


def _in_thread(fn, *args) -> None:  # type: ignore[no-untyped-def]
    error: list[BaseException] = []

    def body() -> None:
        try:
            fn(*args)
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=body, name="bench-floor")
    thread.start()
    thread.join()
    if error:
        raise error[0]


def build(star: Star) -> None:
    _in_thread(_build, star)


def teardown(star: Star) -> None:
    """Unname every namespace; the kernel then frees each with all its devices in one go."""
    for name in star.namespaces():
        path = os.path.join(NETNS_DIR, name)
        _libc.umount2(path.encode(), MNT_DETACH)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
