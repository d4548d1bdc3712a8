"""Faults that add filter rules: ICMP dropped (by type/code), a port dropped or rejected.

Rules are added with -I so they sit above whatever ACCEPT rules the scenario has, and
appended to the end of the table text so the scenario's own lines keep their positions.
"""

from __future__ import annotations

from nslab.faults.rules import append_rule
from nslab.scenario import model as m


def drop_icmp(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    p = fault.params
    match = "" if p["icmp_type"] == "any" else f" --icmp-type {p['icmp_type']}"
    rule = f"-I {p['chain']} -p icmp{match} -j DROP"
    return append_rule(scenario, p["node"], "filter", rule, fault)


def port_rule(fault: m.Fault, target: str) -> str:
    p = fault.params
    return f"-I {p['chain']} -p {p['proto']} --dport {p['port']} -j {target}"


def firewall_drop(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    return append_rule(scenario, fault.params["node"], "filter", port_rule(fault, "DROP"), fault)


def firewall_reject(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    target = f"REJECT --reject-with {fault.params['reject_with']}"
    return append_rule(scenario, fault.params["node"], "filter", port_rule(fault, target), fault)
