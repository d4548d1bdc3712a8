"""The --allow-exec gate, for real: a scenario from outside the package that runs commands is
refused before anything is built, and its commands run only once the user allows them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nslab.engine import state
from nslab.kernel import netns

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

SCENARIO = """\
metadata: {{name: gate, title: gate}}
nodes:
  h1:
    interfaces: {{eth0: {{addresses: [10.0.0.1/24]}}}}
  h2:
    interfaces: {{eth0: {{addresses: [10.0.0.2/24]}}}}
links: [[h1:eth0, h2:eth0]]
services:
  - {{name: job, kind: exec, node: h2, command: "touch {service_mark}; sleep 1000"}}
solution:
  - {{node: h1, run: "touch {solution_mark}"}}
"""


def nslab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nslab", *args], capture_output=True, text=True, timeout=60)


def nothing_built(prefix: str) -> bool:
    return not os.path.isdir(state.lab_dir(prefix)) and not any(
        n.startswith(f"{prefix}-") for n in netns.list_names()
    )


def test_foreign_commands_need_allow_exec_in_every_verb_that_runs_them(tmp_path: Path, prefix: str) -> None:
    service_mark, solution_mark = tmp_path / "service-ran", tmp_path / "solution-ran"
    path = tmp_path / "gate.yaml"
    path.write_text(SCENARIO.format(service_mark=service_mark, solution_mark=solution_mark))

    refused = nslab("up", str(path), "--prefix", prefix)
    assert refused.returncode == 2, refused.stderr
    assert "not a shipped scenario and runs 1 command(s) as root" in refused.stderr
    assert f"touch {service_mark}; sleep 1000" in refused.stderr and "--allow-exec" in refused.stderr
    assert "solution" not in refused.stderr  # up does not run (or give away) the fix
    assert nothing_built(prefix) and not service_mark.exists()

    selftest = nslab("selftest", str(path), "--prefix", prefix)
    assert selftest.returncode == 2 and "runs 2 command(s) as root" in selftest.stderr
    assert nothing_built(prefix) and not service_mark.exists() and not solution_mark.exists()

    up = nslab("up", str(path), "--prefix", prefix, "--allow-exec")
    assert up.returncode == 0, up.stderr
    try:
        assert "runs as root:" in up.stderr and "service job (exec)" in up.stderr  # announced
        for _ in range(50):
            if service_mark.exists():
                break
            subprocess.run(["sleep", "0.1"], check=True)
        assert service_mark.exists()

        apply = nslab("solution", "--lab", prefix, "--apply")
        assert apply.returncode == 2 and "touch " + str(solution_mark) in apply.stderr
        assert not solution_mark.exists()

        ns_before = sorted(n for n in netns.list_names() if n.startswith(f"{prefix}-"))
        reset = nslab("reset", "--lab", prefix)
        assert reset.returncode == 2 and "--allow-exec" in reset.stderr
        assert sorted(n for n in netns.list_names() if n.startswith(f"{prefix}-")) == ns_before

        applied = nslab("solution", "--lab", prefix, "--apply", "--allow-exec")
        assert solution_mark.exists(), applied.stderr
    finally:
        down = nslab("down", prefix)
    assert down.returncode == 0, down.stderr


def test_shipped_scenarios_are_trusted(prefix: str) -> None:
    up = nslab("up", "two-hosts", "--prefix", prefix, "--healthy")
    try:
        assert up.returncode == 0, up.stderr
        assert "runs as root:" not in up.stderr
    finally:
        nslab("down", prefix)
