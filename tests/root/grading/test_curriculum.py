"""Every shipped scenario proves itself (issue 5): healthy passes every check, broken fails
every goal and passes every guard, the reference solution fixes it, teardown leaves nothing;
scenarios whose parameters pick the fault are tested once per value."""

from __future__ import annotations

import pytest

from nslab.grading.selftest import selftest
from tests.conftest import SCENARIOS

SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_scenario_proves_itself(name: str, prefix: str) -> None:
    variants = selftest(name, prefix)
    assert variants, f"{name}: no variant was tested"
    failures = [
        f"{variant.label} / {phase.name}: {problem}"
        for variant in variants
        for phase in variant.phases
        for problem in phase.problems
    ]
    assert not failures, "\n".join(failures)
