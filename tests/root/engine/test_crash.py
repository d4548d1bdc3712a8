"""kill -9 of `nslab up` mid-build: `nslab down` must still leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nslab.kernel import netns


def star(path: Path, hosts: int) -> Path:
    lines = ["metadata: {name: star, title: star}", "nodes:", "  sw: {kind: switch}"]
    for i in range(hosts):
        lines.append(f"  h{i}: {{interfaces: {{eth0: {{addresses: [10.1.{i // 250}.{i % 250 + 1}/16]}}}}}}")
    lines.append("links:")
    lines += [f"  - [h{i}:eth0, sw]" for i in range(hosts)]
    path.write_text("\n".join(lines) + "\n")
    return path


def nslab(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nslab", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def made_by(prefix: str) -> list[str]:
    return [n for n in netns.list_names() if n.startswith(f"{prefix}-")]


@pytest.mark.parametrize("kill_after", [0, 1, 40, 121])
def test_sigkill_mid_build_then_down_leaves_nothing(tmp_path: Path, prefix: str, kill_after: int) -> None:
    """Kill once `kill_after` namespaces exist (0: as soon as the state directory does;
    121: all namespaces named, configuration under way)."""
    scenario = star(tmp_path / "star.yaml", 120)
    proc = nslab("up", str(scenario), "--prefix", prefix)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.isdir(f"/run/nslab/{prefix}") and len(made_by(prefix)) >= kill_after:
            break
        time.sleep(0.0005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    made = made_by(prefix)
    down = nslab("down", prefix)
    out, err = down.communicate(timeout=60)
    # 0: it tore something down; 3: the kill came before the state directory existed.
    assert down.returncode in (0, 3), (out, err)
    assert not made_by(prefix), (made, out, err)


def _threads_stopped(pid: int) -> bool:
    """Every thread of pid is in group stop (or gone): nothing of it runs any more."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return True
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            continue
        if data[data.rindex(b")") + 2 : data.rindex(b")") + 3] not in (b"T", b"Z", b"X"):
            return False
    return True


def _build_done(lab: str) -> bool:
    try:
        with open(f"/run/nslab/{lab}/journal.jsonl") as handle:
            return '"op":"done"' in handle.read()
    except FileNotFoundError:
        return False


def _freeze(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGSTOP)
    deadline = time.monotonic() + 10
    while not _threads_stopped(proc.pid):
        assert time.monotonic() < deadline, "nslab up did not stop"
        time.sleep(0.001)


def test_ctrl_c_mid_build_rolls_back(tmp_path: Path, prefix: str) -> None:
    """Ctrl-C while namespaces are being made. The build runs in short slices (SIGCONT,
    SIGSTOP) until, frozen, it has named at least one of its 201 namespaces and its journal
    does not say done; SIGINT arrives then, whatever the machine's load: never after the build finished."""
    scenario = star(tmp_path / "star.yaml", 200)
    proc = nslab("up", str(scenario), "--prefix", prefix)
    try:
        deadline = time.monotonic() + 60
        while True:
            time.sleep(0.002)
            _freeze(proc)
            made = len(made_by(prefix))
            assert proc.poll() is None and not _build_done(prefix), "the build finished before it stopped"
            if made >= 1:
                break
            assert time.monotonic() < deadline, "no namespace within 60 s"
            proc.send_signal(signal.SIGCONT)
        proc.send_signal(signal.SIGINT)  # pending until it runs again
    finally:
        proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err
    assert not made_by(prefix), (out, err)
    assert not os.path.exists(f"/run/nslab/{prefix}")
