"""`nslab check`, `solution`, `reset` as a learner runs them: real processes, real labs."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from nslab.engine import state
from nslab.grading import cache as grading_cache
from nslab.grading.schema import CHECK_REPORT
from nslab.labs import lifecycle as lab


@pytest.fixture
def progress_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "progress.json"
    monkeypatch.setenv("NSLAB_PROGRESS_FILE", str(path))
    monkeypatch.delenv("SUDO_USER", raising=False)
    return path


def nslab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nslab", *args], capture_output=True, text=True, timeout=60)


def test_broken_then_fixed_then_reset(prefix: str, progress_file: Path, tmp_path: Path) -> None:
    lab.up("two-hosts", prefix=prefix)
    try:
        broken = nslab("check", "--lab", prefix)
        assert broken.returncode == 1, broken.stderr
        assert "FAIL  goal   h1-reaches-h2" in broken.stdout
        assert "pass  guard  h1-keeps-its-address" in broken.stdout
        # Unsolved: the symptom, not the answer (GUIDE 8) ...
        assert "h1 gets no echo reply from 10.0.1.2" in broken.stdout
        assert "expected" not in broken.stdout.replace("what they expect", "")
        assert "score 4/6: 1 of 1 goals not met yet" in broken.stdout
        assert "Traceback" not in broken.stderr
        # ... and everything for an instructor or CI.
        told = nslab("check", "--lab", prefix, "--reveal")
        assert told.returncode == 1
        assert "ping h1 -> 10.0.1.2: no reply within" in told.stdout
        assert "no echo reply, no ICMP error: dropped silently" in told.stdout and "expected" in told.stdout

        junit = tmp_path / "report.xml"
        fixed = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                f"{prefix}-h2",
                "iptables",
                "-D",
                "INPUT",
                "-p",
                "icmp",
                "--icmp-type",
                "echo-request",
                "-j",
                "DROP",
            ],
            capture_output=True,
        )
        assert fixed.returncode == 0
        done = nslab("check", "--lab", prefix, "--json", "--junit", str(junit))
        assert done.returncode == 0, done.stdout
        report = json.loads(done.stdout)
        jsonschema.validate(report, CHECK_REPORT)
        assert report["passed"] and report["score"] == report["max_score"] == 6
        suite = ET.parse(junit).getroot().find("testsuite")
        assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("5", "0")

        entry = json.loads(progress_file.read_text())["scenarios"]["two-hosts"]
        assert entry["solved"] and entry["attempts"] == 3 and entry["best_score"] == 6
        assert 0 <= entry["seconds"] < 120

        again = nslab("check", "--lab", prefix)
        assert again.returncode == 0 and "What was wrong:" in again.stdout  # the explanation

        reset = nslab("reset", "--lab", prefix)
        assert reset.returncode == 0, reset.stderr
        assert "back at its starting point: broken again" in reset.stdout, reset.stdout
        assert nslab("check", "--lab", prefix).returncode == 1  # broken again, same fault
        assert state.read_meta(prefix) is not None and not state.read_meta(prefix).healthy  # type: ignore[union-attr]
    finally:
        lab.down_one(prefix)


def test_reset_keeps_seed_and_parameters(prefix: str, progress_file: Path) -> None:
    lab.up("host-router-host", prefix=prefix, params={"fault": "forwarding-off"}, seed="alice")
    try:
        before = state.read_meta(prefix)
        assert nslab("reset", "--lab", prefix).returncode == 0
        after = state.read_meta(prefix)
        assert before is not None and after is not None
        assert (after.seed, after.params, after.healthy) == ("alice", {"fault": "forwarding-off"}, False)
        assert after.build != before.build
        out = nslab("check", "--lab", prefix).stdout
        assert "r1-forwards" in out and "client-has-default-route" not in out  # when: follows the param
    finally:
        lab.down_one(prefix)


def test_solution_apply_fixes_and_is_recorded(prefix: str, progress_file: Path) -> None:
    lab.up("host-router-host", prefix=prefix)
    try:
        shown = nslab("solution", "--lab", prefix, "--yes")
        assert shown.returncode == 0 and "[client] ip route replace default via 10.0.1.1" in shown.stdout
        applied = nslab("solution", "--lab", prefix, "--apply", "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "score 9/9: solved" in applied.stdout
        assert nslab("check", "--lab", prefix).returncode == 0
        entry = json.loads(progress_file.read_text())["scenarios"]["host-router-host"]
        assert entry["solution_applied"] and entry["solved"] and entry["with_solution"]
    finally:
        lab.down_one(prefix)


def test_healthy_build_passes_and_records_nothing(prefix: str, progress_file: Path) -> None:
    lab.up("host-router-host", prefix=prefix, healthy=True)
    try:
        started = time.perf_counter()
        done = nslab("check", "--lab", prefix)
        elapsed = time.perf_counter() - started
        assert done.returncode == 0, done.stdout
        assert "healthy build" in done.stdout
        assert not progress_file.exists()
        # Every check passes at once here, so the whole process is start-up + one round of
        # probes; generous bound (shared CI machines), the tight figure is measured in bench.
        assert elapsed < 3.0, elapsed
    finally:
        lab.down_one(prefix)


def test_check_without_a_lab_is_a_clear_error(progress_file: Path) -> None:
    done = nslab("check", "--lab", "ga-no-such-lab")
    assert done.returncode == 3
    assert "lab 'ga-no-such-lab' is not up" in done.stderr and "Traceback" not in done.stderr


def test_a_damaged_lab_reports_the_missing_node(prefix: str, progress_file: Path) -> None:
    lab.up("two-hosts", prefix=prefix)
    try:
        subprocess.run(["ip", "netns", "del", f"{prefix}-h2"], check=True)
        done = nslab("check", "--lab", prefix, "--json")
        assert done.returncode == 1
        checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
        assert checks["mtu-untouched"]["outcome"] == "error"
        assert (
            "namespace" in checks["mtu-untouched"]["explanation"]
            and "nslab status" in checks["mtu-untouched"]["explanation"]
        )
    finally:
        lab.down_one(prefix)
        assert not os.path.exists(state.lab_dir(prefix))


def test_watch_waits_for_the_fix(prefix: str, progress_file: Path) -> None:
    """No sleeps: the fix lands only once the first round's verdict (a failing one) is out,
    read from the watcher's stdout line by line, so no load can make it land earlier."""
    lab.up("two-hosts", prefix=prefix)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "nslab", "check", "--lab", prefix, "--watch", "--interval", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert watcher.stdout is not None
        first = []
        while not any(line.startswith("score ") for line in first):  # the first round's verdict
            line = watcher.stdout.readline()
            assert line, "watch ended before its first round finished: " + "".join(first)
            first.append(line)
        assert "FAIL  goal   h1-reaches-h2" in "".join(first), "".join(first)
        assert "solved" not in "".join(first)
        assert watcher.poll() is None  # the round failed: it goes on watching
        fix = ["iptables", "-D", "INPUT", "-p", "icmp", "--icmp-type", "echo-request", "-j", "DROP"]
        subprocess.run(["ip", "netns", "exec", f"{prefix}-h2", *fix], check=True)
        rest, _ = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, rest
        assert ("lab " + prefix) in rest and "solved: every goal is met" in rest, rest
    finally:
        if watcher.poll() is None:
            watcher.kill()  # only on a failure above: never leave our own process running
            watcher.communicate()
        lab.down_one(prefix)


