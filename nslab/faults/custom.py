"""firewall-rule: one rule line of the author's own, for faults the named kinds do not cover
(a SYN-ACK dropped on the way back, a rule that matches more than it meant to).

The line is an iptables-restore rule (-A or -I) like the lines of a node's `firewall:`
section, and passes the same lint before anything is built. It is appended at the end of the
table's text, so the scenario's own lines keep their positions (an iptables error still
names the right line of the file); `-I` puts it first in its chain, `-A` last.
"""

from __future__ import annotations

import shlex

from nslab.faults import rules
from nslab.faults.validate import forwards, node_of
from nslab.scenario import model as m
from nslab.scenario.firewall import lint
from nslab.scenario.semantic import Report

_ADDS = ("-A", "--append", "-I", "--insert")


def firewall_rule(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    p = fault.params
    return rules.append_rule(scenario, p["node"], p["table"], str(p["rule"]).strip(), fault)


def check_firewall_rule(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    """The rule must be one -A/-I line that iptables-restore would take in that node's table,
    must not be there already, and must sit in a chain that sees traffic."""
    node = node_of(report, fault)
    table = str(fault.params["table"])
    text = str(fault.params["rule"]).strip()
    loc = fault.at("rule")
    if "\n" in text:
        report.error(loc, "firewall-rule takes one rule line", "use one fault per rule")
        return
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        report.error(loc, f"cannot split the rule: {exc}", "check the quotes")
        return
    if not tokens or tokens[0] not in _ADDS:
        report.error(
            loc,
            f"the rule must start with -A or -I, not {tokens[0] if tokens else 'nothing'!r}",
            "e.g. -I FORWARD -p tcp --tcp-flags SYN,ACK SYN,ACK -j DROP",
        )
        return
    if node is None:
        return
    existing = rules.table_text(node, table)
    # -A and -I of the same rule match the same packets: either way nothing would change.
    if any(line.tokens[1:] == tuple(tokens[1:]) for line in rules.rule_lines(existing)):
        report.error(loc, f"{node.name!r} already has this rule in its {table} table: nothing would change")
    chain = tokens[1] if len(tokens) > 1 else ""
    if table == "filter" and chain == "FORWARD" and not (forwards(node) or node.kind == "switch"):
        report.error(
            loc,
            f"node {node.name!r} does not forward, so its FORWARD chain sees no traffic",
            "use INPUT (traffic to the node) or OUTPUT (traffic from it), or a router",
        )
    # Lint the rule where it will be: after the table's own lines, so chains they declare count.
    offset = len(existing.splitlines())
    combined = (existing + "\n" if existing and not existing.endswith("\n") else existing) + text + "\n"
    for problem in lint(table, combined, tuple(node.interfaces)):
        if problem.offset < offset:
            continue  # the table's own lines: nodes.NAME.firewall reports those
        # At the value, not at the option: a quoted value's position is its quote, which the
        # fault cannot see, so a column inside the line could be one off.
        report.error(loc, f"firewall-rule: {problem.message}", problem.hint)
