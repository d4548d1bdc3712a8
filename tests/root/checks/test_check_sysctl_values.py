"""A sysctl check with a set of allowed values, or a value it must not have, read live."""

from __future__ import annotations

import subprocess
from pathlib import Path

from nslab.grading.live import check_scenario
from nslab.labs import lifecycle as lab

SCENARIO = """\
metadata: {name: rpf, title: rp_filter stays on}
nodes:
  r1:
    kind: router
    interfaces: {eth0: {addresses: [10.6.0.1/24]}}
    sysctls: {net.ipv4.conf.all.rp_filter: "1"}
  h:
    interfaces: {eth0: {addresses: [10.6.0.2/24]}}
links: [[r1:eth0, h:eth0]]
checks:
  - {name: strict-or-loose, kind: sysctl, from: r1, key: net.ipv4.conf.all.rp_filter, value: [1, 2],
     role: guard, description: d}
  - {name: not-off, kind: sysctl, from: r1, key: net.ipv4.conf.all.rp_filter, not: 0, role: guard,
     description: d}
"""


def _set(prefix: str, value: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", f"{prefix}-r1", "sysctl", "-q", f"net.ipv4.conf.all.rp_filter={value}"],
        check=True,
    )


def test_value_sets_and_not_follow_the_live_value(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "rpf.yaml"
    path.write_text(SCENARIO)
    result = lab.up(str(path), prefix=prefix)
    try:
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [True, True], report.results
        _set(prefix, "2")  # loose mode is one of the allowed values
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [True, True], report.results
        _set(prefix, "0")
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [False, False]
        assert "net.ipv4.conf.all.rp_filter = 0" in report.results[0].explanation
        assert report.results[0].explanation.endswith("expected 1 or 2")
        assert report.results[1].explanation.endswith("expected anything but 0")
    finally:
        lab.down_one(prefix)
