"""Prove a build works: an ICMP echo from one namespace to an address, sent in process.

A worker thread enters the namespace (network namespaces are per thread), opens a raw
ICMP socket there and waits for the matching echo reply. Stdlib only, so the Mininet
worker (run by Debian's own python3) can use it too.
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import threading
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _echo(dst: str, timeout: float, ident: int) -> float:
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        deadline = time.monotonic() + timeout
        for seq in range(1, 6):  # an echo may be lost while ARP resolves: resend each second
            payload = b"nslab-bench"
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload
            sent = time.perf_counter()
            sock.sendto(packet, (dst, 0))
            resend = min(deadline, time.monotonic() + timeout / 5)
            while (left := resend - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    data, (src, _) = sock.recvfrom(2048)
                except TimeoutError:
                    break
                ihl = (data[0] & 0x0F) * 4
                kind, _, _, got_id, _ = struct.unpack_from("!BBHHH", data, ihl)
                if kind == 0 and got_id == ident and src == dst:
                    return time.perf_counter() - sent
        raise TimeoutError(f"no echo reply from {dst} within {timeout:.1f} s")


def ping(netns_path: str, dst: str, timeout: float = 5.0) -> float:
    """Round-trip seconds of one echo from the namespace at netns_path (a /run/netns/NAME or
    /proc/PID/ns/net path) to dst; raises if no reply comes."""
    result: list[float] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {netns_path}: {os.strerror(err)}")
            finally:
                os.close(fd)
            result.append(_echo(dst, timeout, (os.getpid() ^ threading.get_native_id()) & 0xFFFF))
        except BaseException as exc:
            error.append(exc)

    # The thread ends before we return, so it never keeps the namespace alive.
    thread = threading.Thread(target=body, name="bench-probe", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
