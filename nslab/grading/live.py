"""Grade a running lab: load what it was built from, probe every active check, grade."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from nslab.engine import state, statefiles
from nslab.grading.report import Report, grade
from nslab.scenario import model as m

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Graded:
    meta: state.Meta
    scenario: m.Scenario
    report: Report


def check_lab(lab: str) -> Graded:
    from nslab.grading.cache import running_scenario

    meta, scenario = running_scenario(lab)
    return Graded(meta, scenario, check_scenario(lab, scenario, meta.healthy))


def check_scenario(lab: str, scenario: m.Scenario, healthy_build: bool) -> Report:
    """Probe `scenario`'s active checks in the running lab `lab` (already loaded by the caller)."""
    from nslab.grading.runner import forget_learned_paths, owners_of, run_checks

    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    nodes = [name for name, node in scenario.nodes.items() if node.kind != "switch"]
    forget_learned_paths(lab, nodes)
    try:
        runs = run_checks(lab, scenario.active_checks(), owners_of(scenario))
    finally:
        forget_learned_paths(lab, nodes)
    return grade(
        runs,
        lab=lab,
        scenario=scenario.name,
        healthy_build=healthy_build,
        seconds=time.perf_counter() - t0,
        started=started,
    )


SOLVED = "solved"


def mark_solved(lab: str) -> None:
    """Note in the lab's own (root-owned) state that a run passed everything: from then on its
    reports are revealed. Kept beside the lab, not in the learner's progress file, which the
    learner can edit; a new build of the lab (reset, down + up) starts unsolved again."""
    path = os.path.join(state.lab_dir(lab), SOLVED)
    try:
        statefiles.write_atomic(path, datetime.now(UTC).isoformat(timespec="seconds") + "\n")
    except OSError as exc:  # grading still stands; only later reveals are lost
        log.warning("could not mark lab %s solved: %s", lab, exc)


def is_solved(lab: str) -> bool:
    """True only for a marker nslab wrote (root's regular file): a planted one reveals nothing."""
    try:
        statefiles.verify_file(os.path.join(state.lab_dir(lab), SOLVED))
    except (OSError, statefiles.UntrustedState):
        return False
    return True
