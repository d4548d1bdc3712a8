"""sysctl: one of a node's net.* sysctls set to a value the lab does not work with
(rp_filter=1 on an asymmetric path, ip_forward=0 on a router, accept_local...), for the
settings the named kinds (forwarding-off, rp-filter-strict) do not cover.

The key is checked like a node's own `sysctls:` (net.* only, so it stays inside the node's
namespace; an interface it names must be the node's), because the broken build writes it
the same way.
"""

from __future__ import annotations

from nslab.faults.edit import set_sysctls
from nslab.scenario import model as m
from nslab.scenario.semantic import Report

# What the kernel gives a fresh namespace for the keys whose default a lab relies on most.
KNOWN_DEFAULTS = {"net.ipv4.conf.all.rp_filter": "0", "net.ipv6.conf.all.forwarding": "0"}


def value_text(value: object) -> str:
    """true/false become 1/0, as in a node's sysctls:."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def sysctl(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    p = fault.params
    return set_sysctls(scenario, p["node"], {p["key"]: value_text(p["value"])})


def current(node: m.Node, key: str) -> str | None:
    """The value the healthy build leaves, when nslab knows it (declared, or nslab's own default)."""
    if key in node.sysctls:
        return node.sysctls[key]
    if key == "net.ipv4.ip_forward":
        return "1" if node.kind == "router" else "0"
    return KNOWN_DEFAULTS.get(key)


def check_sysctl(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    from nslab.faults.validate import node_of
    from nslab.scenario.semantic.nodes import sysctl_interface

    p = fault.params
    node = node_of(report, fault)
    if node is None:
        return
    key, value = str(p["key"]), value_text(p["value"])
    if not value.strip() or "\n" in value:
        report.error(fault.at("value"), "a sysctl value is one line of text", "e.g. 1, 0 or 2")
        return
    problem = sysctl_interface(node, key)
    if problem is not None:
        name, hint = problem
        report.error(fault.at("key"), f"{key} names interface {name!r}, which {node.name!r} lacks", hint)
        return
    if current(node, key) == value:
        report.error(fault.at("value"), f"{key} is already {value} on {node.name!r}: nothing would change")
