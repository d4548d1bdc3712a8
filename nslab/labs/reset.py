"""Rebuild a lab as it started: the same private scenario copy, seed, parameters and faults."""

from __future__ import annotations

import os

from nslab.engine import state
from nslab.errors import KernelError
from nslab.labs.lifecycle import UpResult, down_one
from nslab.scenario import loader


def reset(lab: str, allow_exec: bool = False) -> UpResult:
    """Tear down and rebuild; like `up`, refuses (before touching the lab) a scenario from
    outside the package that starts commands, unless allow_exec."""
    from nslab.engine.build import Builder
    from nslab.labs import progress
    from nslab.scenario import trust
    from nslab.services.supervisor import start_services

    meta = state.require_meta(lab)
    with open(os.path.join(state.lab_dir(lab), "scenario.yaml")) as handle:
        text = handle.read()
    # Load before tearing anything down: if the copy no longer loads, the lab stays as it is.
    scenario = loader.load_text(text, meta.source, seed=meta.seed, overrides=meta.params)
    if not meta.healthy:
        from nslab.faults.apply import apply_faults

        scenario = apply_faults(scenario)
        progress.note_start(scenario.name, meta.created)  # the clock keeps running across resets
    trust.gate(scenario, meta.source, text, allow_exec, (trust.SERVICES,))
    report = down_one(lab)
    if report.problems:
        raise KernelError(f"could not tear down lab {lab}: " + "; ".join(report.problems), "try 'nslab down'")
    built = Builder(
        scenario, lab, text, healthy=meta.healthy, seed=meta.seed, start_services=start_services
    ).run()
    return UpResult(lab, scenario, meta.healthy, built.seconds, built.phases)
