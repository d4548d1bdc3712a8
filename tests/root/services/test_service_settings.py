"""A learner fixes a service where a real admin would: its settings file, then a restart."""

from __future__ import annotations

import subprocess
import sys

from nslab.engine import state
from nslab.grading.live import check_lab
from nslab.labs import lifecycle as lab
from nslab.services import editable
from tests.conftest import REPO

SCENARIO = str(REPO / "tests" / "scenarios" / "fault-services.yaml")


def nslab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nslab", *args], capture_output=True, text=True, timeout=60)


def test_bound_to_loopback_fixed_in_the_settings_file(prefix: str) -> None:
    lab.up(SCENARIO, prefix=prefix, params={"fault": "bind-localhost", "port": 8080}, allow_exec=True)
    try:
        path = editable.path_of(state.lab_dir(prefix), "app")
        with open(path) as handle:
            text = handle.read()
        assert "bind: 127.0.0.1" in text and "port: 8080" in text
        assert not check_lab(prefix).report.passed
        shown = nslab("service", "config", "app", "--lab", prefix)
        assert shown.returncode == 0 and "bind: 127.0.0.1" in shown.stdout
        with open(path, "w") as handle:
            handle.write(text.replace("bind: 127.0.0.1", "bind: 0.0.0.0"))
        restarted = nslab("service", "restart", "app", "--lab", prefix)
        assert restarted.returncode == 0, restarted.stderr
        assert check_lab(prefix).report.passed
    finally:
        lab.down_one(prefix)


def test_a_broken_settings_file_is_reported_with_its_position(prefix: str) -> None:
    lab.up(SCENARIO, prefix=prefix, params={"fault": "dead-listener", "port": 9000}, allow_exec=True)
    try:
        path = editable.path_of(state.lab_dir(prefix), "app")
        with open(path) as handle:
            lines = handle.read().splitlines()
        number = next(i for i, line in enumerate(lines, 1) if line.startswith("port:"))
        lines[number - 1] = "prot: 9000"
        with open(path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        started = nslab("service", "start", "app", "--lab", prefix)
        assert started.returncode == 2
        assert f"{path}:{number}:1: error" in started.stderr and "did you mean 'port'" in started.stderr
    finally:
        lab.down_one(prefix)
