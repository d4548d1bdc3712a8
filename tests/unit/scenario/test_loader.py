"""Loading and validation (no root): the whole pipe from text to a frozen Scenario."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nslab.errors import ScenarioError
from nslab.scenario import loader
from nslab.scenario.yamlsrc import MAX_BYTES, read_file

REPO = Path(__file__).resolve().parents[3]

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


def errors(text: str, **kwargs: object) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        loader.load_text(text, "s.yaml", **kwargs)  # type: ignore[arg-type]
    return [d.render() for d in err.value.diagnostics]


def test_good_scenario_builds_the_model() -> None:
    scenario = loader.load_text(GOOD, "s.yaml")
    assert scenario.nodes["a"].interfaces["eth0"].addresses == (ipaddress.ip_interface("10.0.0.1/24"),)
    assert scenario.links[0].a.node == "a" and scenario.links[0].b.iface == "eth0"
    assert scenario.checks[0].node == "a" and scenario.checks[0].params["port"] == 8080


def test_locations_point_at_values_and_at_list_items() -> None:
    scenario = loader.load_text(GOOD, "s.yaml")
    eth0 = scenario.nodes["b"].interfaces["eth0"]
    assert (eth0.at("addresses").line, eth0.at("addresses").col) == (10, 25)
    assert (eth0.at("addresses[0]").line, eth0.at("addresses[0]").col) == (10, 26)
    assert scenario.checks[0].at("node").col == GOOD.splitlines()[12].index("a, to") + 1


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
        e.startswith("s.yaml:1:24: error: metadata: unknown key 'titel'") and "did you mean 'title'" in e
        for e in found
    ), found
    assert any(e.startswith("s.yaml:1:11: error: metadata: missing required key 'title'") for e in found)
    assert any("s.yaml:10:26:" in e and "has no prefix length" in e for e in found), found
    assert any("s.yaml:11:18:" in e and "'c' is not a node" in e for e in found), found
    assert len(found) == 4, found


def test_duplicate_keys_are_rejected() -> None:
    found = errors("metadata: {name: x, title: y}\nnodes: {}\nnodes: {}\n")
    assert found == [
        "s.yaml:3:1: error: duplicate key 'nodes' (first at line 2, column 1)\n"
        "    hint: remove one of them; YAML would silently keep only the last"
    ]


def test_alias_bomb_is_a_clean_error_reported_once() -> None:
    """A billion-laughs document: aliases share nodes, so it costs nothing to reject."""
    lines = ["metadata: {name: x, title: y}", "nodes: {a: {}}", "bomb0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"bomb{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 10)]
    lines.append("hints: *a9")
    found = errors("\n".join(lines) + "\n")
    assert any("unknown key 'bomb9'" in e for e in found)
    assert [e for e in found if "hints[" in e] == [
        "s.yaml:11:8: error: hints[0]: expected a string, or a mapping (hint), got a list"
    ]


def test_an_expansion_past_the_node_limit_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shared values count once per visit: a document that expands beyond the cap is refused."""
    from nslab.scenario.schema import base

    monkeypatch.setattr(base, "MAX_NODES", 50)
    text = "metadata: {name: x, title: y}\nnodes: {a: {}}\ntopics: &t [a, b, c, d, e, f, g, h]\n"
    text += "hints: [" + ", ".join(["x"] * 60) + "]\n"
    found = errors(text)
    assert found == [
        "s.yaml:1:1: error: the document expands to too many values through aliases (an alias bomb?)\n"
        "    hint: use fewer nested aliases"
    ]


def test_unknown_parameter_reference_does_not_also_report_its_type() -> None:
    unused, unknown = errors(GOOD.replace("${port}", "${prot}"))
    assert unknown.startswith(
        "s.yaml:13:60: error: unknown parameter ${prot}\n    hint: did you mean 'port'?"
    )
    assert "params.port: the parameter is never used" in unused


def test_dollar_dollar_keeps_a_literal_reference() -> None:
    text = GOOD + "solution:\n  - {node: a, run: 'echo $${HOME} ${port}'}\n"
    assert loader.load_text(text, "s.yaml").solution[0].run == "echo ${HOME} 8080"


def test_a_whole_value_reference_keeps_the_choice_type() -> None:
    scenario = loader.load_text(GOOD, "s.yaml", overrides={"port": 9090})
    assert scenario.checks[0].params["port"] == 9090


def test_overrides_must_name_a_parameter_and_one_of_its_choices() -> None:
    [unknown] = errors(GOOD, overrides={"prot": 1})
    assert (
        "--param prot: the scenario has no parameter 'prot'" in unknown and "did you mean 'port'" in unknown
    )
    [wrong] = errors(GOOD, overrides={"port": "8080"})
    assert "--param port='8080' is not one of its choices: 8080, 9090, 7070" in wrong


def test_check_text_tries_every_choice_and_names_the_culprit() -> None:
    text = GOOD.replace("[8080, 9090, 7070]", "[8080, http, 7070]")
    loader.load_text(text, "s.yaml")  # the default choice is fine
    scenario, found = loader.check_text(text, "s.yaml")
    assert scenario is None
    assert [d.message for d in found] == [
        "checks[0].port: expected an integer, got the string 'http' (when parameter 'port' is 'http')"
    ]
    for seed in ("alice", "bob", "carol", "dave"):  # a seed checks its own variant only
        assert all("(when parameter" not in d.message for d in loader.check_text(text, "s.yaml", seed)[1])


def test_check_text_reports_base_errors_and_variant_errors_together() -> None:
    text = (
        GOOD.replace("[8080, 9090, 7070]", "[8080, http]")
        .replace("titel", "title")
        .replace("b:eth0]]", "c:eth0]]")
    )
    _, found = loader.check_text(text, "s.yaml")
    assert any("'c' is not a node" in d.message for d in found)
    assert any("(when parameter 'port' is 'http')" in d.message for d in found)


