"""Turn a healthy scenario into a broken one by applying its active faults in order."""

from __future__ import annotations

from nslab.faults.edit import Transform
from nslab.faults.kinds import FAULTS
from nslab.scenario import model as m


def apply_fault(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """One fault: its kind names a pure function (scenario, fault) -> scenario."""
    transform: Transform = FAULTS.get(fault.kind).load()
    return transform(scenario, fault)


def apply_faults(scenario: m.Scenario) -> m.Scenario:
    """Every fault whose `when` holds for the chosen parameters, in file order."""
    for fault in scenario.active_faults():
        scenario = apply_fault(scenario, fault)
    return scenario
