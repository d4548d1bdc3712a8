"""The zero-leftovers check itself: it notices what a test left, and only that."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nslab.labs import lifecycle as lab
from tests.leaks import Snapshot, assert_no_leaks
from tests.root.foreign import foreign_work


def test_the_check_sees_a_service_process_left_running(prefix: str, tmp_path: object) -> None:
    """A lab left up (its service running) must fail the check; after `down` it passes."""
    path = f"{tmp_path}/one.yaml"
    with open(path, "w") as handle:
        handle.write(
            "metadata: {name: one, title: t}\n"
            "nodes:\n  a: {interfaces: {lo1: {kind: bridge, addresses: [10.9.0.1/24]}}}\n"
            "services:\n  - {name: s, kind: tcp, node: a, port: 9}\n"
        )
    before = Snapshot.take(prefix)
    subprocess.run(
        [sys.executable, "-m", "nslab", "up", path, "--prefix", prefix], check=True, capture_output=True
    )
    try:
        with pytest.raises(AssertionError, match=r"left behind: .*'procs'"):
            assert_no_leaks(before, settle=0.2)
    finally:
        lab.down_one(prefix)
    assert_no_leaks(before)


def _is_sleeping_in(pid: int, inode: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip() == "sleep" and os.stat(f"/proc/{pid}/ns/net").st_ino == inode
    except OSError:
        return False


def test_the_check_sees_a_process_that_outlived_its_namespace(prefix: str) -> None:
    """A process the test started, left in a namespace whose name is already gone (it keeps
    the namespace alive): only its ancestry ties it to the test."""
    before = Snapshot.take(prefix)
    ns = f"{prefix}-x"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    sleeper = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "600"])
    try:
        inside = os.stat(f"/run/netns/{ns}").st_ino
        deadline = time.monotonic() + 10
        while not _is_sleeping_in(sleeper.pid, inside):  # entered it: the name can go now
            assert time.monotonic() < deadline and sleeper.poll() is None, "sleep never started"
            time.sleep(0.01)
        subprocess.run(["ip", "netns", "del", ns], check=True)
        with pytest.raises(AssertionError, match=rf"left behind: {{'procs': \[\({sleeper.pid}, "):
            assert_no_leaks(before, settle=0.2)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert_no_leaks(before)


def test_the_check_ignores_other_work_on_the_machine(prefix: str, tmp_path: Path) -> None:
    """Another job's namespace, its process (even one nslab started for another lab) and its
    links appear during the test: none of them is this test's leftover."""
    before = Snapshot.take(prefix)
    with foreign_work(tmp_path) as work:
        assert work.ns in os.listdir("/run/netns")
        assert_no_leaks(before, settle=0)
    assert work.ns not in os.listdir("/run/netns")


BESIDE_FOREIGN_WORK = [
    "tests/root/services/test_service_leaks.py::test_the_check_sees_a_service_process_left_running",
    "tests/root/services/test_service_leaks.py::test_the_check_sees_a_process_that_outlived_its_namespace",
    "tests/root/services/test_service_lifecycle.py::test_down_stops_every_service_and_what_it_started",
    "tests/root/cli/test_cli_root.py::test_up_status_exec_down_cycle",
]


def test_root_tests_pass_beside_other_work(tmp_path: Path) -> None:
    """Root tests (labs, services, processes) run while another job's namespace and sleeping
    process exist, and pass: an unscoped check counted that process in every one of them."""
    with foreign_work(tmp_path) as work:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'in'}",
             *BESIDE_FOREIGN_WORK],
            cwd=Path(__file__).resolve().parents[3],
            capture_output=True,
            text=True,
            timeout=600,
        )  # fmt: skip
        assert os.path.exists(f"/proc/{work.pid}"), "the foreign process must outlive the run"
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]
