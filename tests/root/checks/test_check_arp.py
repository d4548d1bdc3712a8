"""The arp check counts the stations answering who-has on a live segment: one gateway, then
a second host that takes the gateway's address (a duplicate IP / ARP spoofer)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from nslab.grading.live import check_scenario
from nslab.labs import lifecycle as lab

SCENARIO = """\
metadata: {name: dup, title: duplicate gateway}
nodes:
  sw: {kind: switch}
  gw:
    interfaces: {eth0: {addresses: [10.7.0.1/24], mac: "02:00:00:07:00:01"}}
  pc:
    interfaces: {eth0: {addresses: [10.7.0.11/24]}}
  rogue:
    interfaces: {eth0: {addresses: [10.7.0.66/24], mac: "02:00:00:07:00:66"}}
links: [[gw:eth0, sw], [pc:eth0, sw], [rogue:eth0, sw]]
checks:
  - {name: one-gateway, kind: arp, from: pc, iface: eth0, who_has: 10.7.0.1, answers: 1, description: d}
  - {name: someone, kind: arp, from: pc, iface: eth0, who_has: 10.7.0.1, min: 1, role: guard, description: d}
  - {name: nobody-at-99, kind: arp, from: pc, iface: eth0, who_has: 10.7.0.99, max: 0, role: guard,
     description: d}
"""


def test_distinct_macs_answering_are_counted(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(SCENARIO)
    result = lab.up(str(path), prefix=prefix)
    try:
        started = time.monotonic()
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [True, True, True], report.results
        one = report.results[0]
        assert one.evidence["macs"] == ["02:00:00:07:00:01"]
        assert (
            one.explanation == "arp pc eth0: who-has 10.7.0.1: 1 MAC answers who-has 10.7.0.1 on pc eth0: "
            "02:00:00:07:00:01"
        )
        assert report.results[1].seconds < 0.5  # a bare minimum met does not wait out the timeout
        assert time.monotonic() - started < 5

        # The rogue claims the gateway's address too (and answers ARP for it).
        subprocess.run(
            ["ip", "-n", f"{prefix}-rogue", "address", "add", "10.7.0.1/24", "dev", "eth0"], check=True
        )
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [False, True, True], report.results
        assert sorted(report.results[0].evidence["macs"]) == ["02:00:00:07:00:01", "02:00:00:07:00:66"]
        assert report.results[0].explanation.endswith("; expected exactly 1 MAC answering")

        # An interface that is down sends nothing: never a count, never a pass.
        subprocess.run(["ip", "-n", f"{prefix}-pc", "link", "set", "eth0", "down"], check=True)
        report = check_scenario(prefix, result.scenario, False)
        assert [r.outcome for r in report.results] == ["down", "down", "down"]
        assert not any(r.passed for r in report.results)
    finally:
        lab.down_one(prefix)
