"""A node's one-shot `setup:` script, run once after its lab is built (services included).

It is for state a lab needs that the format does not describe: a file in the node's /etc,
a cache to warm, an ARP entry learnt the normal way. Instructors used to write that as an
`exec` service that did the work and then slept forever (a dummy listener); a setup script
runs, finishes, and is gone.

It runs as root like an exec service or a solution step (a scenario file is code its
author vouches for), in the node's own view: its network, UTS and mount namespaces with its
own /etc, /run and /var, so what it writes is what the learner's shell sees there. It runs
as pid 1 of its own PID namespace, so anything it leaves in the background dies with it and
nothing outlives the step that teardown would not know about. A script that fails (exit
status, or over SETUP_TIMEOUT) fails the build: the lab is torn down and the error names
the node, the script's last output line and its place in the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

from nslab.engine import etcfiles
from nslab.engine.naming import netns_name
from nslab.errors import EnvironmentProblem, KernelError
from nslab.scenario import model as m

SETUP_TIMEOUT = 60.0


class SetupFailed(KernelError):
    """A node's setup script failed: the scenario (or the machine) is wrong, not the learner."""


def run_setup(lab: str, scenario: m.Scenario) -> int:
    """Each node's setup script, in file order; returns how many ran."""
    nodes = [node for node in scenario.nodes.values() if node.setup.strip()]
    if not nodes:
        return 0
    sh, unshare = shutil.which("sh"), shutil.which("unshare")
    if sh is None or unshare is None:
        raise EnvironmentProblem("setup scripts need 'sh' and 'unshare'", "apt-get install dash util-linux")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONUNBUFFERED")}
    for node in nodes:
        ns = netns_name(lab, node.name)
        view = etcfiles.ensure_node_view(lab, ns, node.name)
        # --kill-child: if we are killed (a timeout), the script's PID namespace goes too.
        argv = [unshare, "--pid", "--fork", "--kill-child", sh, "-e", "-c", node.setup]
        try:
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=SETUP_TIMEOUT,
                check=False,
                stdin=subprocess.DEVNULL,
                env={**env, "NSLAB_LAB": lab, "NSLAB_NODE": node.name},
                cwd="/",
                preexec_fn=_enter(view, ns),  # in the forked child, single-threaded
            )
        except subprocess.TimeoutExpired:
            raise SetupFailed(
                f"the setup script of {node.name} ran over {SETUP_TIMEOUT:.0f} s; the lab was torn down",
                f"see {node.at('setup')}; a setup script must finish (a server belongs under services:)",
            ) from None
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).strip()
            last = f": {output.splitlines()[-1]}" if output else ""
            code = proc.returncode
            raise SetupFailed(
                f"the setup script of {node.name} failed (exit {code}){last}; the lab was torn down",
                f"see {node.at('setup')}",
            )
    return len(nodes)


def _enter(view: str, ns: str) -> Callable[[], None]:
    return lambda: etcfiles.enter_prepared(view, ns)
