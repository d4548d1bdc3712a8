"""Cross-reference and network sanity checks on a structurally valid scenario.

Structure (types, keys) is checked by nslab.spec; this module checks meaning: that names
refer to things that exist, that gateways are reachable, that no broadcast domain holds
one address twice, that both ends of a VXLAN tunnel agree. Like the structural pass, it
collects every problem before stopping.

The scenario as written is the *healthy* lab (faults break it later, on purpose), so
anything that could not work as written is an error here: a gateway no node answers
for, a nameserver outside the lab, a link whose two ends disagree on the MTU.

After structural errors, these checks still run on the parts that were valid, but the
checks that conclude "nothing in the lab has X" are skipped (X may be in a broken part).

The package imports only the scenario model, the schema helpers and (for kind hooks) the kind
registries of nslab.scenario.kinds; it never imports the kinds' implementations.
"""

from __future__ import annotations

from nslab.errors import Diagnostic
from nslab.scenario import model as m
from nslab.scenario.semantic.domains import broadcast_domains
from nslab.scenario.semantic.links import check_links, link_index, linked_interfaces
from nslab.scenario.semantic.nodes import check_node
from nslab.scenario.semantic.references import (
    check_conditions,
    check_kinds,
    check_solution,
    check_unused_params,
)
from nslab.scenario.semantic.report import Report
from nslab.scenario.semantic.segments import check_segments, check_vxlan_peers

MAX_NODES_PER_LAB = 2000


def check(
    scenario: m.Scenario,
    broken: set[str] | None = None,
    used_params: set[str] | None = None,
    partial: bool | None = None,
) -> list[Diagnostic]:
    """Every meaning problem. `partial`: the structural pass found errors (default: whether
    any entry is `broken`), so checks that conclude "nothing in the lab has X" stay quiet."""
    report = Report(scenario, broken)
    if partial is not None:
        report.partial = partial
    if len(scenario.nodes) > MAX_NODES_PER_LAB:
        report.error(
            scenario.at("nodes"), f"{len(scenario.nodes)} nodes; at most {MAX_NODES_PER_LAB} per lab"
        )
    links = link_index(scenario)
    check_links(report)
    for node in scenario.nodes.values():
        check_node(report, node, links)
    check_segments(report)
    check_vxlan_peers(report)
    check_kinds(report)
    if used_params is not None:
        check_unused_params(report, used_params)
    check_conditions(report)
    check_solution(report)
    return report.diagnostics


__all__ = ["MAX_NODES_PER_LAB", "Report", "broadcast_domains", "check", "linked_interfaces"]
