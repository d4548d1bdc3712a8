"""The --allow-exec gate, for real: a scenario from outside the package that runs commands is
refused before anything is built, and its commands run only once the user allows them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
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


# Nodes have their own /tmp (the host's tree is read-only in a node view), so the marks land
# in the node's /tmp: the test looks there, through `nslab exec`.
SERVICE_MARK, SOLUTION_MARK = "/tmp/service-ran", "/tmp/solution-ran"


def ran(prefix: str, node: str, mark: str) -> bool:
    """Whether `mark` exists in the node's own view (exit 0 yes, 1 no; anything else is a bug)."""
    seen = nslab("exec", "--lab", prefix, node, "--", "test", "-e", mark)
    assert seen.returncode in (0, 1), seen.stderr
    return seen.returncode == 0


def test_foreign_commands_need_allow_exec_in_every_verb_that_runs_them(tmp_path: Path, prefix: str) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(SCENARIO.format(service_mark=SERVICE_MARK, solution_mark=SOLUTION_MARK))

    refused = nslab("up", str(path), "--prefix", prefix)
    assert refused.returncode == 2, refused.stderr
    assert "not a shipped scenario and runs 1 command(s) as root" in refused.stderr
    assert f"touch {SERVICE_MARK}; sleep 1000" in refused.stderr and "--allow-exec" in refused.stderr
    assert "solution" not in refused.stderr  # up does not run (or give away) the fix
    assert nothing_built(prefix)  # no node, so nowhere the command could have run

    selftest = nslab("selftest", str(path), "--prefix", prefix)
    assert selftest.returncode == 2 and "runs 2 command(s) as root" in selftest.stderr
    assert nothing_built(prefix)

    up = nslab("up", str(path), "--prefix", prefix, "--allow-exec")
    assert up.returncode == 0, up.stderr
    try:
        assert "runs as root:" in up.stderr and "service job (exec)" in up.stderr  # announced
        deadline = time.monotonic() + 10
        while not ran(prefix, "h2", SERVICE_MARK) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ran(prefix, "h2", SERVICE_MARK)
        assert not ran(prefix, "h1", SOLUTION_MARK)

        apply = nslab("solution", "--lab", prefix, "--apply", "--yes")
        assert apply.returncode == 2 and "touch " + SOLUTION_MARK in apply.stderr
        assert not ran(prefix, "h1", SOLUTION_MARK)

        ns_before = sorted(n for n in netns.list_names() if n.startswith(f"{prefix}-"))
        reset = nslab("reset", "--lab", prefix)
        assert reset.returncode == 2 and "--allow-exec" in reset.stderr
        assert sorted(n for n in netns.list_names() if n.startswith(f"{prefix}-")) == ns_before

        applied = nslab("solution", "--lab", prefix, "--apply", "--yes", "--allow-exec")
        # (exit 1 after: the scenario has no checks to pass; the step itself is what counts here)
        assert f"[h1] touch {SOLUTION_MARK}" in applied.stdout, applied.stderr
        assert ran(prefix, "h1", SOLUTION_MARK), applied.stderr
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
