"""A scenario's sysctl key names a file nslab writes as root: try to leave /proc/sys/net and
prove that nothing outside it is written, through the CLI and through the builder itself
(a model built in code skips validation, so the write path must refuse on its own)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

from nslab.engine import state
from nslab.engine.build import Builder
from nslab.errors import UsageError
from nslab.kernel import netns
from nslab.labs.lifecycle import load_for_build

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

SCENARIO = """\
metadata: {{name: {name}, title: sysctl escape}}
nodes:
  h1:
    interfaces:
      eth0: {{addresses: [10.0.0.1/24]}}
    sysctls:
      {key}: owned
  h2:
    interfaces:
      eth0: {{addresses: [10.0.0.2/24]}}
links: [[h1:eth0, h2:eth0]]
"""


@pytest.fixture
def target() -> Iterator[str]:
    """A would-be target outside /proc/sys/net: a file in a directory of our own."""
    with tempfile.TemporaryDirectory(prefix="nslab-escape-") as tmp:
        yield os.path.join(tmp, "target")


def escape_key(target: str) -> str:
    # /proc/sys/net/../../../<target>: each '//' level was '..' before the grammar.
    return "net.//.//.//" + target.lstrip("/").replace("/", ".")


def test_up_refuses_an_escaping_sysctl_and_writes_nothing(prefix: str, target: str) -> None:
    path = os.path.join(os.path.dirname(target), "escape.yaml")
    with open(path, "w") as handle:
        handle.write(SCENARIO.format(name=prefix, key=escape_key(target)))
    done = subprocess.run(
        [sys.executable, "-m", "nslab", "up", path, "--prefix", prefix, "--healthy"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "would climb out of /proc/sys/net" in done.stderr and "escape.yaml:7:7" in done.stderr
    assert not os.path.lexists(target)
    assert not os.path.isdir(state.lab_dir(prefix)) and not netns.exists(f"{prefix}-h1")


def test_builder_refuses_an_escaping_sysctl_in_a_model_built_in_code(prefix: str, target: str) -> None:
    path = os.path.join(os.path.dirname(target), "ok.yaml")
    with open(path, "w") as handle:
        handle.write(SCENARIO.format(name=prefix, key="net.ipv4.conf.all.rp_filter").replace("owned", "1"))
    scenario, text = load_for_build(path, None, None, True)
    h1 = scenario.nodes["h1"]
    evil = dataclasses.replace(h1, sysctls={escape_key(target): "owned"})
    scenario = dataclasses.replace(scenario, nodes={**scenario.nodes, "h1": evil})
    with pytest.raises(UsageError, match="climb out of /proc/sys/net"):
        Builder(scenario, prefix, text, healthy=True).run()
    assert not os.path.lexists(target)
    # The build rolled back: nothing of the lab is left (the leak fixture checks the rest).
    assert not netns.exists(f"{prefix}-h1") and not netns.exists(f"{prefix}-h2")