def test_grading_cache_follows_the_build(prefix: str, progress_file: Path) -> None:
    lab.up("host-router-host", prefix=prefix, params={"fault": "no-default-route"})
    cache = Path(state.lab_dir(prefix)) / grading_cache.CACHE

    def store(key: object, scenario: object) -> None:
        cache.write_text(json.dumps({"key": key, "scenario": grading_cache.encode(scenario)}))

    try:
        first = json.loads(nslab("check", "--lab", prefix, "--json").stdout)
        assert cache.exists() and stat.S_IMODE(cache.stat().st_mode) == 0o600
        cache.write_bytes(b"not json")  # a damaged cache is ignored and rewritten
        again = json.loads(nslab("check", "--lab", prefix, "--json").stdout)
        assert [c["name"] for c in again["checks"]] == [c["name"] for c in first["checks"]]
        assert cache.read_bytes() != b"not json"
        # A cache made for another build (or by other nslab code) must not be used.
        stored = json.loads(cache.read_text())
        key = stored["key"]
        scenario = grading_cache.decode(stored["scenario"], grading_cache._model_classes())
        emptied = dataclasses.replace(scenario, checks=())
        store([key[0], "another build", *key[2:]], emptied)
        third = json.loads(nslab("check", "--lab", prefix, "--json").stdout)
        assert len(third["checks"]) == len(first["checks"]) > 0
        meta = state.read_meta(prefix)
        assert meta is not None
        store(grading_cache._key(prefix, meta), emptied)  # and a current one is (this proves the test)
        assert json.loads(nslab("check", "--lab", prefix, "--json").stdout)["checks"] == []
    finally:
        lab.down_one(prefix)


def test_unwritable_junit_path_is_a_usage_error(prefix: str, progress_file: Path) -> None:
    lab.up("two-hosts", prefix=prefix, healthy=True)
    try:
        done = nslab("check", "--lab", prefix, "--junit", "/proc/nope/report.xml")
        assert done.returncode == 2 and "cannot write /proc/nope/report.xml" in done.stderr
    finally:
        lab.down_one(prefix)
