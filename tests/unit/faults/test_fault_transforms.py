"""Every fault transformation, without root: the exact change to the model and nothing else.

Each test loads one healthy scenario with one fault, applies it, and compares the whole
broken scenario with the healthy one edited by hand: equality of frozen dataclasses means
no other field moved.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from nslab.faults.apply import apply_fault, apply_faults
from nslab.faults.edit import update_iface, update_node, update_service
from nslab.scenario import firewall, loader
from nslab.scenario import model as m
from nslab.scenario.loader import replace

BASE = """\
metadata: {name: t, title: t}
nodes:
  lan: {kind: switch}
  client:
    interfaces:
      eth0: {addresses: [10.0.1.10/24, "2001:db8:1::10/64"], mac: "02:00:00:00:01:10"}
    routes:
      - {to: default, via: 10.0.1.1}
      - {to: 10.9.0.0/16, via: 10.0.1.1}
    hosts: {server.lab: 10.0.2.10, Old.Lab: 10.0.1.20}
    neighbors:
      - {ip: 10.0.1.20, mac: "02:00:00:00:01:20", dev: eth0}
  h2:
    interfaces:
      eth0: {addresses: [10.0.1.20/24], mac: "02:00:00:00:01:20"}
  r1:
    kind: router
    interfaces:
      eth0: {addresses: [10.0.1.1/24]}
      eth1: {addresses: [10.0.2.1/24], mtu: 1400}
      eth2: {addresses: [203.0.113.1/24]}
      up.link: {kind: bridge}
    firewall:
      filter: |
        -A FORWARD -p tcp --dport 23 -j REJECT
        # a comment line
        -A INPUT -p tcp --dport 22 -j ACCEPT
      nat: |
        -A POSTROUTING -s 10.0.1.0/24 -o eth2 -j MASQUERADE
        -A POSTROUTING -s 10.0.2.0/24 -o eth2 -j SNAT --to-source 203.0.113.1
        -A PREROUTING -i eth2 -p tcp --dport 8080 -j DNAT --to-destination 10.0.2.10:80
        -A PREROUTING -i eth2 -p tcp --dport 443 -j DNAT --to 10.0.2.10
  server:
    interfaces:
      eth0: {addresses: [10.0.2.10/24]}
    routes:
      - {to: 10.0.1.0/24, via: 10.0.2.1}
  inet:
    interfaces:
      eth0: {addresses: [203.0.113.10/24]}
links:
  - [client:eth0, lan]
  - [h2:eth0, lan]
  - [r1:eth0, lan]
  - {a: "r1:eth1", b: "server:eth0", mtu: 1400}
  - [r1:eth2, inet:eth0]
services:
  - {name: app, kind: tcp, node: server, port: 80}
  - {name: hello, kind: udp, node: server, port: 7}
  - name: auth
    kind: dns
    node: server
    zones:
      .:
        records:
          - {name: "@", type: NS, value: ns.lab.}
      lab:
        records:
          - {name: www, type: A, value: 10.0.2.10}
          - {name: www, type: A, value: 10.0.2.11}
          - {name: api.lab., type: A, value: 10.0.2.12}
          - {name: mail, type: MX, value: "10 www"}
  - {name: rec, kind: resolver, node: server, port: 5353, roots: [10.0.2.10]}
