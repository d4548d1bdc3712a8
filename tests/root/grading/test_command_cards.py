"""Every shipped lab's command card works as printed: each `here` command, run in its node
of a healthy build the way `nslab exec` runs it, exits as the card says."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nslab import plugins
from nslab.labs import lifecycle as lab
from nslab.scenario import catalog
from nslab.scenario.loader import load

plugins.load()
NAMES = sorted(catalog.scenario_files())


def test_every_shipped_lab_has_a_card() -> None:
    missing = [n for n in NAMES if not load(str(catalog.resolve(n))).metadata.commands]
    assert missing == []


@pytest.mark.parametrize("name", NAMES)
def test_command_card_runs_as_printed(name: str, prefix: str) -> None:
    cards = load(str(catalog.resolve(name))).metadata.commands
    lab.up(name, prefix=prefix, healthy=True)
    failures = []
    try:
        for card in cards:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "nslab",
                    "exec",
                    "--lab",
                    prefix,
                    card.node,
                    "--",
                    "sh",
                    "-c",
                    card.here,
                ],
                capture_output=True,
                text=True,
                timeout=40,
                env=dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin"),
            )
            if done.returncode != card.exit:
                failures.append(
                    f"[{card.node}] {card.here}: exit {done.returncode}\n{done.stdout}{done.stderr}"
                )
    finally:
        lab.down_one(prefix)
    assert not failures, "\n".join(failures)
