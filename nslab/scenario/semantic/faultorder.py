"""Faults are validated in file order, each against the lab the earlier faults produce.

A broken build applies its active faults one after the other, so the second fault of a
variant edits what the first one left: a rule the first one rewrote, a route the first one
moved. Validating every fault against the healthy scenario would refuse such a chain (and
accept one that cannot be built), so each fault here sees the scenario with the earlier
faults of ITS variant applied: the chosen parameter values, changed where the fault's own
`when:` needs another value (the variant where it is active and that otherwise resembles
the one being checked).

An earlier fault is applied only if its own hook finds nothing wrong in that lab; when it
is wrong, its own validation says so, and the faults after it are checked without it.
Transformations are pure functions of the model, so nothing here touches the kernel.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from nslab.scenario import model as m
from nslab.scenario.semantic.report import Report

log = logging.getLogger(__name__)

_HOOK_TRIPS = (KeyError, AttributeError, TypeError, ValueError, AssertionError, StopIteration)


def variant_of(fault: m.Fault, chosen: Mapping[str, Any]) -> dict[str, Any]:
    """The chosen values, moved to the fault's first allowed value where it needs another."""
    out = dict(chosen)
    for name, values in fault.when.items():
        if out.get(name) not in values and values:
            out[name] = values[0]
    return out


def lab_before(report: Report, faults: Any, index: int) -> m.Scenario:
    """The healthy scenario with the faults before `index` applied that are active in the
    variant of faults[index] and valid where they land."""
    healthy = report.scenario
    variant = variant_of(healthy.faults[index], healthy.chosen)
    lab = healthy
    for fault in healthy.faults[:index]:
        if not m.matches(fault.when, variant):
            continue
        spec = faults.get(fault.kind)
        if spec.semantic is None:
            continue
        scratch = Report(lab, report.broken)
        scratch.partial = report.partial
        try:
            spec.semantic(lab, fault, scratch)
            if scratch.diagnostics:
                continue
            lab = spec.load()(lab, fault)
        except _HOOK_TRIPS as exc:  # an earlier fault that cannot apply here: its own check says why
            log.debug("fault %s not applied before a later one: %r", fault.kind, exc)
    return lab


def report_for(report: Report, faults: Any, index: int) -> Report:
    """A report that looks at the lab faults[index] meets (the healthy one when it is the first)."""
    lab = lab_before(report, faults, index) if index else report.scenario
    if lab is report.scenario:
        return report
    seen = Report(lab, report.broken)
    seen.partial = report.partial
    seen.diagnostics = report.diagnostics  # errors land in the one list, in order
    return seen
