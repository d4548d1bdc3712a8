"""Wait until the kernel has finished freeing the namespaces a teardown just deleted.

Deleting a namespace returns at once; the kernel frees it later in a worker (cleanup_net)
that unregisters all its devices while holding the global rtnl lock: ~1 ms per namespace
here. A build started meanwhile waits on that lock, so without this pause each way would
also pay for the teardown of the way before it. We measure the lock instead of guessing:
a no-op RTM_NEWLINK (lo up) in a private, unnamed namespace of our own takes rtnl, so its
round trip is short only when nobody holds it for long.
"""

from __future__ import annotations

import ctypes
import socket
import struct
import threading
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class RtnlGauge:
    def __init__(self) -> None:
        holder: list[socket.socket] = []

        def body() -> None:
            # The thread's new namespace outlives the thread: the socket holds it (it is freed
            # when the socket is closed, at the latest when this process exits).
            if _libc.unshare(CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "unshare")
            holder.append(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))

        thread = threading.Thread(target=body, name="bench-gauge")
        thread.start()
        thread.join()
        self.sock = holder[0]
        self.seq = 0

    def round_trip(self) -> float:
        self.seq += 1
        body = struct.pack("=BxHiII", 0, 0, 1, 1, 1)  # ifindex 1 (lo): IFF_UP, already up or not
        msg = struct.pack("=IHHII", 16 + len(body), 16, 0x1 | 0x4, self.seq, 0) + body
        started = time.perf_counter()
        self.sock.send(msg)
        self.sock.recv(4096)
        return time.perf_counter() - started

    def wait(self, limit: float = 3.0, quiet: float = 0.002, calm_for: int = 10) -> float:
        """Return once `calm_for` round trips in a row, 10 ms apart, each took under `quiet`
        seconds (the kernel frees namespaces in bursts with gaps between them), or after
        `limit`; returns the seconds waited."""
        started = time.monotonic()
        calm = 0
        while calm < calm_for and time.monotonic() - started < limit:
            calm = calm + 1 if self.round_trip() < quiet else 0
            time.sleep(0.01)
        return time.monotonic() - started

    def close(self) -> None:
        self.sock.close()
