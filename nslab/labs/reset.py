"""Rebuild a lab as it started: the same private scenario copy, seed, parameters and faults."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nslab.engine import state, statefiles
from nslab.errors import KernelError
from nslab.labs.lifecycle import UpResult, down_one, load_copy, run_build, setup_or_teardown

if TYPE_CHECKING:
    from nslab.engine.build import ServiceStarter


def reset(lab: str, allow_exec: bool = False) -> UpResult:
    """Tear down and rebuild; like `up`, refuses (before touching the lab) a scenario from
    outside the package that starts commands, unless allow_exec."""
    from nslab.services.supervisor import start_services

    with state.lab_lock(lab, "nslab reset"):
        return _reset_locked(lab, start_services, allow_exec)


def _reset_locked(lab: str, start_services: ServiceStarter, allow_exec: bool) -> UpResult:
    from nslab.engine.build import Builder
    from nslab.labs import progress
    from nslab.scenario import trust

    # Load before tearing anything down: if the copy no longer loads, the lab stays as it is.
    meta, text, scenario = load_copy(lab)
    if not meta.healthy:
        from nslab.faults.apply import apply_faults

        scenario = apply_faults(scenario)
        progress.note_start(scenario.name, meta.created)  # the clock keeps running across resets
    trust.gate(scenario, meta.source, text, allow_exec, (trust.SERVICES,))
    report = down_one(lab, "nslab reset")
    if report.problems:
        raise KernelError(f"could not tear down lab {lab}: " + "; ".join(report.problems), "try 'nslab down'")
    with statefiles.owner_only_umask():
        built = run_build(
            Builder(scenario, lab, text, healthy=meta.healthy, seed=meta.seed, start_services=start_services)
        )
    setup_or_teardown(lab, scenario)
    return UpResult(lab, scenario, meta.healthy, built.seconds, built.phases)
