"""A scenario's reference fix: shell commands run inside its nodes, in order.

Steps run through `ip netns exec`, exactly like `nslab exec`, so they see the node's own
/etc/hosts and resolv.conf and use the same tools a learner would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from nslab.engine.naming import netns_name
from nslab.errors import EnvironmentProblem, KernelError
from nslab.scenario import model as m

STEP_TIMEOUT = 30.0


class SolutionFailed(KernelError):
    """A solution step exited non-zero: the scenario's reference fix is wrong (or the lab is)."""


@dataclass(frozen=True)
class StepResult:
    node: str
    run: str
    returncode: int
    output: str


def describe(scenario: m.Scenario) -> list[str]:
    return [f"[{step.node}] {step.run}" for step in scenario.active_solution()]


def gate(lab: str, scenario: m.Scenario, allow_exec: bool) -> None:
    """Refuse to run the steps of a lab built from outside the package unless allow_exec:
    the lab's private copy of its scenario is what would run, so that copy is judged."""
    from nslab.engine import state
    from nslab.scenario import trust

    meta = state.require_meta(lab)
    with open(os.path.join(state.lab_dir(lab), "scenario.yaml")) as handle:
        text = handle.read()
    trust.gate(scenario, meta.source, text, allow_exec, (trust.SOLUTION,))


def apply(lab: str, scenario: m.Scenario) -> list[StepResult]:
    """Run every step; stop at the first that fails and raise with its output. Callers pass
    the scenario through gate() first."""
    ip = shutil.which("ip")
    if ip is None:
        raise EnvironmentProblem("the 'ip' command is missing", "apt-get install iproute2")
    done: list[StepResult] = []
    for number, step in enumerate(scenario.active_solution(), start=1):
        argv = [ip, "netns", "exec", netns_name(lab, step.node), "sh", "-c", step.run]
        # Steps may call nslab itself (e.g. 'nslab service restart web'): say which lab.
        env = {**os.environ, "NSLAB_LAB": lab, "NSLAB_NODE": step.node}
        try:
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=STEP_TIMEOUT,
                check=False,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except subprocess.TimeoutExpired:
            raise SolutionFailed(
                f"solution step {number} on {step.node} ran over {STEP_TIMEOUT:.0f} s: {step.run}",
                f"see {step.loc}; a step must finish (start daemons in the background)",
            ) from None
        output = (proc.stdout + proc.stderr).strip()
        done.append(StepResult(step.node, step.run, proc.returncode, output))
        if proc.returncode != 0:
            raise SolutionFailed(
                f"solution step {number} on {step.node} failed (exit {proc.returncode}): {step.run}"
                + (f"\n    {output.splitlines()[-1]}" if output else ""),
                f"see {step.loc}",
            )
    return done
