"""Faults are validated in order, each against the lab the earlier faults of its variant leave."""

from __future__ import annotations

from pathlib import Path

import pytest

from nslab.errors import ScenarioError
from nslab.faults.apply import apply_faults
from nslab.scenario import loader

RULES = str(Path(__file__).resolve().parents[2] / "scenarios" / "fault-rules.yaml")


def forward_rules(edit: str) -> list[str]:
    scenario = loader.load(RULES, overrides={"edit": edit})
    fw = apply_faults(scenario).nodes["r1"].firewall
    assert fw is not None
    return [line for line in fw.filter.splitlines() if line.strip()]


def test_each_variant_applies_its_own_chain() -> None:
    assert forward_rules("delete") == ["-P FORWARD DROP", "-A FORWARD -i eth0 -o eth1 -j ACCEPT"]
    assert forward_rules("replace") == [
        "-P FORWARD DROP",
        "-A FORWARD -i eth0 -o eth1 -p udp -j ACCEPT",
        "-A FORWARD -i eth1 -o eth0 -j ACCEPT",
    ]
    # The third fault deletes the line the second one wrote: valid only on top of it.
    assert forward_rules("chain") == ["-P FORWARD DROP", "-A FORWARD -i eth1 -o eth0 -j ACCEPT"]


def test_a_fault_that_needs_an_earlier_one_is_refused_where_that_one_is_not_active() -> None:
    text = Path(RULES).read_text().replace("when: {edit: [replace, chain]}", "when: {edit: replace}")
    with pytest.raises(ScenarioError) as err:
        loader.load_text(text, "r.yaml", overrides={"edit": "chain"})
    [found] = err.value.diagnostics
    assert found.message == "'r1' has no such rule in its filter table to delete"
    assert found.loc.line == 47


def test_a_route_an_earlier_fault_took_away_cannot_be_broken_again() -> None:
    text = (
        Path(RULES)
        .read_text()
        .replace(
            "faults:\n",
            "faults:\n"
            "  - {kind: wrong-address, node: client, iface: eth0, to: 10.0.7.10/24, when: {edit: delete}}\n"
            "  - {kind: wrong-gateway, node: client, via: 10.0.1.2, when: {edit: delete}}\n",
        )
    )
    # Each fault is checked in its own variant, whichever variant is being loaded.
    for edit in ("delete", "replace"):
        with pytest.raises(ScenarioError) as err:
            loader.load_text(text, "r.yaml", overrides={"edit": edit})
        [found] = err.value.diagnostics
        assert found.message == "node 'client' has no route to default (in the lab the faults above it leave)"
        assert found.hint == "'client' has no routes"
