"""Who holds a port: listening sockets of a network namespace, matched to processes by inode.

A service is "started" only when the socket on its port belongs to the process just
started; a daemon left from an earlier run (or a learner's `nc -l`) on the same port must
not pass for it. /proc/<pid>/net/* lists the sockets of that process's network namespace
with their inodes; /proc/<pid>/fd/* links name the socket inodes each process holds.
Stdlib only: the service process (`python -S`) imports this too.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

TCP_LISTEN = "0A"
PROTOS = ("tcp", "tcp6", "udp", "udp6")


@dataclass(frozen=True)
class Socket:
    proto: str  # "tcp" or "udp" (IPv6 folded in)
    address: str
    port: int
    inode: int


def _address(hex_text: str) -> str:
    raw = bytes.fromhex(hex_text)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # /proc prints IPv6 as four host-order 32-bit words.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return str(ipaddress.IPv6Address(words))


def listening(pid: int | str = "self") -> list[Socket]:
    """Listening TCP and bound UDP sockets of the network namespace `pid` lives in."""
    found = []
    for proto in PROTOS:
        try:
            with open(f"/proc/{pid}/net/{proto}") as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or (proto.startswith("tcp") and fields[3] != TCP_LISTEN):
                continue
            host, _, port = fields[1].rpartition(":")
            found.append(Socket(proto.rstrip("6"), _address(host), int(port, 16), int(fields[9])))
    return found


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets process `pid` holds open (empty if it is gone)."""
    inodes: set[int] = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def overlap(a: str, b: str) -> bool:
    """Would sockets bound to a and b on one port collide? ("::" is dual-stack here.)"""
    x, y = ipaddress.ip_address(a), ipaddress.ip_address(b)
    if x == y:
        return True
    if x.is_unspecified and (x.version == y.version or x.version == 6):
        return True
    return y.is_unspecified and (x.version == y.version or y.version == 6)


def holders(pids: list[int], sockets: list[Socket]) -> dict[int, list[Socket]]:
    """Which of `pids` hold which of `sockets`."""
    by_inode = {s.inode: s for s in sockets}
    out: dict[int, list[Socket]] = {}
    for pid in pids:
        held = [by_inode[i] for i in socket_inodes(pid) if i in by_inode]
        if held:
            out[pid] = held
    return out
