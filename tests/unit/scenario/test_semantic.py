"""Meaning checks that the golden cases do not pin down: what must stay valid, the Report API
that kind hooks use, and the conservative behaviour after structural errors."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

import pytest

from nslab.checks.kinds import CHECKS
from nslab.errors import ScenarioError
from nslab.scenario import loader, semantic
from nslab.scenario.schema import Field, Ref

OVERLAY = """\
metadata: {name: overlay, title: Overlay}
nodes:
  node1:
    kind: router
    interfaces:
      eth0: {addresses: [192.168.50.1/24]}
      cni0: {kind: bridge, addresses: [10.244.0.1/16]}
      vxlan0: {kind: vxlan, master: cni0, mtu: 1450, vxlan: {vni: 42, remote: 192.168.50.2, dev: eth0}}
      veth-pod1: {master: cni0}
  node2:
    kind: router
    interfaces:
      eth0: {addresses: [192.168.50.2/24]}
      cni0: {kind: bridge, addresses: [10.244.1.1/16]}
      vxlan0: {kind: vxlan, master: cni0, mtu: 1450, vxlan: {vni: 42, remote: 192.168.50.1, dev: eth0}}
      veth-pod2: {master: cni0}
  pod1:
    interfaces:
      eth0: {addresses: [10.244.0.10/16], mtu: 1450}
    routes: [{to: default, via: 10.244.1.1}]
  pod2:
    interfaces:
      eth0: {addresses: [10.244.1.10/16], mtu: 1450}
links:
  - [node1:eth0, node2:eth0]
  - [node1:veth-pod1, pod1:eth0]
  - [node2:veth-pod2, pod2:eth0]
"""

VALID = """\
metadata: {name: valid, title: Things that must stay valid}
nodes:
  sw1:
    kind: switch
    interfaces:
      br0: {kind: bridge, mtu: 9000}
      uplink: {}
  r1:
    kind: router
    interfaces:
      eth0: {addresses: [10.0.0.1/24, "2001:db8::1/64"], mac: "02:00:00:00:00:01"}
      eth1: {addresses: [10.0.1.1/30]}
    routes:
      - {to: 10.9.0.0/16, via: 10.0.1.2, metric: 10}
      - {to: 10.9.0.0/16, via: 10.0.1.2, metric: 20}
      - {to: 10.8.0.0/16, type: blackhole}
      - {to: 10.7.0.0/16, dev: eth1, src: 10.0.0.1}
    sysctls: {net.ipv4.conf.eth1.rp_filter: 2, net.ipv4.conf.all.forwarding: 1}
    firewall:
      filter: |
        -A FORWARD -j CHECKS
        -N CHECKS
        -A CHECKS -i eth+ -p tcp -m multiport --dports 22,80 -j ACCEPT
        -A CHECKS -s 10.9.0.0/16 -j REJECT
        -A CHECKS ! -s 10.0.0.0/24 -p icmp --icmp-type echo-request -j DROP
        -P FORWARD DROP
      nat: |
        -A PREROUTING -i eth1 -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.10:80
        -A POSTROUTING -o eth1 -j MASQUERADE
      mangle: |
        -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
  h1:
    interfaces:
      eth0: {addresses: [10.0.0.10/24, "2001:db8::10/64"]}
    routes: [{to: default, via: 10.0.0.1}, {to: default, via: "2001:db8::1"}]
    resolv: {nameservers: [127.0.0.53, 10.0.0.1]}
    hosts: {router: [10.0.0.1, "2001:db8::1"], me: 127.0.0.1}
  h2:
    interfaces:
      eth0: {addresses: [10.0.1.2/30]}
    routes: [{to: default, via: 10.0.1.1}]
  h3:
    interfaces:
      eth0: {addresses: [10.0.0.11/24]}
links:
  - [sw1, r1:eth0]
  - [h1:eth0, sw1]
  - [sw1:uplink, h3:eth0]
  - {a: "r1:eth1", b: "h2:eth0", mtu: 1500}
