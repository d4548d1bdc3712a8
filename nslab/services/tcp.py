"""tcp: a listener that sends a banner line and closes, or echoes until the client closes."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

from nslab.services import net
from nslab.services.logs import say


def serve(config: dict[str, Any], ready: Callable[[], None]) -> None:
    params = config["params"]
    bind, port = str(params.get("bind") or "0.0.0.0"), int(params["port"])
    listener = net.listen_tcp(bind, port)
    mode = params.get("mode") or "banner"
    banner = (str(params.get("banner") or "hello from nslab") + "\n").encode()
    say(f"{config['name']}: listening on {net.describe(bind, port, 'tcp')} ({mode})")
    ready()
    while True:
        conn, peer = listener.accept()
        say(f"{config['name']}: connection from {peer[0]} port {peer[1]}")
        handler = _banner if mode == "banner" else _echo
        threading.Thread(target=handler, args=(conn, banner), daemon=True).start()


def _banner(conn: socket.socket, banner: bytes) -> None:
    with conn, contextlib.suppress(OSError):
        conn.sendall(banner)


def _echo(conn: socket.socket, banner: bytes) -> None:
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass
