"""A root learner inside a node cannot reach a host file or the host's name (kernel-gotchas #14).

Everything a learner does here is done inside a sandbox where a mistake cannot reach this
machine: the outer test re-runs this module under `unshare --mount --uts` with overlays on
/etc and /run, so even a broken node view writes only the sandbox's upper layers. The inner
tests (run only inside the sandbox) try to cross the edge with ordinary admin commands and
compare the sandbox's own /etc (the "host" as nslab sees it) before and after. The outer test
then checks the real /etc and hostname too.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

SANDBOX = "NSLAB_NODE_SANDBOX"
inner = pytest.mark.skipif(os.environ.get(SANDBOX) != "1", reason="runs inside the test's sandbox")

SANDBOX_SCRIPT = """
set -e
mount -t tmpfs -o size=64m nslab-test /mnt
mkdir -p /mnt/etc/u /mnt/etc/w /mnt/run/u /mnt/run/w
mount -t overlay overlay -o lowerdir=/etc,upperdir=/mnt/etc/u,workdir=/mnt/etc/w /etc
mount -t overlay overlay -o lowerdir=/run,upperdir=/mnt/run/u,workdir=/mnt/run/w /run
exec "$@"
"""


def etc_hashes() -> dict[str, str]:
    """sha256 of every regular file under /etc (not /etc/netns: other labs come and go)."""
    out: dict[str, str] = {}
    for top, dirs, files in os.walk("/etc"):
        if top == "/etc":
            dirs[:] = [d for d in dirs if d != "netns"]
        for name in files:
            path = os.path.join(top, name)
            if os.path.isfile(path) and not os.path.islink(path):
                try:
                    with open(path, "rb") as handle:
                        out[path] = hashlib.sha256(handle.read()).hexdigest()
                except PermissionError:
                    out[path] = "unreadable"
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.skipif(os.environ.get(SANDBOX) == "1", reason="this is the sandbox itself")
def test_learner_damage_in_a_sandbox_leaves_the_host_untouched() -> None:
    before, name = etc_hashes(), socket.gethostname()
    run = subprocess.run(
        [
            *(
                "unshare",
                "--mount",
                "--uts",
                "--propagation",
                "private",
                "sh",
                "-c",
                SANDBOX_SCRIPT,
                "sandbox",
            ),
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", "inner"),
        ],
        env={**os.environ, SANDBOX: "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout.splitlines()[-1], run.stdout[-2000:]
    assert etc_hashes() == before
    assert socket.gethostname() == name


# --- inside the sandbox -------------------------------------------------------------------


def nslab(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nslab", *args], capture_output=True, text=True, input=stdin, timeout=60
    )


def in_node(lab: str, node: str, script: str) -> subprocess.CompletedProcess[str]:
    return nslab("exec", "--lab", lab, node, "--", "sh", "-c", script)


@pytest.fixture
def lab(prefix: str) -> Iterator[str]:
    up = nslab("up", "two-hosts", "--prefix", prefix, "--healthy")
    assert up.returncode == 0, up.stderr
    try:
        yield prefix
    finally:
        down = nslab("down", prefix)
        assert down.returncode == 0, down.stderr
        from nslab.engine import state
        from nslab.kernel import netns

        assert netns.mounted_under(state.lab_dir(prefix)) == []  # teardown unmounted the node views


@inner
def test_inner_root_in_a_node_cannot_change_host_files_or_name(lab: str) -> None:
    before, name = etc_hashes(), socket.gethostname()
    with open("/etc/hosts") as handle:
        host_hosts = handle.read()

    assert in_node(lab, "h1", "hostname").stdout.strip() == "h1"
    # Single-file bind mounts made this fail with EBUSY (rename over a mount point).
    edit = in_node(
        lab, "h1", "sed -i s/localhost/lokal/ /etc/hosts && echo node-only > /tmp/n && mv /tmp/n /etc/moved"
    )
    assert edit.returncode == 0, edit.stderr
    assert in_node(lab, "h1", "hostname x").returncode == 0
    # Unmounting reveals the host's directory read-only: the write that used to land in the
    # host's /etc/resolv.conf fails now.
    breach = in_node(
        lab,
        "h1",
        "umount /etc/resolv.conf; umount /etc && echo evil >> /etc/resolv.conf; "
        "umount /etc; echo evil > /etc/evil; umount /run; echo evil > /run/evil; "
        "mount -t tmpfs t /etc && echo evil > /etc/inside-tmpfs; echo done",
    )
    assert "done" in breach.stdout and "Read-only file system" in breach.stderr, breach.stderr
    fill = in_node(lab, "h1", "dd if=/dev/zero of=/etc/fill bs=1M count=200; echo x > /run/x")
    assert "No space left on device" in fill.stderr  # the node's tmpfs is size-limited

    # The node kept its own changes, across separate execs.
    seen = in_node(lab, "h1", "hostname; cat /etc/hosts /etc/moved; ls -l /etc/fill")
    assert seen.returncode == 0, seen.stderr
    lines = seen.stdout.splitlines()
    assert lines[0] == "x" and "127.0.0.1\tlokal" in lines and "node-only" in lines
    # Another node has its own name and its own files.
    other = in_node(lab, "h2", "hostname; cat /etc/hosts; ls /etc/moved")
    assert other.stdout.splitlines()[0] == "h2" and "lokal" not in other.stdout

    # The host (the sandbox's view of it) did not change: files, name, /run.
    assert etc_hashes() == before
    assert socket.gethostname() == name
    with open("/etc/hosts") as handle:
        assert handle.read() == host_hosts
    for path in ("/etc/evil", "/etc/moved", "/etc/fill", "/etc/inside-tmpfs", "/run/evil", "/run/x"):
        assert not os.path.exists(path), path


@inner
def test_inner_two_shells_in_one_node_share_edits_and_name(lab: str) -> None:
    first = subprocess.Popen(
        [sys.executable, "-m", "nslab", "shell", "--lab", lab, "h1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert first.stdin is not None and first.stdout is not None

    def ask(command: str) -> list[str]:
        assert first.stdin is not None and first.stdout is not None
        first.stdin.write(f"{command}; echo END-OF-ANSWER\n")
        first.stdin.flush()
        lines = []
        while (line := first.stdout.readline()) and line.strip() != "END-OF-ANSWER":
            lines.append(line.rstrip("\n"))
        return lines

    try:
        ask("echo '10.0.1.2 from-first' >> /etc/hosts; hostname renamed")
        # A second shell opened later sees the first one's edit and name...
        second = in_node(
            lab, "h1", "hostname; grep from-first /etc/hosts; echo '10.0.1.1 from-second' >> /etc/hosts"
        )
        assert second.stdout.splitlines() == ["renamed", "10.0.1.2 from-first"], second.stderr
        # ...and the first, still open, sees the second's.
        assert ask("grep from-second /etc/hosts; hostname") == ["10.0.1.1 from-second", "renamed"]
    finally:
        first.stdin.close()
        first.wait(timeout=10)


@inner
def test_inner_a_service_lives_in_its_node_view(prefix: str, tmp_path: object) -> None:
    from nslab.engine import etcfiles, state
    from nslab.engine.journal import read

    path = f"{tmp_path}/one.yaml"
    with open(path, "w") as handle:
        handle.write(
            "metadata: {name: one, title: t}\n"
            "nodes:\n  a: {interfaces: {lo1: {kind: bridge, addresses: [10.9.0.1/24]}}}\n"
            "services:\n  - {name: s, kind: tcp, node: a, port: 9}\n"
        )
    up = nslab("up", path, "--prefix", prefix)
    assert up.returncode == 0, up.stderr
    try:
        entries = read(state.lab_dir(prefix))
        (proc,) = entries.procs
        pid = proc["pid"]
        ns = next(e["name"] for e in entries.netns if e.get("node") == "a")
        uts = os.path.join(etcfiles.nodeview_root(prefix, ns), "uts")
        assert os.stat(f"/proc/{pid}/ns/uts").st_ino == os.stat(uts).st_ino
        assert os.stat(f"/proc/{pid}/ns/mnt").st_ino != os.stat("/proc/self/ns/mnt").st_ino
        assert in_node(prefix, "a", "echo '10.9.0.9 edited' >> /etc/hosts").returncode == 0
        with open(f"/proc/{pid}/root/etc/hosts") as handle:
            assert "10.9.0.9 edited" in handle.read()  # the service sees the node's /etc
        status = json.loads(nslab("status", prefix, "--json").stdout)
        assert status["labs"][0]["ok"]
    finally:
        assert nslab("down", prefix).returncode == 0


# --- outside the sandbox: reads only --------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.skipif(os.environ.get(SANDBOX) == "1", reason="runs outside the sandbox")
def test_a_node_sees_no_lab_state_yet_its_services_keep_theirs(prefix: str, tmp_path: object) -> None:
    """A node's /run is an overlay of the host's, where every lab keeps its state: scenario.yaml
    holds the solution. A learner's shell in a node finds nothing there, of any lab; a
    service in the same node still reaches its own state directory at its own path."""
    from nslab.engine import state
    from nslab.engine.journal import read

    other = f"{prefix}-b"
    path = f"{tmp_path}/one.yaml"
    with open(path, "w") as handle:
        handle.write(
            "metadata: {name: one, title: t}\n"
            "nodes:\n  a: {interfaces: {lo1: {kind: bridge, addresses: [10.9.0.1/24]}}}\n"
            "services:\n  - {name: s, kind: tcp, node: a, port: 9}\n"
        )
    assert nslab("up", path, "--prefix", prefix).returncode == 0
    try:
        up = nslab("up", "two-hosts", "--prefix", other, "--healthy")
        assert up.returncode == 0, up.stderr
        mine, theirs = state.lab_dir(prefix), state.lab_dir(other)
        assert os.path.isfile(f"{theirs}/scenario.yaml") and os.path.isfile(f"{mine}/scenario.yaml")
        looked = in_node(
            prefix,
            "a",
            f"ls -A {state.STATE_ROOT}; echo listed; cat {theirs}/scenario.yaml; cat {mine}/scenario.yaml; "
            f"cat {mine}/journal.jsonl; ls {theirs}; touch {state.STATE_ROOT}/x",
        )
        assert looked.stdout == "listed\n", looked.stdout  # an empty directory
        errors = looked.stderr.splitlines()
        hidden = (f"{theirs}/scenario.yaml", f"{mine}/scenario.yaml", f"{mine}/journal.jsonl", f"'{theirs}'")
        for gone in hidden:
            assert any(gone in e and e.endswith("No such file or directory") for e in errors), errors
        assert "Read-only file system" in looked.stderr, looked.stderr
        # The node's unprivileged programs still read its /etc and /run.
        plain = in_node(prefix, "a", "runuser -u nobody -- sh -c 'head -1 /etc/hosts; ls -d /run/nslab-node'")
        assert plain.returncode == 0 and "written by nslab" in plain.stdout, plain.stderr

        (proc,) = read(mine).procs
        service_root = f"/proc/{proc['pid']}/root"
        assert sorted(os.listdir(service_root + state.STATE_ROOT)) == [prefix]
        assert "owner" in os.listdir(service_root + mine), "the service lost its state directory"
        probe = in_node(
            prefix, "a", "python3 -c 'import socket; socket.create_connection((\"10.9.0.1\", 9), 2)'"
        )
        assert probe.returncode == 0, probe.stderr
        restarted = nslab("service", "restart", "--lab", prefix, "s")
        assert restarted.returncode == 0, restarted.stderr
        status = json.loads(nslab("status", prefix, "--json").stdout)
        assert status["labs"][0]["ok"], status
    finally:
        nslab("down", other)
        assert nslab("down", prefix).returncode == 0
