"""A seed picks the fault and its values; the checks follow the same choice (no root)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from nslab.faults.apply import apply_faults
from nslab.scenario import loader

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ROUTED = str(SCENARIOS / "fault-routed.yaml")


def test_every_fault_test_scenario_validates_for_every_choice() -> None:
    files = sorted(SCENARIOS.glob("fault-*.yaml"))
    assert len(files) >= 5
    for path in files:
        base = loader.load(str(path))
        for name, param in base.params.items():
            for choice in param.choices:
                loader.load(str(path), overrides={name: choice})


def test_each_seed_gets_exactly_one_fault_and_checks_that_name_its_port() -> None:
    seen: Counter[tuple[str, int]] = Counter()
    for i in range(120):
        scenario = loader.load(ROUTED, seed=f"learner-{i}")
        chosen = scenario.chosen["fault"]
        port = scenario.chosen["port"]
        [fault] = scenario.active_faults()
        assert fault.kind == chosen
        seen[(chosen, port)] += 1
        if chosen in ("firewall-drop", "firewall-reject"):
            assert fault.params["port"] == port
            [check] = [c for c in scenario.active_checks() if c.name == "port-not-filtered"]
            assert check.params["match"] == f"--dport {port}"
        else:
            assert "port-not-filtered" not in {c.name for c in scenario.active_checks()}
        # The broken build differs from the healthy one, exactly where the chosen fault says.
        broken = apply_faults(scenario)
        changed = {n for n in scenario.nodes if broken.nodes[n] != scenario.nodes[n]}
        assert changed == {fault.params["node"]}, (chosen, changed)
    faults = {f for f, _ in seen}
    assert faults == set(loader.load(ROUTED).params["fault"].choices)
    assert {p for _, p in seen} == {8080, 9090}


def test_the_same_seed_always_gives_the_same_lab() -> None:
    first = loader.load(ROUTED, seed="alice")
    for _ in range(3):
        again = loader.load(ROUTED, seed="alice")
        assert again.chosen == first.chosen
        assert apply_faults(again) == apply_faults(first)


def test_a_forced_parameter_beats_the_seed() -> None:
    scenario = loader.load(ROUTED, seed="alice", overrides={"fault": "rp-filter-strict"})
    assert [f.kind for f in scenario.active_faults()] == ["rp-filter-strict"]
