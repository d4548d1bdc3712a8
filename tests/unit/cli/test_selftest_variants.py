"""`nslab selftest --param`: which variants run (the choosing, without root or a lab)."""

from __future__ import annotations

from pathlib import Path

from nslab.cli.cmd_selftest import selected_variants
from nslab.scenario import loader

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_a_forced_value_keeps_only_its_variants() -> None:
    scenario = loader.load(str(SCENARIOS / "fault-rules.yaml"))
    assert selected_variants(scenario, {}) == [{"edit": "delete"}, {"edit": "replace"}, {"edit": "chain"}]
    assert selected_variants(scenario, {"edit": "replace"}) == [{"edit": "replace"}]


def test_a_parameter_no_when_uses_is_set_in_the_variants_kept() -> None:
    scenario = loader.load(str(SCENARIOS / "fault-routed.yaml"))
    every = selected_variants(scenario, {})
    assert len(every) == 16  # fault is used in when:, port only in ${port}
    assert selected_variants(scenario, {"fault": "sysctl"}) == [{"fault": "sysctl"}]
    assert selected_variants(scenario, {"fault": "sysctl", "port": 9090}) == [
        {"fault": "sysctl", "port": 9090}
    ]
