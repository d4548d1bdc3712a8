"""sockets: how many TCP sockets of the node sit in one state on a port, like
`ss -tn state close-wait '( sport = :8080 )' | wc -l`.

The count is read in process from /proc/thread-self/net/tcp and tcp6 (not /proc/net, which
follows the main thread's namespace: kernel-gotchas #9), so it costs no fork. Those tables
list every TCP socket of the namespace, TIME-WAIT and SYN-RECV ones included.

With `connect: N` the probe first plays N clients that come and go: it opens N connections
to the port, sends `send` if given, and hangs up (shutdown for writing, so a FIN goes out).
A server that closes its side promptly leaves nothing behind; one that forgets to close
leaves each of them in CLOSE-WAIT. The probe then polls the count until it is within the
check's bounds or the timeout is spent, so a healthy server gets the whole timeout to
close, and only then closes its own sockets (after reading what the server sent, so the
close is a FIN, as a real client's would be, not an RST that would hide the leak).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import select
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nslab.checks.context import ProbeContext
from nslab.checks.observation import Observation
from nslab.checks.probes import sockets
from nslab.kernel import netns
from nslab.scenario import model as m

# ss's state names (as `ss state NAME` takes them) -> the kernel's TCP state numbers.
STATES: dict[str, int] = {
    "established": 0x01,
    "syn-sent": 0x02,
    "syn-recv": 0x03,
    "fin-wait-1": 0x04,
    "fin-wait-2": 0x05,
    "time-wait": 0x06,
    "close-wait": 0x08,
    "last-ack": 0x09,
    "listening": 0x0A,
    "closing": 0x0B,
}
POLL_GAP = 0.05  # seconds between two readings of the tables while waiting for the bounds
SHOWN = 10  # sockets listed by address in the evidence


@dataclass(frozen=True)
class TcpSocket:
    local: str
    local_port: int
    peer: str
    peer_port: int
    state: int
    inode: int

    def __str__(self) -> str:
        return f"{_host(self.local)}:{self.local_port} <- {_host(self.peer)}:{self.peer_port}"


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _endpoint(text: str) -> tuple[str, int]:
    hexed, _, port = text.rpartition(":")
    return sockets._address(hexed), int(port, 16)


def parse_table(text: str) -> list[TcpSocket]:
    """Every socket row of one /proc/net/tcp or tcp6 table."""
    out: list[TcpSocket] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        local, local_port = _endpoint(fields[1])
        peer, peer_port = _endpoint(fields[2])
        out.append(TcpSocket(local, local_port, peer, peer_port, int(fields[3], 16), int(fields[9])))
    return out


def tcp_sockets() -> list[TcpSocket]:
    """The TCP sockets of the calling thread's namespace, IPv4 and IPv6."""
    out: list[TcpSocket] = []
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/thread-self/net/{name}") as handle:
                out += parse_table(handle.read())
        except FileNotFoundError:
            continue
    return out


def select_sockets(
    found: Iterable[TcpSocket], state: int, port: int | None, peer_port: int | None
) -> list[TcpSocket]:
    return [
        s
        for s in found
        if s.state == state
        and (port is None or s.local_port == port)
        and (peer_port is None or s.peer_port == peer_port)
    ]


def within(count: int, low: int | None, high: int | None) -> bool:
    return (low is None or count >= low) and (high is None or count <= high)


@dataclass
class Clients:
    """The probe's own short-lived clients: opened, hung up, closed at the end."""

    opened: list[socket.socket]
    failed: dict[str, int]

    def settled(self) -> bool:
        """Has the server's kernel acknowledged every hang-up? Until then a server socket may
        still read ESTABLISHED, and a count taken too early would flatter a leaking server."""
        for sock in self.opened:
            try:
                state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
            except OSError:
                continue
            if state in (STATES["established"], STATES["syn-sent"], STATES["fin-wait-1"]):
                return False
        return True

    def close(self) -> None:
        for sock in self.opened:
            with contextlib.suppress(OSError):
                sock.setblocking(False)
                while sock.recv(65536):  # read what the server sent: then close() sends a FIN
                    pass
            sock.close()


