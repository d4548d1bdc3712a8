"""The trust model in the scenario layer: what a scenario does as root, and the gate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nslab.errors import UsageError
from nslab.scenario import catalog, loader, trust

SCENARIO = """\
metadata: {name: trusty, title: t}
nodes:
  h1:
    interfaces: {eth0: {addresses: [10.0.0.1/24]}}
    sysctls: {net.ipv4.conf.all.rp_filter: 2}
    firewall: {filter: "-A INPUT -p tcp --dport 23 -j DROP"}
  h2:
    interfaces: {eth0: {addresses: [10.0.0.2/24]}}
links: [[h1:eth0, h2:eth0]]
services:
  - {name: job, kind: exec, node: h2, command: "touch /tmp/x\\necho done"}
  - {name: web, kind: http, node: h2}
solution:
  - {node: h1, run: ip link set eth0 up}
"""


def test_root_actions_list_commands_sysctls_firewall_and_files() -> None:
    scenario = loader.load_text(SCENARIO, "t.yaml")
    actions = trust.root_actions(scenario)
    by_kind = {a.what: [x.text for x in actions if x.what == a.what] for a in actions}
    assert by_kind["command"] == [
        "service job (exec): touch /tmp/x ; echo done",
        "solution: ip link set eth0 up",
    ]
    assert by_kind["sysctl"] == ["net.ipv4.conf.all.rp_filter = 2"]
    assert by_kind["firewall"] == ["iptables-restore into the node's tables: filter"]
    assert any("hosts and resolv.conf of h1, h2" in t for t in by_kind["file"])
    assert any("settings of services job, web" in t for t in by_kind["file"])
    job = next(a for a in actions if a.text.startswith("service job"))
    assert (job.node, job.loc.line) == ("h2", 11)  # points at the command itself
    lines = trust.describe(actions)
    assert lines[0] == "runs as root:" and "  commands:" in lines


def test_sources_pick_what_a_verb_runs() -> None:
    scenario = loader.load_text(SCENARIO, "t.yaml")
    assert [a.source for a in trust.commands(scenario, (trust.SERVICES,))] == [trust.SERVICES]
    assert [a.source for a in trust.commands(scenario, (trust.SOLUTION,))] == [trust.SOLUTION]


def test_a_scenario_without_commands_lists_none() -> None:
    scenario = loader.load_text(SCENARIO.split("services:")[0], "t.yaml")
    assert trust.commands(scenario) == []


def test_shipped_means_the_packages_own_directory(tmp_path: Path) -> None:
    shipped = catalog.shipped_dir() / "two-hosts.yaml"
    assert trust.is_shipped(shipped) and trust.is_shipped(str(shipped), shipped.read_text())
    copy = tmp_path / "two-hosts.yaml"
    shutil.copyfile(shipped, copy)
    assert not trust.is_shipped(copy)  # same name and text, but not the package's file
    assert not trust.is_shipped(shipped, shipped.read_text() + "\n# edited copy of a running lab\n")
    assert not trust.is_shipped(tmp_path / "missing.yaml")


def test_gate_refuses_foreign_commands_and_names_them(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(SCENARIO)
    scenario = loader.load_text(SCENARIO, str(path))
    with pytest.raises(UsageError) as caught:
        trust.gate(scenario, str(path), None, False, (trust.SERVICES, trust.SOLUTION))
    assert caught.value.exit_code == 2
    assert "runs 2 command(s) as root" in caught.value.message
    assert "touch /tmp/x ; echo done" in caught.value.message
    assert "ip link set eth0 up" in caught.value.message
    assert "--allow-exec" in (caught.value.hint or "")
    trust.gate(scenario, str(path), None, True, (trust.SERVICES, trust.SOLUTION))  # allowed: no raise


def test_gate_lets_shipped_scenarios_and_command_free_files_through(tmp_path: Path) -> None:
    shipped = catalog.shipped_dir() / "host-router-host.yaml"  # has a solution
    scenario = loader.load(str(shipped))
    assert trust.commands(scenario)
    trust.gate(scenario, str(shipped), None, False, (trust.SERVICES, trust.SOLUTION))
    plain = tmp_path / "plain.yaml"
    plain.write_text(SCENARIO.split("services:")[0])
    trust.gate(loader.load(str(plain)), str(plain), None, False, (trust.SERVICES, trust.SOLUTION))


def test_node_setup_scripts_are_commands_that_up_runs() -> None:
    """A node's setup script runs as root at `up` and `reset`: listed and gated like an exec
    service's command."""
    text = SCENARIO.replace(
        "  h2:\n    interfaces: {eth0: {addresses: [10.0.0.2/24]}}",
        "  h2:\n    interfaces: {eth0: {addresses: [10.0.0.2/24]}}\n    setup: echo 1 > /etc/motd",
    )
    scenario = loader.load_text(text, "t.yaml")
    found = [a for a in trust.commands(scenario, (trust.SERVICES,)) if a.text.startswith("setup:")]
    assert [(a.node, a.text) for a in found] == [("h2", "setup: echo 1 > /etc/motd")]
    assert found[0].loc.line == 9
    assert not [a for a in trust.commands(scenario, (trust.SOLUTION,)) if a.text.startswith("setup:")]
