"""The process that runs one service: `python -m nslab.services.run CONFIG.json`.

It imports only its own kind's server, binds, tells the supervisor "ready" through the
inherited NSLAB_READY_FD pipe, then serves until SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def _notifier() -> tuple[Callable[[], None], Callable[[str], None]]:
    fd_text = os.environ.pop("NSLAB_READY_FD", "")
    fd = int(fd_text) if fd_text.isdigit() else None

    def say(line: str) -> None:
        nonlocal fd
        if fd is not None:
            try:
                os.write(fd, (line.replace("\n", " ") + "\n").encode())
                os.close(fd)
            except OSError:
                pass
            fd = None

    return (lambda: say("ready")), (lambda message: say(f"error: {message}"))


def main(argv: list[str]) -> int:
    ready, failed = _notifier()
    try:
        with open(argv[1]) as handle:
            config: dict[str, Any] = json.load(handle)
        from nslab.services.kinds import SERVICES

        serve = SERVICES.get(config["kind"]).load()
    except Exception as exc:
        failed(f"bad service config: {exc}")
        return 2

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        serve(config, ready)
    except SystemExit:
        raise
    except OSError as exc:
        failed(f"{exc.strerror or exc}")
        return 1
    except Exception as exc:
        failed(f"{type(exc).__name__}: {exc}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
