"""`ps` inside a node shows the daemons, not nslab's Python command lines."""

from __future__ import annotations

import os
import subprocess
import sys

from nslab.labs import lifecycle as lab
from nslab.services.run import process_title


def _net_inode(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def test_titles_name_the_daemon() -> None:
    assert process_title("http", "inventory") == ("httpd", "httpd: inventory")
    assert process_title("dns", "shopdns") == ("named", "named: shopdns")
    assert process_title("tcp", "sshd") == ("sshd", "sshd")


def test_ps_in_a_node_shows_daemon_names(prefix: str) -> None:
    lab.up("api-refused-from-outside", prefix=prefix, healthy=True)
    try:
        # The node's processes: every pid in its network namespace (the host's other labs run too).
        inode = os.stat(f"/run/netns/{prefix}-app1").st_ino
        pids = [p for p in os.listdir("/proc") if p.isdigit() and _net_inode(p) == inode]
        assert pids
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nslab",
                "exec",
                "--lab",
                prefix,
                "app1",
                "--",
                "ps",
                "-o",
                "comm=,args=",
                "-p",
                ",".join(pids),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        services = [line for line in done.stdout.splitlines() if not line.startswith("ps ")]
        text = "\n".join(services)
        assert "nslab" not in text and "python" not in text, text
        assert any(line.split(None, 1) == ["httpd", "httpd: inventory"] for line in services), text
        assert any(line.split() == ["sshd", "sshd"] for line in services), text
    finally:
        lab.down_one(prefix)
