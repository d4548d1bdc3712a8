"""Read a node's routes, addresses and links over rtnetlink (no `ip` process per check).

Uses the engine's Rtnl socket for the dump itself and decodes the two message types it
does not (routes and addresses). The socket must be created in the probe's thread, which is
inside the node's namespace.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass

from nslab.kernel import rtnl

_RTMSG = struct.Struct("=BBBBBBBBI")
_IFADDR = struct.Struct("=BBBBI")
RTM_F_CLONED = 0x200  # a cached exception (e.g. a learned path MTU), not a configured route
_TYPES = {1: "unicast", 2: "local", 3: "broadcast", 6: "blackhole", 7: "unreachable", 8: "prohibit"}


def _ip(family: int, raw: bytes) -> str:
    return socket.inet_ntop(family, raw)


@dataclass(frozen=True)
class Route:
    to: ipaddress.IPv4Network | ipaddress.IPv6Network
    via: str | None
    dev: str | None
    type: str
    metric: int

    def __str__(self) -> str:
        dst = "default" if self.to.prefixlen == 0 else str(self.to)
        text = dst if self.type == "unicast" else f"{self.type} {dst}"
        if self.via:
            text += f" via {self.via}"
        if self.dev:
            text += f" dev {self.dev}"
        return text


@dataclass(frozen=True)
class Address:
    iface: str
    address: ipaddress.IPv4Interface | ipaddress.IPv6Interface


def links(sock: rtnl.Rtnl) -> list[rtnl.LinkInfo]:
    return sock.links()


def routes(sock: rtnl.Rtnl, names: dict[int, str]) -> list[Route]:
    """The main table, IPv4 and IPv6, as `ip route` / `ip -6 route` show it."""
    out: list[Route] = []
    for family in (socket.AF_INET, socket.AF_INET6):
        body = _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        for _, msg in sock.dump(rtnl.RTM_GETROUTE, body):
            fam, dst_len, _, _, table, _, _, rtype, flags = _RTMSG.unpack_from(msg)
            if flags & RTM_F_CLONED:
                continue
            attrs = rtnl.parse_attrs(msg, _RTMSG.size)
            if rtnl.RTA_TABLE in attrs:
                table = struct.unpack("=I", attrs[rtnl.RTA_TABLE])[0]
            if table != rtnl.RT_TABLE_MAIN or rtype not in _TYPES or rtype in (2, 3):
                continue
            zero = "0.0.0.0" if fam == socket.AF_INET else "::"
            dst = _ip(fam, attrs[rtnl.RTA_DST]) if rtnl.RTA_DST in attrs else zero
            via = _ip(fam, attrs[rtnl.RTA_GATEWAY]) if rtnl.RTA_GATEWAY in attrs else None
            oif = struct.unpack("=I", attrs[rtnl.RTA_OIF])[0] if rtnl.RTA_OIF in attrs else 0
            metric = struct.unpack("=I", attrs[rtnl.RTA_PRIORITY])[0] if rtnl.RTA_PRIORITY in attrs else 0
            if fam == socket.AF_INET6 and dst.startswith("fe80:"):
                continue  # the link-local route every IPv6 interface gets
            network = ipaddress.ip_network(f"{dst}/{dst_len}", strict=False)
            out.append(Route(network, via, names.get(oif) if oif else None, _TYPES[rtype], metric))
    return out


def addresses(sock: rtnl.Rtnl, names: dict[int, str]) -> list[Address]:
    out: list[Address] = []
    for _, msg in sock.dump(rtnl.RTM_GETADDR, _IFADDR.pack(socket.AF_UNSPEC, 0, 0, 0, 0)):
        fam, prefixlen, _, _, index = _IFADDR.unpack_from(msg)
        attrs = rtnl.parse_attrs(msg, _IFADDR.size)
        raw = attrs.get(rtnl.IFA_LOCAL) or attrs.get(rtnl.IFA_ADDRESS)
        if raw is None or fam not in (socket.AF_INET, socket.AF_INET6):
            continue
        iface = ipaddress.ip_interface(f"{_ip(fam, raw)}/{prefixlen}")
        out.append(Address(names.get(index, str(index)), iface))
    return out


_HDR = struct.Struct("=IHHII")
_NDMSG = struct.Struct("=BxxxiHBB")
NLMSG_ERROR = 2
NUD_STATES = {
    0x01: "INCOMPLETE",
    0x02: "REACHABLE",
    0x04: "STALE",
    0x08: "DELAY",
    0x10: "PROBE",
    0x20: "FAILED",
    0x40: "NOARP",
    0x80: "PERMANENT",
}


def route_get(
    sock: rtnl.Rtnl, target: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> tuple[str | None, int] | None:
    """What `ip route get TARGET` decides: (gateway or None when on-link, output ifindex)."""
    family = socket.AF_INET if target.version == 4 else socket.AF_INET6
    body = _RTMSG.pack(family, target.max_prefixlen, 0, 0, 0, 0, 0, 0, 0)
    body += struct.pack("=HH", 4 + len(target.packed), rtnl.RTA_DST) + target.packed
    sock.seq += 1
    sock.sock.send(
        _HDR.pack(_HDR.size + len(body), rtnl.RTM_GETROUTE, rtnl.NLM_F_REQUEST, sock.seq, 0) + body
    )
    while True:
        data = sock.sock.recv(65536)
        length, kind, _, seq, _ = _HDR.unpack_from(data)
        if seq != sock.seq:
            continue
        if kind == NLMSG_ERROR:
            return None
        msg = data[_HDR.size : length]
        attrs = rtnl.parse_attrs(msg, _RTMSG.size)
        gateway = _ip(family, attrs[rtnl.RTA_GATEWAY]) if rtnl.RTA_GATEWAY in attrs else None
        oif = struct.unpack("=I", attrs[rtnl.RTA_OIF])[0] if rtnl.RTA_OIF in attrs else 0
        return gateway, oif


def neighbour_state(sock: rtnl.Rtnl, address: str, ifindex: int) -> str | None:
    """The ARP/ND cache state of `address` on that interface (like `ip neigh`), if any."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for _, msg in sock.dump(rtnl.RTM_GETNEIGH, _NDMSG.pack(family, 0, 0, 0, 0)):
        fam, index, nud, _, _ = _NDMSG.unpack_from(msg)
        attrs = rtnl.parse_attrs(msg, _NDMSG.size)
        if index == ifindex and rtnl.NDA_DST in attrs and _ip(fam, attrs[rtnl.NDA_DST]) == address:
            return NUD_STATES.get(nud, hex(nud))
    return None


def silence_reason(node: str, target: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why traffic to `target` may have gone unanswered, when the node itself can tell: the next
    hop never answered ARP/ND. Called from a probe thread, so it reads the node's tables."""
    with rtnl.Rtnl() as sock:
        hop = route_get(sock, target)
        if hop is None:
            return None
        gateway, oif = hop
        neighbour = gateway or str(target)
        state = neighbour_state(sock, neighbour, oif)
    if state not in ("INCOMPLETE", "FAILED"):
        return None
    which = f"the gateway {gateway}" if gateway else str(target)
    return (
        f"{which} has not answered {node}'s ARP/ND requests (neighbour {state}): is it up, on this segment?"
    )
