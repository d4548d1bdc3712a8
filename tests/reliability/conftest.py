"""Reliability suite: markers, root gating, and the figures every run writes.

Each test records what it proved (kill points hit, cycles run, fuzz cases...) in a shared
`figures` object; at the end of the session they go to results.json (path: the
NSLAB_RELIABILITY_RESULTS environment variable, else tests/reliability/results.json) and
a short summary is printed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("NSLAB_RELIABILITY_RESULTS", HERE / "results.json"))


class Figures:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self.started = time.time()
        self.seconds: dict[str, float] = {}

    def section(self, name: str) -> dict[str, Any]:
        return self.data.setdefault(name, {})

    def count(self, section: str, key: str, amount: int = 1) -> None:
        part = self.section(section)
        part[key] = part.get(key, 0) + amount

    def append(self, section: str, key: str, item: Any) -> None:
        self.section(section).setdefault(key, []).append(item)

    def leaks(self) -> int:
        return sum(int(part.get("leaks_found", 0)) for part in self.data.values())

    def unexplained(self) -> int:
        """Leftovers not explained by an engine bug already reported (see harness.KNOWN_BUGS)."""
        return sum(
            int(part.get("leaks_unexplained", part.get("leaks_found", 0))) for part in self.data.values()
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "suite_seconds": round(sum(self.seconds.values()), 1),
            "seconds_by_file": {k: round(v, 1) for k, v in sorted(self.seconds.items())},
            "leaks_found": self.leaks(),
            "leaks_unexplained": self.unexplained(),
            **self.data,
        }


_FIGURES = pytest.StashKey[Figures]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability: the reliability suite (tests/reliability)")
    config.addinivalue_line("markers", "noroot: a reliability test that does not need root")
    config.stash[_FIGURES] = Figures()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs root and network namespaces")
    for item in items:
        if HERE not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.reliability)
        if "noroot" not in item.keywords:
            item.add_marker(pytest.mark.root)
            if os.geteuid() != 0:
                item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if HERE in Path(str(item.fspath)).parents:
        seconds = item.config.stash[_FIGURES].seconds
        name = Path(str(item.fspath)).name
        seconds[name] = seconds.get(name, 0.0) + report.duration
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    figures = session.config.stash.get(_FIGURES, None)
    if figures is None or not figures.data:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures.to_json(), indent=1, sort_keys=True, default=str) + "\n")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    figures = config.stash.get(_FIGURES, None)
    if figures is None or not figures.data:
        return
    terminalreporter.section("reliability figures")
    for name, part in sorted(figures.data.items()):
        scalars = {k: v for k, v in part.items() if isinstance(v, int | float | str | bool)}
        terminalreporter.write_line(f"{name}: {json.dumps(scalars, sort_keys=True)}")
    terminalreporter.write_line(
        f"leaks found: {figures.leaks()} ({figures.unexplained()} not explained by a known bug);"
        f" written to {RESULTS}"
    )


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> Figures:
    return request.config.stash[_FIGURES]


def quick() -> bool:
    """NSLAB_RELIABILITY_QUICK=1: a smaller sample (used for the run inside a container)."""
    return os.environ.get("NSLAB_RELIABILITY_QUICK", "") not in ("", "0")


@pytest.fixture(scope="session")
def service_support(tmp_path_factory: pytest.TempPathFactory) -> str:
    """'' once `nslab up` starts a tcp service; otherwise why not (services are being written)."""
    from tests.reliability import harness as h
    from tests.reliability import scenarios

    path = scenarios.tcp_service(tmp_path_factory.mktemp("svc") / "svc.yaml")
    lab = h.new_lab("sv")
    ran = h.nslab("up", str(path), "--prefix", lab)
    if h.has_state(lab):
        h.nslab("down", lab)
    if ran.code == 0:
        return ""
    lines = [line.strip() for line in ran.err.splitlines() if line.strip()]
    return lines[0] if lines else f"exit {ran.code}"
