"""The address check's two new forms against live interfaces: an address with any prefix
length, and `only` (exactly these addresses; the interface's IPv6 link-local one aside)."""

from __future__ import annotations

import subprocess
import time
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


def _link_local_made(prefix: str, timeout: float = 10.0) -> None:
    """Wait until h's eth0 has made its IPv6 link-local address. The kernel adds it only when
    the link is operationally up, which linkwatch reports up to a second after the veth gets
    carrier, so it can still be missing just after `up` returns."""
    deadline = time.monotonic() + timeout
    while True:
        shown = subprocess.run(
            ["ip", "-n", f"{prefix}-h", "-6", "-o", "address", "show", "dev", "eth0", "scope", "link"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if " fe80:" in shown:
            return
        assert time.monotonic() < deadline, f"no link-local address on h:eth0 after {timeout}s"
        time.sleep(0.05)


def test_any_prefix_and_only_read_the_live_interface(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "addr.yaml"
    path.write_text(SCENARIO)
    result = lab.up(str(path), prefix=prefix)
    try:
        _link_local_made(prefix)  # so `only` is shown ignoring one, not merely never seeing one
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
