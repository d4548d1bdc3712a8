"""arp: who answers "who-has X" on one of the node's interfaces, counted by distinct MAC.

A duplicate address or an ARP-poisoning lab is about *how many* stations claim an IPv4
address, which no neighbour table shows (it keeps the last answer). So the probe asks the
segment itself: it broadcasts hand-built ARP requests from an AF_PACKET socket bound to the
interface (made in the probe's thread, hence in the node's namespace; no scapy, trap 11) and
collects every reply for the address until the deadline, keyed by the sender's MAC.

The requests carry the interface's own MAC and first IPv4 address (0.0.0.0, an RFC 5227
probe, when it has none), exactly what the node's kernel would send, so the answering hosts
learn nothing new about the node. Replies may refresh the node's own neighbour entry for the
address, as any ARP traffic on that segment would.
"""

from __future__ import annotations

import errno
import ipaddress
import select
import socket
import struct
import time
from typing import Any

from nslab.checks.context import ProbeContext
from nslab.checks.observation import Observation, error
from nslab.checks.probes import kstate
from nslab.kernel import rtnl
from nslab.scenario import model as m

ETH_P_ARP = 0x0806
ARPHRD_ETHER = 1
PACKET_OUTGOING = 4  # our own requests, looped back to packet sockets
BROADCAST = b"\xff" * 6
SENDS = 3
_ETH = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")


def request(mac: bytes, sender: ipaddress.IPv4Address, target: ipaddress.IPv4Address) -> bytes:
    """A 42-byte broadcast ARP request: Ethernet header, then who-has target tell sender."""
    arp = _ARP.pack(1, 0x0800, 6, 4, 1, mac, sender.packed, b"\0" * 6, target.packed)
    return _ETH.pack(BROADCAST, mac, ETH_P_ARP) + arp


def answerer(frame: bytes, target: ipaddress.IPv4Address) -> str | None:
    """The sender MAC of an ARP reply that claims `target`, or None for any other frame."""
    if len(frame) < _ETH.size + _ARP.size or _ETH.unpack_from(frame)[2] != ETH_P_ARP:
        return None
    htype, ptype, hlen, plen, op, sha, spa, _, _ = _ARP.unpack_from(frame, _ETH.size)
    if (htype, ptype, hlen, plen, op) != (1, 0x0800, 6, 4, 2) or spa != target.packed:
        return None
    return bytes(sha).hex(":")


def _own_ipv4(iface: str) -> tuple[bool, ipaddress.IPv4Address]:
    """Whether the node has the interface, and its first IPv4 address there (0.0.0.0 if none)."""
    with rtnl.Rtnl() as sock:
        names = {link.index: link.name for link in sock.links()}
        found = kstate.addresses(sock, names)
    mine = [a.address.ip for a in found if a.iface == iface and a.address.version == 4]
    return iface in names.values(), ipaddress.IPv4Address(mine[0] if mine else "0.0.0.0")


def probe(ctx: ProbeContext, check: m.Check) -> Observation:
    iface = str(check.params["iface"])
    target = ipaddress.IPv4Address(str(check.params["who_has"]))
    exists, sender = _own_ipv4(iface)
    if not exists:
        return Observation("missing", f"{ctx.node} has no interface {iface}")
    evidence: dict[str, Any] = {"iface": iface, "who_has": str(target), "sender": str(sender)}
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((iface, ETH_P_ARP))
        hatype, mac = sock.getsockname()[3:5]
        if hatype != ARPHRD_ETHER:
            return Observation("no-arp", f"{iface} is not an Ethernet interface: it has no ARP", evidence)
        frame = request(mac, sender, target)
        enough = check.params.get("max") is None and check.params.get("answers") is None
        low = int(check.params.get("min") or 0)
        macs, problem = _collect(ctx, sock, frame, target, lambda n: enough and n >= max(low, 1))
    if problem is not None:
        why = problem.strerror or str(problem)
        if problem.errno == errno.ENETDOWN:
            return Observation("down", f"{iface} is down: no ARP request could leave it ({why})", evidence)
        return error(f"could not send an ARP request on {iface}: {why}", **evidence)
    evidence.update(count=len(macs), macs=macs)
    asked = f"who-has {target} on {ctx.node} {iface}"
    if not macs:
        return Observation("count", f"no answer to {asked} within {ctx.timeout:.1f} s", evidence)
    noun = "MAC answers" if len(macs) == 1 else "MACs answer"
    return Observation("count", f"{len(macs)} {noun} {asked}: {', '.join(macs)}", evidence)


def _collect(
    ctx: ProbeContext, sock: socket.socket, frame: bytes, target: ipaddress.IPv4Address, done: Any
) -> tuple[list[str], OSError | None]:
    """Send SENDS requests spread over the timeout, gathering answers until the deadline (or
    until `done(count)`: a bare minimum met needs no more waiting). Returns MACs in the order
    they first answered, and why sending failed, if it did."""
    macs: list[str] = []
    started = time.monotonic()
    spacing = ctx.timeout / SENDS
    sent = 0
    while True:
        now = time.monotonic()
        if sent < SENDS and now >= started + sent * spacing:
            try:
                sock.send(frame)
            except OSError as exc:
                return macs, exc
            sent += 1
        wake = min(started + sent * spacing if sent < SENDS else ctx.deadline, ctx.deadline)
        ready, _, _ = select.select([sock], [], [], max(0.0, wake - time.monotonic()))
        if ready:
            data, address = sock.recvfrom(2048)
            who = answerer(data, target) if address[2] != PACKET_OUTGOING else None
            if who is not None and who not in macs:
                macs.append(who)
                if done(len(macs)):
                    return macs, None
        if time.monotonic() >= ctx.deadline:
            return macs, None
