"""The learner makes things worse: deletes a namespace by hand, kills a service, flushes
every rule, deletes the state directory, empties the journal, leaves a process running
inside a node. `nslab status` must say so (exit 1, naming the problem), `nslab check`
must explain it (when it exists), and `nslab down` (or `nslab cleanup --prefix`, once the
state is gone) must still remove everything.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import by_hand
from tests.reliability import harness as h
from tests.reliability import scenarios
from tests.reliability.conftest import Figures

FLUSH = (
    "iptables -F; iptables -X; for t in nat mangle raw; do iptables -t $t -F; iptables -t $t -X; done;"
    " nft flush ruleset"
)


def _shipped(name: str) -> Path:
    path = h.SHIPPED / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"{path} is no longer shipped")
    return path


def _with_checks() -> Path | None:
    """A shipped scenario with checks, for `nslab check` to explain damage with."""
    for path in h.shipped_scenarios():
        if re.search(r"^checks:", path.read_text(), re.M):
            return path
    return None


def _check(lab: str) -> h.Ran | None:
    ran = h.nslab("check", "--help")
    if ran.code != 0:
        return None
    return h.nslab("check", *(["--lab", lab] if "--lab" in ran.out else [lab]), timeout=300)


@pytest.fixture
def lab(figures: Figures) -> Iterator[str]:
    """A lab name; whatever the test leaves of it is removed and counted as a leak."""
    name = h.new_lab("d")
    yield name
    left = h.wait_clean(name)
    figures.count("learner", "scenarios_run")
    figures.count("learner", "leaks_found", len(left))
    if left:
        h.nslab("cleanup", "--prefix", name)
    assert not left, left


def _up(path: Path, lab: str, *extra: str) -> None:
    ran = h.nslab("up", str(path), "--prefix", lab, *extra)
    assert ran.code == 0, ran


def _status(lab: str) -> tuple[h.Ran, dict[str, object]]:
    ran = h.nslab("status", lab, "--json")
    assert "Traceback" not in ran.err, ran
    data = json.loads(ran.out) if ran.out.strip() else {}
    return ran, data


def _down_cleans(lab: str) -> None:
    down = h.nslab("down", lab)
    assert down.code == 0, down
    assert not h.wait_clean(lab), h.leftovers(lab)


def test_namespace_deleted_by_hand(lab: str) -> None:
    path = _with_checks() or _shipped("host-router-host")
    _up(path, lab)
    victim = f"{lab}-{h.node_order(path)[-1]}"
    subprocess.run(["ip", "netns", "del", victim], check=True)
    status = h.nslab("status", lab)
    assert status.code == 1, status
    assert victim in status.out and "gone" in status.out, status
    check = _check(lab)
    if check is not None:
        assert check.code != 0 and "Traceback" not in check.err, check
        assert h.node_order(path)[-1] in check.out + check.err, check
    _down_cleans(lab)


def _service_pid(lab: str, name: str) -> int:
    _, data = _status(lab)
    services = data["labs"][0]["services"]  # type: ignore[index]
    return int(next(s for s in services if s["name"] == name)["pid"])


def test_service_killed(lab: str, service_support: str) -> None:
    if service_support:
        pytest.skip(f"services do not work yet: {service_support}")
    _up(scenarios.SERVICES, lab)
    try:
        pid = _service_pid(lab, "web")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.02)  # until init has reaped it (see the zombie test below)
        status = h.nslab("status", lab)
        assert status.code == 1, status
        assert re.search(r"web.*(not running|DEAD)", status.out), status
        check = _check(lab)
        if check is not None:
            assert "Traceback" not in check.err, check
    finally:
        _down_cleans(lab)


SUBREAPER = """
import ctypes, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans become ours, unreaped
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(code, flush=True)
sys.stdin.readline()
"""


def test_status_sees_a_killed_service_that_is_not_reaped_yet(lab: str, service_support: str) -> None:
    """A container's PID 1 often reaps orphans late or never: a killed service stays a zombie.
    Found by this suite (status called the zombie alive); fixed since."""
    if service_support:
        pytest.skip(f"services do not work yet: {service_support}")
    holder = subprocess.Popen(
        [h.PY, "-c", SUBREAPER, h.PY, "-m", "nslab", "up", str(scenarios.SERVICES), "--prefix", lab],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=h.REPO,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "0"
        pid = _service_pid(lab, "web")
        os.kill(pid, signal.SIGKILL)
        while h._stat_fields(pid) and h._stat_fields(pid)[0] != b"Z":  # type: ignore[index]
            time.sleep(0.01)
        status = h.nslab("status", lab)
        assert status.code == 1 and "web" in status.out, status
    finally:
        _down_cleans(lab)
        holder.communicate("\n", timeout=30)


def _flush_everything(lab: str) -> None:
    for name in h.lab_netns(lab):
        done = h.ns_run(name, "sh", "-c", FLUSH)
        assert done.returncode == 0, done.stderr
        assert "\n-A " not in h.ns_run(name, "iptables-save").stdout


def test_rules_flushed_then_down_cleans(lab: str, tmp_path: Path) -> None:
    _up(scenarios.firewall(tmp_path / "fw.yaml"), lab)
    _flush_everything(lab)
    status = h.nslab("status", lab)
    assert "Traceback" not in status.err and status.code in (0, 1), status
    _down_cleans(lab)


def test_status_notices_flushed_rules(lab: str, tmp_path: Path) -> None:
    _up(scenarios.firewall(tmp_path / "fw.yaml"), lab)
    try:
        _flush_everything(lab)
        status = h.nslab("status", lab)
        assert status.code == 1 and re.search(r"firewall|rule", status.out), status
    finally:
        _down_cleans(lab)


def test_rules_flushed_fail_a_guard(lab: str) -> None:
    """Guide rule 5: a 'fix' that flushes the firewall must fail a guard check."""
    path = _with_checks()
    if path is None or _check(lab) is None:
        pytest.skip("no shipped scenario has checks yet, or `nslab check` does not exist yet")
    if "firewall:" not in path.read_text():
        pytest.skip(f"{path.name} has no firewall to flush")
    _up(path, lab, "--healthy")
    try:
        _flush_everything(lab)
        check = _check(lab)
        assert check is not None and check.code == 1, check
    finally:
        _down_cleans(lab)


def test_state_directory_deleted(lab: str, figures: Figures) -> None:
    """With /run/nslab/LAB gone, `down LAB` and `cleanup --prefix` still find the lab by
    marker, and touch neither an unmarked namespace with the lab's prefix nor another lab."""
    _up(scenarios.STAR, lab)
    other = h.new_lab("o")
    _up(h.SHIPPED / "two-hosts.yaml", other, "--healthy")
    intruder = f"{lab}-intruder"
    subprocess.run(["ip", "netns", "add", intruder], check=True)
    try:
        by_hand.remove_state(os.path.join(h.STATE_ROOT, lab))
        down = h.nslab("down", lab)
        assert down.code == 0 and "Traceback" not in down.err, down
        cleanup = h.nslab("cleanup", "--prefix", lab)  # nothing left to do, and still harmless
        assert cleanup.code == 0, cleanup
        assert h.lab_netns(lab) == [intruder], "cleanup removed an unmarked namespace, or left the lab"
        assert not h.lab_etc(lab), h.lab_etc(lab)
        assert len(h.lab_netns(other)) == 3, "cleanup --prefix touched another lab"
        assert h.ns_run(f"{other}-h1", "ping", "-c1", "-W2", "10.0.1.2").returncode == 0
        figures.count("learner", "foreign_namespaces_left_alone")
    finally:
        subprocess.run(["ip", "netns", "del", intruder], check=False)
        _down_cleans(other)


