"""The lab's state directory is root's alone: no umask can make it writable by others, the
solution-bearing files are not readable by others, and nslab refuses a state file that
another user could have written (it would be a way to root: root kills the journal's pids
and grades the scenario copy)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nslab.engine import state

pytestmark = [pytest.mark.root, pytest.mark.slow]


def nslab(*args: str, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    def preexec() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "nslab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
    )


@pytest.fixture
def lab(prefix: str) -> Iterator[Path]:
    """url-journey (https with a lab CA, a DNS resolver, logs, settings files), built and
    graded under umask 000."""
    up = nslab("up", "url-journey", "--prefix", prefix, umask=0)
    assert up.returncode == 0, up.stderr
    try:
        check = nslab("check", "--lab", prefix, umask=0)
        assert check.returncode in (0, 1), check.stderr
        yield Path(state.lab_dir(prefix))
    finally:
        nslab("down", prefix)


def _walk(top: Path) -> list[Path]:
    """Everything under `top` on its own filesystem: the nodes' tmpfs are mounted below it,
    and their overlays show host directories (a node's /run view shows every lab's state)."""
    found = [top]
    for root, dirs, files in os.walk(top):
        found += [Path(root, n) for n in dirs + files]
        dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(root, d))]
    return found


def test_umask_000_leaves_nothing_writable_by_others(lab: Path) -> None:
    paths = _walk(lab)
    kinds = {p.name for p in paths}
    # The tree holds what the walk is meant to judge (not an empty directory).
    assert {"journal.jsonl", "meta.json", "scenario.yaml", "logs", "services", "ca"} <= kinds
    assert "grading-cache.json" in kinds and "grading-cache.pickle" not in kinds
    writable = [f"{p} {stat.S_IMODE(p.lstat().st_mode):04o}" for p in paths if p.lstat().st_mode & 0o022]
    writable = [w for w in writable if not Path(w.split()[0]).is_symlink()]
    assert writable == []
    assert all(p.lstat().st_uid == 0 for p in paths)
    assert stat.S_IMODE(lab.stat().st_mode) == 0o700
    assert stat.S_IMODE(Path(state.STATE_ROOT).stat().st_mode) & 0o022 == 0
    # The scenario copy holds the solution; logs and settings may give it away.
    secret = [
        lab / "scenario.yaml",
        lab / "ca" / "ca.key",
        *(lab / "logs").rglob("*"),
        *(lab / "services").rglob("*"),
    ]
    assert len(secret) > 3
    readable = [str(p) for p in secret if p.lstat().st_mode & 0o004]
    assert readable == []
    # What a node's unprivileged programs read (its /etc overlay's upper layer, on the node's
    # tmpfs): readable, not writable, and so is the directory above (the node's /etc itself).
    hosts = list(lab.glob("nodes/*/etc/upper/hosts"))
    assert hosts and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in hosts)
    assert all(stat.S_IMODE(p.parent.stat().st_mode) == 0o755 for p in hosts)


def test_a_tampered_state_file_is_refused(lab: Path) -> None:
    meta = lab / "meta.json"
    os.chmod(meta, 0o666)
    refused = nslab("check", "--lab", lab.name)
    assert refused.returncode == 4, refused.stderr
    assert f"refusing to use {meta}" in refused.stderr and "writable by group or other" in refused.stderr
    assert "Traceback" not in refused.stderr
    os.chmod(meta, 0o600)

    cache = lab / "grading-cache.json"
    os.chown(cache, 65534, 65534)  # as if a learner (nobody here) had written it
    refused = nslab("check", "--lab", lab.name)
    assert refused.returncode == 4 and "owned by uid 65534" in refused.stderr, refused.stderr
    os.chown(cache, 0, 0)

    settings = next((lab / "services").glob("*.yaml"))
    os.chmod(settings, 0o646)
    refused = nslab("service", "restart", "--lab", lab.name, settings.stem)
    assert refused.returncode == 4 and "refusing" in refused.stderr, refused.stderr
    os.chmod(settings, 0o600)

    scenario = lab / "scenario.yaml"
    os.unlink(lab / "grading-cache.json")
    os.chown(scenario, 65534, 0)
    refused = nslab("check", "--lab", lab.name)
    assert refused.returncode == 4 and "refusing" in refused.stderr, refused.stderr
    os.chown(scenario, 0, 0)
    assert nslab("check", "--lab", lab.name).returncode in (0, 1)


def test_a_foreign_journal_is_not_acted_on_but_the_lab_still_goes(prefix: str) -> None:
    """A journal another user owns may name any pid: down ignores it, says so (exit 5), and
    still removes the lab's namespaces by their ownership marker."""
    up = nslab("up", "two-hosts", "--prefix", prefix, "--healthy")
    assert up.returncode == 0, up.stderr
    journal = Path(state.lab_dir(prefix)) / "journal.jsonl"
    decoy = subprocess.Popen(["sleep", "60"])
    try:
        start = Path(f"/proc/{decoy.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        with journal.open("a") as handle:
            handle.write(f'{{"op":"proc","pid":{decoy.pid},"start":{start},"name":"x"}}\n')
        os.chown(journal, 65534, 65534)
        down = nslab("down", prefix)
        assert down.returncode == 5 and "ignored the journal" in down.stderr + down.stdout, down
        assert decoy.poll() is None  # the planted pid was not killed
        assert not Path(state.lab_dir(prefix)).exists()
        assert not any(n.startswith(f"{prefix}-") for n in os.listdir("/run/netns"))
    finally:
        decoy.kill()
        decoy.wait()
        nslab("down", prefix)
