"""Faults in the nat table: the masquerade (SNAT) rule is gone, a DNAT sends to the wrong port.

Rules are blanked or rewritten in place, never removed, so every other line of the table
keeps its offset (error messages map iptables-restore lines back to file:line by offset).
"""

from __future__ import annotations

from nslab.faults.rules import find_rules, rewrite_lines, with_dnat_port
from nslab.scenario import model as m

SNAT_TARGETS = ("MASQUERADE", "SNAT")
DNAT_TARGETS = ("DNAT",)


def missing_snat(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """Every SNAT/MASQUERADE rule of the node (that has the `match` words) is blanked."""
    node = scenario.nodes[fault.params["node"]]
    found = find_rules(node, "nat", SNAT_TARGETS, fault.params["match"])
    return rewrite_lines(scenario, node.name, "nat", {r.offset: "" for r in found})


def dnat_wrong_port(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """Every DNAT rule of the node (that has the `match` words) now sends to the wrong port."""
    node = scenario.nodes[fault.params["node"]]
    found = find_rules(node, "nat", DNAT_TARGETS, fault.params["match"])
    lines = node.firewall.nat.splitlines() if node.firewall else []
    new = {r.offset: with_dnat_port(lines[r.offset], fault.params["port"]) for r in found}
    return rewrite_lines(scenario, node.name, "nat", new)
