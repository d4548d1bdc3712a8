"""Read ICMP errors the kernel queued on a socket (IP_RECVERR / IPV6_RECVERR).

With IP_RECVERR set, a TCP connect or a connected UDP socket that hits an ICMP error gets
the ICMP type, code and the address of the router that sent it on its error queue. That is
what tells "port unreachable from the firewall on r1" apart from "RST from the server",
which both surface as ECONNREFUSED.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from nslab.checks.sockopts import (
    IP_RECVERR,
    IPV6_RECVERR,
    SO_EE_ORIGIN_ICMP,
    SO_EE_ORIGIN_ICMP6,
    SOL_IPV6,
)

_EE = struct.Struct("=IBBBBII")


@dataclass(frozen=True)
class QueuedError:
    errno: int
    icmp: bool  # False: a local error (e.g. message too long), no router involved
    type: int
    code: int
    info: int  # the MTU for fragmentation-needed / packet-too-big
    offender: str


def enable(sock: socket.socket, version: int) -> None:
    if version == 4:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    else:
        sock.setsockopt(SOL_IPV6, IPV6_RECVERR, 1)


def _offender(raw: bytes) -> str:
    if len(raw) >= 8:
        family = struct.unpack_from("=H", raw)[0]
        if family == socket.AF_INET:
            return socket.inet_ntop(socket.AF_INET, raw[4:8])
        if family == socket.AF_INET6 and len(raw) >= 24:
            return socket.inet_ntop(socket.AF_INET6, raw[8:24])
    return ""


def parse(level: int, kind: int, data: bytes) -> QueuedError | None:
    if (level, kind) not in ((socket.IPPROTO_IP, IP_RECVERR), (SOL_IPV6, IPV6_RECVERR)):
        return None
    if len(data) < _EE.size:
        return None
    err, origin, icmp_type, code, _, info, _ = _EE.unpack_from(data)
    icmp = origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6)
    return QueuedError(err, icmp, icmp_type, code, info, _offender(data[_EE.size :]))


def drain(sock: socket.socket) -> list[QueuedError]:
    """Everything on the error queue right now (never blocks)."""
    out: list[QueuedError] = []
    while True:
        try:
            _, ancillary, _, _ = sock.recvmsg(512, 1024, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return out
        except OSError:
            return out
        for level, kind, data in ancillary:
            found = parse(level, kind, data)
            if found is not None:
                out.append(found)
