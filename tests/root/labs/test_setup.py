"""A node's setup script: run once after the build, in the node's own view, leaving no process
behind; a failing one fails `up` cleanly (exit 5) and leaves no lab."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nslab.labs import lifecycle as lab
from nslab.labs.setup import SetupFailed

SCENARIO = """\
metadata: {{name: setupbed, title: Setup scripts}}
nodes:
  a:
    interfaces: {{eth0: {{addresses: [10.0.0.1/24]}}}}
    setup: |
      echo "made by setup on $(hostname)" > /etc/lab-note
      ip neigh replace 10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent
      sleep {marker} &
  b:
    interfaces: {{eth0: {{addresses: [10.0.0.2/24], mac: "02:00:00:00:00:02"}}}}
    setup: {second}
links:
  - [a:eth0, b:eth0]
"""


def sleepers(marker: str) -> list[str]:
    """Processes whose command line is exactly `sleep MARKER` (ours: the marker is unique)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd[:2] == [b"sleep", marker.encode()]:
                found.append(pid)
    return found


def nslab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nslab", *args], capture_output=True, text=True, timeout=60)


def test_setup_runs_once_in_the_node_view_and_leaves_no_process(prefix: str, tmp_path: Path) -> None:
    marker = str(4000 + os.getpid() % 1000)
    path = tmp_path / "setup.yaml"
    path.write_text(SCENARIO.format(marker=marker, second="'true'"))
    lab.up(str(path), prefix=prefix, allow_exec=True)
    try:
        note = nslab("exec", "--lab", prefix, "a", "--", "cat", "/etc/lab-note")
        assert note.returncode == 0 and note.stdout.strip() == "made by setup on a", note
        assert not Path("/etc/lab-note").exists()  # the node's own /etc, never the host's
        neigh = nslab("exec", "--lab", prefix, "a", "--", "ip", "neigh", "show", "10.0.0.2")
        assert "PERMANENT" in neigh.stdout, neigh
        assert sleepers(marker) == []  # the background sleep died with the script's PID namespace
    finally:
        lab.down_one(prefix)


def test_a_failing_setup_fails_up_and_leaves_no_lab(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "setup.yaml"
    path.write_text(SCENARIO.format(marker="1", second="'echo no such thing >&2; exit 3'"))
    with pytest.raises(SetupFailed) as caught:
        lab.up(str(path), prefix=prefix, allow_exec=True)
    assert "the setup script of b failed (exit 3): no such thing" in str(caught.value)
    assert str(caught.value.hint).endswith("setup.yaml:11:12")  # b's setup: value
    assert prefix not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not Path(f"/run/nslab/{prefix}").exists()
    done = nslab("up", str(path), "--prefix", prefix, "--allow-exec")
    assert done.returncode == 5 and "Traceback" not in done.stderr, done.stderr


def test_a_setup_script_from_outside_the_package_needs_allow_exec(prefix: str, tmp_path: Path) -> None:
    """A node's setup script runs as root: `up` of a file that is not shipped refuses it
    before building anything, naming the script."""
    path = tmp_path / "setup.yaml"
    path.write_text(SCENARIO.format(marker="1", second="'true'"))
    done = nslab("up", str(path), "--prefix", prefix)
    assert done.returncode == 2 and "--allow-exec" in done.stderr and "setup:" in done.stderr, done.stderr
    assert prefix not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
