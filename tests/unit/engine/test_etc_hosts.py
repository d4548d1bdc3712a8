"""Every node's /etc/hosts names the lab's nodes, unless the lab teaches name resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from nslab import plugins
from nslab.engine import etcfiles
from nslab.scenario.loader import load

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


@pytest.fixture(autouse=True, scope="module")
def _kinds() -> None:
    plugins.load()


def test_each_node_reaches_a_peer_by_its_nearest_address() -> None:
    scenario = load(str(SCENARIOS / "host-router-host.yaml"))
    client, server = scenario.nodes["client"], scenario.nodes["server"]
    assert etcfiles.node_names(scenario, client) == {
        "client": "10.0.1.10",
        "r1": "10.0.1.1",
        "server": "10.0.2.10",
    }
    assert etcfiles.node_names(scenario, server)["r1"] == "10.0.2.1"
    text = etcfiles.files_for("lab", client, scenario)["hosts"]
    assert "10.0.1.1\tr1\n" in text and "127.0.0.1\tlocalhost\n" in text


def test_dns_labs_name_only_the_node_itself() -> None:
    scenario = load(str(SCENARIOS / "every-website-down.yaml"))
    assert scenario.metadata.hosts == "none"
    client = scenario.nodes["client"]
    names = etcfiles.node_names(scenario, client)
    assert names == {"client": "10.0.1.10"}
    assert "res\n" not in etcfiles.files_for("lab", client, scenario)["hosts"]


def test_a_scenario_hosts_entry_wins_over_the_node_name() -> None:
    scenario = load(str(SCENARIOS / "l4-load-balancer.yaml"))
    client = scenario.nodes["client"]
    text = etcfiles.files_for("lab", client, scenario)["hosts"]
    assert text.count("\tclient\n") == 1
