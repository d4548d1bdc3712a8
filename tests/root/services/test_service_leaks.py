"""The zero-leftovers check itself must notice a service process left running."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nslab.labs import lifecycle as lab
from tests.leaks import Snapshot, assert_no_leaks


def test_the_check_sees_a_service_process_left_running(prefix: str, tmp_path: object) -> None:
    """A lab left up (its service running) must fail the check; after `down` it passes."""
    path = f"{tmp_path}/one.yaml"
    with open(path, "w") as handle:
        handle.write(
            "metadata: {name: one, title: t}\n"
            "nodes:\n  a: {interfaces: {lo1: {kind: bridge, addresses: [10.9.0.1/24]}}}\n"
            "services:\n  - {name: s, kind: tcp, node: a, port: 9}\n"
        )
    before = Snapshot.take()
    subprocess.run(
        [sys.executable, "-m", "nslab", "up", path, "--prefix", prefix], check=True, capture_output=True
    )
    try:
        with pytest.raises(AssertionError, match=r"left behind: .*'procs'"):
            assert_no_leaks(before, settle=0.2)
    finally:
        lab.down_one(prefix)
    assert_no_leaks(before)
