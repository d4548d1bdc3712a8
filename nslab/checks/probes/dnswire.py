"""The DNS wire format, just enough for a query and the answers a check compares (RFC 1035).

Why not dnspython here: importing its message module costs 45-100 ms on the lab machines,
a large share of the 150 ms that a whole `nslab check` may add to its slowest probe. A query
is one header and one question; reading the answer section needs name decompression and the
text form of a handful of record types. (The lab's DNS services use dnspython; the tests
use it as an independent implementation to answer these queries.)
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
NAMES = {value: key for key, value in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_HEADER = struct.Struct("!HHHHHH")
FLAG_QR, FLAG_AA, FLAG_TC, FLAG_RD = 0x8000, 0x0400, 0x0200, 0x0100


class WireError(ValueError):
    """A malformed DNS message."""


@dataclass(frozen=True)
class Record:
    name: str
    type: int
    ttl: int
    text: str  # presentation form, as dig shows it


@dataclass(frozen=True)
class Message:
    id: int
    flags: int
    rcode: str
    question: tuple[str, int]
    answers: tuple[Record, ...]


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if not label:
            continue
        raw = label.encode("idna") if not label.isascii() else label.encode()
        if len(raw) > 63:
            raise WireError(f"label {label!r} is longer than 63 bytes")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def query(name: str, rdtype: str, ident: int | None = None) -> tuple[int, bytes]:
    """(id, wire bytes) of a recursive query for one name and type."""
    ident = int.from_bytes(os.urandom(2), "big") if ident is None else ident
    header = _HEADER.pack(ident, FLAG_RD, 1, 0, 0, 0)
    return ident, header + encode_name(name) + struct.pack("!HH", TYPES[rdtype], 1)


def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """A possibly compressed name at offset -> (name with final dot, offset after it)."""
    labels: list[str] = []
    end = -1
    jumps = 0
    while True:
        if offset >= len(data):
            raise WireError("name runs past the end of the message")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise WireError("truncated compression pointer")
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            jumps += 1
            if jumps > 64:
                raise WireError("compression pointer loop")
            continue
        if length & 0xC0:
            raise WireError("unknown label type")
        offset += 1
        if length == 0:
            break
        labels.append(data[offset : offset + length].decode("ascii", "replace"))
        offset += length
    return ".".join(labels) + ".", (end if end >= 0 else offset)


def _rdata_text(data: bytes, rtype: int, start: int, length: int) -> str:
    rdata = data[start : start + length]
    if rtype == TYPES["A"] and length == 4:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if rtype == TYPES["AAAA"] and length == 16:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    if rtype in (TYPES["NS"], TYPES["CNAME"], TYPES["PTR"]):
        return read_name(data, start)[0]
    if rtype == TYPES["MX"]:
        return f"{struct.unpack_from('!H', data, start)[0]} {read_name(data, start + 2)[0]}"
    if rtype == TYPES["TXT"]:
        parts, i = [], 0
        while i < len(rdata):
            size = rdata[i]
            parts.append('"' + rdata[i + 1 : i + 1 + size].decode("utf-8", "replace") + '"')
            i += 1 + size
        return " ".join(parts)
    if rtype == TYPES["SOA"]:
        mname, offset = read_name(data, start)
        rname, offset = read_name(data, offset)
        numbers = struct.unpack_from("!IIIII", data, offset)
        return " ".join([mname, rname, *(str(n) for n in numbers)])
    return rdata.hex()


def decode(data: bytes) -> Message:
    if len(data) < _HEADER.size:
        raise WireError("shorter than a DNS header")
    ident, flags, qdcount, ancount, _, _ = _HEADER.unpack_from(data)
    offset = _HEADER.size
    question = ("", 0)
    try:
        for index in range(qdcount):
            name, offset = read_name(data, offset)
            qtype = struct.unpack_from("!H", data, offset)[0]
            offset += 4
            if index == 0:
                question = (name, qtype)
        answers = []
        for _ in range(ancount):
            name, offset = read_name(data, offset)
            rtype, _, ttl, length = struct.unpack_from("!HHIH", data, offset)
            offset += 10
            if offset + length > len(data):
                raise WireError("record data runs past the end of the message")
            answers.append(Record(name, rtype, ttl, _rdata_text(data, rtype, offset, length)))
            offset += length
    except struct.error as exc:
        raise WireError(f"truncated message ({exc})") from None
    rcode = RCODES.get(flags & 0xF, f"RCODE{flags & 0xF}")
    return Message(ident, flags, rcode, question, tuple(answers))
