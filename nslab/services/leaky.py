"""leaky: a server with a socket leak. It greets each client and never closes the connection,
so once clients hang up their sockets sit in CLOSE_WAIT (`ss -tnp` shows them, with this
process as owner). With max_open, the leak ends in EMFILE ("Too many open files")."""

from __future__ import annotations

import contextlib
import resource
import socket
import time
from collections.abc import Callable
from typing import Any

from nslab.services import net
from nslab.services.logs import say


def serve(config: dict[str, Any], ready: Callable[[], None]) -> None:
    params = config["params"]
    bind, port = str(params.get("bind") or "0.0.0.0"), int(params["port"])
    if params.get("max_open"):
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (int(params["max_open"]), hard))
    listener = net.listen_tcp(bind, port)
    say(f"{config['name']}: listening on {net.describe(bind, port, 'tcp')}")
    ready()
    held: list[socket.socket] = []  # the bug, on purpose: accepted sockets are kept, never closed
    while True:
        try:
            conn, _peer = listener.accept()
        except OSError as exc:
            say(f"{config['name']}: accept failed: {exc.strerror} ({len(held)} connections held open)")
            time.sleep(1.0)  # as a real leaking server would: keep failing, slowly
            continue
        held.append(conn)
        with contextlib.suppress(OSError):
            conn.sendall(b"welcome\n")
