"""The per-lab lock, against real flock between real processes (no root needed)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nslab.engine import state
from nslab.errors import LabStateError

HOLDER = """
import sys
import threading
from nslab.engine import state
state.STATE_ROOT = sys.argv[1]
with state.lab_lock(sys.argv[2], "nslab up"):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(state, "STATE_ROOT", str(tmp_path))
    return tmp_path


@pytest.fixture
def other_holder(root: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding lab 'alpha' until we close its stdin (no sleeps)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), "alpha"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    yield proc
    proc.communicate("\n", timeout=10)


def test_second_holder_is_told_who_is_busy(other_holder: subprocess.Popen[str]) -> None:
    with pytest.raises(LabStateError) as err, state.lab_lock("alpha", "nslab down", wait=0.1):
        pass
    assert err.value.exit_code == 3
    assert err.value.message == f"lab alpha is busy (pid {other_holder.pid} is running `nslab up`)"


def test_other_labs_are_not_blocked(other_holder: subprocess.Popen[str]) -> None:
    with state.lab_lock("beta", "nslab down", wait=0):
        pass


def test_lock_is_taken_once_released(root: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), "alpha"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    proc.communicate("\n", timeout=10)
    with state.lab_lock("alpha", "nslab down", wait=0):
        pass


def test_lock_file_is_private_outside_the_lab_dir_and_reentrant(root: Path) -> None:
    with state.lab_lock("alpha", "nslab up --replace", wait=0):
        path = state.lock_path("alpha")
        assert not path.startswith(state.lab_dir("alpha") + os.sep)
        mode = os.stat(path).st_mode
        assert stat.S_IMODE(mode) == 0o600 and stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        assert Path(path).read_text() == f"{os.getpid()} nslab up --replace\n"
        with state.lab_lock("alpha", "nslab down", wait=0):  # `up --replace` tears down, then builds
            pass
        assert os.path.exists(path), "the inner release must not drop the outer hold"
    assert not os.path.exists(state.lock_path("alpha")), "locks must not pile up"


def test_another_thread_waits_like_another_process(root: Path) -> None:
    import threading

    seen: list[BaseException] = []

    def other() -> None:
        try:
            with state.lab_lock("alpha", "nslab down", wait=0.05):
                pass
        except LabStateError as exc:
            seen.append(exc)

    with state.lab_lock("alpha", "nslab up", wait=0):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert len(seen) == 1 and "busy" in str(seen[0])


def test_sweep_candidates_need_the_owner_marker(root: Path) -> None:
    """NSLAB_STATE_DIR may point at a directory with the user's own files in it."""
    (root / "docs").mkdir()
    (root / "docs" / "notes.txt").write_text("mine")
    (root / "Not-a-lab").mkdir()
    (root / ".locks").mkdir()
    state.claim("mylab", "b1")
    assert state.labs() == ["mylab"]
    assert state.owner_of("mylab") == {"lab": "mylab", "build": "b1", "pid": os.getpid()}
    state.remove_lab_dir("docs")
    assert (root / "docs" / "notes.txt").read_text() == "mine"
    state.remove_lab_dir("mylab", build="someone-else")
    assert state.labs() == ["mylab"], "a rollback of another build removed this one"
    state.remove_lab_dir("mylab", build="b1")
    assert state.labs() == []
    (root / "empty").mkdir()  # a claim killed before its marker: rmdir is safe
    state.remove_lab_dir("empty")
    assert not (root / "empty").exists()


CHILD = """
import sys
from nslab.engine import state
state.STATE_ROOT = sys.argv[1]
with state.lab_lock(sys.argv[2], "nslab service restart web", wait=0.2):
    print("ran", flush=True)
"""


def _child(
    root: Path, lab: str, env: dict[str, str], fds: tuple[int, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(root), lab], capture_output=True, text=True, env=env, pass_fds=fds
    )


def test_a_child_given_the_lock_runs_under_it_and_others_still_wait(root: Path) -> None:
    """`solution --apply` holds the lab's lock while its steps call `nslab service ...`: those
    children share the lock through the passed descriptor instead of deadlocking on it."""
    with state.lab_lock("alpha", "nslab solution --apply"):
        env, fd = state.lock_for_children("alpha")
        assert _child(root, "alpha", env, (fd,)).stdout == "ran\n"
        # Without the descriptor, or with the variable alone (forged), the lock is busy.
        assert _child(root, "alpha", {}).returncode != 0
        assert "busy" in _child(root, "alpha", env).stderr
        # A descriptor for one lab is no key to another's lock: that one is free, so it runs,
        # taking its own lock.
        assert _child(root, "beta", env, (fd,)).stdout == "ran\n"


def test_the_last_lock_released_leaves_no_locks_dir(root: Path) -> None:
    with state.lab_lock("alpha", "nslab up"):
        with state.lab_lock("beta", "nslab up"):
            assert sorted(os.listdir(root / ".locks")) == ["alpha.lock", "beta.lock"]
        assert os.listdir(root / ".locks") == ["alpha.lock"], "another lab's lock went"
    assert os.listdir(root) == []


def test_locks_dir_removed_under_a_taker_is_made_again(root: Path) -> None:
    """Many threads taking and releasing their own labs' locks: each release may rmdir the
    empty .locks while another thread is between its mkdir and its create; none may fail."""
    errors: list[BaseException] = []

    def churn(lab: str) -> None:
        try:
            for _ in range(200):
                with state.lab_lock(lab, "nslab check", wait=5):
                    assert os.path.exists(state.lock_path(lab))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(f"lab{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert os.listdir(root) == []


def test_owner_records_leave_nothing_when_the_last_lab_goes(root: Path) -> None:
    state.write_owners("alpha", "b1", [("alpha-h1", "h1", 11)])
    state.write_owners("beta", "b2", [("beta-h1", "h1", 22)])
    state.forget_owners("alpha", alive=set())
    assert os.listdir(root / ".owners") == ["beta"]
    assert set(state.owner_records()) == {22}
    state.forget_owners("beta", alive={22})
    assert set(state.owner_records()) == {22}, "a record of a living namespace went"
    state.forget_owners("beta", alive=set())
    assert os.listdir(root) == []


def test_a_claim_killed_while_writing_its_marker_is_removed(root: Path) -> None:
    """Found by tests/reliability/test_crash_syscalls.py: a kill between creating
    owner.<pid>.tmp and renaming it left an unmarked, non-empty directory `down` kept."""
    for lab, text in (("killedatwrite", ""), ("killedatrename", '{"lab": "killedatrename"}')):
        (root / lab).mkdir(mode=0o700)
        tmp = root / lab / "owner.4242.tmp"
        tmp.write_text(text)
        tmp.chmod(0o600)
        state.remove_lab_dir(lab)
        assert not (root / lab).exists(), lab
    # Not ours to delete: another lab's marker, or anything besides marker temporaries.
    for lab, files in (
        ("other", {"owner.1.tmp": '{"lab": "someone"}'}),
        ("mixed", {"owner.1.tmp": "", "notes.txt": "mine"}),
        ("lookalike", {"owner.tmp": ""}),
    ):
        (root / lab).mkdir(mode=0o700)
        for name, text in files.items():
            (root / lab / name).write_text(text)
            (root / lab / name).chmod(0o600)
        state.remove_lab_dir(lab)
        assert sorted(p.name for p in (root / lab).iterdir()) == sorted(files), lab
