"""Loading and validation (no root)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from nslab import loader
from nslab.errors import ScenarioError

GOOD = """\
metadata: {name: demo, title: Demo}
params:
  port: {choices: [8080, 9090, 7070]}
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
links: [[a:eth0, b:eth0]]
checks:
  - {name: reach, kind: tcp, from: a, to: 10.0.0.2, port: "${port}"}
"""


def errors(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        loader.load_text(text, "s.yaml")
    return [d.render() for d in err.value.diagnostics]


def test_good_scenario_builds_the_model() -> None:
    scenario = loader.load_text(GOOD, "s.yaml")
    assert scenario.nodes["a"].interfaces["eth0"].addresses == (ipaddress.ip_interface("10.0.0.1/24"),)
    assert scenario.links[0].a.node == "a" and scenario.links[0].b.iface == "eth0"
    assert scenario.checks[0].node == "a" and scenario.checks[0].params["port"] == 8080


def test_seed_picks_the_same_value_every_time_and_differs_across_seeds() -> None:
    picks = {loader.load_text(GOOD, "s.yaml", seed=f"learner{i}").chosen["port"] for i in range(30)}
    assert picks == {8080, 9090, 7070}
    again = [loader.load_text(GOOD, "s.yaml", seed="alice").chosen["port"] for _ in range(3)]
    assert len(set(again)) == 1


def test_every_error_comes_at_once_with_positions() -> None:
    text = (
        GOOD.replace("title: Demo", "titel: Demo")
        .replace("10.0.0.2/24", "10.0.0.2")
        .replace("b:eth0]]", "c:eth0]]")
    )
    found = errors(text)
    assert any(
        e.startswith("s.yaml:1:24: error: metadata.titel: unknown key") and "did you mean 'title'" in e
        for e in found
    ), found
    assert any("s.yaml:10:26:" in e and "has no prefix length" in e for e in found), found
    assert any("s.yaml:11:18:" in e and "'c' is not a node" in e for e in found), found


def test_duplicate_keys_are_rejected() -> None:
    found = errors("metadata: {name: x, title: y}\nnodes: {}\nnodes: {}\n")
    assert found == [
        "s.yaml:3:1: error: duplicate key 'nodes' (first defined at line 2)\n"
        "    hint: remove one of them; YAML would silently keep only the last"
    ]


def test_alias_bomb_is_a_clean_error() -> None:
    """A billion-laughs document: aliases share nodes, so it costs nothing to reject."""
    lines = ["metadata: {name: x, title: y}", "nodes: {}", "bomb0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"bomb{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 10)]
    lines.append("hints: *a9")
    found = errors("\n".join(lines) + "\n")
    assert any("unknown key 'bomb9'" in e for e in found)
    assert any("hints[0]: expected a string, got a list" in e for e in found)


def test_unknown_parameter_reference(tmp_path: Path) -> None:
    found = errors(GOOD.replace("${port}", "${prot}"))
    assert any("unknown parameter ${prot}" in e and "did you mean 'port'" in e for e in found), found


def test_gateway_must_be_on_link() -> None:
    text = GOOD.replace("links:", "    routes: [{to: default, via: 10.9.9.1}]\nlinks:")
    found = errors(text)
    assert any("gateway 10.9.9.1 of 'b' is outside every attached subnet" in e for e in found), found
