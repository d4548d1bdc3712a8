"""Selftest results as text (per variant, per phase), JSON and JUnit XML (a test case per phase)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nslab.grading.render import plain, report_json
from nslab.grading.schema import SELFTEST_SCHEMA_ID as SCHEMA_ID
from nslab.grading.selftest import Phase, Variant


def _phase_summary(phase: Phase) -> str:
    report = phase.report
    if phase.name == "teardown":
        return "nothing left behind" if phase.ok else f"{len(phase.problems)} problem(s)"
    if report is None:
        return "not run"
    if phase.name == "broken":
        goals = report.of_role("goal")
        guards = report.of_role("guard")
        failing = sum(not r.passed for r in goals)
        holding = sum(r.passed for r in guards)
        return f"{failing}/{len(goals)} goals fail, {holding}/{len(guards)} guards hold"
    return f"{sum(r.passed for r in report.results)}/{len(report.results)} checks pass"


def variant_text(variant: Variant) -> str:
    lines = [f"{variant.label}: {'ok' if variant.ok else 'FAILED'}"]
    for phase in variant.phases:
        mark = "pass" if phase.ok else "FAIL"
        lines.append(f"  {phase.name:<9} {mark}  {phase.seconds:6.2f} s  {_phase_summary(phase)}")
        lines += [f"      - {problem}" for problem in phase.problems]
    return "\n".join(lines)


def selftest_json(variants: Sequence[Variant]) -> dict[str, Any]:
    return {
        "schema": SCHEMA_ID,
        "passed": bool(variants) and all(v.ok for v in variants),
        "variants": [
            {
                "scenario": v.scenario,
                "path": v.path,
                "params": plain(v.params),
                "passed": v.ok,
                "phases": [
                    {
                        "name": p.name,
                        "passed": p.ok,
                        "seconds": round(p.seconds, 4),
                        "problems": list(p.problems),
                        "report": report_json(p.report) if p.report is not None else None,
                    }
                    for p in v.phases
                ],
            }
            for v in variants
        ],
    }


def selftest_junit(variants: Sequence[Variant]) -> str:
    import xml.etree.ElementTree as ET

    from nslab.grading.render_junit import to_xml

    root = ET.Element("testsuites", name="nslab selftest")
    tests = failures = 0
    total = 0.0
    for v in variants:
        seconds = sum(p.seconds for p in v.phases)
        failed = sum(not p.ok for p in v.phases)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=v.label,
            tests=str(len(v.phases)),
            failures=str(failed),
            errors="0",
            skipped="0",
            time=f"{seconds:.4f}",
        )
        for p in v.phases:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"nslab.grading.selftest.{v.scenario}",
                name=p.name,
                time=f"{p.seconds:.4f}",
            )
            if not p.ok:
                failure = ET.SubElement(case, "failure", message=p.problems[0], type=f"{p.name}-phase")
                failure.text = "\n".join(p.problems)
            ET.SubElement(case, "system-out").text = _phase_summary(p)
        tests += len(v.phases)
        failures += failed
        total += seconds
    root.set("tests", str(tests))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("time", f"{total:.4f}")
    return to_xml(root)
