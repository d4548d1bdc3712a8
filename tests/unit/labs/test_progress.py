"""The learner's progress file is the learner's to break: a FIFO, a symlink, garbage or wrong
types in it must never hang nor crash `sudo nslab check` (it starts fresh, with a warning)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nslab.labs import progress

RECORD = (
    "from nslab.labs import progress;"
    "e = progress.record_check('first-link', 0.0, True, 3, 3);"
    "i = progress.take_hint('first-link', 3);"
    "print(e['attempts'], e['solved'], i)"
)


def _run(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NSLAB_PROGRESS_FILE": str(path)}
    return subprocess.run(
        [sys.executable, "-c", RECORD], capture_output=True, text=True, timeout=20, env=env, check=False
    )


@pytest.mark.parametrize("which", ["progress", "lock"])
def test_a_fifo_does_not_hang(tmp_path: Path, which: str) -> None:
    path = tmp_path / "progress.json"
    os.mkfifo(tmp_path / ("progress.json" if which == "progress" else "progress.json.lock"))
    done = _run(path)  # would hit the timeout (TimeoutExpired) if an open blocked
    assert done.returncode == 0, done.stderr
    if which == "progress":
        assert done.stdout.split() == ["1", "True", "0"]
        assert "not a regular file" in done.stderr
        assert json.loads(path.read_text())["scenarios"]["first-link"]["solved"] is True
    else:
        assert "progress not saved" in done.stderr


def test_a_symlink_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.json"
    secret.write_text(
        json.dumps({"version": 1, "scenarios": {"first-link": {"solved": True, "attempts": 9}}})
    )
    (tmp_path / "progress.json").symlink_to(secret)
    done = _run(tmp_path / "progress.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "1"  # the linked file's 9 attempts were not read
    assert "starting fresh" in done.stderr


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe not json at all",
        b'{"scenarios": [1, 2]}',
        b"[" * 100000,
        json.dumps({"scenarios": {"first-link": [1, 2], "other": "x"}}).encode(),
        json.dumps(
            {
                "scenarios": {
                    "first-link": {"attempts": "many", "hints_used": [], "solved": "yes", "best_score": None}
                }
            }
        ).encode(),
    ],
)
def test_corrupt_content_starts_fresh(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "progress.json"
    path.write_bytes(content)
    done = _run(path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "progress file" in done.stderr
    assert done.stdout.split() == ["1", "True", "0"]
    entry = json.loads(path.read_text())["scenarios"]["first-link"]
    # solved first, so the hint read afterwards is not counted as used
    assert entry["attempts"] == 1 and entry["hints_used"] == 0 and entry["hints_after_solve"] == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
def test_a_file_owned_by_someone_else_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "progress.json"
    path.write_text(json.dumps({"version": 1, "scenarios": {"first-link": {"solved": True, "attempts": 9}}}))
    os.chown(path, 65534, 65534)
    monkeypatch.setenv("NSLAB_PROGRESS_FILE", str(path))
    assert progress.load_all() == {}


def test_hints_read_after_solving_are_not_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NSLAB_PROGRESS_FILE", str(tmp_path / "p.json"))
    monkeypatch.delenv("SUDO_USER", raising=False)
    assert progress.take_hint("lab", 4) == 0  # before solving: counted
    progress.record_check("lab", 0.0, True, 1, 1)
    assert [progress.take_hint("lab", 4) for _ in range(4)] == [1, 2, 3, 3]  # the ladder goes on
    found = progress.entry("lab")
    assert found["hints_used"] == 1 and found["hints_after_solve"] == 3
    assert found["solved"]
