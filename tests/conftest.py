"""Shared test fixtures. Root tests run for real (CI is root); without root they are skipped.

Under CI=true (GitHub Actions and GitLab set it; .ci/run too) a test that skips because a
tool is not installed fails instead: CI installs every tool (scripts/install-deps.sh and
install-ci-extras.sh), so such a skip means a hole, not a choice. Tools the distribution may
not package (vagrant: "where packaged") still skip.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest

import nslab.plugins

# Tests call the library directly, as the CLI does after registering every kind.
nslab.plugins.load()

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root_dir = REPO / "tests" / "root"
    for item in items:
        if root_dir in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.root)
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root and network namespaces")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def scenario_dir() -> Path:
    return SCENARIOS


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and in_ci() and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if "not installed" in reason and "where packaged" not in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped under CI=true, where every tool is installed: {reason}"
    return report
