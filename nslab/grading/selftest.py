"""Prove a scenario works: healthy passes, broken fails its goals, the solution fixes it,
and teardown leaves nothing.

Per variant (one per combination of the values of parameters used in `when:`):
  healthy   build without faults, grade: every check passes; tear down
  broken    build with faults, grade: every goal fails, every guard passes; grade again,
            after every probe of the first grading has run: the same, and no goal flips
  solution  apply the reference fix in that broken lab, grade: every check passes
  teardown  tear down: no problem reported, and no namespace, /etc/netns dir, state dir or
            lab process left behind (each phase's lab is checked)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from nslab.engine import journal, state
from nslab.errors import NslabError
from nslab.grading import phases
from nslab.grading.live import check_scenario
from nslab.grading.report import Report
from nslab.kernel import netns, procs
from nslab.scenario import model as m


@dataclass
class Phase:
    name: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    report: Report | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Variant:
    scenario: str
    path: str
    params: dict[str, Any]
    phases: list[Phase] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.phases) and all(p.ok for p in self.phases)

    @property
    def label(self) -> str:
        chosen = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.scenario} [{chosen}]" if chosen else self.scenario


@dataclass
class _Lab:
    """A lab built for one phase, and what must be gone after its teardown."""

    name: str
    scenario: m.Scenario
    procs: list[tuple[int, int]] = field(default_factory=list)


def leftovers(built: _Lab) -> list[str]:
    found = []
    for node in built.scenario.nodes:
        ns = f"{built.name}-{node}"
        if netns.exists(ns):
            found.append(f"namespace {ns}")
        if os.path.exists(state.etc_dir(ns)):
            found.append(f"directory {state.etc_dir(ns)}")
    if os.path.exists(state.lab_dir(built.name)):
        found.append(f"directory {state.lab_dir(built.name)}")
    for pid, started in built.procs:
        # A zombie is gone in every way that matters: its parent (often pid 1) reaps it later.
        if procs.is_running(pid, started):
            found.append(f"process {pid} ({procs.command(pid)})")
    return found


@contextmanager
def _built(
    path: str, lab_name: str, params: dict[str, Any], healthy: bool, teardown: Phase
) -> Iterator[_Lab]:
    from nslab.labs import lifecycle as lab

    # selftest() has already passed the scenario through the --allow-exec gate.
    result = lab.up(path, prefix=lab_name, healthy=healthy, params=params, allow_exec=True)
    built = _Lab(lab_name, result.scenario)
    try:
        yield built
    finally:
        entries = journal.read(state.lab_dir(lab_name))
        built.procs = [(p["pid"], p.get("start", -1)) for p in entries.procs]
        started = time.perf_counter()
        report = lab.down_one(lab_name)
        teardown.problems += [f"{lab_name}: {p}" for p in report.problems]
        teardown.problems += [f"{lab_name}: left behind {item}" for item in leftovers(built)]
        teardown.seconds += time.perf_counter() - started


def _graded(phase: Phase, lab_name: str, scenario: m.Scenario, healthy: bool) -> None:
    started = time.perf_counter()
    phase.report = check_scenario(lab_name, scenario, healthy)
    phase.problems += phases.problems(phase.report, phase.name)
    phase.seconds += time.perf_counter() - started


def _in_lab(
    phase: Phase,
    path: str,
    lab_name: str,
    params: dict[str, Any],
    teardown: Phase,
    then: Callable[[_Lab], None] | None = None,
) -> None:
    """Build (healthy for the healthy phase), grade, optionally go on, always tear down."""
    healthy = phase.name == "healthy"
    started = time.perf_counter()
    try:
        with _built(path, lab_name, params, healthy, teardown) as built:
            phase.seconds += time.perf_counter() - started
            _graded(phase, lab_name, built.scenario, healthy)
            if then is not None:
                then(built)
    except NslabError as exc:
        phase.problems.append(f"could not build the lab: {exc.message}")


def _regrade(broken: Phase, lab_name: str, built: _Lab) -> None:
    """Grade the broken lab a second time: the first grading's probes must not have healed it."""
    first = broken.report
    again = Phase("broken")
    _graded(again, lab_name, built.scenario, False)
    broken.seconds += again.seconds
    broken.problems += [f"graded again: {p}" for p in again.problems if p not in broken.problems]
    if first is not None and again.report is not None:
        broken.problems += phases.flips(first, again.report)


def _fix(broken: Phase, fixed: Phase, lab_name: str, built: _Lab) -> None:
    from nslab.grading import solution

    if not built.scenario.active_faults():
        broken.problems.append("no fault is active for these parameters: nothing is broken")
    if not built.scenario.active_solution():
        fixed.problems.append("the scenario has no solution: steps")
        return
    started = time.perf_counter()
    try:
        solution.apply(lab_name, built.scenario)
    except NslabError as exc:
        fixed.problems.append(exc.message)
        return
    finally:
        fixed.seconds += time.perf_counter() - started
    _graded(fixed, lab_name, built.scenario, False)


def run_variant(path: str, scenario: m.Scenario, params: dict[str, Any], lab_name: str) -> Variant:
    healthy, broken, fixed, teardown = (Phase(name) for name in phases.PHASES)
    variant = Variant(scenario.name, path, params, [healthy, broken, fixed, teardown])
    _in_lab(healthy, path, lab_name, params, teardown)

    def then(built: _Lab) -> None:
        _regrade(broken, lab_name, built)
        _fix(broken, fixed, lab_name, built)

    _in_lab(broken, path, lab_name, params, teardown, then)
    return variant


def selftest(
    name_or_path: str,
    prefix: str,
    on_variant: Callable[[Variant], None] | None = None,
    allow_exec: bool = False,
) -> list[Variant]:
    """Every variant of one scenario. The lab is named `prefix` (one phase at a time).
    Selftest starts services and applies the solution: a scenario from outside the package
    with commands is refused before anything is built, unless allow_exec."""
    from nslab.scenario import catalog, loader, trust

    path = str(catalog.resolve(name_or_path))
    scenario = loader.load(path)
    trust.gate(scenario, path, None, allow_exec, (trust.SERVICES, trust.SOLUTION))
    out = []
    for params in phases.variants(scenario):
        variant = run_variant(path, scenario, params, prefix)
        if on_variant is not None:
            on_variant(variant)
        out.append(variant)
    return out
