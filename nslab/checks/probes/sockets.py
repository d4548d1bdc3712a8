"""Listening sockets of the calling thread's namespace, like `ss -tlnp` / `ss -ulnp`.

/proc/net/* follows the process's main thread, not ours (kernel-gotchas #9), so this reads
/proc/thread-self/net/{tcp,tcp6,udp,udp6}. Owners ("p" in ss -p) come from matching socket
inodes against the fds of processes living in the same namespace.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"


@dataclass(frozen=True)
class Listener:
    proto: str
    address: str
    port: int
    inode: int
    owners: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        who = f" ({', '.join(self.owners)})" if self.owners else ""
        return f"{host}:{self.port}/{self.proto}{who}"


def _address(hexed: str) -> str:
    raw = bytes.fromhex(hexed)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return str(ipaddress.IPv6Address(words))


def parse_table(text: str, proto: str) -> list[Listener]:
    """Rows in LISTEN (tcp) or unconnected (udp) state from one /proc/net table."""
    wanted = TCP_LISTEN if proto == "tcp" else UDP_UNCONNECTED
    out: list[Listener] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != wanted:
            continue
        local, _, port = fields[1].rpartition(":")
        remote_port = fields[2].rpartition(":")[2]
        if proto == "udp" and int(remote_port, 16) != 0:
            continue
        out.append(Listener(proto, _address(local), int(port, 16), int(fields[9])))
    return out


def listeners(proto: str) -> list[Listener]:
    out: list[Listener] = []
    for suffix in ("", "6"):
        try:
            with open(f"/proc/thread-self/net/{proto}{suffix}") as handle:
                out += parse_table(handle.read(), proto)
        except FileNotFoundError:
            continue
    return out


def with_owners(found: list[Listener], netns_path: str) -> list[Listener]:
    """Name the processes holding these sockets (only processes inside that namespace are searched)."""
    try:
        ns_inode = os.stat(netns_path).st_ino
    except OSError:
        return found
    wanted = {f"socket:[{item.inode}]": item for item in found}
    owners: dict[int, list[str]] = {}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino != ns_inode:
                continue
            fds = os.listdir(f"/proc/{pid}/fd")
            with open(f"/proc/{pid}/comm") as handle:
                comm = handle.read().strip()
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link in wanted:
                owners.setdefault(wanted[link].inode, []).append(f"{comm} pid {pid}")
    return [
        Listener(f.proto, f.address, f.port, f.inode, tuple(sorted(set(owners.get(f.inode, [])))))
        for f in found
    ]