def play_clients(address: str, port: int, count: int, payload: bytes, budget: float) -> Clients:
    """Open `count` connections at once (non-blocking), give them `budget` seconds to connect,
    send the payload and hang up on each. Sockets that did not connect are closed at once."""
    target = ipaddress.ip_address(address)
    fam = socket.AF_INET if target.version == 4 else socket.AF_INET6
    pending: list[socket.socket] = []
    clients = Clients([], {})

    def fail(sock: socket.socket, why: str) -> None:
        clients.failed[why] = clients.failed.get(why, 0) + 1
        sock.close()

    for _ in range(count):
        sock = socket.socket(fam, socket.SOCK_STREAM)
        sock.setblocking(False)
        rc = sock.connect_ex((address, port))
        if rc in (0, errno.EINPROGRESS):
            pending.append(sock)
        else:
            fail(sock, errno.errorcode.get(rc, str(rc)))
    until = time.monotonic() + budget
    while pending:
        left = until - time.monotonic()
        _, ready, _ = select.select([], pending, [], max(0.0, left)) if left > 0 else ([], [], [])
        if not ready:
            for sock in pending:
                fail(sock, "timeout")
            break
        for sock in ready:
            pending.remove(sock)
            rc = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if rc == errno.ECONNREFUSED:
                fail(sock, "refused")
            elif rc != 0:
                fail(sock, errno.errorcode.get(rc, str(rc)))
            else:
                clients.opened.append(sock)
    for sock in clients.opened:
        with contextlib.suppress(OSError):
            if payload:
                sock.send(payload)
            sock.shutdown(socket.SHUT_WR)
    return clients


def probe(ctx: ProbeContext, check: m.Check) -> Observation:
    p = check.params
    state_name = str(p.get("state") or "close-wait")
    state = STATES[state_name]
    port = int(p["port"]) if p.get("port") is not None else None
    peer_port = int(p["peer_port"]) if p.get("peer_port") is not None else None
    low = int(p["min"]) if p.get("min") is not None else None
    high = int(p["max"]) if p.get("max") is not None else None
    count_wanted = int(p.get("connect") or 0)
    clients = Clients([], {})
    if count_wanted and port is not None:
        payload = str(p.get("send") or "").encode()
        address = str(p.get("address") or "127.0.0.1")
        clients = play_clients(address, port, count_wanted, payload, ctx.remaining() * 0.4)
    try:
        while True:
            found = select_sockets(tcp_sockets(), state, port, peer_port)
            if (clients.settled() and within(len(found), low, high)) or ctx.remaining() <= POLL_GAP:
                break
            time.sleep(POLL_GAP)
    finally:
        clients.close()
    return _observation(ctx, state_name, port, peer_port, found, clients, count_wanted)


def _observation(
    ctx: ProbeContext,
    state_name: str,
    port: int | None,
    peer_port: int | None,
    found: list[TcpSocket],
    clients: Clients,
    count_wanted: int,
) -> Observation:
    where = " and ".join(
        part
        for part in (
            f"local port {port}" if port is not None else "",
            f"peer port {peer_port}" if peer_port is not None else "",
        )
        if part
    )
    word = state_name.upper()
    owners = _owners(found, ctx.netns)
    if not found:
        detail = f"no socket in {word} on {where}"
    else:
        noun = "socket" if len(found) == 1 else "sockets"
        detail = f"{len(found)} {noun} in {word} on {where}"
        if owners:
            detail += f", held by {', '.join(owners)}"
    if count_wanted:
        detail += f" (after {len(clients.opened)} of {count_wanted} test clients connected and hung up"
        if clients.failed:
            detail += "; the others: " + ", ".join(f"{n} {why}" for why, n in sorted(clients.failed.items()))
        detail += ")"
    evidence: dict[str, Any] = {
        "count": len(found),
        "state": state_name,
        "sockets": [str(s) for s in found[:SHOWN]],
        "owners": owners,
    }
    if port is not None:
        evidence["port"] = port
    if peer_port is not None:
        evidence["peer_port"] = peer_port
    if count_wanted:
        evidence["clients"] = {
            "wanted": count_wanted,
            "connected": len(clients.opened),
            "failed": clients.failed,
        }
    return Observation("count", detail, evidence)


def _owners(found: list[TcpSocket], ns: str) -> list[str]:
    """The processes holding these sockets (as `ss -p` names them); sockets no process holds
    (TIME-WAIT, or never accepted) have inode 0."""
    held = [sockets.Listener("tcp", s.local, s.local_port, s.inode) for s in found if s.inode]
    if not held:
        return []
    named = sockets.with_owners(held, netns.path_of(ns))
    return sorted({owner for item in named for owner in item.owners})
