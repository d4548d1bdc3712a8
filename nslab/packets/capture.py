"""Capture on several lab interfaces at once: one thread per (node, interface).

Each thread setns()es into its node's namespace (namespaces are per thread: kernel-gotchas
#1) and opens an AF_PACKET socket there, bound to the interface by name. scapy is not used:
its interface and route tables are process-wide and reload from whichever namespace the
calling thread is in, so concurrent sniffers in different namespaces race (gotchas #11, #17).

The socket is opened with protocol 0 (it receives nothing yet) and a drop-all filter, then
bound with ETH_P_ALL, then given the real filter: no packet of another interface, and none
that the filter would refuse, slips in before the capture is set up. The kernel stamps each
packet (SO_TIMESTAMPNS); the threads feed one queue that a single writer drains.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from nslab.errors import LabStateError, NslabError
from nslab.kernel import libc, netns
from nslab.packets import bpf
from nslab.packets.pcapng import INBOUND, LINKTYPE_ETHERNET, LINKTYPE_RAW, OUTBOUND, Writer
from nslab.packets.targets import Target

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4
ARPHRD_NONE = 0xFFFE  # tun devices: bare IP packets, no link-layer header
SNAPLEN = 262144  # larger than a GSO super-packet on a veth
POLL = 0.1  # seconds a capture thread blocks before looking at the stop flag
_TS_SPACE = socket.CMSG_SPACE(16)


@dataclass(frozen=True)
class Packet:
    interface: int  # index into the capture's targets
    ts_ns: int
    data: bytes
    direction: int


class Capture:
    """Threads that capture on `targets` into a queue, from start() until stop()."""

    def __init__(self, targets: Sequence[Target], expression: str | None = None) -> None:
        self.targets = list(targets)
        self.expression = expression
        self.linktypes = [LINKTYPE_ETHERNET] * len(self.targets)
        self.queue: queue.SimpleQueue[Packet] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._ready = [threading.Event() for _ in self.targets]
        self._errors: list[NslabError] = []
        self._threads: list[threading.Thread] = []
        self._programs: dict[int, bpf.Program] = {}
        self._lock = threading.Lock()
        if expression is not None:  # a bad expression is reported before any thread starts
            self._programs[LINKTYPE_ETHERNET] = bpf.compile_filter(expression, LINKTYPE_ETHERNET)

    def start(self, timeout: float = 10.0) -> None:
        """Start every thread and return once every socket is bound and filtered."""
        for index, target in enumerate(self.targets):
            thread = threading.Thread(
                target=self._run, args=(index, target), name=f"capture:{target.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        deadline = time.monotonic() + timeout
        for ready in self._ready:  # short waits, not join(): Ctrl-C reaches the main thread
            while not ready.wait(0.05):
                if time.monotonic() > deadline:
                    self.stop()
                    raise LabStateError(f"capture did not start within {timeout:.0f} s")
        if self._errors:
            self.stop()
            raise self._errors[0]

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(POLL * 5)

    def get(self, timeout: float) -> Packet | None:
        try:
            return self.queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def _program(self, linktype: int) -> bpf.Program:
        if self.expression is None:
            return bpf.ACCEPT_ALL
        with self._lock:
            if linktype not in self._programs:
                self._programs[linktype] = bpf.compile_filter(self.expression, linktype)
            return self._programs[linktype]

    def _run(self, index: int, target: Target) -> None:
        sock: socket.socket | None = None
        try:
            try:
                fd = netns.open_fd(target.netns)
            except FileNotFoundError:
                raise LabStateError(f"node {target.node}'s namespace {target.netns} is gone") from None
            try:
                libc.setns_net(fd)
            finally:
                os.close(fd)
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            bpf.attach(sock, bpf.DROP_ALL)
            try:
                sock.bind((target.iface, ETH_P_ALL))
            except OSError as exc:
                raise LabStateError(f"cannot capture on {target.name}: {exc.strerror}") from None
            hatype = sock.getsockname()[3]
            self.linktypes[index] = LINKTYPE_RAW if hatype == ARPHRD_NONE else LINKTYPE_ETHERNET
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            bpf.attach(sock, self._program(self.linktypes[index]))
            sock.settimeout(POLL)
        except NslabError as exc:
            self._errors.append(exc)
        except OSError as exc:
            self._errors.append(LabStateError(f"cannot capture on {target.name}: {exc}"))
        finally:
            self._ready[index].set()
        if sock is None:
            return
        try:
            self._loop(index, sock)
        except OSError:
            log.debug("capture on %s ended", target.name, exc_info=True)
        finally:
            sock.close()

    def _loop(self, index: int, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                data, ancillary, _flags, address = sock.recvmsg(SNAPLEN, _TS_SPACE)
            except TimeoutError:
                continue
            ts_ns = 0
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
                    seconds, nanos = struct.unpack("qq", payload[:16])
                    ts_ns = seconds * 1_000_000_000 + nanos
            direction = OUTBOUND if address[2] == PACKET_OUTGOING else INBOUND
            self.queue.put(Packet(index, ts_ns or time.time_ns(), data, direction))


def write_packet(writer: Writer, packet: Packet) -> None:
    writer.packet(packet.interface, packet.ts_ns, packet.data, len(packet.data), packet.direction)


def record(capture: Capture, writer: Writer, count: int | None = None, duration: float | None = None) -> int:
    """Drain the capture into the writer until `count` packets or `duration` seconds.
    Ctrl-C (KeyboardInterrupt) and a closed pipe (BrokenPipeError) reach the caller."""
    deadline = None if duration is None else time.monotonic() + duration
    while count is None or writer.packets < count:
        wait = POLL
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                break
        packet = capture.get(wait)
        if packet is not None:
            write_packet(writer, packet)
    return writer.packets


def drain(capture: Capture) -> list[Packet]:
    """Everything queued so far (for `check --pcap`, which keeps a whole run in memory)."""
    packets = []
    while (packet := capture.get(0)) is not None:
        packets.append(packet)
    return packets


def open_writer(capture: Capture, out: BinaryIO) -> Writer:
    """A pcapng writer naming each interface node:iface, with the link types the sockets found."""
    return Writer(out, [(t.name, lt) for t, lt in zip(capture.targets, capture.linktypes, strict=True)])


def save(capture: Capture, packets: Sequence[Packet], path: str, start_ns: int, end_ns: int) -> int:
    """Write the packets stamped within [start_ns, end_ns] to a pcapng file; returns how many."""
    with open(path, "wb") as out:
        writer = open_writer(capture, out)
        for packet in packets:
            if start_ns <= packet.ts_ns <= end_ns:
                write_packet(writer, packet)
    return writer.packets
