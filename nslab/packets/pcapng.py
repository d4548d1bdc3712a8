"""A minimal pcapng writer: one section, one Interface Description Block per captured
interface, then one Enhanced Packet Block per packet.

Written by hand with struct (about 80 lines) so that capturing never imports scapy (about
1 s). Every block is flushed as it is written, so `-w - | wireshark -k -i -` shows packets
live. Format: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html
"""

from __future__ import annotations

import struct
from typing import BinaryIO

SHB = 0x0A0D0D0A
IDB = 0x00000001
EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D

OPT_END = 0
SHB_USERAPPL = 4
IF_NAME = 2
IF_TSRESOL = 9  # a value of 9 means timestamps count nanoseconds
EPB_FLAGS = 2

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # bare IP packets (tun devices)

INBOUND = 1  # epb_flags direction bits (Wireshark shows them as "Direction")
OUTBOUND = 2


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad(value)


def _options(*items: tuple[int, bytes]) -> bytes:
    if not items:
        return b""
    return b"".join(_option(code, value) for code, value in items) + struct.pack("<HH", OPT_END, 0)


def _block(kind: int, body: bytes) -> bytes:
    """Type, total length, body (already padded to 4 bytes), total length again."""
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def section_header(application: str = "nslab") -> bytes:
    # version 1.0; section length -1 = not known (we stream)
    body = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1)
    return _block(SHB, body + _options((SHB_USERAPPL, application.encode())))


def interface_description(name: str, linktype: int = LINKTYPE_ETHERNET, snaplen: int = 262144) -> bytes:
    body = struct.pack("<HHI", linktype, 0, snaplen)
    return _block(IDB, body + _options((IF_NAME, name.encode()), (IF_TSRESOL, bytes([9]))))


def enhanced_packet(
    interface: int, ts_ns: int, data: bytes, original_length: int, direction: int = 0
) -> bytes:
    body = struct.pack(
        "<IIIII", interface, ts_ns >> 32, ts_ns & 0xFFFFFFFF, len(data), max(original_length, len(data))
    )
    options = _options((EPB_FLAGS, struct.pack("<I", direction))) if direction else b""
    return _block(EPB, body + _pad(data) + options)


class Writer:
    """Streams a pcapng section to a binary file; interfaces are numbered in the order given."""

    def __init__(self, out: BinaryIO, interfaces: list[tuple[str, int]], application: str = "nslab") -> None:
        self.out = out
        self.packets = 0
        out.write(section_header(application))
        for name, linktype in interfaces:
            out.write(interface_description(name, linktype))
        out.flush()

    def packet(
        self, interface: int, ts_ns: int, data: bytes, original_length: int, direction: int = 0
    ) -> None:
        self.out.write(enhanced_packet(interface, ts_ns, data, original_length, direction))
        self.out.flush()
        self.packets += 1
