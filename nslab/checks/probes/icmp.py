"""ICMP without fork: raw echo sockets, and what ICMP errors mean in words.

Why raw sockets and not ICMP "ping" (datagram) sockets: those need
net.ipv4.ping_group_range to include our group, and that sysctl is "1 0" (nobody) in every
new namespace; we do not change lab sysctls to grade them. A raw ICMP socket receives a
copy of every ICMP message of the namespace, so each probe filters on its own identifier,
and the kernel-side ICMP_FILTER keeps unrelated types out.

ICMP errors quote the packet that caused them (IP header + 8 bytes), which carry our echo
identifier and sequence: that is how a time-exceeded or fragmentation-needed message is
matched to the probe that provoked it, and its source address names the router.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import select
import socket
import struct
import time
from dataclasses import dataclass

from nslab.checks.sockopts import (
    ICMP6_FILTER,
    ICMP_FILTER,
    IP_MTU_DISCOVER,
    IP_PMTUDISC_DONT,
    IP_PMTUDISC_PROBE,
    IPV6_MTU_DISCOVER,
    IPV6_PMTUDISC_DONT,
    IPV6_PMTUDISC_PROBE,
    SOL_IPV6,
    SOL_RAW,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ECHO_REQUEST = {4: 8, 6: 128}
ECHO_REPLY = {4: 0, 6: 129}
# Error types we listen for: v4 destination-unreachable, time-exceeded, parameter-problem;
# v6 destination-unreachable, packet-too-big, time-exceeded, parameter-problem.
ERROR_TYPES = {4: (3, 11, 12), 6: (1, 2, 3, 4)}
TOO_BIG = {4: (3, 4), 6: (2, 0)}
TIME_EXCEEDED = {4: 11, 6: 3}

_ident_base = int.from_bytes(os.urandom(2), "big")
_ident_counter = itertools.count()


def new_ident() -> int:
    """An echo identifier unique within this process (probes in one namespace share traffic)."""
    return (_ident_base + next(_ident_counter)) & 0xFFFF


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(version: int, ident: int, seq: int, size: int) -> bytes:
    payload = bytes((i & 0xFF) for i in range(size))
    header = struct.pack("!BBHHH", ECHO_REQUEST[version], 0, 0, ident, seq)
    if version == 6:
        return header + payload  # the kernel fills the ICMPv6 checksum (pseudo-header)
    csum = checksum(header + payload)
    return struct.pack("!BBHHH", ECHO_REQUEST[version], 0, csum, ident, seq) + payload


@dataclass(frozen=True)
class Reply:
    """An echo reply, or an ICMP error quoting one of our echo requests."""

    seq: int
    source: str
    type: int
    code: int
    is_reply: bool
    mtu: int = 0  # next-hop MTU of a fragmentation-needed / packet-too-big


def parse(version: int, data: bytes, source: str, ident: int) -> Reply | None:
    """Our reply or error in a received datagram, or None if it belongs to someone else."""
    if version == 4:
        if len(data) < 20:
            return None
        data = data[(data[0] & 0x0F) * 4 :]  # raw IPv4 sockets deliver the IP header too
    if len(data) < 8:
        return None
    icmp_type, code = data[0], data[1]
    if icmp_type == ECHO_REPLY[version]:
        got_ident, seq = struct.unpack_from("!HH", data, 4)
        return Reply(seq, source, icmp_type, code, True) if got_ident == ident else None
    if icmp_type not in ERROR_TYPES[version]:
        return None
    inner = data[8:]
    if version == 4:
        if len(inner) < 28 or inner[9] != socket.IPPROTO_ICMP:
            return None
        quoted = inner[(inner[0] & 0x0F) * 4 :]
    else:
        if len(inner) < 48 or inner[6] != socket.IPPROTO_ICMPV6:
            return None
        quoted = inner[40:]
    if len(quoted) < 8 or quoted[0] != ECHO_REQUEST[version]:
        return None
    got_ident, seq = struct.unpack_from("!HH", quoted, 4)
    if got_ident != ident:
        return None
    mtu = 0
    if (icmp_type, code) == TOO_BIG[version]:
        mtu = struct.unpack_from("!H", data, 6)[0] if version == 4 else struct.unpack_from("!I", data, 4)[0]
    return Reply(seq, source, icmp_type, code, False, mtu)


class EchoSocket:
    """A raw ICMP socket for one probe, in the calling thread's namespace."""

    def __init__(self, version: int) -> None:
        self.version = version
        if version == 4:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            wanted = (ECHO_REPLY[4], *ERROR_TYPES[4])
            blocked = 0xFFFFFFFF & ~sum(1 << t for t in wanted)
            self.sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", blocked))
        else:
            self.sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            words = [0xFFFFFFFF] * 8  # a set bit blocks that type
            for t in (ECHO_REPLY[6], *ERROR_TYPES[6]):
                words[t >> 5] &= ~(1 << (t & 31))
            self.sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *words))
        self.sock.setblocking(False)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> EchoSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_df(self, df: bool) -> None:
        # PROBE, not DO: set DF but ignore the cached path MTU, so a probe always tests the
        # path as it is now (after a fix) instead of the kernel's 10-minute PMTU memory.
        if self.version == 4:
            mode = IP_PMTUDISC_PROBE if df else IP_PMTUDISC_DONT
            self.sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, mode)
        else:
            mode = IPV6_PMTUDISC_PROBE if df else IPV6_PMTUDISC_DONT
            self.sock.setsockopt(SOL_IPV6, IPV6_MTU_DISCOVER, mode)
            self.sock.setsockopt(SOL_IPV6, socket.IPV6_DONTFRAG, 1 if df else 0)

    def set_ttl(self, ttl: int) -> None:
        if self.version == 4:
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        else:
            self.sock.setsockopt(SOL_IPV6, socket.IPV6_UNICAST_HOPS, ttl)

    def send(self, target: IPAddress, ident: int, seq: int, size: int) -> None:
        """Raises OSError for local failures (no route, message too long, local firewall)."""
        self.sock.sendto(echo_request(self.version, ident, seq, size), (str(target), 0))

    def receive(self, ident: int, until: float) -> Reply | None:
        """The next datagram for `ident`, or None once `until` (monotonic) has passed."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return None
            try:
                data, address = self.sock.recvfrom(65535)
            except BlockingIOError:
                continue
            found = parse(self.version, data, address[0], ident)
            if found is not None:
                return found


_V4_UNREACH = {
    0: "network unreachable",
    1: "host unreachable",
    2: "protocol unreachable",
    3: "port unreachable",
    4: "fragmentation needed",
    5: "source route failed",
    6: "destination network unknown",
    7: "destination host unknown",
    9: "network administratively prohibited",
    10: "host administratively prohibited",
    11: "network unreachable for TOS",
    12: "host unreachable for TOS",
    13: "communication administratively prohibited",
    14: "host precedence violation",
    15: "precedence cutoff in effect",
}
_V6_UNREACH = {
    0: "no route to destination",
    1: "communication administratively prohibited",
    2: "beyond scope of source address",
    3: "address unreachable",
    4: "port unreachable",
    5: "source address failed policy",
    6: "reject route to destination",
}


def describe(version: int, icmp_type: int, code: int) -> str:
    """ICMP type/code in words, like ping and traceroute print them."""
    if version == 4:
        if icmp_type == 3:
            return _V4_UNREACH.get(code, f"destination unreachable (code {code})")
        if icmp_type == 11:
            return "TTL exceeded in transit" if code == 0 else "fragment reassembly time exceeded"
        if icmp_type == 12:
            return "parameter problem"
    else:
        if icmp_type == 1:
            return _V6_UNREACH.get(code, f"destination unreachable (code {code})")
        if icmp_type == 2:
            return "packet too big"
        if icmp_type == 3:
            return "hop limit exceeded in transit" if code == 0 else "fragment reassembly time exceeded"
        if icmp_type == 4:
            return "parameter problem"
    return f"ICMP type {icmp_type} code {code}"


def is_filtered(version: int, icmp_type: int, code: int) -> bool:
    """Codes a firewall REJECT sends (iptables' default is port-unreachable, checked by callers)."""
    if version == 4:
        return icmp_type == 3 and code in (9, 10, 13)
    return icmp_type == 1 and code in (1, 5, 6)


def why(version: int, icmp_type: int, code: int, offender: str, target: str, proto: str) -> str:
    """A short reading of an ICMP error for a learner: why its sender probably sent it."""
    if is_filtered(version, icmp_type, code):
        return "a firewall there rejects it"
    if (icmp_type, code) == ((3, 3) if version == 4 else (1, 4)):
        if proto == "udp" and offender == target:
            return "nothing listens on that UDP port"
        return "a firewall REJECT there"
    if (icmp_type, code) == ((3, 1) if version == 4 else (1, 3)):
        return "no ARP/ND reply from the next hop"
    if (icmp_type, code) == ((3, 0) if version == 4 else (1, 0)):
        return "no route onward from there"
    return ""
