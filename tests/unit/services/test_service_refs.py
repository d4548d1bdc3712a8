"""Validation of service declarations: every kind's semantic hook, with positions (no root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nslab.errors import ScenarioError
from nslab.scenario import loader

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

BASE = """\
metadata: {name: demo, title: Demo}
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.0.1/24]}
  b:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
links: [[a:eth0, b:eth0]]
services:
"""


def errors(services: str) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        loader.load_text(BASE + services, "s.yaml")
    return [d.render() for d in err.value.diagnostics]


def test_shipped_service_test_scenarios_are_valid() -> None:
    for name in ("service-basic.yaml", "service-dns.yaml"):
        path = SCENARIOS / name
        loader.load_text(path.read_text(), str(path))


def test_bind_must_be_the_nodes_own_a_wildcard_or_loopback() -> None:
    ok = "  - {name: x, kind: tcp, node: a, port: 1, bind: 127.0.0.1}\n"
    ok += "  - {name: y, kind: tcp, node: a, port: 2, bind: 10.0.0.1}\n"
    ok += "  - {name: z, kind: udp, node: a, port: 3, bind: '::'}\n"
    loader.load_text(BASE + ok, "s.yaml")
    [message] = errors("  - {name: x, kind: tcp, node: a, port: 1, bind: 10.0.0.2}\n")
    assert message.startswith(
        "s.yaml:11:50: error: service x: bind address 10.0.0.2 is not an address of node 'a'"
    )
    assert "it is an address of node 'b'" in message and "a's addresses: 10.0.0.1" in message


def test_two_services_wanting_one_port_clash_but_other_protocols_do_not() -> None:
    services = (
        "  - {name: web, kind: http, node: a, port: 8080}\n"
        "  - {name: api, kind: tcp, node: a, port: 8080, bind: 10.0.0.1}\n"
        "  - {name: u, kind: udp, node: a, port: 8080}\n"
        "  - {name: other, kind: tcp, node: b, port: 8080}\n"
        "  - {name: ns, kind: dns, node: a, port: 53, zones: {x.test: {}}}\n"
        "  - {name: res, kind: resolver, node: a, roots: [10.0.0.1], bind: 127.0.0.1}\n"
    )
    found = errors(services)
    assert any("services web and api both listen on 8080/tcp on node 'a'" in e for e in found)
    assert any("services ns and res both listen on 53/udp" in e for e in found)
    assert not any(" u both" in e or "and u " in e or "other both" in e for e in found)
    assert len([e for e in found if "both listen" in e]) == 2


def test_zone_records_are_checked_where_they_are_written() -> None:
    services = """\
  - name: ns
    kind: dns
    node: a
    zones:
      example.test:
        records:
          - {name: www, type: A, value: "2001:db8::1"}
          - {name: www.other.test., type: A, value: 10.0.0.9}
          - {name: alias, type: CNAME, value: www}
          - {name: alias, type: TXT, value: hi}
          - {name: sub, type: NS, value: ns.sub}
          - {name: "@", type: MX, value: mail}
"""
    found = errors(services)
    assert (
        "s.yaml:17:13: error: zone example.test.: A record of www.example.test.: "
        "'2001:db8::1' is not an IPv4 address" in found
    )
    assert any(
        e.startswith("s.yaml:18:13: error: zone example.test.: www.other.test. is outside the zone")
        for e in found
    )
    assert any(e.startswith("s.yaml:20:13:") and "has a CNAME and other records" in e for e in found)
    assert any("delegation of sub.example.test. names ns.sub.example.test., inside" in e for e in found)
    assert any("'mail' is not 'PREFERENCE HOST'" in e for e in found)


def test_delegation_must_reach_a_server_holding_the_child_zone() -> None:
    services = """\
  - name: parent
    kind: dns
    node: a
    zones:
      test:
        records:
          - {name: example, type: NS, value: ns.example}
          - {name: ns.example, type: A, value: 10.0.0.2}
"""
    [message] = errors(services)
    assert "the delegation of example.test. points at ns.example.test. (10.0.0.2)" in message
    child = "  - {name: child, kind: dns, node: b, zones: {example.test: {records: []}}}\n"
    loader.load_text(BASE + services + child, "s.yaml")


def test_resolver_roots_must_be_root_servers_of_the_lab() -> None:
    resolver = "  - {name: res, kind: resolver, node: a, port: 5353, roots: [10.0.0.2]}\n"
    [message] = errors(resolver)
    assert "root server 10.0.0.2 is not a dns service holding zone '.'" in message
    bare = "  - {name: root, kind: dns, node: b, zones: {.: {records: []}}}\n"
    [message] = errors(resolver + bare)
    assert "root zone of root has no NS records at '@', which resolver res (and dig +trace)" in message
    root = "  - {name: root, kind: dns, node: b, zones: {.: {records: [{name: '@', type: NS, value: b.}]}}}\n"
    loader.load_text(BASE + resolver + root, "s.yaml")


def test_http_paths_and_https_names() -> None:
    services = (
        "  - {name: w, kind: https, node: a, pages: {/x: hi}, sizes: {/x: 10},"
        " names: ['bad name', 10.0.0.1]}\n"
    )
    found = errors(services)
    assert any("/x is both a static page and a generated payload" in e for e in found)
    assert any("'bad name' is neither a host name nor an IP address" in e for e in found)
