"""Classic BPF filters: compiled by tcpdump (libpcap's compiler), attached to a packet socket.

`tcpdump -y LINKTYPE -ddd EXPR` compiles without opening any interface, so the expression
language is exactly the one learners already type after `tcpdump`. The kernel copies the
program at setsockopt time, so the ctypes buffer only has to live for that call.
"""

from __future__ import annotations

import ctypes
import shutil
import socket
import struct
import subprocess

from nslab.errors import EnvironmentProblem, UsageError
from nslab.packets.pcapng import LINKTYPE_ETHERNET, LINKTYPE_RAW

SO_ATTACH_FILTER = 26
BPF_RET_K = 0x06
DROP_ALL: list[tuple[int, int, int, int]] = [(BPF_RET_K, 0, 0, 0)]
ACCEPT_ALL: list[tuple[int, int, int, int]] = [(BPF_RET_K, 0, 0, 0x40000)]

_TCPDUMP_NAMES = {LINKTYPE_ETHERNET: "EN10MB", LINKTYPE_RAW: "RAW"}

Program = list[tuple[int, int, int, int]]


def compile_filter(expression: str, linktype: int = LINKTYPE_ETHERNET) -> Program:
    """The classic BPF program for a tcpdump/pcap-filter expression, or a UsageError that
    quotes tcpdump's own complaint."""
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        raise EnvironmentProblem(
            "a capture filter needs tcpdump (it compiles the expression)",
            "install it (apt-get install tcpdump), or capture without --filter",
        )
    proc = subprocess.run(
        [tcpdump, "-y", _TCPDUMP_NAMES.get(linktype, "EN10MB"), "-ddd", expression],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        reason = proc.stderr.strip().removeprefix("tcpdump: ") or f"tcpdump exited {proc.returncode}"
        raise UsageError(
            f"bad capture filter {expression!r}: {reason}",
            "the filter uses tcpdump's syntax, e.g. 'icmp', 'tcp port 80', 'host 10.0.1.2 and not arp'",
        )
    lines = proc.stdout.split()
    count, numbers = int(lines[0]), [int(n) for n in lines[1:]]
    program = [
        (numbers[i], numbers[i + 1], numbers[i + 2], numbers[i + 3]) for i in range(0, len(numbers), 4)
    ]
    if len(program) != count:
        raise UsageError(f"tcpdump compiled {expression!r} into {len(program)} of {count} instructions")
    return program


def attach(sock: socket.socket, program: Program) -> None:
    """SO_ATTACH_FILTER: replaces any filter already on the socket, atomically."""
    raw = b"".join(struct.pack("HBBI", code, jt, jf, k) for code, jt, jf, k in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
