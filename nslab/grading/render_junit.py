"""Reports as JUnit XML, the format CI systems (GitLab, Jenkins, GitHub test reporters) read.

Imported only when --junit is given (xml.etree is not free to import).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from nslab.grading.render import plain
from nslab.grading.report import Report


def _testcase(parent: ET.Element, classname: str, name: str, seconds: float) -> ET.Element:
    return ET.SubElement(parent, "testcase", classname=classname, name=name, time=f"{seconds:.4f}")


def report_junit(reports: Sequence[Report]) -> str:
    """One <testsuite> per lab, one <testcase> per check; failures carry the explanation."""
    root = ET.Element("testsuites", name="nslab check")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for report in reports:
        failures = sum(1 for r in report.results if not r.passed and r.outcome != "error")
        errors = sum(1 for r in report.results if r.outcome == "error")
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"{report.scenario} ({report.lab})",
            tests=str(len(report.results)),
            failures=str(failures),
            errors=str(errors),
            skipped="0",
            time=f"{report.seconds:.4f}",
            timestamp=report.started,
        )
        props = ET.SubElement(suite, "properties")
        for key, value in (
            ("score", f"{report.score}/{report.max_score}"),
            ("passed", str(report.passed).lower()),
        ):
            ET.SubElement(props, "property", name=key, value=value)
        for r in report.results:
            case = _testcase(suite, f"nslab.{report.scenario}.{r.role}", r.name, r.seconds)
            evidence = json.dumps(plain(r.evidence), sort_keys=True)
            if not r.passed:
                tag = "error" if r.outcome == "error" else "failure"
                element = ET.SubElement(case, tag, message=r.explanation, type=r.outcome)
                element.text = evidence
            ET.SubElement(case, "system-out").text = f"{r.explanation}\nevidence: {evidence}"
        totals["tests"] += len(report.results)
        totals["failures"] += failures
        totals["errors"] += errors
        total_time += report.seconds
    for key, count in totals.items():
        root.set(key, str(count))
    root.set("time", f"{total_time:.4f}")
    return to_xml(root)


def to_xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(path: str, text: str) -> None:
    """Write a report file; an unwritable path is the caller's mistake, not an internal error."""
    from nslab.errors import UsageError

    try:
        with open(path, "w") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}", "pick a writable path for --junit"
        ) from None
