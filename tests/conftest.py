"""Shared test fixtures. Root tests run for real (CI is root); without root they are skipped."""

from __future__ import annotations

import os
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
