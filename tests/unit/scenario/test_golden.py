"""Golden bad scenarios: tests/golden/<case>.yaml must give exactly tests/golden/<case>.err.

The .err file is what `nslab validate <case>.yaml` prints on stderr, run from tests/golden.
After an intended change of wording, regenerate them all and review the diff by hand:

    NSLAB_UPDATE_GOLDEN=1 python3 -m pytest tests/unit/scenario/test_golden.py
    git diff tests/golden/
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nslab.cli.cmd_validate import render_text, validate_one
from nslab.errors import ScenarioError
from nslab.scenario import loader

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.yaml"))
UPDATE = os.environ.get("NSLAB_UPDATE_GOLDEN") == "1"
REGENERATE = "regenerate with NSLAB_UPDATE_GOLDEN=1 (see tests/golden/README.md) and review the diff"


def expected(case: str) -> str:
    path = GOLDEN / f"{case}.err"
    assert path.exists(), f"{path.name} is missing: {REGENERATE}"
    return path.read_text(encoding="utf-8")


def test_there_are_enough_cases_and_no_orphans() -> None:
    assert len(CASES) >= 40
    orphans = {p.stem for p in GOLDEN.glob("*.err")} - set(CASES)
    assert not orphans, f"expected output without a scenario: {sorted(orphans)}"


@pytest.mark.parametrize("case", CASES)
def test_golden_case_in_process(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)
    result = validate_one(f"{case}.yaml")
    assert not result.ok, "a golden case must be invalid"
    got = render_text(result) + "\n"
    if UPDATE:
        (GOLDEN / f"{case}.err").write_text(got, encoding="utf-8")
    assert got == expected(case), REGENERATE
    # The loader itself raises ScenarioError (never anything else); only a case whose every
    # problem comes from a parameter choice other than the default loads without a seed.
    try:
        loader.load(f"{case}.yaml")
    except ScenarioError as exc:
        assert exc.diagnostics
    else:
        assert all("(when parameter" in d.message for d in result.diagnostics)


def test_every_golden_case_through_the_cli_exits_2_with_the_same_text() -> None:
    """One process validates every case: exit code 2, no traceback, stderr = all .err files."""
    done = subprocess.run(
        [sys.executable, "-m", "nslab", "validate", *(f"{c}.yaml" for c in CASES)],
        cwd=GOLDEN,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(GOLDEN.parent.parent)},
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert done.stderr == "".join(expected(c) for c in CASES)


def test_a_single_bad_file_exits_2_and_a_good_one_0(tmp_path: Path) -> None:
    good = GOLDEN.parent.parent / "scenarios" / "two-hosts.yaml"
    bad = GOLDEN / "struct-enums.yaml"
    both = subprocess.run(
        [sys.executable, "-m", "nslab", "validate", str(good), str(bad)], capture_output=True, text=True
    )
    assert both.returncode == 2
    assert both.stdout.startswith(f"{good}: ok (two-hosts:")
    alone = subprocess.run(
        [sys.executable, "-m", "nslab", "validate", str(good)], capture_output=True, text=True
    )
    assert alone.returncode == 0 and alone.stderr == ""


def test_json_format_gives_the_same_errors_for_editors_and_ci() -> None:
    good = GOLDEN.parent.parent / "scenarios" / "two-hosts.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "nslab", "validate", "--format", "json", "struct-enums.yaml", str(good)],
        cwd=GOLDEN,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stderr == ""
    bad, ok = json.loads(done.stdout)
    assert {k: ok[k] for k in ("file", "ok", "errors")} == {"file": str(good), "ok": True, "errors": []}
    # A valid file also says what it would run as root (the trust model, for CI and editors).
    assert ok["shipped"] is True
    assert any(a["what"] == "file" and "h1, h2" in a["text"] for a in ok["runs_as_root"])
    assert bad["ok"] is False
    lines = [line for line in expected("struct-enums").splitlines() if ": error: " in line]
    assert [f"{e['file']}:{e['line']}:{e['column']}: error: {e['message']}" for e in bad["errors"]] == lines
    assert bad["errors"][1]["hint"] == "did you mean 'switch'?"
