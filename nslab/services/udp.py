"""udp: an echo server; each datagram goes back to its sender, from the address it reached."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nslab.services import net
from nslab.services.logs import say


def serve(config: dict[str, Any], ready: Callable[[], None]) -> None:
    params = config["params"]
    bind, port = str(params.get("bind") or "0.0.0.0"), int(params["port"])
    endpoint = net.UdpEndpoint(bind, port)
    say(f"{config['name']}: listening on {net.describe(bind, port, 'udp')} (echo)")
    ready()
    while True:
        data, sender, reply_from = endpoint.receive()
        try:
            endpoint.send(data, sender, reply_from)
        except OSError as exc:  # e.g. no route back: the client's problem, not ours
            say(f"{config['name']}: cannot answer {sender[0]}: {exc.strerror}")
