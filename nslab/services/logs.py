"""One-line, timestamped log messages from a service process (its stdout is its log file)."""

from __future__ import annotations

import sys
import time


def say(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    sys.stdout.write(f"{stamp} {message}\n")
    sys.stdout.flush()


class Failed(Exception):
    """A service cannot start or keep running; the message (no traceback) says why."""
