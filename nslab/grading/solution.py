"""A scenario's reference fix: shell commands run inside its nodes, in order.

Steps run in the node's own view, exactly like `nslab exec`: its network and UTS namespaces
and its own /etc, /run and /var, so they edit the files a learner would and use the same
tools. Unlike a learner's shell they also keep nslab's state directory and /run/netns (a step
may call `nslab service restart ...`): a scenario's solution is code its author vouches for.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
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
    from nslab.engine import state, statefiles
    from nslab.scenario import trust

    meta = state.require_meta(lab)
    text = statefiles.read_text(os.path.join(state.lab_dir(lab), "scenario.yaml"))
    trust.gate(scenario, meta.source, text, allow_exec, (trust.SOLUTION,))


@contextlib.contextmanager
def this_nslab(under: str | None = None) -> Iterator[dict[str, str]]:
    """Environment under which `nslab` in a step is this very installation (this interpreter,
    this package), not whichever nslab comes first on PATH: a selftest of a checkout must
    not run an older installed copy's verbs."""
    import nslab

    package_home = os.path.dirname(os.path.dirname(os.path.abspath(nslab.__file__)))
    with tempfile.TemporaryDirectory(prefix="nslab-solution-", dir=under) as bindir:
        shim = os.path.join(bindir, "nslab")
        fd = os.open(shim, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o700)
        with os.fdopen(fd, "w") as handle:
            handle.write(f'#!/bin/sh\nexec "{sys.executable}" -m nslab "$@"\n')
        path = os.environ.get("PYTHONPATH", "")
        yield {
            "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}",
            "PYTHONPATH": f"{package_home}:{path}" if path else package_home,
        }


def _enter(view: str, ns: str, keep: tuple[str, ...]) -> Callable[[], None]:
    from nslab.engine import etcfiles

    code = etcfiles.code_paths()  # a step's `nslab ...` runs this interpreter and package
    return lambda: etcfiles.enter_prepared(view, ns, keep, code)


def apply(lab: str, scenario: m.Scenario) -> list[StepResult]:
    """Run every step; stop at the first that fails and raise with its output. Callers pass
    the scenario through gate() first."""
    from nslab.engine import state

    # The shim lives in the lab's state directory, which steps keep in their node view.
    with this_nslab(under=state.lab_dir(lab)) as nslab_env:
        return _apply(lab, scenario, nslab_env)


def _apply(lab: str, scenario: m.Scenario, nslab_env: dict[str, str]) -> list[StepResult]:
    from nslab.engine import etcfiles, state
    from nslab.kernel.netns import NETNS_DIR

    sh = shutil.which("sh")
    if sh is None:
        raise EnvironmentProblem("no 'sh' on this machine", "apt-get install dash")
    keep = (state.STATE_ROOT, NETNS_DIR)
    # Under `solution --apply` the caller holds the lab's lock: a step's own `nslab service
    # restart` shares it instead of waiting for it.
    try:
        lock_env, lock_fd = state.lock_for_children(lab)
    except KeyError:
        lock_env, lock_fd = {}, -1
    done: list[StepResult] = []
    for number, step in enumerate(scenario.active_solution(), start=1):
        ns = netns_name(lab, step.node)
        view = etcfiles.ensure_node_view(lab, ns, step.node)
        argv = [sh, "-c", step.run]
        # Steps may call nslab itself (e.g. 'nslab service restart web'): say which lab.
        env = {**os.environ, **nslab_env, **lock_env, "NSLAB_LAB": lab, "NSLAB_NODE": step.node}
        try:
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=STEP_TIMEOUT,
                check=False,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd="/",
                pass_fds=(lock_fd,) if lock_fd >= 0 else (),
                # In the forked child, single-threaded: it may unshare its mounts.
                preexec_fn=_enter(view, ns, keep),
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