def test_merge_keys_copy_values_with_their_own_positions() -> None:
    text = "x-probe: &probe {kind: ping, from: a, to: 10.0.0.2, timeout: 2}\n" + GOOD.replace(
        '  - {name: reach, kind: tcp, from: a, to: 10.0.0.2, port: "${port}"}',
        "  - {<<: *probe, name: one}\n  - {<<: *probe, name: two, timeout: 3}",
    ).replace("params:\n  port: {choices: [8080, 9090, 7070]}\n", "")
    scenario = loader.load_text(text, "s.yaml")
    assert [(c.name, c.timeout) for c in scenario.checks] == [("one", 2.0), ("two", 3.0)]
    assert scenario.checks[0].at("node").line == 1


def test_x_keys_at_the_top_are_ignored_but_other_unknown_keys_are_not() -> None:
    loader.load_text("x-anything: {a: 1}\n" + GOOD, "s.yaml")
    [found] = errors("y-anything: 1\n" + GOOD)
    assert "unknown key 'y-anything'" in found and "x- are ignored" in found


def test_default_route_follows_the_gateway_version() -> None:
    text = GOOD.replace("10.0.0.1/24]", '10.0.0.1/24, "2001:db8::1/64"]').replace(
        "10.0.0.2/24]", '10.0.0.2/24, "2001:db8::2/64"]'
    )
    text = text.replace(
        "  b:\n", "    routes: [{to: default, via: 10.0.0.2}, {to: default, via: '2001:db8::2'}]\n  b:\n"
    )
    routes = loader.load_text(text, "s.yaml").nodes["a"].routes
    assert [str(r.to) for r in routes] == ["0.0.0.0/0", "::/0"]


def test_an_empty_key_means_the_default() -> None:
    text = GOOD.replace("  b:\n", "    routes:\n    sysctls:\n  b:\n")
    node = loader.load_text(text, "s.yaml").nodes["a"]
    assert node.routes == () and node.sysctls == {}


def test_read_file_reports_os_and_encoding_problems(tmp_path: Path) -> None:
    assert read_file(str(tmp_path / "missing.yaml"))[1][0].message == "no such file"
    assert read_file(str(tmp_path))[1][0].message == "is a directory, not a scenario file"
    (tmp_path / "big.yaml").write_bytes(b"#" * (MAX_BYTES + 1))
    assert "larger than" in read_file(str(tmp_path / "big.yaml"))[1][0].message
    (tmp_path / "nul.yaml").write_bytes(b"a: 1\nb: \x00\n")
    assert read_file(str(tmp_path / "nul.yaml"))[1][0].loc.line == 2
    (tmp_path / "bom.yaml").write_bytes("\ufeff".encode() + GOOD.encode())
    text, problems = read_file(str(tmp_path / "bom.yaml"))
    assert text == GOOD and problems == []


def test_load_raises_scenario_error_for_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as err:
        loader.load(str(tmp_path / "nope.yaml"))
    assert err.value.diagnostics[0].message == "no such file"


@pytest.mark.parametrize(
    "path",
    sorted([*REPO.glob("scenarios/*.yaml"), *REPO.glob("tests/scenarios/*.yaml")]),
    ids=lambda p: p.name,
)
def test_every_shipped_scenario_is_valid_with_every_choice(path: Path) -> None:
    scenario, found = loader.check_file(str(path))
    assert found == [], "\n".join(d.render() for d in found)
    assert scenario is not None


def test_gateway_must_be_on_link() -> None:
    text = GOOD.replace("links:", "    routes: [{to: default, via: 10.9.9.1}]\nlinks:")
    [found] = errors(text)
    assert found.startswith("s.yaml:11:33: error: nodes.b.routes[0].via: gateway 10.9.9.1 is not on a subnet")
    assert "10.0.0.0/24 (eth0)" in found


_YAMLISH = st.sampled_from([*" \t\n:-[]{},&*!|>'\"#@`?x0./", "${port}", "<<: *a", "&a ", "- ", "~", "01"])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_no_edit_of_a_good_file_gives_anything_but_scenario_errors(data: st.DataObject) -> None:
    """Whatever a typo does to a file, the answer is diagnostics, never a traceback."""
    text = GOOD
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:at] + data.draw(_YAMLISH) + text[at:]
        else:
            text = text[:at] + text[at + data.draw(st.integers(1, 6)) :]
    scenario, found = loader.check_text(text, "s.yaml")
    assert (scenario is None) == bool(found)


def test_hints_with_when_are_shown_only_in_their_variant() -> None:
    text = """
metadata: {name: h, title: t}
params:
  fault: {choices: [down, moved]}
nodes:
  a: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
  b: {interfaces: {eth0: {addresses: [10.0.0.2/24]}}}
links: [[a:eth0, b:eth0]]
faults:
  - {kind: interface-down, node: a, iface: eth0, when: {fault: down}}
  - {kind: wrong-address, node: a, iface: eth0, to: 10.0.0.9/24, when: {fault: moved}}
hints:
  - Start at a.
  - {text: Is eth0 up?, when: {fault: down}}
  - {text: Which address does a have?, when: {fault: [moved]}}
"""
    down = loader.load_text(text, "h.yaml", overrides={"fault": "down"})
    moved = loader.load_text(text, "h.yaml", overrides={"fault": "moved"})
    assert down.active_hints() == ("Start at a.", "Is eth0 up?")
    assert moved.active_hints() == ("Start at a.", "Which address does a have?")
    assert [h.when for h in down.hints] == [{}, {"fault": ("down",)}, {"fault": ("moved",)}]