"""


def errors(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        loader.load_text(text, "s.yaml")
    return [d.message for d in err.value.diagnostics]


def test_a_vxlan_overlay_is_one_segment() -> None:
    scenario = loader.load_text(OVERLAY, "s.yaml")
    report = semantic.Report(scenario)
    assert report.domain("pod1", "eth0") == report.domain("pod2", "eth0")
    # broadcast_domains itself (used by the topology drawing) keeps overlays apart
    domains = semantic.broadcast_domains(scenario)
    assert domains[("pod1", "eth0")] != domains[("pod2", "eth0")]


def test_an_overlay_gateway_is_found_across_the_tunnel_and_duplicates_too() -> None:
    loader.load_text(OVERLAY, "s.yaml")  # pod1's gateway 10.244.1.1 lives on node2, over VXLAN
    clash = OVERLAY.replace("10.244.1.10/16", "10.244.0.10/16")
    assert any("10.244.0.10 is also on pod1:eth0" in e for e in errors(clash))


def test_configurations_that_work_stay_valid() -> None:
    scenario = loader.load_text(VALID, "s.yaml")
    assert [str(r.to) for r in scenario.nodes["h1"].routes] == ["0.0.0.0/0", "::/0"]


def test_switch_ports_named_or_not_are_one_segment() -> None:
    scenario = loader.load_text(VALID, "s.yaml")
    report = semantic.Report(scenario)
    assert report.domain("h1", "eth0") == report.domain("h3", "eth0") == report.domain("r1", "eth0")
    assert report.owners(ipaddress.ip_address("10.0.0.1")) == [("r1", "eth0")]


def test_report_lookups_for_kind_hooks() -> None:
    scenario = loader.load_text(VALID, "s.yaml")
    report = semantic.Report(scenario)
    assert report.node("r1", scenario.loc) is scenario.nodes["r1"]
    assert report.node("r11", scenario.loc, "fault node") is None
    assert report.interface(scenario.nodes["r1"], "eth2", scenario.loc, "x.dev") is None
    assert report.service("web", scenario.loc) is None
    assert [d.message for d in report.diagnostics] == [
        "fault node 'r11' is not a node of this scenario",
        "x.dev: node 'r1' has no interface 'eth2'",
        "'web' is not a service of this scenario",
    ]
    assert [d.hint for d in report.diagnostics] == [
        "known nodes: h1, h2, h3, r1, sw1",  # r11 is no typo of r1: another number
        "its interfaces: eth0, eth1",
        "the scenario declares no services",
    ]


def test_references_to_an_invalid_node_are_not_reported_again() -> None:
    text = VALID.replace("  h2:\n    interfaces:", "  h2:\n    kind: laptop\n    interfaces:")
    found = errors(text)
    assert found == ["nodes.h2.kind: 'laptop' is not one of: host, router, switch"]


def test_absence_checks_wait_for_a_clean_structure() -> None:
    """With a structural error, "no node has address X" could be wrong (X may sit in the
    broken part), so such conclusions are held back until the structure is fixed."""
    text = VALID.replace("{to: default, via: 10.0.1.1}]", "{to: default, via: 10.0.1.3}]")
    assert errors(text) == [
        "nodes.h2.routes[0].via: no node on the 10.0.1.0/30 segment of 'h2' has the address 10.0.1.3"
    ]
    assert errors(text.replace("minutes", "x").replace("title: Things", "titel: Things")) == [
        "metadata: missing required key 'title'",
        "metadata: unknown key 'titel'",
    ]


def test_a_hook_that_trips_over_a_half_built_scenario_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(scenario: Any, check: Any, report: Any) -> None:
        raise KeyError("not there")

    ping = CHECKS.get("ping")
    monkeypatch.setitem(CHECKS._kinds, "ping", dataclasses.replace(ping, semantic=boom))
    text = VALID + "checks:\n  - {name: p, kind: ping, from: h1, to: 10.0.0.1}\n"
    with pytest.raises(KeyError):  # on a whole scenario a crashing hook is a bug, and shows
        loader.load_text(text, "s.yaml")
    broken = text.replace(
        "kind: router\n    interfaces:\n      eth0:", "kind: router\n    interfacs:\n      eth0:"
    )
    assert any("unknown key 'interfacs'" in e for e in errors(broken))


def test_fields_declared_as_references_are_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    ping = CHECKS.get("ping")
    fields = {
        **ping.fields,
        "peer": Field(Ref("node")),
        "port_of": Field(Ref("interface", of="from")),
        "svc": Field(Ref("service")),
    }
    monkeypatch.setitem(CHECKS._kinds, "ping", dataclasses.replace(ping, fields=fields, semantic=None))
    good = VALID + "checks:\n  - {name: p, kind: ping, from: r1, to: 10.0.0.1, peer: h1, port_of: eth1}\n"
    loader.load_text(good, "s.yaml")
    bad = (
        VALID
        + "checks:\n  - {name: p, kind: ping, from: r1, to: 10.0.0.1, peer: h9, port_of: eth9, svc: web}\n"
    )
    assert errors(bad) == [
        "peer: 'h9' is not a node of this scenario",
        "port_of: node 'r1' has no interface 'eth9'",
        "'web' is not a service of this scenario",
    ]


def test_a_lab_with_too_many_nodes_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "MAX_NODES_PER_LAB", 3)
    assert "5 nodes; at most 3 per lab" in errors(VALID)


def test_ipv6_routes_with_different_next_hops_join_but_ipv4_ones_clash() -> None:
    text = """\
metadata: {name: multi, title: Multipath}
nodes:
  sw: {kind: switch}
  h:
    interfaces:
      eth0: {addresses: [10.0.0.1/24, "2001:db8::1/64"]}
    routes:
      - {to: "2001:db8:9::/48", via: "2001:db8::2"}
      - {to: "2001:db8:9::/48", via: "2001:db8::3"}
      - {to: 10.9.0.0/16, via: 10.0.0.2}
      - {to: 10.9.0.0/16, via: 10.0.0.3}
  r2:
    interfaces:
      eth0: {addresses: [10.0.0.2/24, "2001:db8::2/64"]}
  r3:
    interfaces:
      eth0: {addresses: [10.0.0.3/24, "2001:db8::3/64"]}
links: [[h:eth0, sw], [r2:eth0, sw], [r3:eth0, sw]]
"""
    assert errors(text) == [
        "nodes.h.routes[3]: a second route to 10.9.0.0/16 with the same metric (the first is at line 10)"
    ]


def test_a_capitalised_node_name_is_one_error_however_often_it_is_used() -> None:
    text = """
metadata: {name: upper, title: t}
nodes:
  Client:
    interfaces: {eth0: {addresses: [10.0.0.1/24]}}
  server:
    interfaces: {eth0: {addresses: [10.0.0.2/24]}}
links:
  - [Client:eth0, server:eth0]
services:
  - {name: web, kind: tcp, node: Client, port: 80}
checks:
  - {name: reach, kind: ping, from: Client, to: 10.0.0.2}
  - {name: again, kind: ping, from: client, to: 10.0.0.2}
solution:
  - {node: Client, run: "true"}
"""
    with pytest.raises(ScenarioError) as caught:
        loader.load_text(text, "u.yaml")
    found = [(d.loc.line, d.message, d.hint) for d in caught.value.diagnostics]
    assert found == [
        (
            4,
            "nodes.Client: 'Client' has capital letters; nslab names are lowercase",
            "write 'client' here and everywhere the scenario refers to it",
        )
    ]
