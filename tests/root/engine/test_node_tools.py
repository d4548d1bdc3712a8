"""Inside a node the course's commands work as typed: node names resolve, `sudo` runs."""

from __future__ import annotations

import os
import subprocess
import sys

from nslab.labs import lifecycle as lab


def node_sh(prefix: str, node: str, script: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin")  # what host sudo leaves
    return subprocess.run(
        [sys.executable, "-m", "nslab", "exec", "--lab", prefix, node, "--", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_node_names_resolve_and_sudo_is_a_no_op(prefix: str) -> None:
    lab.up("host-router-host", prefix=prefix, healthy=True)
    try:
        done = node_sh(prefix, "client", "ping -c1 -W3 server && getent hosts r1 && getent hosts client")
        assert done.returncode == 0, done.stderr
        assert "10.0.1.1" in done.stdout and "10.0.1.10" in done.stdout
        done = node_sh(prefix, "server", "getent hosts r1")  # the router as this side reaches it
        assert done.stdout.split()[0] == "10.0.2.1", done
        done = node_sh(prefix, "client", "sudo id -u && sudo -E -n sh -c 'echo $0' && sudo -u nobody id -u")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["0", "sh", "65534"]
        done = node_sh(prefix, "client", "sudo --frobnicate true")
        assert done.returncode == 1 and "not supported" in done.stderr
        # The tool lives in the node's own /run: nothing appears on the host.
        assert not os.path.exists("/run/nslab-node")
    finally:
        lab.down_one(prefix)
