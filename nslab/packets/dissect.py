"""Just enough of Ethernet, ARP, IPv4, TCP, UDP and ICMP to follow one probe, with struct.

scapy would do this too, but importing it costs 0.3-1 s (kernel-gotchas #17) and a walk must
answer in well under a second; the few fields a walk compares are read here by hand.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from nslab.packets.pcapng import LINKTYPE_RAW

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_VLAN = 0x8100
TCP, UDP, ICMP = 6, 17, 1
SYN, RST, ACK = 0x02, 0x04, 0x10


@dataclass(frozen=True)
class Arp:
    op: int  # 1 request, 2 reply
    sender: str
    target: str


@dataclass(frozen=True)
class IPv4:
    src: str
    dst: str
    proto: int
    ttl: int
    ident: int
    df: bool
    length: int
    sport: int = 0  # TCP/UDP ports; for ICMP echo, sport carries the echo id
    dport: int = 0
    flags: int = 0  # TCP flags
    seq: int = 0  # TCP sequence number, or the ICMP echo sequence
    ack: int = 0
    icmp_type: int = -1
    icmp_code: int = -1
    payload: bytes = b""
    inner: IPv4 | None = None  # the packet an ICMP error quotes

    def tuple(self) -> tuple[int, str, int, str, int]:
        return (self.proto, self.src, self.sport, self.dst, self.dport)

    def where(self) -> str:
        """src -> dst, with ports for TCP/UDP."""
        if self.proto in (TCP, UDP):
            return f"{self.src}:{self.sport} -> {self.dst}:{self.dport}"
        return f"{self.src} -> {self.dst}"


def frame(data: bytes, linktype: int) -> IPv4 | Arp | None:
    """The IPv4 packet or ARP message in a captured frame, or None (IPv6, LLDP, runts)."""
    if linktype == LINKTYPE_RAW:
        return ipv4(data)
    if len(data) < 14:
        return None
    offset, ethertype = 14, struct.unpack_from("!H", data, 12)[0]
    if ethertype == ETH_VLAN and len(data) >= 18:
        offset, ethertype = 18, struct.unpack_from("!H", data, 16)[0]
    if ethertype == ETH_IPV4:
        return ipv4(data[offset:])
    if ethertype == ETH_ARP and len(data) >= offset + 28:
        op = struct.unpack_from("!H", data, offset + 6)[0]
        sender = socket.inet_ntoa(data[offset + 14 : offset + 18])
        target = socket.inet_ntoa(data[offset + 24 : offset + 28])
        return Arp(op, sender, target)
    return None


def ipv4(data: bytes, quoted: bool = False) -> IPv4 | None:
    """Parse an IPv4 header and its transport header. `quoted`: the copy inside an ICMP
    error, which carries only the first 8 bytes of the transport header."""
    if len(data) < 20 or data[0] >> 4 != 4:
        return None
    ihl = (data[0] & 0x0F) * 4
    length, ident, frag, ttl, proto = struct.unpack_from("!HHHBB", data, 2)
    src, dst = socket.inet_ntoa(data[12:16]), socket.inet_ntoa(data[16:20])
    base = {"src": src, "dst": dst, "proto": proto, "ttl": ttl, "ident": ident}
    base_df = bool(frag & 0x4000)
    l4 = data[ihl : max(length, ihl)] if not quoted else data[ihl:]
    if frag & 0x1FFF:  # a later fragment: no transport header
        return IPv4(**base, df=base_df, length=length)
    if proto in (TCP, UDP) and len(l4) >= 8:
        sport, dport = struct.unpack_from("!HH", l4)
        if proto == UDP:
            return IPv4(**base, df=base_df, length=length, sport=sport, dport=dport, payload=l4[8:])
        seq = struct.unpack_from("!I", l4, 4)[0]
        if len(l4) < 20:
            return IPv4(**base, df=base_df, length=length, sport=sport, dport=dport, seq=seq)
        ack, off_flags = struct.unpack_from("!IH", l4, 8)
        return IPv4(
            **base,
            df=base_df,
            length=length,
            sport=sport,
            dport=dport,
            seq=seq,
            ack=ack,
            flags=off_flags & 0x3F,
            payload=l4[(off_flags >> 12) * 4 :],
        )
    if proto == ICMP and len(l4) >= 8:
        kind, code = l4[0], l4[1]
        if kind in (0, 8):
            ident_, seq_ = struct.unpack_from("!HH", l4, 4)
            return IPv4(
                **base, df=base_df, length=length, sport=ident_, seq=seq_, icmp_type=kind, icmp_code=code,
                payload=l4[8:],
            )  # fmt: skip
        inner = ipv4(l4[8:], quoted=True) if kind in (3, 4, 5, 11, 12) else None
        return IPv4(
            **base, df=base_df, length=length, icmp_type=kind, icmp_code=code, payload=l4[8:], inner=inner
        )
    return IPv4(**base, df=base_df, length=length, payload=l4)


ICMP_NAMES = {
    (3, 0): "net unreachable",
    (3, 1): "host unreachable",
    (3, 3): "port unreachable",
    (3, 4): "fragmentation needed",
    (3, 9): "net prohibited",
    (3, 10): "host prohibited",
    (3, 13): "administratively prohibited",
    (11, 0): "time exceeded (TTL 0 in transit)",
}


def icmp_name(packet: IPv4) -> str:
    return ICMP_NAMES.get(
        (packet.icmp_type, packet.icmp_code), f"type {packet.icmp_type} code {packet.icmp_code}"
    )
