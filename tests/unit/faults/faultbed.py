"""A scenario with one fault appended, for the fault kinds' unit tests."""

from __future__ import annotations

import pytest

from nslab.errors import ScenarioError
from nslab.faults.apply import apply_faults
from nslab.scenario import loader
from nslab.scenario import model as m


class FaultBed:
    def __init__(self, base: str) -> None:
        self.base = base
        self.fault_line = len(base.splitlines()) + 2

    def broken(self, fault: str) -> tuple[m.Scenario, m.Scenario]:
        healthy = loader.load_text(self.base + f"faults:\n  - {fault}\n", "t.yaml")
        return healthy, apply_faults(healthy)

    def errors(self, fault: str) -> list[str]:
        with pytest.raises(ScenarioError) as err:
            loader.load_text(self.base + f"faults:\n  - {fault}\n", "t.yaml")
        return [d.render() for d in err.value.diagnostics]

    def one_error(self, fault: str, at: str, *parts: str) -> None:
        """Exactly one diagnostic, at the column of the text `at` on the fault's line (a
        quoted value's position is its opening quote)."""
        found = self.errors(fault)
        assert len(found) == 1, found
        column = 4 + fault.index(at) + 1
        assert found[0].startswith(f"t.yaml:{self.fault_line}:{column}: error: "), found
        for part in parts:
            assert part in found[0], found


def service(scenario: m.Scenario, name: str) -> m.Service:
    return next(s for s in scenario.services if s.name == name)
