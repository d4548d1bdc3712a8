"""A grading report as text (for learners) and JSON (for CI and instructors); JUnit: render_junit.

The JSON shape is a published interface (docs/grading.md, nslab.grading.schema): fields
may be added, never renamed or removed, without bumping `schema`.
"""

from __future__ import annotations

import json
from typing import Any

from nslab.grading.report import CheckResult, Report

SCHEMA_ID = "nslab-check-report/1"


def _role_summary(report: Report, role: str) -> dict[str, int]:
    results = report.of_role(role)
    return {"total": len(results), "passed": sum(r.passed for r in results)}


def check_json(result: CheckResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "kind": result.kind,
        "role": result.role,
        "from": result.node,
        "description": result.description,
        "passed": result.passed,
        "points": result.points,
        "earned": result.earned,
        "outcome": result.outcome,
        "expected": result.expected,
        "explanation": result.explanation,
        "attempts": result.attempts,
        "seconds": round(result.seconds, 4),
        "evidence": plain(result.evidence),
        "revealed": result.revealed,
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "schema": SCHEMA_ID,
        "lab": report.lab,
        "scenario": report.scenario,
        "healthy_build": report.healthy_build,
        "started": report.started,
        "seconds": round(report.seconds, 4),
        "passed": report.passed,
        "score": report.score,
        "max_score": report.max_score,
        "summary": {"goals": _role_summary(report, "goal"), "guards": _role_summary(report, "guard")},
        "checks": [check_json(r) for r in report.results],
    }


def plain(value: Any) -> Any:
    """Evidence as JSON types only (addresses and tuples become strings and lists)."""
    return json.loads(json.dumps(value, default=str))


def verdict_line(report: Report) -> str:
    goals = report.of_role("goal")
    guards = report.of_role("guard")
    failed_goals = [r for r in goals if not r.passed]
    failed_guards = [r for r in guards if not r.passed]
    head = f"score {report.score}/{report.max_score}: "
    if not report.results:
        return head + "this scenario has no checks"
    if report.passed:
        return head + "solved: every goal is met and every guard holds"
    parts = []
    if failed_goals:
        parts.append(f"{len(failed_goals)} of {len(goals)} goals not met yet")
    if failed_guards:
        parts.append(
            f"{len(failed_guards)} guard{'s' if len(failed_guards) > 1 else ''} broken (undo that change)"
        )
    return head + "; ".join(parts)


def report_text(report: Report, width: int = 100) -> str:
    name_width = min(40, max((len(r.name) for r in report.results), default=5))
    lines = []
    for r in report.results:
        mark = "pass" if r.passed else "FAIL"
        points = f"{r.earned}/{r.points}"
        lines.append(f"{mark}  {r.role:<5}  {r.name:<{name_width}}  {points:>5}  {r.explanation}")
    lines.append(verdict_line(report) + f"  ({report.seconds:.2f} s)")
    return "\n".join(lines)
