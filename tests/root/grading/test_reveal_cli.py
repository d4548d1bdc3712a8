"""Honest grading on a shipped lab: symptoms until solved, everything after or with --reveal;
the solution asks first and is recorded; status says solved (issue 12, GUIDE 8)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from nslab.engine import state
from nslab.grading.schema import CHECK_REPORT
from nslab.labs import lifecycle as lab

LAB = "ws2-cannot-open-share"  # ws2 got a longer prefix than the studio's /24


@pytest.fixture
def progress_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "progress.json"
    monkeypatch.setenv("NSLAB_PROGRESS_FILE", str(path))
    monkeypatch.delenv("SUDO_USER", raising=False)
    return path


def nslab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nslab", *args],
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )


def test_wrong_prefix_lab_hides_the_answer_until_solved(prefix: str, progress_file: Path) -> None:
    lab.up("wrong-netmask", prefix=prefix)  # the old name still works
    try:
        broken = nslab("check", "--lab", prefix)
        assert broken.returncode == 1, broken.stderr
        assert "/24" not in broken.stdout and "/25" not in broken.stdout and "/26" not in broken.stdout
        assert "eth0 of ws2 does not carry the address the network needs" in broken.stdout
        data = json.loads(nslab("check", "--lab", prefix, "--json").stdout)
        jsonschema.validate(data, CHECK_REPORT)
        text = json.dumps(data)
        assert "/24" not in text and not any(c["revealed"] for c in data["checks"])

        told = nslab("check", "--lab", prefix, "--reveal")
        assert told.returncode == 1
        assert "192.168.10.20/24" in told.stdout and "; expected present" in told.stdout

        status = nslab("status", prefix)
        assert "solved" not in status.stdout, status.stdout

        # The solution of an unsolved lab needs a yes: a script without --yes is refused.
        refused = nslab("solution", "--lab", prefix)
        assert refused.returncode == 2 and "--yes" in refused.stderr, refused.stderr
        assert "ip addr" not in refused.stdout
        assert not progress_file.exists() or not json.loads(progress_file.read_text())["scenarios"].get(
            LAB, {}
        ).get("solution_shown")

        fixed = subprocess.run(
            ["ip", "netns", "exec", f"{prefix}-ws2", "sh", "-c",
             "ip addr flush dev eth0 && ip addr add 192.168.10.20/24 dev eth0"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert fixed.returncode == 0, fixed.stderr
        solved = nslab("check", "--lab", prefix)
        assert solved.returncode == 0, solved.stdout
        assert (Path(state.lab_dir(prefix)) / "solved").exists()
        entry = json.loads(progress_file.read_text())["scenarios"][LAB]
        assert entry["solved"] and not entry.get("solution_shown")

        # Solved: the solution needs no yes and is not counted against the learner.
        shown = nslab("solution", "--lab", prefix)
        assert shown.returncode == 0 and "ip addr add 192.168.10.20/24" in shown.stdout, shown.stderr
        assert not json.loads(progress_file.read_text())["scenarios"][LAB].get("solution_shown")
        # Hints read now are not counted as used.
        assert nslab("hint", "--lab", prefix).returncode == 0
        entry = json.loads(progress_file.read_text())["scenarios"][LAB]
        assert entry["hints_used"] == 0 and entry["hints_after_solve"] == 1

        status = nslab("status", prefix)
        assert "broken build, solved)" in status.stdout, status.stdout
        assert json.loads(nslab("status", prefix, "--json").stdout)["labs"][0]["solved"] is True

        # Break it again: the lab is solved, so the report now tells everything.
        subprocess.run(
            ["ip", "netns", "exec", f"{prefix}-ws2", "ip", "addr", "flush", "dev", "eth0"], check=True
        )
        after = nslab("check", "--lab", prefix)
        assert after.returncode == 1 and "192.168.10.20/24" in after.stdout
    finally:
        lab.down_one(prefix)


def test_solution_with_yes_is_recorded(prefix: str, progress_file: Path) -> None:
    lab.up(LAB, prefix=prefix)
    try:
        shown = nslab("solution", "--lab", prefix, "--yes")
        assert shown.returncode == 0 and "ip addr add 192.168.10.20/24" in shown.stdout
        entry = json.loads(progress_file.read_text())["scenarios"][LAB]
        assert entry["solution_shown"] is True and not entry["solved"]
    finally:
        lab.down_one(prefix)


def test_a_planted_solved_marker_reveals_nothing(prefix: str, progress_file: Path) -> None:
    """Only nslab's own root-only marker counts; one writable by others is ignored."""
    lab.up(LAB, prefix=prefix)
    try:
        marker = Path(state.lab_dir(prefix)) / "solved"
        marker.write_text("yes\n")
        marker.chmod(0o666)
        out = nslab("check", "--lab", prefix).stdout
        assert "192.168.10.20/24" not in out
        marker.chmod(0o600)
        assert "192.168.10.20/24" in nslab("check", "--lab", prefix).stdout  # proves the marker path
    finally:
        lab.down_one(prefix)
