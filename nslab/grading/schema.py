"""JSON Schemas of `nslab check --json` and `nslab selftest --json` (draft 2020-12).

These are the published shapes: docs/grading.md shows them and the tests validate real
output against them. Add optional fields freely; renaming or removing one means a new
`schema` identifier.
"""

from __future__ import annotations

from typing import Any

from nslab.grading.render import SCHEMA_ID as CHECK_SCHEMA_ID

SELFTEST_SCHEMA_ID = "nslab-selftest-report/1"

_COUNT = {"type": "integer", "minimum": 0}
_SECONDS = {"type": "number", "minimum": 0}

CHECK_RESULT: dict[str, Any] = {
    "type": "object",
    "required": [
        "name",
        "kind",
        "role",
        "from",
        "description",
        "passed",
        "points",
        "earned",
        "outcome",
        "expected",
        "explanation",
        "attempts",
        "seconds",
        "evidence",
    ],
    "properties": {
        "name": {"type": "string", "description": "The check's name in the scenario."},
        "kind": {"type": "string", "description": "ping, tcp, udp, http, https, dns, path, route, ..."},
        "role": {"enum": ["goal", "guard"]},
        "from": {"type": "string", "description": "Node the probe ran in."},
        "description": {"type": "string"},
        "passed": {"type": "boolean"},
        "points": _COUNT,
        "earned": _COUNT,
        "outcome": {
            "type": "string",
            "description": "What the probe saw, one word: open, refused, timeout, unreachable, "
            "reachable, too-big, reply, response, incomplete, bad-response, tls-error, answer, nodata, "
            "nxdomain, rcode, reached, not-reached, present, absent, up, down, missing, value, "
            "unresolved, error.",
        },
        "expected": {"type": "string", "description": "What the check wanted, in words."},
        "explanation": {"type": "string", "description": "One line: what was probed and what it saw."},
        "attempts": _COUNT,
        "seconds": _SECONDS,
        "evidence": {"type": "object", "description": "Raw facts (addresses, ICMP type/code, hops, bytes)."},
        "revealed": {
            "type": "boolean",
            "description": "false: the lab is not solved yet, so expected and evidence are empty and"
            " explanation holds the symptom a learner could see (nslab check --reveal shows all).",
        },
    },
    "additionalProperties": True,
}

_ROLE_SUMMARY = {
    "type": "object",
    "required": ["total", "passed"],
    "properties": {"total": _COUNT, "passed": _COUNT},
}

CHECK_REPORT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://nslab.dev/schema/check-report-1.json",
    "title": "nslab check --json",
    "type": "object",
    "required": [
        "schema",
        "lab",
        "scenario",
        "healthy_build",
        "started",
        "seconds",
        "passed",
        "score",
        "max_score",
        "summary",
        "checks",
    ],
    "properties": {
        "schema": {"const": CHECK_SCHEMA_ID},
        "lab": {"type": "string"},
        "scenario": {"type": "string"},
        "healthy_build": {"type": "boolean", "description": "The lab was built without its faults."},
        "started": {"type": "string", "description": "ISO 8601 UTC time the run started."},
        "seconds": _SECONDS,
        "passed": {"type": "boolean", "description": "Every goal and every guard passed."},
        "score": _COUNT,
        "max_score": _COUNT,
        "summary": {
            "type": "object",
            "required": ["goals", "guards"],
            "properties": {"goals": _ROLE_SUMMARY, "guards": _ROLE_SUMMARY},
        },
        "checks": {"type": "array", "items": CHECK_RESULT},
    },
    "additionalProperties": True,
}

SELFTEST_REPORT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://nslab.dev/schema/selftest-report-1.json",
    "title": "nslab selftest --json",
    "type": "object",
    "required": ["schema", "passed", "variants"],
    "properties": {
        "schema": {"const": SELFTEST_SCHEMA_ID},
        "passed": {"type": "boolean"},
        "variants": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["scenario", "path", "params", "passed", "phases"],
                "properties": {
                    "scenario": {"type": "string"},
                    "path": {"type": "string"},
                    "params": {"type": "object", "description": "Values of the parameters used in when:."},
                    "passed": {"type": "boolean"},
                    "phases": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "passed", "seconds", "problems", "report"],
                            "properties": {
                                "name": {"enum": ["healthy", "broken", "solution", "teardown"]},
                                "passed": {"type": "boolean"},
                                "seconds": _SECONDS,
                                "problems": {"type": "array", "items": {"type": "string"}},
                                "report": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/report"}]},
                            },
                        },
                    },
                },
            },
        },
    },
    "$defs": {"report": {k: v for k, v in CHECK_REPORT.items() if not k.startswith("$")}},
}
