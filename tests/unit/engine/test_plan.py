"""The planner is pure: the same scenario always gives the same indexes and messages."""

from __future__ import annotations

from nslab.engine import plan
from nslab.kernel import rtnl
from nslab.scenario import loader


def test_star_plan_indexes_and_batches(scenario_dir: object) -> None:
    scenario = loader.load(f"{scenario_dir}/two-hosts.yaml")
    bplan = plan.make(scenario, "lab", "b1", first_index=2)
    sw = bplan.node("sw1")
    assert sw.ifaces["br0"].index == 2 and sw.ifaces["br0"].kind == "bridge"
    assert [(i.name, i.index, i.master) for i in sw.ifaces.values() if i.kind == "veth"] == [
        ("p1", 3, "br0"),
        ("p2", 4, "br0"),
    ]
    # veths are created from the later-built namespace, peer placed into the earlier one
    assert [(v.here, v.there) for v in bplan.node("h1").veths] == [("h1", "sw1")]
    kinds = [r.kind for r in plan.config_requests(bplan.node("h1"))]
    assert kinds == [rtnl.RTM_NEWADDR, rtnl.RTM_NEWLINK]
    assert plan.lo_requests(bplan.node("h1"))[0].body.endswith(
        b"nslab:lab:h1:b1\x00" + b"\x00" * ((-len("nslab:lab:h1:b1") - 1 - 4) % 4)
    )


def test_router_gets_forwarding(scenario_dir: object) -> None:
    scenario = loader.load(f"{scenario_dir}/host-router-host.yaml")
    bplan = plan.make(scenario, "lab", "b1")
    assert bplan.node("r1").sysctls == {"net.ipv4.icmp_ratelimit": "0", "net.ipv4.ip_forward": "1"}
    assert bplan.node("client").sysctls == {"net.ipv4.icmp_ratelimit": "0"}


def test_restore_join_keeps_negation_bare_and_quotes_spaces() -> None:
    from nslab.scenario.firewall import restore_join

    assert (
        restore_join(["-A", "FORWARD", "!", "-o", "docker0", "-j", "ACCEPT"])
        == "-A FORWARD ! -o docker0 -j ACCEPT"
    )
    assert restore_join(["--log-prefix", "a b: "]) == '--log-prefix "a b: "'
    assert restore_join(["--comment", 'say "hi"']) == '--comment "say \\"hi\\""'


def test_no_veth_shares_its_index_with_its_peer(scenario_dir: object) -> None:
    """Equal indexes make the kernel bring the link up late (tests/root/engine: every veth up)."""
    from pathlib import Path

    files = sorted(Path(str(scenario_dir)).glob("*.yaml"))
    assert len(files) > 10
    pairs = 0
    for path in files:
        bplan = plan.make(loader.load(str(path)), "lab", "b1", first_index=2)
        for node in bplan.nodes:
            for veth in node.veths:
                pairs += 1
                assert veth.here_iface.index != veth.there_iface.index, (path.name, veth.here, veth.there)
            indexes = [i.index for i in node.ifaces.values()]
            assert len(indexes) == len(set(indexes)), (path.name, node.name)
    assert pairs > 20
