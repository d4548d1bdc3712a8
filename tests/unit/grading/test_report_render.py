"""Reports as text, JSON (against the published schema) and JUnit XML (parsed back). No root."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]

from nslab.checks.observation import Observation
from nslab.grading.render import report_json, report_text
from nslab.grading.render_junit import report_junit
from nslab.grading.render_selftest import selftest_json, selftest_junit, variant_text
from nslab.grading.report import CheckRun, Report, grade
from nslab.grading.schema import CHECK_REPORT, SELFTEST_REPORT
from nslab.grading.selftest import Phase, Variant
from nslab.scenario import loader

DOCS = Path(__file__).resolve().parents[3] / "docs" / "grading.md"
SCENARIO = """\
metadata: {name: demo, title: Demo}
nodes:
  client: {interfaces: {eth0: {addresses: [10.0.1.10/24]}}}
  server: {interfaces: {eth0: {addresses: [10.0.1.20/24]}}}
links: [[client:eth0, server:eth0]]
checks:
  - {name: web-open, kind: tcp, from: client, to: 10.0.1.20, port: 80, points: 2}
  - {name: ping-server, kind: ping, from: client, to: 10.0.1.20}
  - {name: ssh-closed, role: guard, kind: tcp, from: client, to: 10.0.1.20, port: 22, expect: refused}
  - {name: probe-broke, kind: ping, from: server, to: 10.0.1.10}
"""


def sample() -> Report:
    checks = loader.load_text(SCENARIO, "demo.yaml").checks
    seen = [
        Observation(
            "timeout", "timed out after 1.0 s (no SYN-ACK, no RST: dropped silently)", {"waited_s": 1.0}
        ),
        Observation("reachable", "reply from 10.0.1.20 in 0.05 ms", {"rtt_ms": 0.05, "address": "10.0.1.20"}),
        Observation("refused", "refused: RST from 10.0.1.20", {"rst_from": "10.0.1.20"}),
        Observation("error", "node server's namespace demo-server is gone"),
    ]
    runs = [CheckRun(c, o, attempts=1, seconds=0.25) for c, o in zip(checks, seen, strict=True)]
    return grade(runs, lab="demo", scenario="demo", seconds=1.01, started="2026-01-01T00:00:00+00:00")


def test_text_has_one_line_per_check_and_a_verdict() -> None:
    lines = report_text(sample()).splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("FAIL  goal   web-open") and "0/2" in lines[0]
    assert "dropped silently); expected open" in lines[0]
    assert lines[2].startswith("pass  guard  ssh-closed")
    assert lines[-1].startswith("score 2/5: 2 of 3 goals not met yet")


def test_json_matches_the_published_schema() -> None:
    data = report_json(sample())
    jsonschema.validate(data, CHECK_REPORT)
    assert data["summary"] == {"goals": {"total": 3, "passed": 1}, "guards": {"total": 1, "passed": 1}}
    first = data["checks"][0]
    assert (first["name"], first["outcome"], first["earned"], first["from"]) == (
        "web-open",
        "timeout",
        0,
        "client",
    )
    assert json.loads(json.dumps(data)) == data  # JSON types only


def test_schema_rejects_a_renamed_field() -> None:
    data = report_json(sample())
    data["checks"][0]["result"] = data["checks"][0].pop("passed")
    try:
        jsonschema.validate(data, CHECK_REPORT)
    except jsonschema.ValidationError as exc:
        assert "passed" in exc.message
    else:
        raise AssertionError("the schema accepted a report without 'passed'")


def test_junit_parses_and_counts_failures_and_errors() -> None:
    root = ET.fromstring(report_junit([sample()]))
    assert root.tag == "testsuites" and root.get("tests") == "4"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"web-open", "ping-server", "ssh-closed", "probe-broke"}
    failure = cases["web-open"].find("failure")
    assert failure is not None and "dropped silently" in (failure.get("message") or "")
    assert cases["probe-broke"].find("error") is not None
    assert cases["ping-server"].find("failure") is None
    assert float(cases["ssh-closed"].get("time") or 0) == 0.25


def _variant(ok: bool) -> Variant:
    report = sample()
    phases = [
        Phase("healthy", [] if ok else ["goal web-open fails: ..."], 0.5, report),
        Phase("broken", [], 1.2, report),
        Phase("solution", [], 0.3, report),
        Phase("teardown", [], 0.05, None),
    ]
    return Variant("demo", "demo.yaml", {"fault": "x"}, phases)


def test_selftest_outputs() -> None:
    variants = [_variant(True), _variant(False)]
    data = selftest_json(variants)
    jsonschema.validate(data, SELFTEST_REPORT)
    assert data["passed"] is False and [v["passed"] for v in data["variants"]] == [True, False]
    root = ET.fromstring(selftest_junit(variants))
    assert root.get("tests") == "8" and root.get("failures") == "1"
    failed = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["healthy"]
    text = variant_text(variants[1])
    assert text.splitlines()[0] == "demo [fault=x]: FAILED"
    assert "      - goal web-open fails: ..." in text


def test_docs_show_the_schemas_the_code_uses() -> None:
    """docs/grading.md carries both schemas verbatim, so the published shape cannot drift."""
    blocks = re.findall(r"```json schema\n(.*?)\n```", DOCS.read_text(), re.S)
    assert [json.loads(b) for b in blocks] == [CHECK_REPORT, SELFTEST_REPORT]
