"""Hints and the progress file: one ladder step per call, recorded per learner, written as the learner."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from nslab.labs import lifecycle as lab
from nslab.labs import progress


def nslab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nslab", *args], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.fixture
def running(prefix: str) -> Iterator[str]:
    lab.up("two-hosts", prefix=prefix)
    yield prefix
    lab.down_one(prefix)


def test_hint_ladder_goes_one_step_at_a_time(running: str, tmp_path: Path) -> None:
    env = dict(os.environ, NSLAB_PROGRESS_FILE=str(tmp_path / "p.json"))
    env.pop("SUDO_USER", None)
    seen = [nslab("hint", "--lab", running, env=env) for _ in range(5)]
    assert all(done.returncode == 0 for done in seen)
    heads = [done.stdout.splitlines()[0] for done in seen]
    assert heads == ["hint 1 of 4:", "hint 2 of 4:", "hint 3 of 4:", "hint 4 of 4:", "hint 4 of 4:"]
    assert "ip neigh" in seen[0].stdout and "iptables -D INPUT" in seen[3].stdout
    assert "that was the last hint" in seen[3].stdout
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["scenarios"]["two-hosts"]["hints_used"] == 4
    again = nslab("hint", "--lab", running, "--again", env=env)
    assert again.stdout.count("hint ") == 4


@pytest.fixture
def learner_dir() -> Iterator[tuple[pwd.struct_passwd, Path]]:
    """A directory owned by an unprivileged system user, standing in for a learner's home
    (under /tmp itself: pytest's own tmp_path is private to root, the learner could not reach it)."""
    try:
        user = pwd.getpwnam("daemon")
    except KeyError:
        pytest.skip("no unprivileged 'daemon' user on this machine")
    base = Path(tempfile.mkdtemp(prefix="ga-learner-", dir="/tmp"))
    base.chmod(0o755)
    home = base / "home"
    home.mkdir()
    os.chown(home, user.pw_uid, user.pw_gid)
    try:
        yield user, home
    finally:
        shutil.rmtree(base)


def test_under_sudo_progress_is_the_learners_file(
    learner_dir: tuple[pwd.struct_passwd, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, home = learner_dir
    path = home / "progress.json"
    monkeypatch.setenv("SUDO_USER", user.pw_name)
    monkeypatch.setenv("NSLAB_PROGRESS_FILE", str(path))
    assert progress.learner().uid == user.pw_uid
    assert progress.take_hint("two-hosts", 4) == 0
    assert progress.take_hint("two-hosts", 4) == 1
    assert os.stat(path).st_uid == user.pw_uid  # written as the learner, not as root
    assert os.geteuid() == 0 and os.getegid() == 0  # and root again afterwards
    assert progress.load_all()["two-hosts"]["hints_used"] == 2


def test_a_planted_symlink_cannot_make_root_overwrite_a_file(
    learner_dir: tuple[pwd.struct_passwd, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, home = learner_dir
    secret = home.parent / "root-only"
    secret.write_text("precious\n")
    secret.chmod(0o600)
    (home / "progress.json").symlink_to(secret)
    monkeypatch.setenv("SUDO_USER", user.pw_name)
    monkeypatch.setenv("NSLAB_PROGRESS_FILE", str(home / "progress.json"))
    progress.record_check("two-hosts", 0.0, True, 8, 8)
    assert secret.read_text() == "precious\n"  # the learner cannot read it, so neither do we
    assert not (home / "progress.json").is_symlink()  # the link itself was replaced


def test_unwritable_home_does_not_break_grading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NSLAB_PROGRESS_FILE", "/proc/nslab-cannot-write-here/progress.json")
    monkeypatch.delenv("SUDO_USER", raising=False)
    entry = progress.record_check("two-hosts", 0.0, True, 8, 8)
    assert entry["solved"]  # reported for this run, just not stored
    assert progress.load_all() == {}


def test_solution_steps_call_this_nslab_not_the_first_on_path(
    prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that runs `nslab ...` gets the installation running the selftest, even when
    another nslab comes first on PATH."""
    from nslab.grading import solution
    from nslab.scenario import loader

    decoy = tmp_path / "bin"
    decoy.mkdir()
    (decoy / "nslab").write_text("#!/bin/sh\necho decoy nslab >&2\nexit 97\n")
    (decoy / "nslab").chmod(0o755)
    monkeypatch.setenv("PATH", f"{decoy}:{os.environ['PATH']}")
    scenario_file = tmp_path / "step.yaml"
    scenario_file.write_text(
        "metadata: {name: step, title: a step that calls nslab}\n"
        "nodes:\n  a: {interfaces: {eth0: {addresses: [10.61.0.1/24]}}}\n"
        "  b: {interfaces: {eth0: {addresses: [10.61.0.2/24]}}}\n"
        "links: [[a:eth0, b:eth0]]\n"
        "solution:\n  - {node: a, run: 'nslab --version'}\n"
    )
    lab.up(str(scenario_file), prefix=prefix)
    try:
        results = solution.apply(prefix, loader.load(str(scenario_file)))
    finally:
        lab.down_one(prefix)
    assert results[0].returncode == 0 and "nslab" in results[0].output and "decoy" not in results[0].output
