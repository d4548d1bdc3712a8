"""Check kinds, their probes and judges stay in step; grading stays lean to import."""

from __future__ import annotations

import subprocess
import sys

from nslab.checks import probes
from nslab.checks.kinds import CHECKS
from nslab.engine.naming import netns_name
from nslab.grading import runner
from nslab.grading.judge import RULES


def test_every_kind_has_a_probe_and_a_judge() -> None:
    assert set(probes.PROBES) == set(CHECKS.names()) == set(RULES)
    for kind in CHECKS.names():
        assert CHECKS.get(kind).impl == probes.PROBES[kind]
        assert callable(probes.load(kind))


def test_runner_names_namespaces_like_the_engine() -> None:
    assert runner.netns_name("alice", "r1") == netns_name("alice", "r1")


def test_grading_path_does_not_import_heavy_modules() -> None:
    """What `nslab check` imports once the lab's scenario is cached: no YAML/schema/validation
    machinery, no pyroute2, scapy or dnspython (see docs/grading.md for the measured cost)."""
    code = (
        "import sys\n"
        "import nslab.cli.cmd_check, nslab.grading.live, nslab.grading.cache, nslab.grading.render\n"
        "from nslab.checks import probes\n"
        "from nslab.grading import runner\n"
        "for kind in probes.PROBES: probes.load(kind)\n"
        "heavy = ('yaml', 'nslab.scenario.schema', 'nslab.scenario.loader', 'nslab.scenario.spec',"
        " 'nslab.scenario.semantic', 'pyroute2', 'scapy', 'dns', 'nslab.faults', 'xml')\n"
        "print(sorted({m.split('.')[0] if not m.startswith('nslab') else m for m in sys.modules"
        " if m.startswith(heavy)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
