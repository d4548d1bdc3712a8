"""The iptables check can guard a chain's policy (a 'fix' that sets -P FORWARD ACCEPT)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from nslab.grading.live import check_scenario
from nslab.labs import lifecycle as lab

SCENARIO = """\
metadata: {name: policy, title: policy}
nodes:
  r1:
    kind: router
    interfaces: {eth0: {addresses: [10.6.0.1/24]}}
    firewall:
      filter: |
        -P FORWARD DROP
        -A FORWARD -p tcp --dport 80 -j ACCEPT
  h:
    interfaces: {eth0: {addresses: [10.6.0.2/24]}}
links: [[r1:eth0, h:eth0]]
checks:
  - {name: drop-policy, kind: iptables, from: r1, chain: FORWARD, policy: DROP, role: guard, description: d}
  - {name: web-rule-and-policy, kind: iptables, from: r1, chain: FORWARD, match: "--dport 80 -j ACCEPT",
     policy: DROP, role: guard, description: d}
"""


def test_policy_is_checked_alone_and_with_a_rule(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(SCENARIO)
    result = lab.up(str(path), prefix=prefix, allow_exec=True)
    try:
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [True, True], report.results
        subprocess.run(
            ["ip", "netns", "exec", f"{prefix}-r1", "iptables", "-P", "FORWARD", "ACCEPT"], check=True
        )
        report = check_scenario(prefix, result.scenario, False)
        assert [r.passed for r in report.results] == [False, False]
        assert "has policy ACCEPT, not DROP" in report.results[0].explanation
    finally:
        lab.down_one(prefix)
