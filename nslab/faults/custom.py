"""firewall-rule: one rule line of the author's own, for faults the named kinds do not cover
(a SYN-ACK dropped on the way back, a rule that matches more than it meant to, an ACCEPT
that went missing, a rule whose port or interface was mistyped).

`action: add` (the default) appends an iptables-restore rule (-A or -I) at the end of the
table's text; `-I` puts it first in its chain, `-A` last. `action: delete` blanks one of
the node's own rule lines, and `action: replace` puts the `with` line in its place. Either
way the scenario's other lines keep their positions (an iptables error still names the
right line of the file), and the result passes the same lint as a node's `firewall:`.
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
    text = str(p["rule"]).strip()
    if p["action"] == "add":
        return rules.append_rule(scenario, p["node"], p["table"], text, fault)
    found = same_rule(scenario.nodes[p["node"]], p["table"], text)
    assert found is not None  # the semantic hook insists on it
    new = "" if p["action"] == "delete" else str(p["with"]).strip()
    return rules.rewrite_lines(scenario, p["node"], p["table"], {found.offset: new})


def same_rule(node: m.Node, table: str, text: str) -> rules.RuleLine | None:
    """The node's own line that is this rule: the same words after -A/-I (either matches the
    same packets), so quoting and spacing do not matter."""
    try:
        words = tuple(shlex.split(text))[1:]
    except ValueError:
        return None
    return next((r for r in rules.rule_lines(rules.table_text(node, table)) if r.tokens[1:] == words), None)


def _one_line(report: Report, fault: m.Fault, key: str) -> list[str] | None:
    """The words of a -A/-I rule line, or None after reporting why it is not one."""
    text = str(fault.params[key]).strip()
    loc = fault.at(key)
    if "\n" in text:
        report.error(loc, "firewall-rule takes one rule line", "use one fault per rule")
        return None
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        report.error(loc, f"cannot split the rule: {exc}", "check the quotes")
        return None
    if not tokens or tokens[0] not in _ADDS:
        report.error(
            loc,
            f"the rule must start with -A or -I, not {tokens[0] if tokens else 'nothing'!r}",
            "e.g. -I FORWARD -p tcp --tcp-flags SYN,ACK SYN,ACK -j DROP",
        )
        return None
    return tokens


def check_firewall_rule(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    """add: one -A/-I line that iptables-restore would take in that node's table, not there
    already, in a chain that sees traffic. delete/replace: one of the node's own lines, and
    for replace a `with` line that differs and passes the same checks."""
    node = node_of(report, fault)
    action = str(fault.params["action"])
    if action != "replace" and fault.params.get("with") is not None:
        report.error(fault.at("with"), f"'with' belongs to action: replace, not {action}")
    if action == "replace" and fault.params.get("with") is None:
        report.error(fault.at("action"), "action: replace needs 'with': the rule line that takes its place")
        return
    tokens = _one_line(report, fault, "rule")
    if tokens is None or node is None:
        return
    table = str(fault.params["table"])
    if action == "add":
        _check_added(report, fault, node, table, tokens)
        return
    found = same_rule(node, table, str(fault.params["rule"]))
    if found is None:
        own = [r.text for r in rules.rule_lines(rules.table_text(node, table))]
        report.error(
            fault.at("rule"),
            f"{node.name!r} has no such rule in its {table} table to {action}",
            "its rules: " + "; ".join(own) if own else f"its {table} table has no rules",
        )
        return
    if action == "replace":
        new = _one_line(report, fault, "with")
        if new is None:
            return
        if new[1:] == tokens[1:]:
            report.error(fault.at("with"), "the new rule matches what the old one did: nothing would change")
            return
        _check_chain(report, fault, node, table, new, "with")
        lines = rules.table_text(node, table).splitlines()
        lines[found.offset] = str(fault.params["with"]).strip()
        _lint(report, fault, node, table, "\n".join(lines) + "\n", {found.offset}, "with")


def _check_added(report: Report, fault: m.Fault, node: m.Node, table: str, tokens: list[str]) -> None:
    existing = rules.table_text(node, table)
    # -A and -I of the same rule match the same packets: either way nothing would change.
    if any(line.tokens[1:] == tuple(tokens[1:]) for line in rules.rule_lines(existing)):
        report.error(
            fault.at("rule"),
            f"{node.name!r} already has this rule in its {table} table: nothing would change",
        )
    _check_chain(report, fault, node, table, tokens, "rule")
    # Lint the rule where it will be: after the table's own lines, so chains they declare count.
    offset = len(existing.splitlines())
    text = str(fault.params["rule"]).strip()
    combined = (existing + "\n" if existing and not existing.endswith("\n") else existing) + text + "\n"
    _lint(report, fault, node, table, combined, {offset}, "rule")


def _check_chain(
    report: Report, fault: m.Fault, node: m.Node, table: str, tokens: list[str], key: str
) -> None:
    chain = tokens[1] if len(tokens) > 1 else ""
    if table == "filter" and chain == "FORWARD" and not (forwards(node) or node.kind == "switch"):
        report.error(
            fault.at(key),
            f"node {node.name!r} does not forward, so its FORWARD chain sees no traffic",
            "use INPUT (traffic to the node) or OUTPUT (traffic from it), or a router",
        )


def _lint(
    report: Report, fault: m.Fault, node: m.Node, table: str, text: str, offsets: set[int], key: str
) -> None:
    for problem in lint(table, text, tuple(node.interfaces)):
        if problem.offset not in offsets:
            continue  # the table's own lines: nodes.NAME.firewall reports those
        # At the value, not at the option: a quoted value's position is its quote, which the
        # fault cannot see, so a column inside the line could be one off.
        report.error(fault.at(key), f"firewall-rule: {problem.message}", problem.hint)
