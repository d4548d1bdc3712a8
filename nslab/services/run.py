"""The process that runs one service: `python -m nslab.services.run CONFIG.json`.

It imports only its own kind's server (the supervisor wrote its "module:function" into the
config, so neither the YAML loader nor the kind registry is imported here), binds, tells the
supervisor "ready" through the inherited NSLAB_READY_FD pipe, then serves until SIGTERM.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

PR_SET_NAME = 15


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


# The daemon a real machine would run for each kind; kinds not listed go by the service's name
# (a tcp service named sshd shows as sshd).
DAEMONS = {"http": "httpd", "https": "httpd", "dns": "named", "resolver": "unbound"}


def process_title(kind: str, name: str) -> tuple[str, str]:
    """(comm, command line) a learner's `ps` shows for this service."""
    daemon = DAEMONS.get(kind)
    return (daemon, f"{daemon}: {name}") if daemon else (name, name)


def _name_process(kind: str, name: str) -> None:
    """Show the daemon's name, not a Python command line, in `ps`, `top` and `ss -tlnp`.

    comm through prctl (the kernel keeps 15 bytes); the command line by overwriting this
    process's own argv area through /proc/self/mem, as setproctitle does (Python copied argv
    at startup and never reads that memory again). Best effort: a failure leaves the old names."""
    comm, title = process_title(kind, name)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_NAME, comm.encode()[:15], 0, 0, 0)
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end: stat fields 48, 49
        data = title.encode()[: end - start - 1]
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            mem.seek(start)
            mem.write(data + b"\0" * (end - start - len(data)))


def _host_pid() -> int:
    """The pid the journal and `ps` show (we are pid 1 of our own PID namespace)."""
    try:
        return int(os.readlink("/proc/self"))
    except (OSError, ValueError):
        return os.getpid()


def _load(config: dict[str, Any]) -> Callable[[dict[str, Any], Callable[[], None]], None]:
    module, _, attr = str(config["impl"]).partition(":")
    serve: Callable[[dict[str, Any], Callable[[], None]], None] = getattr(
        importlib.import_module(module), attr
    )
    return serve


def main(argv: list[str]) -> int:
    from nslab.services.logs import Failed, say

    ready, failed = _notifier()
    try:
        from nslab.engine import statefiles

        # It names the module to import as root: it must be a state file only root can write.
        config: dict[str, Any] = json.loads(statefiles.read_bytes(argv[1]))
        serve = _load(config)
    except Exception as exc:
        say(f"bad service config: {exc}")
        failed(f"bad service config: {exc}")
        return 2

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _name_process(str(config["kind"]), str(config["name"]))
    say(f"{config['name']}: starting {config['kind']} service on node {config['node']} (pid {_host_pid()})")
    try:
        serve(config, ready)
    except SystemExit:
        say(f"{config['name']}: stopped")
        raise
    except (OSError, Failed) as exc:
        message = str(exc.strerror or exc) if isinstance(exc, OSError) else str(exc)
        say(f"{config['name']}: error: {message}")
        failed(message)
        return 1
    except Exception as exc:
        say(f"{config['name']}: error: {type(exc).__name__}: {exc}")
        failed(f"{type(exc).__name__}: {exc}")
        raise
    say(f"{config['name']}: exited")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
