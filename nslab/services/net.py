"""Sockets for the servers: listeners with clear bind errors, and UDP replies that leave
from the address the request was sent to.

A UDP socket bound to 0.0.0.0 on a node with several addresses (a router) would otherwise
answer from whatever address the route picks, and clients such as dig drop a reply that
comes from an address they did not ask ("reply from unexpected source").
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from typing import Any

# Linux values; Python 3.11's socket module lacks IP_PKTINFO.
IP_PKTINFO = 8
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50

Address = tuple[Any, ...]


def describe(bind: str, port: int, proto: str) -> str:
    host = f"[{bind}]" if ":" in bind else bind
    return f"{host}:{port}/{proto}"


def _family(bind: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(bind).version == 6 else socket.AF_INET


def _bound(kind: socket.SocketKind, bind: str, port: int, proto: str) -> socket.socket:
    family = _family(bind)
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once after a stop
        if family == socket.AF_INET6 and ipaddress.ip_address(bind).is_unspecified:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # "::" means IPv4 too
        sock.bind((bind, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {describe(bind, port, proto)}: {exc.strerror}") from None
    return sock


def listen_tcp(bind: str, port: int, backlog: int = 128) -> socket.socket:
    sock = _bound(socket.SOCK_STREAM, bind, port, "tcp")
    sock.listen(backlog)
    return sock


class UdpEndpoint:
    """A bound UDP socket that remembers where each datagram was sent, to reply from there."""

    def __init__(self, bind: str, port: int) -> None:
        self.sock = _bound(socket.SOCK_DGRAM, bind, port, "udp")
        self.v6 = self.sock.family == socket.AF_INET6
        if self.v6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        else:
            self.sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)

    def receive(self, size: int = 65535) -> tuple[bytes, Address, bytes | None]:
        """A datagram, its sender, and the control message to answer from the right address."""
        data, ancillary, _flags, sender = self.sock.recvmsg(size, socket.CMSG_SPACE(32))
        reply_from = None
        for level, kind, payload in ancillary:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(payload) >= 12:
                # struct in_pktinfo {int ifindex; in_addr spec_dst; in_addr addr}: answer from addr.
                reply_from = struct.pack("@i4s4s", 0, payload[8:12], b"\0" * 4)
            elif level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO and len(payload) >= 20:
                # struct in6_pktinfo {in6_addr addr; unsigned ifindex}; keep the interface only
                # for link-local destinations, where the address alone is ambiguous.
                ifindex = struct.unpack("@I", payload[16:20])[0]
                local = ipaddress.IPv6Address(payload[:16])
                reply_from = struct.pack("@16sI", payload[:16], ifindex if local.is_link_local else 0)
        return data, sender, reply_from

    def send(self, data: bytes, to: Address, reply_from: bytes | None) -> None:
        if reply_from is None:
            self.sock.sendto(data, to)
            return
        level, kind = (socket.IPPROTO_IPV6, IPV6_PKTINFO) if self.v6 else (socket.IPPROTO_IP, IP_PKTINFO)
        self.sock.sendmsg([data], [(level, kind, reply_from)], 0, to)

    def close(self) -> None:
        self.sock.close()
