"""nslab as a library: the lab lifecycle registers the kinds itself (bench/ and other
callers use lab.up() without knowing about nslab.plugins)."""

from __future__ import annotations

import subprocess
import sys


def test_a_fresh_process_loads_a_lab_through_the_lifecycle_alone() -> None:
    code = (
        "from nslab.labs import lifecycle\n"
        "scenario, _ = lifecycle.load_for_build('two-hosts')\n"
        "print(scenario.name, len(scenario.active_checks()) > 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["two-hosts", "True"]
