"""A compact rtnetlink codec and socket: batched requests, acks matched by sequence number.

Why not pyroute2 here: importing any part of pyroute2 costs ~155 ms (its package __init__
pulls in everything) and each high-level call costs ~0.45 ms over raw netlink
(kernel-gotchas). A build sends a few messages per host, all known in advance (we choose
interface indexes ourselves), so we encode them with struct and send them in one write.
pyroute2 remains the independent oracle the tests use to read kernel state back.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTM_NEWNEIGH, RTM_GETNEIGH = 28, 30

IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK = 1, 3, 4, 5
IFLA_MASTER, IFLA_OPERSTATE, IFLA_LINKINFO, IFLA_IFALIAS, IFLA_NET_NS_FD = 10, 16, 18, 20, 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFLA_BR_FORWARD_DELAY, IFLA_BR_STP_STATE = 1, 5
IFLA_VXLAN_ID, IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL, IFLA_VXLAN_PORT = 1, 3, 4, 15
IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6, IFLA_VXLAN_LOCAL6 = 2, 16, 17
IFF_UP = 0x1

IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST = 1, 2, 3, 4
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC, RTA_METRICS, RTA_TABLE = 1, 4, 5, 6, 7, 8, 15
RTAX_MTU, RTAX_ADVMSS = 2, 8  # inside RTA_METRICS
RTNH_F_ONLINK = 4  # rtm_flags: take the gateway as on the link even without a subnet there
RTN_UNICAST, RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT = 1, 6, 7, 8
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK = 0, 253
RTPROT_BOOT, RTPROT_STATIC = 3, 4
RT_TABLE_MAIN = 254
NDA_DST, NDA_LLADDR = 1, 2
NUD_PERMANENT = 0x80

ROUTE_TYPES = {
    "unicast": RTN_UNICAST,
    "blackhole": RTN_BLACKHOLE,
    "unreachable": RTN_UNREACHABLE,
    "prohibit": RTN_PROHIBIT,
}

_HDR = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_IFADDR = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_NDMSG = struct.Struct("=BxxxiHBB")


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _str(kind: int, text: str) -> bytes:
    return _attr(kind, text.encode() + b"\0")


def _u32(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack("=I", value))


def _mac(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def _family(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    return socket.AF_INET if addr.version == 4 else socket.AF_INET6


@dataclass
class Request:
    """One netlink request, with a description used if the kernel rejects it."""

    kind: int
    flags: int
    body: bytes
    what: str

    def encode(self, seq: int) -> bytes:
        return (
            _HDR.pack(_HDR.size + len(self.body), self.kind, self.flags | NLM_F_REQUEST | NLM_F_ACK, seq, 0)
            + self.body
        )


class NetlinkError(OSError):
    def __init__(self, err: int, what: str, detail: str = "") -> None:
        text = os.strerror(err) + (f" ({detail})" if detail else "")
        super().__init__(err, f"{what}: {text}")
        self.what = what
        self.detail = detail


def _ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)


def _link_attrs(name: str | None, mtu: int | None, mac: str | None) -> bytes:
    out = b""
    if name:
        out += _str(IFLA_IFNAME, name)
    if mtu:
        out += _u32(IFLA_MTU, mtu)
    if mac:
        out += _attr(IFLA_ADDRESS, _mac(mac))
    return out


def veth(
    name: str,
    index: int,
    peer: str,
    peer_index: int,
    peer_ns_fd: int,
    mtu: int | None = None,
    mac: str | None = None,
    peer_mtu: int | None = None,
    peer_mac: str | None = None,
) -> Request:
    """A veth pair: `name` in the socket's namespace, `peer` created directly in peer_ns_fd's."""
    peer_info = (
        _ifinfo(peer_index)
        + _link_attrs(peer, peer_mtu, peer_mac)
        + _attr(IFLA_NET_NS_FD, struct.pack("=i", peer_ns_fd))
    )
    linkinfo = _str(IFLA_INFO_KIND, "veth") + _attr(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer_info))
    body = _ifinfo(index) + _link_attrs(name, mtu, mac) + _attr(IFLA_LINKINFO, linkinfo)
    return Request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, f"create veth {name} <-> {peer}")


def bridge(name: str, index: int, mtu: int | None = None, mac: str | None = None) -> Request:
    """A bridge with STP off and no forward delay: ports forward as soon as they are up."""
    data = _u32(IFLA_BR_STP_STATE, 0) + _u32(IFLA_BR_FORWARD_DELAY, 0)
    linkinfo = _str(IFLA_INFO_KIND, "bridge") + _attr(IFLA_INFO_DATA, data)
    body = _ifinfo(index) + _link_attrs(name, mtu, mac) + _attr(IFLA_LINKINFO, linkinfo)
    return Request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, f"create bridge {name}")


def vxlan(
    name: str,
    index: int,
    vni: int,
    remote: Any,
    local: Any | None,
    dev_index: int | None,
    port: int,
    mtu: int | None = None,
    mac: str | None = None,
) -> Request:
    data = _u32(IFLA_VXLAN_ID, vni) + _attr(IFLA_VXLAN_PORT, struct.pack("!H", port))
    data += _attr(IFLA_VXLAN_GROUP if remote.version == 4 else IFLA_VXLAN_GROUP6, remote.packed)
    if local is not None:
        data += _attr(IFLA_VXLAN_LOCAL if local.version == 4 else IFLA_VXLAN_LOCAL6, local.packed)
    if dev_index:
        data += _u32(IFLA_VXLAN_LINK, dev_index)
    linkinfo = _str(IFLA_INFO_KIND, "vxlan") + _attr(IFLA_INFO_DATA, data)
    body = _ifinfo(index) + _link_attrs(name, mtu, mac) + _attr(IFLA_LINKINFO, linkinfo)
    return Request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, f"create vxlan {name}")


def set_link(
    index: int,
    name: str,
    up: bool | None = None,
    mtu: int | None = None,
    master: int | None = None,
    alias: str | None = None,
) -> Request:
    flags = IFF_UP if up else 0
    change = IFF_UP if up is not None else 0
    body = _ifinfo(index, flags, change)
    if mtu:
        body += _u32(IFLA_MTU, mtu)
    if master is not None:
        body += _u32(IFLA_MASTER, master)
    if alias is not None:
        body += _str(IFLA_IFALIAS, alias)
    return Request(RTM_NEWLINK, 0, body, f"configure {name}")


def add_address(index: int, name: str, iface: ipaddress.IPv4Interface | ipaddress.IPv6Interface) -> Request:
    family = _family(iface.ip)
    body = _IFADDR.pack(family, iface.network.prefixlen, 0, RT_SCOPE_UNIVERSE, index)
    body += _attr(IFA_LOCAL, iface.ip.packed) + _attr(IFA_ADDRESS, iface.ip.packed)
    if iface.version == 4 and iface.network.prefixlen < 31:
        body += _attr(IFA_BROADCAST, iface.network.broadcast_address.packed)
    return Request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body, f"add address {iface} to {name}")


def add_route(
    to: ipaddress.IPv4Network | ipaddress.IPv6Network,
    via: Any | None = None,
    oif: int | None = None,
    metric: int | None = None,
    kind: str = "unicast",
    src: Any | None = None,
    *,
    onlink: bool = False,
    mtu: int | None = None,
    advmss: int | None = None,
) -> Request:
    """One route of the main table. `mtu` and `advmss` are route metrics (as `ip route ...
    mtu N advmss M`), nested in RTA_METRICS; `onlink` sets RTNH_F_ONLINK, which needs oif."""
    rtype = ROUTE_TYPES[kind]
    scope = RT_SCOPE_LINK if (rtype == RTN_UNICAST and via is None and oif) else RT_SCOPE_UNIVERSE
    flags = RTNH_F_ONLINK if onlink else 0
    body = _RTMSG.pack(
        _family(to.network_address), to.prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC, scope, rtype, flags
    )
    if to.prefixlen:
        body += _attr(RTA_DST, to.network_address.packed)
    if via is not None:
        body += _attr(RTA_GATEWAY, via.packed)
    if oif:
        body += _u32(RTA_OIF, oif)
    if metric is not None:
        body += _u32(RTA_PRIORITY, metric)
    if src is not None:
        body += _attr(RTA_PREFSRC, src.packed)
    metrics = (b"" if mtu is None else _u32(RTAX_MTU, mtu)) + (
        b"" if advmss is None else _u32(RTAX_ADVMSS, advmss)
    )
    if metrics:
        body += _attr(RTA_METRICS, metrics)
    what = f"add route {'default' if not to.prefixlen else to}" + (f" via {via}" if via else "")
    return Request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body, what)


def add_neighbor(index: int, name: str, ip: Any, mac: str) -> Request:
    body = _NDMSG.pack(_family(ip), index, NUD_PERMANENT, 0, 0)
    body += _attr(NDA_DST, ip.packed) + _attr(NDA_LLADDR, _mac(mac))
    return Request(RTM_NEWNEIGH, NLM_F_CREATE, body, f"add neighbour {ip} lladdr {mac} dev {name}")


def parse_attrs(data: bytes, offset: int = 0) -> dict[int, bytes]:
    attrs: dict[int, bytes] = {}
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            break
        attrs[kind & 0x3FFF] = data[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    return attrs


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


@dataclass
class LinkInfo:
    index: int
    name: str
    up: bool
    mtu: int
    mac: str
    alias: str = ""
    master: int = 0
    kind: str = ""
    operstate: int = 0
    flags: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def parse_link(body: bytes) -> LinkInfo:
    _, _, index, flags, _ = _IFINFO.unpack_from(body)
    attrs = parse_attrs(body, _IFINFO.size)
    kind = ""
    if IFLA_LINKINFO in attrs:
        info = parse_attrs(attrs[IFLA_LINKINFO])
        kind = _cstr(info.get(IFLA_INFO_KIND, b""))
    return LinkInfo(
        index=index,
        name=_cstr(attrs.get(IFLA_IFNAME, b"")),
        up=bool(flags & IFF_UP),
        mtu=struct.unpack("=I", attrs[IFLA_MTU])[0] if IFLA_MTU in attrs else 0,
        mac=":".join(f"{b:02x}" for b in attrs.get(IFLA_ADDRESS, b"")),
        alias=_cstr(attrs.get(IFLA_IFALIAS, b"")),
        master=struct.unpack("=I", attrs[IFLA_MASTER])[0] if IFLA_MASTER in attrs else 0,
        kind=kind,
        operstate=attrs.get(IFLA_OPERSTATE, b"\0")[0],
        flags=flags,
    )


class Rtnl:
    """A NETLINK_ROUTE socket bound to the namespace of the thread that created it."""

    CHUNK = 32 * 1024

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, requests: Iterable[Request]) -> None:
        """Send requests in as few writes as possible; raise on the first that the kernel refused."""
        pending: dict[int, Request] = {}
        buf = bytearray()
        for request in requests:
            self.seq += 1
            pending[self.seq] = request
            buf += request.encode(self.seq)
            if len(buf) >= self.CHUNK:
                self._flush(buf, pending)
                buf = bytearray()
        if buf:
            self._flush(buf, pending)

    def _flush(self, buf: bytearray, pending: dict[int, Request]) -> None:
        self.sock.send(buf)
        failure: NetlinkError | None = None
        while pending:
            data = self.sock.recv(1 << 16)
            offset = 0
            while offset + _HDR.size <= len(data):
                length, kind, flags, seq, _ = _HDR.unpack_from(data, offset)
                if kind == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", data, offset + _HDR.size)[0]
                    request = pending.pop(seq, None)
                    if err and request is not None and failure is None:
                        detail = ""
                        if flags & NLM_F_ACK_TLVS:
                            tlvs = parse_attrs(data[offset : offset + length], _HDR.size + 4 + _HDR.size)
                            detail = _cstr(tlvs.get(NLMSGERR_ATTR_MSG, b""))
                        failure = NetlinkError(err, request.what, detail)
                offset += (length + 3) & ~3
        if failure is not None:
            raise failure

    def dump(self, kind: int, body: bytes) -> list[tuple[int, bytes]]:
        """A dump request; returns (message type, body) for every reply message."""
        self.seq += 1
        seq = self.seq
        msg = _HDR.pack(_HDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body
        self.sock.send(msg)
        out: list[tuple[int, bytes]] = []
        while True:
            data = self.sock.recv(1 << 18)
            offset = 0
            while offset + _HDR.size <= len(data):
                length, mtype, _, mseq, _ = _HDR.unpack_from(data, offset)
                if mseq == seq:
                    if mtype == NLMSG_DONE:
                        return out
                    if mtype == NLMSG_ERROR:
                        err = -struct.unpack_from("=i", data, offset + _HDR.size)[0]
                        if err:
                            raise NetlinkError(err, "dump")
                        return out
                    out.append((mtype, bytes(data[offset + _HDR.size : offset + length])))
                offset += (length + 3) & ~3

    def links(self) -> list[LinkInfo]:
        return [parse_link(body) for _, body in self.dump(RTM_GETLINK, _ifinfo())]


def is_gone(exc: OSError) -> bool:
    """Errors that mean 'already gone' during teardown."""
    return exc.errno in (errno.ENOENT, errno.ENODEV, errno.ESRCH)
