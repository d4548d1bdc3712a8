"""Rebuild a lab as it started: the same private scenario copy, seed, parameters and faults."""

from __future__ import annotations

import os

from nslab import loader, state
from nslab.errors import KernelError
from nslab.lab import UpResult, down_one


def reset(lab: str) -> UpResult:
    from nslab import progress
    from nslab.build import Builder

    meta = state.require_meta(lab)
    with open(os.path.join(state.lab_dir(lab), "scenario.yaml")) as handle:
        text = handle.read()
    # Load before tearing anything down: if the copy no longer loads, the lab stays as it is.
    scenario = loader.load_text(text, meta.source, seed=meta.seed, overrides=meta.params)
    if not meta.healthy:
        from nslab.faults.apply import apply_faults

        scenario = apply_faults(scenario)
        progress.note_start(scenario.name, meta.created)  # the clock keeps running across resets
    report = down_one(lab)
    if report.problems:
        raise KernelError(f"could not tear down lab {lab}: " + "; ".join(report.problems), "try 'nslab down'")
    built = Builder(scenario, lab, text, healthy=meta.healthy, seed=meta.seed).run()
    return UpResult(lab, scenario, meta.healthy, built.seconds, built.phases)
