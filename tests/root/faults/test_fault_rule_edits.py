"""firewall-rule delete/replace, and a fault applied on top of another, on a live build:
the rules iptables holds are the edited ones, the client's pings stop, `nslab check` fails
the goal, and the healthy build of the same file passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.root.faults.test_fault_tools import assert_broken_grade, assert_healthy_grade, built, graded, run

EXPECTED = {
    "delete": ["-A FORWARD -i eth0 -o eth1 -j ACCEPT"],
    "replace": ["-A FORWARD -i eth0 -o eth1 -p udp -j ACCEPT", "-A FORWARD -i eth1 -o eth0 -j ACCEPT"],
    "chain": ["-A FORWARD -i eth1 -o eth0 -j ACCEPT"],
}
HEALTHY = ["-A FORWARD -i eth0 -o eth1 -j ACCEPT", "-A FORWARD -i eth1 -o eth0 -j ACCEPT"]


def nslab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nslab", *args], capture_output=True, text=True, timeout=60, env=env
    )


def forward_rules(p: str) -> list[str]:
    # Rules go in exactly as the scenario wrote them (no nslab comment), so iptables -S
    # prints them back whole: compare them whole, target included.
    lines = run(p, "r1", "iptables", "-S", "FORWARD").text.splitlines()
    return [line for line in lines if line.startswith("-A ")]


def pings(p: str) -> bool:
    got = run(p, "client", "ping", "-n", "-c", "1", "-W", "1", "10.0.2.10")
    return got.rc == 0


@pytest.mark.parametrize("edit", sorted(EXPECTED))
def test_rule_edits_live(prefix: str, edit: str) -> None:
    with built("fault-rules", prefix, healthy=False, edit=edit) as p:
        assert forward_rules(p) == EXPECTED[edit]
        assert "-P FORWARD DROP" in run(p, "r1", "iptables", "-S", "FORWARD").text
        assert not pings(p)
        assert_broken_grade(graded(p))
    with built("fault-rules", prefix, healthy=True, edit=edit) as p:
        assert forward_rules(p) == HEALTHY
        assert pings(p)
        assert_healthy_grade(graded(p))


def test_hints_follow_the_variant(prefix: str, tmp_path: Path) -> None:
    env = dict(os.environ, NSLAB_PROGRESS_FILE=str(tmp_path / "p.json"))
    env.pop("SUDO_USER", None)
    with built("fault-rules", prefix, healthy=False, edit="delete") as p:
        seen = [nslab("hint", "--lab", p, env=env) for _ in range(2)]
    assert [s.stdout.splitlines()[0] for s in seen] == ["hint 1 of 2:", "hint 2 of 2:"], seen
    assert "replies back" in seen[1].stdout and "protocols" not in seen[1].stdout


def test_selftest_param_runs_only_that_variant(prefix: str) -> None:
    rules = str(Path(__file__).resolve().parents[2] / "scenarios" / "fault-rules.yaml")
    done = nslab(
        "selftest",
        rules,
        "--param",
        "edit=chain",
        "--prefix",
        prefix,
        "--json",
        # The file is not shipped and its solution runs commands: the trust gate asks for this.
        "--allow-exec",
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    variants = json.loads(done.stdout)["variants"]
    assert [v["params"] for v in variants] == [{"edit": "chain"}]
