"""Meaning checks for check declarations, run by `nslab validate` (no root, no kernel).

They catch what would otherwise only show up as a confusing failure in a live lab: an
interface the node does not have, a name the node could never resolve, an https check on an
http:// URL, a dns check on a node without a resolver.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nslab.scenario import model as m
from nslab.scenario.schema import did_you_mean
from nslab.scenario.semantic import Report

ALWAYS_THERE = ("lo",)


def _node(scenario: m.Scenario, check: m.Check) -> m.Node | None:
    return scenario.nodes.get(check.node)  # a missing node is already reported by the engine


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def _resolvable(scenario: m.Scenario, check: m.Check, report: Report, name: str, key: str) -> None:
    node = _node(scenario, check)
    if node is None or _is_ip(name) or name.lower() == "localhost":
        return
    if name in node.hosts or node.resolv is not None:
        return
    report.error(
        check.at(key),
        f"check {check.name!r}: node {node.name!r} cannot resolve {name!r}",
        f"use an address, add '{name}' to the node's hosts:, or give the node a resolv:",
    )


def target(scenario: m.Scenario, check: Any, report: Report) -> None:
    _resolvable(scenario, check, report, str(check.params.get("to", "")), "to")


def ping(scenario: m.Scenario, check: Any, report: Report) -> None:
    """expect: too-big needs df: without it the node fragments the packet itself (or, with a
    cached path MTU, sends it small), so no router ever has reason to answer 'too big'."""
    target(scenario, check, report)
    if check.params.get("expect") == "too-big" and not check.params.get("df"):
        report.error(
            check.at("expect"),
            f"ping check {check.name!r} expects too-big without df: the node fragments the packet itself",
            "add df: true (and a size: above the path MTU)",
        )


def interface(scenario: m.Scenario, check: Any, report: Report) -> None:
    node = _node(scenario, check)
    iface = str(check.params.get("iface", ""))
    if node is not None and iface not in ALWAYS_THERE:
        report.interface(node, iface, check.at("iface"))


def address(scenario: m.Scenario, check: Any, report: Report) -> None:
    """One address, or the `only` list the interface must carry exactly; never both (each
    address's form is checked by its schema type, at its own position)."""
    interface(scenario, check, report)
    p = check.params
    if (p.get("address") is None) == (p.get("only") is None):
        both = p.get("address") is not None
        report.error(
            check.at("only") if both else check.loc,
            f"address check {check.name!r} "
            + ("gives both address and only" if both else "names no address and no only: list"),
            "address: one address the interface must have (or lack); only: every address it may have",
        )


def route(scenario: m.Scenario, check: Any, report: Report) -> None:
    text = str(check.params.get("to", ""))
    if text == "default":
        return
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            report.error(check.at("to"), f"route check 'to': {text!r} is not a network or 'default'")
            return
        report.error(check.at("to"), f"route check 'to': {text} has host bits set", f"write {loose}")


def path(scenario: m.Scenario, check: Any, report: Report) -> None:
    target(scenario, check, report)
    for key in ("via", "avoid"):
        for hop in check.params.get(key) or ():
            if not _is_ip(str(hop)) and str(hop) not in scenario.nodes:
                report.error(
                    check.at(key),
                    f"path check {key}: {hop!r} is neither an address nor a node of this scenario",
                    did_you_mean(str(hop), tuple(scenario.nodes)) or "name a router, or give its address",
                )


def http(scenario: m.Scenario, check: Any, report: Report) -> None:
    from urllib.parse import urlsplit

    url = urlsplit(str(check.params.get("url", "")))
    if url.scheme != check.kind:
        report.error(
            check.at("url"),
            f"a {check.kind} check needs an {check.kind}:// URL, got {url.scheme}://",
            f"use kind: {url.scheme}" if url.scheme in ("http", "https") else None,
        )
    if not check.params.get("resolve"):
        _resolvable(scenario, check, report, url.hostname or "", "url")
    p = check.params
    if p.get("body") is not None and p.get("body_bytes") is not None:
        report.error(
            check.at("body_bytes"),
            f"check {check.name!r} gives both body and body_bytes",
            "body: sends that text; body_bytes: N sends N generated bytes: keep one",
        )
    elif (p.get("body") is not None or p.get("body_bytes") is not None) and p.get("method") in (
        "GET",
        "HEAD",
    ):
        key = "body" if p.get("body") is not None else "body_bytes"
        report.error(
            check.at(key),
            f"check {check.name!r} sends a body with {p.get('method')}, which servers ignore",
            "add method: POST (or PUT)",
        )


def dns(scenario: m.Scenario, check: Any, report: Report) -> None:
    node = _node(scenario, check)
    if (
        node is not None
        and not check.params.get("server")
        and (node.resolv is None or not node.resolv.nameservers)
    ):
        report.error(
            check.loc,
            f"dns check {check.name!r} names no server and node {node.name!r} has no nameservers",
            "add server: ADDRESS to the check, or resolv: {nameservers: [...]} to the node",
        )


def iptables(scenario: m.Scenario, check: Any, report: Report) -> None:
    if not check.params.get("match") and not check.params.get("policy"):
        report.error(
            check.loc,
            f"check {check.name!r}: an iptables check needs 'match' (a rule), 'policy', or both",
            "e.g. match: '-p tcp --dport 22 -j DROP', or policy: DROP",
        )
    _iptables_chain(scenario, check, report)


def _iptables_chain(scenario: m.Scenario, check: Any, report: Report) -> None:
    """The chain must exist once the scenario's firewall is loaded: a misspelt chain would make
    `expect: absent` pass without looking at a single rule."""
    from nslab.scenario.firewall import BUILTIN_CHAINS, chains_of

    node = _node(scenario, check)
    table = str(check.params.get("table") or "filter")
    chain = str(check.params.get("chain") or "")
    if node is None or not chain:
        return
    text = node.firewall.tables().get(table, "") if node.firewall is not None else ""
    known = chains_of(table, text)
    builtin = BUILTIN_CHAINS.get(table, ())
    if chain not in known:
        elsewhere = [t for t, names in BUILTIN_CHAINS.items() if chain in names and t != table]
        hint = did_you_mean(chain, tuple(sorted(known))) or (
            f"{chain} is a chain of the {' and '.join(elsewhere)} table{'s' * (len(elsewhere) > 1)}:"
            f" add 'table: {elsewhere[0]}'"
            if elsewhere
            else f"chains of {table} on {node.name}: {', '.join(sorted(known))}"
        )
        report.error(
            check.at("chain"),
            f"check {check.name!r}: node {node.name!r} has no chain {chain!r} in table {table!r}",
            hint,
        )
    elif check.params.get("policy") and chain not in builtin:
        report.error(
            check.at("policy"),
            f"check {check.name!r}: only built-in chains have a policy; {chain!r} is a user chain",
            f"built-in chains of {table}: {', '.join(builtin)}",
        )


def sysctl(scenario: m.Scenario, check: Any, report: Report) -> None:
    """Exactly one of value (what it must be) and not (what it must not be)."""
    p = check.params
    if p.get("value") is None and p.get("not") is None:
        report.error(
            check.loc,
            f"sysctl check {check.name!r} says neither what the value must be nor what it must not be",
            "add value: 1 (or a list, value: [1, 2]), or not: 0",
        )
    elif p.get("value") is not None and p.get("not") is not None:
        report.error(
            check.at("not"),
            f"sysctl check {check.name!r} gives both value and not",
            "value: lists what will do; drop not:, or keep only not:",
        )
