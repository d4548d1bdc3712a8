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


def test_ctrl_c_mid_build_rolls_back(tmp_path: Path, prefix: str) -> None:
    scenario = star(tmp_path / "star.yaml", 200)
    proc = nslab("up", str(scenario), "--prefix", prefix)
    time.sleep(0.25)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert not [n for n in netns.list_names() if n.startswith(f"{prefix}-")], (out, err)
    assert not os.path.exists(f"/run/nslab/{prefix}")
