"""The grader: probe runs + the scenario's rubric -> a report. A pure function (no kernel, no clock).

Goal checks must pass once fixed; guard checks must keep passing (a "fix" that flushes the
firewall or opens every port breaks one). The lab counts as solved only when every goal and
every guard passes; the score is the sum of points of passing checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nslab.checks.observation import Observation
from nslab.grading.judge import judge
from nslab.scenario import model as m


@dataclass(frozen=True)
class CheckRun:
    """What the runner hands the grader for one check: the final observation and its cost."""

    check: m.Check
    observation: Observation
    attempts: int = 1
    seconds: float = 0.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    kind: str
    role: str
    node: str
    points: int
    description: str
    passed: bool
    outcome: str
    expected: str
    explanation: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 1
    seconds: float = 0.0
    # False once nslab.grading.reveal replaced the expected value and evidence with a symptom.
    revealed: bool = True

    @property
    def earned(self) -> int:
        return self.points if self.passed else 0


@dataclass(frozen=True)
class Report:
    lab: str
    scenario: str
    healthy_build: bool
    results: tuple[CheckResult, ...]
    seconds: float = 0.0
    started: str = ""  # ISO 8601, set by the caller (the grader reads no clock)

    @property
    def score(self) -> int:
        return sum(r.earned for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def passed(self) -> bool:
        """Every goal and every guard passed (a lab with no checks is never 'passed')."""
        return bool(self.results) and all(r.passed for r in self.results)

    def failed(self, role: str | None = None) -> list[CheckResult]:
        return [r for r in self.results if not r.passed and (role is None or r.role == role)]

    def of_role(self, role: str) -> list[CheckResult]:
        return [r for r in self.results if r.role == role]


def result_of(run: CheckRun) -> CheckResult:
    check = run.check
    verdict = judge(check, run.observation)
    return CheckResult(
        name=check.name,
        kind=check.kind,
        role=check.role,
        node=check.node,
        points=check.points,
        description=check.description,
        passed=verdict.passed,
        outcome=run.observation.outcome,
        expected=verdict.expected,
        explanation=verdict.explanation,
        evidence=dict(run.observation.evidence),
        attempts=run.attempts,
        seconds=run.seconds,
    )


def grade(
    runs: Sequence[CheckRun],
    *,
    lab: str,
    scenario: str,
    healthy_build: bool = False,
    seconds: float = 0.0,
    started: str = "",
) -> Report:
    """Judge every run; results keep the scenario's check order."""
    return Report(
        lab=lab,
        scenario=scenario,
        healthy_build=healthy_build,
        results=tuple(result_of(run) for run in runs),
        seconds=seconds,
        started=started,
    )
