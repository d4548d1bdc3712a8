"""The address check's two new forms against live interfaces: an address with any prefix
length, and `only` (exactly these addresses; the interface's IPv6 link-local one aside)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from nslab.grading.live import check_scenario
from nslab.labs import lifecycle as lab

SCENARIO = """\
metadata: {name: addr, title: address forms}
nodes:
  r1:
    interfaces: {eth0: {addresses: [10.6.0.1/24]}}
  h:
    interfaces: {eth0: {addresses: [10.6.0.2/24, "2001:db8:6::2/64"]}}
links: [[r1:eth0, h:eth0]]
checks:
  - {name: any-prefix, kind: address, from: h, iface: eth0, address: 10.6.0.2, role: guard, description: d}
  - {name: exact, kind: address, from: h, iface: eth0, address: 10.6.0.2/24, role: guard, description: d}
  - {name: only, kind: address, from: h, iface: eth0, only: [10.6.0.2/24, "2001:db8:6::2"], role: guard,
     description: d}
"""


def _ip(prefix: str, *args: str) -> None:
    subprocess.run(["ip", "-n", f"{prefix}-h", *args], check=True)


def test_any_prefix_and_only_read_the_live_interface(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "addr.yaml"
    path.write_text(SCENARIO)
    result = lab.up(str(path), prefix=prefix)
    try:
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [True, True, True], report.results
        seen = report.results[2].evidence["addresses"]
        assert any(a.startswith("fe80:") for a in seen), seen  # there, and not counted
        assert "has exactly 10.6.0.2/24, 2001:db8:6::2/64" in report.results[2].explanation

        _ip(prefix, "address", "add", "10.6.0.99/24", "dev", "eth0")  # a second address sneaks in
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [True, True, False]
        assert "also 10.6.0.99/24" in report.results[2].explanation

        _ip(prefix, "address", "del", "10.6.0.99/24", "dev", "eth0")
        _ip(prefix, "address", "del", "10.6.0.2/24", "dev", "eth0")
        _ip(prefix, "address", "add", "10.6.0.2/16", "dev", "eth0")  # same address, other prefix
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [True, False, False], report.results
        assert "has 10.6.0.2/16, not 10.6.0.2/24" in report.results[1].explanation
        assert "no 10.6.0.2/24" in report.results[2].explanation
        assert "also 10.6.0.2/16" in report.results[2].explanation

        _ip(prefix, "address", "del", "10.6.0.2/16", "dev", "eth0")
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [False, False, False]
    finally:
        lab.down_one(prefix)
