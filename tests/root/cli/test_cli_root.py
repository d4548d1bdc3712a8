"""The CLI as a learner uses it: exit codes and messages, for real."""

from __future__ import annotations

import json
import subprocess
import sys


def nslab(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nslab", *args], capture_output=True, text=True, input=stdin, timeout=60
    )


def test_up_status_exec_down_cycle(prefix: str) -> None:
    up = nslab("up", "two-hosts", "--prefix", prefix, "--healthy")
    assert up.returncode == 0, up.stderr
    assert f"lab {prefix} is up" in up.stdout
    try:
        again = nslab("up", "two-hosts", "--prefix", prefix, "--healthy")
        assert again.returncode == 3 and "already up" in again.stderr and "--replace" in again.stderr
        status = nslab("status", prefix, "--json")
        assert status.returncode == 0, status.stderr
        (lab,) = json.loads(status.stdout)["labs"]
        assert lab["ok"] and {n["name"] for n in lab["nodes"]} == {"h1", "h2", "sw1"}
        ping = nslab("exec", "--lab", prefix, "h1", "--", "ping", "-c1", "-W1", "10.0.1.2")
        assert ping.returncode == 0 and "1 received" in ping.stdout
        wrong = nslab("exec", "--lab", prefix, "h22", "--", "true")
        assert wrong.returncode == 2 and "nodes: h1, h2, sw1" in wrong.stderr  # h22 is no typo of h2
        shell = nslab("shell", "--lab", prefix, "h2", stdin="ip -br addr show eth0\nexit\n")
        assert "10.0.1.2/24" in shell.stdout
        assert f"[{prefix}:h2]" in shell.stderr  # bash prints its prompt on stderr
    finally:
        down = nslab("down", prefix)
    assert down.returncode == 0 and "removed 3 namespaces" in down.stdout
    gone = nslab("down", prefix)
    assert gone.returncode == 3 and "not up" in gone.stderr


def test_exec_into_a_deleted_node_says_what_happened(prefix: str) -> None:
    assert nslab("up", "two-hosts", "--prefix", prefix, "--healthy").returncode == 0
    try:
        subprocess.run(["ip", "netns", "del", f"{prefix}-h1"], check=True)
        done = nslab("exec", "--lab", prefix, "h1", "--", "true")
        assert done.returncode == 3 and "was deleted" in done.stderr
        status = nslab("status", prefix)
        assert status.returncode == 1 and "MISSING" in status.stdout
    finally:
        assert nslab("down", prefix).returncode == 0


def test_cleanup_by_marker_without_state_and_leaves_foreign_namespaces(prefix: str) -> None:
    foreign = f"{prefix}x-foreign"
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        assert nslab("up", "two-hosts", "--prefix", prefix, "--healthy").returncode == 0
        # The node views are mounted under the state dir (etcfiles.nodeview_root): unmount first.
        subprocess.run(
            ["sh", "-c", f"umount -R /run/nslab/{prefix}/nodes/*/; rm -rf /run/nslab/{prefix}"], check=True
        )
        done = nslab("cleanup", "--prefix", prefix)
        assert done.returncode == 0, done.stderr
        assert f"lab {prefix} is down: removed 3 namespaces" in done.stdout
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert foreign in names and f"{prefix}-h1" not in names
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=True)


def test_doctor_is_green_here() -> None:
    done = nslab("doctor", "--json")
    assert done.returncode == 0, done.stdout
    findings = {f["name"]: f for f in json.loads(done.stdout)}
    assert findings["kernel veth"]["ok"] and findings["iptables in a namespace"]["ok"]