def test_status_notices_a_lab_without_state(lab: str) -> None:
    _up(h.SHIPPED / "two-hosts.yaml", lab)
    try:
        by_hand.remove_state(os.path.join(h.STATE_ROOT, lab))
        status = h.nslab("status")
        assert status.code == 1 and lab in status.out + status.err, status
    finally:
        h.nslab("cleanup", "--prefix", lab)


def test_down_with_an_emptied_journal(lab: str) -> None:
    _up(h.SHIPPED / "two-hosts.yaml", lab)
    try:
        with open(os.path.join(h.STATE_ROOT, lab, "journal.jsonl"), "w"):
            pass
        down = h.nslab("down", lab)
        assert not h.lab_netns(lab) or down.code != 0, (down, h.lab_netns(lab))
        assert not h.lab_netns(lab), down
    finally:
        h.nslab("cleanup", "--prefix", lab)


def test_journal_with_garbage_still_tears_down(lab: str) -> None:
    _up(h.SHIPPED / "host-router-host.yaml", lab)
    with open(os.path.join(h.STATE_ROOT, lab, "journal.jsonl"), "a") as handle:
        handle.write('not json\n{"op": "netns"}\n{"op":"proc","pid":"x"}\n\x00\x01{"op":"netns","name":')
    _down_cleans(lab)


def test_learner_process_left_inside_a_node(lab: str) -> None:
    _up(h.SHIPPED / "two-hosts.yaml", lab)
    learner = subprocess.Popen(["ip", "netns", "exec", f"{lab}-h1", "sleep", "600"])
    try:
        _down_cleans(lab)
        assert learner.wait(timeout=10) != 0  # stopped by `down`, not finished
    finally:
        if learner.poll() is None:
            learner.kill()
            learner.wait()


def test_down_twice(lab: str) -> None:
    _up(h.SHIPPED / "two-hosts.yaml", lab)
    _down_cleans(lab)
    again = h.nslab("down", lab)
    assert again.code == 3 and "not up" in again.err, again
