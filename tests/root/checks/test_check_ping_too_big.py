"""ping expect: too-big passes only when a router answers "fragmentation needed": an MTU
black hole (the router's ICMP dropped) and other ICMP errors both fail it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from nslab.grading.live import check_scenario
from nslab.labs import lifecycle as lab

SCENARIO = """\
metadata: {name: toobig, title: a narrower link behind a router}
nodes:
  a:
    interfaces: {eth0: {addresses: [10.64.1.10/24]}}
    routes: [{to: default, via: 10.64.1.1}]
  r:
    kind: router
    interfaces:
      eth0: {addresses: [10.64.1.1/24]}
      eth1: {addresses: [10.64.2.1/24]}
  b:
    interfaces: {eth0: {addresses: [10.64.2.10/24]}}
    routes: [{to: default, via: 10.64.2.1}]
links:
  - [a:eth0, r:eth0]
  - {a: "r:eth1", b: "b:eth0", mtu: 1300}
checks:
  - {name: says-too-big, kind: ping, from: a, to: 10.64.2.10, size: 1400, df: true, expect: too-big,
     description: d}
  - {name: small-fits, kind: ping, from: a, to: 10.64.2.10, size: 1200, df: true, role: guard,
     description: d}
"""


def _iptables(prefix: str, *rule: str) -> None:
    subprocess.run(["ip", "netns", "exec", f"{prefix}-r", "iptables", *rule], check=True)


def test_too_big_is_told_from_silence_and_from_other_errors(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "toobig.yaml"
    path.write_text(SCENARIO)
    result = lab.up(str(path), prefix=prefix)
    try:
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [True, True], report.results
        assert report.results[0].outcome == "too-big"
        assert "r (10.64.1.1) reports next-hop MTU 1300" in report.results[0].explanation

        # The black hole: the router's frag-needed never leaves it.
        drop = ("OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed", "-j", "DROP")
        _iptables(prefix, "-A", *drop)
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [False, True], report.results
        assert report.results[0].outcome == "timeout"
        _iptables(prefix, "-D", *drop)

        # Another ICMP error is not a too-big either (the route lookup fails before the MTU test).
        route = ("route", "add", "unreachable", "10.64.2.10/32")
        subprocess.run(["ip", "-n", f"{prefix}-r", *route], check=True)
        report = check_scenario(prefix, result.scenario, False)
        assert report.results[0].outcome == "unreachable", report.results
        assert not report.results[0].passed
        assert report.results[0].explanation.endswith("; expected " + report.results[0].expected)
    finally:
        lab.down_one(prefix)
