"""Send one recognisable probe from inside a node: a TCP connect, a UDP datagram or an ICMP
echo, from a socket made in a thread inside the node's namespace. Never scapy's L3 send: it
routes with the host's table (kernel-gotchas #11). DF is always set and the cached path MTU
ignored (IP_PMTUDISC_PROBE), so an MTU fault shows on the first probe, and is not "healed"
by an earlier one (gotchas #16).
"""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import time
from dataclasses import dataclass
from typing import Literal

from nslab.kernel import netns
from nslab.packets import dissect
from nslab.packets.dissect import ICMP

Proto = Literal["tcp", "udp", "icmp"]
IP_MTU_DISCOVER, IP_PMTUDISC_PROBE = 10, 3  # DF set, and no local fragmentation to a cached PMTU


@dataclass(frozen=True)
class Probe:
    proto: Proto
    port: int = 0
    size: int = 0  # payload bytes (udp, icmp); 0 = just the token
    wait: float = 1.0


@dataclass
class Sent:
    result: str = ""
    local_errno: int = 0  # the send itself failed (no route, EPERM from OUTPUT...)
    sport: int = 0
    echo_id: int = 0


def send(ns: str, dst: str, probe: Probe, token: bytes) -> Sent:
    """Send the probe from a thread inside `ns` and wait up to probe.wait for its answer."""

    def body() -> Sent:
        if probe.proto == "tcp":
            return _send_tcp(dst, probe)
        if probe.proto == "udp":
            return _send_udp(dst, probe, token)
        return _send_icmp(dst, probe, token)

    return netns.run_in(ns, body)


def _padded(token: bytes, size: int) -> bytes:
    return token + b"." * max(0, size - len(token))


def _send_tcp(dst: str, probe: Probe) -> Sent:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        code = sock.connect_ex((dst, probe.port))
        sent = Sent(sport=sock.getsockname()[1])
        if code not in (0, errno.EINPROGRESS):
            sent.local_errno, sent.result = code, os.strerror(code)
            return sent
        _, writable, _ = select.select([], [sock], [], probe.wait)
        if not writable:
            sent.result = "timeout (no answer)"
            return sent
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        sent.result = "open (connected)" if code == 0 else os.strerror(code)
        return sent


def _send_udp(dst: str, probe: Probe, token: bytes) -> Sent:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
        sock.settimeout(probe.wait)
        try:
            sock.connect((dst, probe.port))
            sent = Sent(sport=sock.getsockname()[1])
            sock.send(_padded(token, probe.size))
        except OSError as exc:
            return Sent(f"{exc.strerror}", exc.errno or 0)
        try:
            sock.recv(65535)
            sent.result = "reply"
        except TimeoutError:
            sent.result = "no reply"
        except OSError as exc:
            sent.result = exc.strerror or str(exc)
        return sent


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _send_icmp(dst: str, probe: Probe, token: bytes) -> Sent:
    ident = int.from_bytes(os.urandom(2), "big")
    payload = _padded(token, probe.size)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    message = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, 1) + payload
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
        sent = Sent(echo_id=ident)
        try:
            sock.sendto(message, (dst, 0))
        except OSError as exc:
            return Sent(exc.strerror or str(exc), exc.errno or 0, echo_id=ident)
        deadline = time.monotonic() + probe.wait
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(65535)
            except TimeoutError:
                break
            packet = dissect.ipv4(data)
            if packet and packet.icmp_type == 0 and token in packet.payload:
                sent.result = "echo reply"
                return sent
            if packet and packet.inner and packet.inner.proto == ICMP and packet.inner.sport == ident:
                sent.result = f"{dissect.icmp_name(packet)} from {packet.src}"
                return sent
        sent.result = "no reply"
        return sent
