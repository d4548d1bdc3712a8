"""The container image and CI examples, checked without root: every file they name exists,
they install through scripts/install.sh, and the CI jobs publish their JUnit reports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "container" / "Containerfile"
GRADE = REPO / "ci-examples" / "grade.sh"

SCRIPTS = [
    ("bash", REPO / "vagrant" / "provision.sh"),
    ("bash", GRADE),
    ("bash", REPO / "scripts" / "install-ci-extras.sh"),
    ("sh", REPO / "container" / "entrypoint.sh"),
]


@pytest.mark.parametrize(("shell", "path"), SCRIPTS, ids=[p.name for _, p in SCRIPTS])
def test_script_parses(shell: str, path: Path) -> None:
    done = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert path.stat().st_mode & 0o111, f"{path} is not executable"


def _instructions() -> list[tuple[str, str]]:
    text = CONTAINERFILE.read_text().replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_containerfile_base_and_install() -> None:
    steps = _instructions()
    assert steps[0] == ("FROM", "debian:bookworm")
    runs = " ".join(arg for op, arg in steps if op == "RUN")
    assert "bash scripts/install.sh" in runs
    assert "apt-get" not in runs, "system packages belong in scripts/install-deps.sh only"
    assert ("ENTRYPOINT", '["/usr/local/bin/nslab-entrypoint"]') in steps


def test_containerfile_copies_only_existing_paths() -> None:
    sources = [
        src
        for op, arg in _instructions()
        if op == "COPY"
        for src in arg.split()[:-1]
        if not src.startswith("--")
    ]
    assert sources
    missing = [s for s in sources if not (REPO / s).exists()]
    assert not missing, f"Containerfile copies paths that are not in the checkout: {missing}"


def test_github_example_publishes_junit() -> None:
    workflow = yaml.safe_load((REPO / "ci-examples" / "github-actions.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "container/Containerfile" in runs
    assert re.search(r"run --rm --privileged .*selftest --all", runs)
    assert re.search(r"run --rm --privileged .*nslab-grade fixes reports", runs)
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert uploads and uploads[0]["if"] == "always()"
    assert uploads[0]["with"]["path"].startswith("reports/")


def test_gitlab_example_publishes_junit() -> None:
    pipeline = yaml.safe_load((REPO / "ci-examples" / "gitlab-ci.yml").read_text())
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job}
    scripts = {name: "\n".join(job["script"]) for name, job in jobs.items()}
    assert any("container/Containerfile" in s for s in scripts.values())
    assert any("nslab selftest --all" in s for s in scripts.values())
    graders = [name for name, s in scripts.items() if "nslab-grade fixes reports" in s]
    assert graders
    artifacts = jobs[graders[0]]["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"].startswith("reports/")


def test_grade_script_usage_errors(tmp_path: Path) -> None:
    """Bad input exits 2 before anything is built (no nslab call, so no root needed)."""
    done = subprocess.run(["bash", str(GRADE), str(tmp_path / "absent")], capture_output=True, text=True)
    assert done.returncode == 2
    assert "no fixes directory" in done.stderr
    empty = tmp_path / "fixes"
    empty.mkdir()
    done = subprocess.run(
        ["bash", str(GRADE), str(empty), str(tmp_path / "reports")], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "no scenario directories" in done.stderr
