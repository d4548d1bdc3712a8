"""Races and stale state (issue #11): the per-lab lock, rollback of only its own build,
stale /etc/netns links, the owner marker of the state root, namespace ownership a learner
cannot edit away, and cross-lab namespace name collisions."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nslab.engine import state, teardown
from nslab.engine.build import Builder
from nslab.errors import LabStateError
from nslab.kernel import netns
from nslab.labs import lifecycle as lab
from nslab.services.supervisor import start_services
from tests import by_hand


def nslab(*args: str, wait: str = "0", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nslab", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NSLAB_LOCK_WAIT": wait, **env},
    )


def made_by(prefix: str) -> list[str]:
    return sorted(n for n in netns.list_names() if n.startswith(f"{prefix}-"))


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


class Paused:
    """An in-process build of two-hosts that stops at a phase until released: the lock is
    held and the namespaces exist, with no sleeps and no timing guesses."""

    def __init__(self, prefix: str, phase: str = "firewall") -> None:
        scenario, text = lab.load_for_build("two-hosts", healthy=True)
        self.reached = threading.Event()
        self.go = threading.Event()
        self.error: list[BaseException] = []

        def on_phase(name: str) -> None:
            if name == phase:
                self.reached.set()
                assert self.go.wait(60)

        builder = Builder(
            scenario, prefix, text, healthy=True, on_phase=on_phase, start_services=start_services
        )

        def body() -> None:
            try:
                builder.run()
            except BaseException as exc:
                self.error.append(exc)

        self.thread = threading.Thread(target=body)
        self.thread.start()
        assert self.reached.wait(60), self.error

    def finish(self) -> None:
        self.go.set()
        self.thread.join(60)
        assert not self.error, self.error


@pytest.fixture
def paused(prefix: str) -> Iterator[Paused]:
    build = Paused(prefix)
    try:
        yield build
    finally:
        build.finish()
        lab.down_one(prefix)


# --- 1. the per-lab lock -------------------------------------------------------------------


def test_two_concurrent_ups_one_wins_the_other_exits_3(prefix: str) -> None:
    argv = [sys.executable, "-m", "nslab", "up", "two-hosts", "--prefix", prefix, "--healthy"]
    env = {**os.environ, "NSLAB_LOCK_WAIT": "0"}
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in "ab"
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    try:
        codes = sorted(p.returncode for p in procs)
        assert codes == [0, 3], outs
        loser = outs[[p.returncode for p in procs].index(3)][1]
        assert "is busy (pid" in loser or "is already up" in loser, loser
        assert "internal error" not in loser
        assert made_by(prefix) == [f"{prefix}-h1", f"{prefix}-h2", f"{prefix}-sw1"]
    finally:
        down = nslab("down", prefix)
    assert down.returncode == 0, down.stderr
    assert made_by(prefix) == []


@pytest.mark.parametrize(
    "verb",
    [
        ["down", "{p}"],
        ["up", "two-hosts", "--prefix", "{p}", "--replace"],
        ["reset", "--lab", "{p}"],
        ["cleanup", "--prefix", "{p}"],
    ],
)
def test_a_lab_being_built_cannot_be_changed_by_another_process(
    paused: Paused, prefix: str, verb: list[str]
) -> None:
    names = made_by(prefix)
    assert names == [f"{prefix}-h1", f"{prefix}-h2", f"{prefix}-sw1"]
    result = nslab(*[a.format(p=prefix) for a in verb])
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert f"lab {prefix} is busy (pid {os.getpid()} is running `nslab up`)" in result.stderr, result.stderr
    assert made_by(prefix) == names, "a second process tore down a build in progress"
    paused.finish()
    assert os.path.exists(os.path.join(state.lab_dir(prefix), "meta.json"))
    assert state.read_meta(prefix) is not None and state.read_meta(prefix).complete  # type: ignore[union-attr]


def test_a_waiting_down_runs_once_the_build_is_done(paused: Paused, prefix: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "nslab", "down", prefix],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NSLAB_LOCK_WAIT": "60"},
    )
    paused.finish()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (out, err)
    assert made_by(prefix) == []


def test_rollback_touches_only_its_own_build(prefix: str) -> None:
    lab.up("two-hosts", prefix=prefix, healthy=True)
    try:
        names = made_by(prefix)
        report = teardown.down(prefix, build="not-this-build")  # what a stale rollback would run
        assert report.namespaces == 0
        assert made_by(prefix) == names and state.read_meta(prefix) is not None
    finally:
        lab.down_one(prefix)


def test_a_failing_build_does_not_remove_another_lab(prefix: str, tmp_path: Path) -> None:
    lab.up("two-hosts", prefix=prefix, healthy=True)
    other = f"{prefix}x"
    bad = write(
        tmp_path / "bad.yaml",
        "metadata: {name: bad, title: t}\nnodes:\n"
        "  h1: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}, sysctls: {net.ipv4.no_such_knob: 1}}\n"
        "  h2: {interfaces: {eth0: {addresses: [10.0.0.2/24]}}}\nlinks: [[h1:eth0, h2:eth0]]\n",
    )
    try:
        before = made_by(prefix)
        result = nslab("up", bad, "--prefix", other)
        assert result.returncode == 5 and "no_such_knob" in result.stderr, result.stderr
        assert made_by(other) == [] and not os.path.exists(state.lab_dir(other))
        assert made_by(prefix) == before and state.read_meta(prefix) is not None
    finally:
        lab.down_one(prefix)


# --- 2. stale /etc/netns links ------------------------------------------------------------


@pytest.mark.parametrize("unmount", [False, True], ids=["rm-rf", "umount-and-rm"])
def test_lab_whose_state_was_removed_by_hand_builds_again(prefix: str, unmount: bool) -> None:
    lab.up("first-link", prefix=prefix)
    if not unmount:
        # A shell opened in a node mounts its overlays and UTS namespace under the state too:
        # rm -rf walks into them (writing only whiteouts into the node's tmpfs; ~15 s here)
        # and leaves them mounted for nslab to find.
        opened = nslab("exec", "--lab", prefix, "laptop", "--", "hostname")
        assert opened.returncode == 0 and opened.stdout == "laptop\n", opened.stderr
    for name in made_by(prefix):
        subprocess.run(["ip", "netns", "del", name], check=True)
    by_hand.remove_state(state.lab_dir(prefix), unmount=unmount)
    link = f"/etc/netns/{prefix}-laptop"
    assert os.path.islink(link) and not os.path.exists(link), "the setup should leave a dangling link"
    result = nslab("up", "first-link", "--prefix", prefix)
    assert result.returncode == 0, result.stderr
    assert os.path.exists(link)
    down = nslab("down", prefix)
    assert down.returncode == 0, down.stderr
    assert not os.path.lexists(link)


def test_down_removes_dangling_links_of_its_lab_only(prefix: str) -> None:
    lab.up("first-link", prefix=prefix)
    other = f"{prefix}-x"
    lab.up("first-link", prefix=other)
    try:
        for name in made_by(prefix):
            if not name.startswith(f"{other}-"):
                subprocess.run(["ip", "netns", "del", name], check=True)
        by_hand.remove_state(state.lab_dir(prefix))
        result = nslab("down", prefix)
        assert result.returncode == 0, result.stderr
        assert "2 /etc/netns entries" in result.stdout, result.stdout
        assert not os.path.lexists(f"/etc/netns/{prefix}-laptop")
        assert os.path.exists(f"/etc/netns/{other}-laptop"), "down removed another lab's link"
    finally:
        lab.down_one(other)


def test_cleanup_removes_dangling_links_into_nslab_state(prefix: str) -> None:
    lab.up("first-link", prefix=prefix)
    for name in made_by(prefix):
        subprocess.run(["ip", "netns", "del", name], check=True)
    by_hand.remove_state(state.lab_dir(prefix))
    result = nslab("cleanup", "--prefix", prefix)
    assert result.returncode == 0, result.stderr
    assert f"lab {prefix} is down: removed 0 namespaces, 2 /etc/netns entries" in result.stdout, result.stdout
    assert not [n for n in os.listdir("/etc/netns") if n.startswith(f"{prefix}-")]
    assert not os.path.exists(state.owners_dir(prefix)), "owner records of vanished namespaces stay"


@pytest.mark.parametrize("kind", ["directory", "file", "foreign link"])
def test_foreign_etc_entry_is_refused_with_the_fix(prefix: str, kind: str) -> None:
    path = f"/etc/netns/{prefix}-laptop"
    if kind == "directory":
        os.makedirs(path)
    elif kind == "file":
        Path(path).write_text("someone's\n")
    else:
        os.symlink("/nonexistent/elsewhere", path)
    try:
        result = nslab("up", "first-link", "--prefix", prefix)
        assert result.returncode == 3, result.stderr
        assert "Cancelled" not in result.stderr and "internal error" not in result.stderr
        fix = f"rmdir {path}" if kind == "directory" else f"rm {path}"
        assert path in result.stderr and fix in result.stderr and "--prefix" in result.stderr, result.stderr
        assert made_by(prefix) == [] and not os.path.exists(state.lab_dir(prefix))
        assert os.path.lexists(path), "nslab removed something it did not make"
    finally:
        if os.path.isdir(path) and not os.path.islink(path):
            os.rmdir(path)
        else:
            os.unlink(path)


# --- 3. NSLAB_STATE_DIR: only nslab's own directories are swept ---------------------------


def test_cleanup_in_a_shared_state_dir_keeps_user_files(prefix: str, tmp_path: Path) -> None:
    root = tmp_path / "state"
    (root / f"{prefix}-docs").mkdir(parents=True)
    (root / f"{prefix}-docs" / "thesis.txt").write_text("years of work\n")
    (root / f"{prefix}dir").mkdir()
    (root / f"{prefix}dir" / "journal.jsonl").write_text('{"op":"lab","lab":"somebody-else"}\n')
    env = {"NSLAB_STATE_DIR": str(root)}
    up = nslab("up", "two-hosts", "--prefix", prefix, "--healthy", **env)
    assert up.returncode == 0, up.stderr
    result = nslab("cleanup", "--prefix", prefix, **env)
    assert result.returncode == 0, result.stderr
    assert (root / f"{prefix}-docs" / "thesis.txt").read_text() == "years of work\n"
    assert (root / f"{prefix}dir" / "journal.jsonl").exists()
    assert not (root / prefix).exists() and made_by(prefix) == []


# --- 4. a learner's ifalias does not hide a namespace ------------------------------------


def set_lo_alias(name: str, alias: str) -> None:
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "alias", alias], check=True)


def test_changed_lo_alias_does_not_hide_a_namespace_from_down(prefix: str) -> None:
    lab.up("two-hosts", prefix=prefix, healthy=True)
    set_lo_alias(f"{prefix}-h1", "mine now")
    # Also lose the journal's inode line: the owner record alone must prove it.
    journal = os.path.join(state.lab_dir(prefix), "journal.jsonl")
    lines = Path(journal).read_text().splitlines(keepends=True)
    Path(journal).write_text("".join(line for line in lines if '"op":"named"' not in line))
    result = nslab("down", prefix)
    assert result.returncode == 0, result.stderr
    assert made_by(prefix) == []


def test_changed_lo_alias_does_not_hide_a_namespace_from_cleanup(prefix: str) -> None:
    lab.up("two-hosts", prefix=prefix, healthy=True)
    set_lo_alias(f"{prefix}-h1", "")
    set_lo_alias(f"{prefix}-h2", f"nslab:{prefix}x:h2:whatever")  # a lie, pointing elsewhere
    by_hand.remove_state(state.lab_dir(prefix))  # no journal either
    result = nslab("cleanup", "--prefix", prefix)
    assert result.returncode == 0, result.stderr
    assert made_by(prefix) == []


# --- 5. cross-lab namespace name collisions -----------------------------------------------


def test_colliding_namespace_name_names_the_running_lab(prefix: str, tmp_path: Path) -> None:
    """Lab P node `a-b` and lab P-a node `b` both want namespace P-a-b."""
    other = f"{prefix}-a"
    lab.up(write(tmp_path / "b.yaml", "metadata: {name: bee, title: t}\nnodes:\n  b: {}\n"), prefix=other)
    try:
        before = made_by(other)
        result = nslab(
            "up",
            write(tmp_path / "ab.yaml", "metadata: {name: ab, title: t}\nnodes:\n  a-b: {}\n"),
            "--prefix",
            prefix,
        )
        assert result.returncode == 3, result.stderr
        assert f"belongs to running lab {other}" in result.stderr, result.stderr
        assert "cleanup" not in result.stderr, "never suggest a sweep that removes a running lab"
        assert made_by(other) == before and state.read_meta(other) is not None
        assert not os.path.exists(state.lab_dir(prefix))
    finally:
        lab.down_one(other)


def test_namespace_left_by_a_gone_lab_names_the_down_that_removes_it(prefix: str, tmp_path: Path) -> None:
    lab.up("two-hosts", prefix=prefix, healthy=True)
    by_hand.remove_state(state.lab_dir(prefix))
    try:
        with pytest.raises(LabStateError) as err:
            lab.up("two-hosts", prefix=prefix, healthy=True)
        assert f"'nslab down {prefix}'" in (err.value.hint or ""), err.value.hint
    finally:
        lab.down_one(prefix)
    assert made_by(prefix) == []