"""


def load(faults: str = "") -> m.Scenario:
    return loader.load_text(BASE + ("faults:\n" + faults if faults else ""), "t.yaml")


def broken(fault: str) -> tuple[m.Scenario, m.Scenario]:
    """(healthy, broken) for a scenario with this one fault (a YAML flow mapping)."""
    healthy = load(f"  - {fault}\n")
    return healthy, apply_faults(healthy)


def ip(text: str) -> Any:
    return ipaddress.ip_address(text)


def iface(text: str) -> Any:
    return ipaddress.ip_interface(text)


# --- interfaces and the link layer ----------------------------------------------------------


def test_interface_down_only_clears_up() -> None:
    healthy, out = broken("{kind: interface-down, node: client, iface: eth0}")
    assert out == update_iface(healthy, "client", "eth0", up=False)


def test_wrong_netmask_changes_the_first_address_only() -> None:
    healthy, out = broken("{kind: wrong-netmask, node: client, iface: eth0, prefixlen: 16}")
    expected = (iface("10.0.1.10/16"), iface("2001:db8:1::10/64"))
    assert out == update_iface(healthy, "client", "eth0", addresses=expected)


def test_wrong_netmask_on_a_named_address() -> None:
    healthy, out = broken(
        '{kind: wrong-netmask, node: client, iface: eth0, address: "2001:db8:1::10", prefixlen: 48}'
    )
    expected = (iface("10.0.1.10/24"), iface("2001:db8:1::10/48"))
    assert out == update_iface(healthy, "client", "eth0", addresses=expected)


def test_wrong_address_with_a_wrong_host_part_keeps_every_route() -> None:
    healthy, out = broken("{kind: wrong-address, node: client, iface: eth0, to: 10.0.1.99/24}")
    expected = (iface("10.0.1.99/24"), iface("2001:db8:1::10/64"))
    assert out == update_iface(healthy, "client", "eth0", addresses=expected)


def test_wrong_address_in_another_subnet_loses_the_routes_it_leaves_off_link() -> None:
    # As in the kernel: 10.0.1.1 is no longer on-link, so both routes through it go.
    healthy, out = broken("{kind: wrong-address, node: client, iface: eth0, to: 10.0.7.10/24}")
    expected = (iface("10.0.7.10/24"), iface("2001:db8:1::10/64"))
    readdressed = update_iface(healthy, "client", "eth0", addresses=expected)
    assert out == update_node(readdressed, "client", routes=())


def test_wrong_address_of_a_named_address_leaves_the_other_family_alone() -> None:
    healthy, out = broken(
        '{kind: wrong-address, node: client, iface: eth0, address: "2001:db8:1::10", to: "2001:db8:9::10/64"}'
    )
    expected = (iface("10.0.1.10/24"), iface("2001:db8:9::10/64"))
    assert out == update_iface(healthy, "client", "eth0", addresses=expected)


def test_sysctl_sets_one_key_and_keeps_the_others() -> None:
    healthy, out = broken("{kind: sysctl, node: r1, key: net.ipv4.conf.eth1.rp_filter, value: 1}")
    assert out == update_node(healthy, "r1", sysctls={"net.ipv4.conf.eth1.rp_filter": "1"})
    healthy, out = broken("{kind: sysctl, node: r1, key: net.ipv4.ip_forward, value: false}")
    assert out == update_node(healthy, "r1", sysctls={"net.ipv4.ip_forward": "0"})


def test_mtu_mismatch_on_one_interface() -> None:
    healthy, out = broken("{kind: mtu-mismatch, node: server, iface: eth0, mtu: 1500}")
    assert out == update_iface(healthy, "server", "eth0", mtu=1500)
    assert out.links == healthy.links


def test_mtu_mismatch_on_a_link_sets_both_declared_ends_and_the_link() -> None:
    healthy, out = broken("{kind: mtu-mismatch, node: server, iface: eth0, mtu: 1500, scope: link}")
    expected = update_iface(update_iface(healthy, "server", "eth0", mtu=1500), "r1", "eth1", mtu=1500)
    links = tuple(replace(lk, mtu=1500) if lk.b.node == "server" else lk for lk in healthy.links)
    assert out == replace(expected, links=links)


def test_mtu_mismatch_on_a_switch_link_sets_the_link_for_the_undeclared_port() -> None:
    healthy, out = broken("{kind: mtu-mismatch, node: h2, iface: eth0, mtu: 9000, scope: link}")
    links = tuple(replace(lk, mtu=9000) if lk.a.node == "h2" else lk for lk in healthy.links)
    assert out == replace(update_iface(healthy, "h2", "eth0", mtu=9000), links=links)
    assert out.nodes["lan"] == healthy.nodes["lan"]


def test_duplicate_ip_takes_the_owner_address_with_its_prefix() -> None:
    healthy, out = broken("{kind: duplicate-ip, node: h2, iface: eth0, address: 10.0.1.10}")
    assert out == update_iface(healthy, "h2", "eth0", addresses=(iface("10.0.1.10/24"),))


def test_wrong_static_arp_replaces_an_entry_for_the_same_ip_and_adds_otherwise() -> None:
    healthy, out = broken("{kind: wrong-static-arp, node: client, iface: eth0, ip: 10.0.1.20}")
    assert out == update_node(
        healthy, "client", neighbors=(m.Neighbor(ip=ip("10.0.1.20"), mac="02:00:00:00:0b:ad", dev="eth0"),)
    )
    healthy, out = broken(
        '{kind: wrong-static-arp, node: client, iface: eth0, ip: 10.0.1.1, mac: "02:aa:00:00:00:01"}'
    )
    added = m.Neighbor(ip=ip("10.0.1.1"), mac="02:aa:00:00:00:01", dev="eth0")
    assert out == update_node(healthy, "client", neighbors=(*healthy.nodes["client"].neighbors, added))


# --- routing ----------------------------------------------------------------------------------


def test_missing_route_removes_exactly_that_network() -> None:
    healthy, out = broken("{kind: missing-route, node: client, to: 10.9.0.0/16}")
    assert out == update_node(healthy, "client", routes=healthy.nodes["client"].routes[:1])


def test_missing_default_route_keeps_the_others() -> None:
    healthy, out = broken("{kind: missing-default-route, node: client}")
    assert out == update_node(healthy, "client", routes=healthy.nodes["client"].routes[1:])


def test_missing_return_route_on_the_far_end() -> None:
    healthy, out = broken("{kind: missing-return-route, node: server, to: 10.0.1.0/24}")
    assert out == update_node(healthy, "server", routes=())


def test_wrong_gateway_changes_only_via_of_that_route() -> None:
    healthy, out = broken("{kind: wrong-gateway, node: client, via: 10.0.1.99}")
    first, second = healthy.nodes["client"].routes
    assert out == update_node(healthy, "client", routes=(replace(first, via=ip("10.0.1.99")), second))


def test_forwarding_off_sets_ip_forward_zero() -> None:
    healthy, out = broken("{kind: forwarding-off, node: r1}")
    assert out == update_node(healthy, "r1", sysctls={"net.ipv4.ip_forward": "0"})


def test_rp_filter_strict_on_all_and_every_interface_in_sysctl_notation() -> None:
    healthy, out = broken("{kind: rp-filter-strict, node: r1}")
    expected = {
        "net.ipv4.conf.all.rp_filter": "1",
        "net.ipv4.conf.eth0.rp_filter": "1",
        "net.ipv4.conf.eth1.rp_filter": "1",
        "net.ipv4.conf.eth2.rp_filter": "1",
        "net.ipv4.conf.up/link.rp_filter": "1",  # '/' stands for the '.' in the name
    }
    assert out == update_node(healthy, "r1", sysctls=expected)


def test_rp_filter_strict_on_one_interface() -> None:
    healthy, out = broken("{kind: rp-filter-strict, node: r1, iface: eth2}")
    expected = {"net.ipv4.conf.all.rp_filter": "1", "net.ipv4.conf.eth2.rp_filter": "1"}
    assert out == update_node(healthy, "r1", sysctls=expected)


# --- firewall and NAT ------------------------------------------------------------------------

FILTER = "-A FORWARD -p tcp --dport 23 -j REJECT\n# a comment line\n-A INPUT -p tcp --dport 22 -j ACCEPT\n"


def with_filter(scenario: m.Scenario, node: str, text: str) -> m.Scenario:
    fw = scenario.nodes[node].firewall or m.Firewall()
    return update_node(scenario, node, firewall=replace(fw, filter=text))


@pytest.mark.parametrize(
    ("fault", "rule"),
    [
        ("{kind: drop-icmp, node: r1}", "-I INPUT -p icmp -j DROP"),
        (
            "{kind: drop-icmp, node: r1, chain: FORWARD, icmp_type: fragmentation-needed}",
            "-I FORWARD -p icmp --icmp-type fragmentation-needed -j DROP",
        ),
        ("{kind: drop-icmp, node: r1, icmp_type: 3/4}", "-I INPUT -p icmp --icmp-type 3/4 -j DROP"),
        ("{kind: firewall-drop, node: r1, port: 8080}", "-I INPUT -p tcp --dport 8080 -j DROP"),
        (
            "{kind: firewall-drop, node: r1, port: 53, proto: udp, chain: FORWARD}",
            "-I FORWARD -p udp --dport 53 -j DROP",
        ),
        (
            "{kind: firewall-reject, node: r1, port: 8080}",
            "-I INPUT -p tcp --dport 8080 -j REJECT --reject-with icmp-port-unreachable",
        ),
        (
            "{kind: firewall-reject, node: r1, port: 8080, reject_with: tcp-reset}",
            "-I INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset",
        ),
    ],
)
def test_filter_faults_append_one_rule_and_keep_every_line_in_place(fault: str, rule: str) -> None:
    healthy, out = broken(fault)
    assert out == with_filter(healthy, "r1", FILTER + rule + "\n")
    assert firewall.lint_table("filter", FILTER + rule + "\n") == []


def test_a_forward_rule_on_a_switch_is_accepted_bridged_frames_pass_that_chain() -> None:
    healthy, out = broken("{kind: firewall-drop, node: lan, port: 80, chain: FORWARD}")
    fw = out.nodes["lan"].firewall
    assert fw is not None and fw.filter == "-I FORWARD -p tcp --dport 80 -j DROP\n"
    assert out == update_node(healthy, "lan", firewall=fw)


def test_a_filter_fault_on_a_node_without_firewall_gives_it_one_located_at_the_fault() -> None:
    healthy, out = broken("{kind: firewall-drop, node: server, port: 80}")
    fw = out.nodes["server"].firewall
    assert fw is not None and fw.filter == "-I INPUT -p tcp --dport 80 -j DROP\n"
    assert out == update_node(healthy, "server", firewall=fw)
    assert fw.at("filter") == healthy.faults[0].loc and fw.at("filter").line == len(BASE.splitlines()) + 2


NAT = BASE.split("      nat: |\n")[1].split("  server:")[0].replace("        ", "").splitlines()


def with_nat(scenario: m.Scenario, lines: list[str]) -> m.Scenario:
    fw = scenario.nodes["r1"].firewall
    assert fw is not None
    return update_node(scenario, "r1", firewall=replace(fw, nat="\n".join(lines) + "\n"))


def test_missing_snat_blanks_every_snat_line_in_place() -> None:
    healthy, out = broken("{kind: missing-snat, node: r1}")
    assert out == with_nat(healthy, ["", "", *NAT[2:]])


def test_missing_snat_with_match_blanks_only_that_rule() -> None:
    healthy, out = broken("{kind: missing-snat, node: r1, match: '-s 10.0.1.0/24'}")
    assert out == with_nat(healthy, ["", *NAT[1:]])
    rules_left = [r for r in out.nodes["r1"].firewall.nat.splitlines() if r]  # type: ignore[union-attr]
    assert len(rules_left) == 3


def test_dnat_wrong_port_rewrites_the_port_and_adds_one_where_none_was() -> None:
    healthy, out = broken("{kind: dnat-wrong-port, node: r1, port: 81}")
    assert out == with_nat(
        healthy,
        [
            *NAT[:2],
            "-A PREROUTING -i eth2 -p tcp --dport 8080 -j DNAT --to-destination 10.0.2.10:81",
            "-A PREROUTING -i eth2 -p tcp --dport 443 -j DNAT --to 10.0.2.10:81",
        ],
    )


def test_dnat_wrong_port_with_match() -> None:
    healthy, out = broken("{kind: dnat-wrong-port, node: r1, port: 8443, match: '--dport 443'}")
    assert out == with_nat(
        healthy, [*NAT[:3], "-A PREROUTING -i eth2 -p tcp --dport 443 -j DNAT --to 10.0.2.10:8443"]
    )


@pytest.mark.parametrize(
    ("line", "port", "expected"),
    [
        ("-A OUTPUT -j DNAT --to-destination 10.0.0.1", 81, "-A OUTPUT -j DNAT --to-destination 10.0.0.1:81"),
        (
            "-A OUTPUT -j DNAT --to-destination [2001:db8::1]:80",
            81,
            "-A OUTPUT -j DNAT --to-destination [2001:db8::1]:81",
        ),
        (
            "-A OUTPUT -j DNAT --to-destination 10.0.0.1-10.0.0.3:80-90",
            81,
            "-A OUTPUT -j DNAT --to-destination 10.0.0.1-10.0.0.3:81",
        ),
    ],
)
def test_dnat_port_rewrite_forms(line: str, port: int, expected: str) -> None:
    from nslab.faults.rules import with_dnat_port

    assert with_dnat_port(line, port) == expected


# --- services and names ----------------------------------------------------------------------


def test_dead_listener_leaves_the_service_declared_but_stopped() -> None:
    healthy, out = broken("{kind: dead-listener, service: app}")
    assert out == update_service(healthy, "app", autostart=False)


def test_resolver_down_stops_the_resolver() -> None:
    healthy, out = broken("{kind: resolver-down, service: rec}")
    assert out == update_service(healthy, "rec", autostart=False)


def test_bind_localhost_sets_a_loopback_bind_address() -> None:
    healthy, out = broken("{kind: bind-localhost, service: hello}")
    assert out == update_service(healthy, "hello", params={"port": 7, "bind": ip("127.0.0.1")})
    healthy, out = broken('{kind: bind-localhost, service: app, address: "::1"}')
    assert out.services[0].params["bind"] == ip("::1")


def _records(scenario: m.Scenario) -> list[dict[str, Any]]:
    zones = next(s for s in scenario.services if s.name == "auth").params["zones"]
    return [dict(r) for r in zones["lab"]["records"]]


def test_wrong_dns_record_changes_the_value_and_collapses_the_round_robin() -> None:
    healthy, out = broken(
        "{kind: wrong-dns-record, service: auth, zone: lab., name: www.lab., value: 10.0.2.99}"
    )
    before = _records(healthy)
    assert _records(out) == [{**before[0], "value": "10.0.2.99"}, before[2], before[3]]
    # The records keep their class and the position they were written at.
    old = next(s for s in healthy.services if s.name == "auth").params["zones"]["lab"]["records"][2]
    new = next(s for s in out.services if s.name == "auth").params["zones"]["lab"]["records"][1]
    assert type(new) is type(old) and getattr(new, "loc", None) == getattr(old, "loc", None)
    assert [s.name for s in out.services] == [s.name for s in healthy.services]
    assert [s for s in out.services if s.name != "auth"] == [s for s in healthy.services if s.name != "auth"]


def test_wrong_dns_record_absolute_name_and_other_type() -> None:
    healthy, out = broken(
        '{kind: wrong-dns-record, service: auth, zone: LAB, name: mail, type: MX, value: "10 api"}'
    )
    before = _records(healthy)
    assert _records(out) == [*before[:3], {**before[3], "value": "10 api"}]
    healthy, out = broken("{kind: wrong-dns-record, service: auth, zone: lab, name: api, value: 10.0.2.1}")
    assert _records(out)[2]["value"] == "10.0.2.1"


def test_stale_hosts_entry_replaces_any_spelling_or_adds() -> None:
    healthy, out = broken("{kind: stale-hosts-entry, node: client, name: old.lab, address: 10.0.2.50}")
    assert out == update_node(
        healthy, "client", hosts={"server.lab": (ip("10.0.2.10"),), "old.lab": (ip("10.0.2.50"),)}
    )
    healthy, out = broken("{kind: stale-hosts-entry, node: h2, name: server.lab, address: 10.0.2.50}")
    assert out == update_node(healthy, "h2", hosts={"server.lab": (ip("10.0.2.50"),)})


# --- the driver ------------------------------------------------------------------------------


def test_only_active_faults_apply_in_file_order_and_the_healthy_scenario_is_untouched() -> None:
    text = BASE.replace(
        "metadata: {name: t, title: t}\n", "metadata: {name: t, title: t}\nparams:\n  f: {choices: [a, b]}\n"
    )
    text += (
        "faults:\n"
        "  - {kind: wrong-gateway, node: client, via: 10.0.1.20, when: {f: a}}\n"
        "  - {kind: wrong-gateway, node: client, via: 10.0.1.99}\n"
        "  - {kind: interface-down, node: h2, iface: eth0, when: {f: b}}\n"
    )
    healthy = loader.load_text(text, "t.yaml", overrides={"f": "a"})
    snapshot = repr(healthy.nodes)
    out = apply_faults(healthy)
    assert out.nodes["client"].routes[0].via == ip("10.0.1.99")  # the later fault wins
    assert out.nodes["h2"] == healthy.nodes["h2"]
    assert repr(healthy.nodes) == snapshot
    other = apply_faults(loader.load_text(text, "t.yaml", overrides={"f": "b"}))
    assert other.nodes["h2"].interfaces["eth0"].up is False


def test_apply_fault_keeps_source_locations_of_untouched_objects() -> None:
    healthy = load("  - {kind: forwarding-off, node: r1}\n")
    out = apply_fault(healthy, healthy.faults[0])
    assert out.nodes["client"].loc == healthy.nodes["client"].loc
    assert out.nodes["r1"].firewall.at("nat") == healthy.nodes["r1"].firewall.at("nat")  # type: ignore[union-attr]
