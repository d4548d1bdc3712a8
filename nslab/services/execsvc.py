"""exec: an instructor's command, run like `nslab exec NODE -- sh -c COMMAND` would run it.

It goes through `ip netns exec` so it sees the node's /etc/hosts, resolv.conf and lab CA
(bind-mounted from /etc/netns/<ns>/) and the node's own /sys/class/net, exactly as a
learner's shell does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from nslab.services import child


def serve(config: dict[str, Any], ready: Callable[[], None]) -> None:
    params = config["params"]
    argv = ["ip", "netns", "exec", str(config["netns"]), "/bin/sh", "-c", str(params["command"])]
    port = params.get("port")
    # The import path nslab set up for its own service process is none of the command's business.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONUNBUFFERED")}
    child.run(argv, str(config["name"]), ready, int(port) if port else None, env=env)
