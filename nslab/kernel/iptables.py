"""Load firewall rules into a lab namespace with iptables-restore (one process per node)."""

from __future__ import annotations

import re
import shutil
import subprocess

from nslab.errors import EnvironmentProblem
from nslab.kernel import netns

_FAILED_LINE = re.compile(r"line (\d+) failed|Error occurred at line: (\d+)")


def binary() -> str:
    path = shutil.which("iptables-restore")
    if path is None:
        raise EnvironmentProblem(
            "iptables-restore is not installed but this scenario has firewall rules",
            "apt-get install iptables (or run 'nslab doctor')",
        )
    return path


def restore(ns: str, text: str, timeout: float = 20.0) -> tuple[int, str, int | None]:
    """Run iptables-restore --noflush inside the namespace. Returns (exit code, stderr, failed line)."""
    exe = binary()

    def run() -> subprocess.CompletedProcess[str]:
        # -w: wait for the xtables lock instead of failing when several nodes load at once.
        return subprocess.run(
            [exe, "-w", "--noflush"], input=text, capture_output=True, text=True, timeout=timeout, check=False
        )

    done = netns.run_in(ns, run)
    failed = None
    match = _FAILED_LINE.search(done.stderr)
    if match:
        failed = int(match.group(1) or match.group(2))
    return done.returncode, done.stderr.strip(), failed


def save(ns: str, table: str | None = None) -> str:
    """iptables-save output inside the namespace (every table when table is None)."""
    exe = shutil.which("iptables-save") or "iptables-save"
    argv = [exe] if table is None else [exe, "-t", table]

    def run() -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout

    return netns.run_in(ns, run)
