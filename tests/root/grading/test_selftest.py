"""`nslab selftest`: the shipped scenarios prove themselves, and a bad one is caught phase by phase."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]

from nslab.grading.schema import SELFTEST_REPORT
from nslab.grading.selftest import selftest

BAD = str(Path(__file__).resolve().parents[2] / "scenarios" / "grading-selftest-bad.yaml")


def test_shipped_scenarios_prove_themselves(prefix: str, tmp_path: Path) -> None:
    junit = tmp_path / "selftest.xml"
    done = subprocess.run(
        [sys.executable, "-m", "nslab", "selftest", "two-hosts", "host-router-host", "--json",
         "--junit", str(junit), "--prefix", prefix],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, SELFTEST_REPORT)
    labels = [(v["scenario"], v["params"]) for v in data["variants"]]
    # host-router-host picks its fault with a parameter used in when: -> one variant per value
    assert labels == [
        ("two-hosts", {}),
        ("host-router-host", {"fault": "no-default-route"}),
        ("host-router-host", {"fault": "forwarding-off"}),
    ]
    for variant in data["variants"]:
        assert [p["name"] for p in variant["phases"]] == ["healthy", "broken", "solution", "teardown"]
        assert all(p["passed"] for p in variant["phases"]), variant
        broken = variant["phases"][1]["report"]
        assert broken["summary"]["goals"]["passed"] == 0
        assert broken["summary"]["guards"]["passed"] == broken["summary"]["guards"]["total"] > 0
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("12", "0")


def test_a_scenario_that_does_not_prove_itself_fails_in_the_right_phases(prefix: str) -> None:
    (variant,) = selftest(BAD, prefix, allow_exec=True)
    healthy, broken, fixed, teardown = variant.phases
    assert not variant.ok
    assert healthy.ok and teardown.ok
    assert any(p.startswith("goal h1-address passes in the broken lab") for p in broken.problems)
    assert any(p.startswith("guard h2-answers fails in the broken lab") for p in broken.problems)
    assert not any("h1-reaches-h2" in p for p in broken.problems)  # that goal does fail, as it should
    assert any(p.startswith("goal h1-reaches-h2 fails") for p in fixed.problems)


def test_selftest_cli_exit_code_and_text(prefix: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nslab", "selftest", BAD, "--prefix", prefix, "--allow-exec"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "grading-selftest-bad: FAILED"
    assert lines[1].startswith("  healthy   pass") and lines[-1].startswith("selftest: 1 variant(s)")
    assert any(line.startswith("  broken    FAIL") for line in lines)
