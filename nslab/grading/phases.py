"""What each selftest phase demands of a grading report. Pure, so it is tested without root.

healthy  (built without faults): every check passes.
broken   (faults applied): every goal fails (the fault really breaks it) and every guard passes,
         and still so when graded a second time (no goal flips: probes must not heal a lab).
solution (broken, then the reference fix): every check passes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from nslab.grading.report import Report
from nslab.scenario import model as m

PHASES = ("healthy", "broken", "solution", "teardown")


def problems(report: Report, phase: str) -> list[str]:
    found: list[str] = []
    if not report.results:
        return ["the scenario has no active checks"]
    if not report.of_role("goal"):
        found.append("the scenario has no goal check")
    for r in report.results:
        if phase == "broken":
            if r.role == "goal" and r.passed:
                found.append(
                    f"goal {r.name} passes in the broken lab (the fault does not break it): {r.explanation}"
                )
            elif r.role == "guard" and not r.passed:
                found.append(f"guard {r.name} fails in the broken lab: {r.explanation}")
        elif not r.passed:
            found.append(f"{r.role} {r.name} fails: {r.explanation}")
    return found


def flips(first: Report, again: Report) -> list[str]:
    """Goals that failed in the broken lab and then passed when graded again, untouched: the
    first grading's own traffic changed the lab, so a learner could be told "solved" for
    running `nslab check` twice."""
    before = {r.name: r for r in first.results}
    return [
        f"goal {r.name} failed in the broken lab, then passed when graded again with nothing fixed"
        f" (the checks' own traffic healed the lab): {r.explanation}"
        for r in again.results
        if r.role == "goal" and r.passed and r.name in before and not before[r.name].passed
    ]


def when_params(scenario: m.Scenario) -> list[str]:
    """Parameters that decide which faults or checks are active."""
    conditional: list[m.Fault | m.Check] = [*scenario.faults, *scenario.checks]
    used = {name for obj in conditional for name in obj.when}
    return sorted(used)


def variants(scenario: m.Scenario) -> list[dict[str, Any]]:
    """One parameter assignment per combination of the values of `when:` parameters."""
    names = when_params(scenario)
    values: list[Sequence[Any]] = []
    for name in names:
        param = scenario.params[name]
        values.append(param.choices or (param.default,))
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
