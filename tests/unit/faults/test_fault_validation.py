"""Fault references are checked against the healthy scenario, with file:line:col and did-you-mean."""

from __future__ import annotations

import pytest

from nslab.errors import ScenarioError
from nslab.faults.kinds import FAULTS
from nslab.scenario import loader
from tests.unit.faults.test_fault_transforms import BASE

FAULT_LINE = len(BASE.splitlines()) + 2  # the line of the one fault appended after BASE


def errors(fault: str) -> list[str]:
    """Rendered diagnostics for BASE plus this one fault (a YAML flow mapping)."""
    with pytest.raises(ScenarioError) as err:
        loader.load_text(BASE + f"faults:\n  - {fault}\n", "t.yaml")
    return [d.render() for d in err.value.diagnostics]


def col(fault: str, value: str) -> int:
    """The column where `value` starts on the fault's line ("  - " comes first)."""
    return 4 + fault.index(value) + 1


def one_error(fault: str, at: str, *parts: str) -> None:
    """Exactly one diagnostic, at the position of the text `at`, holding every part."""
    found = errors(fault)
    assert len(found) == 1, found
    assert found[0].startswith(f"t.yaml:{FAULT_LINE}:{col(fault, at)}: error: "), found
    for part in parts:
        assert part in found[0], found


def test_unknown_fault_kind_lists_the_known_ones_or_the_closest() -> None:
    [found] = errors("{kind: packet-loss, node: r1}")
    assert found.startswith(
        f"t.yaml:{FAULT_LINE}:12: error: faults[0].kind: unknown fault kind 'packet-loss'"
    )
    assert all(name in found for name in FAULTS.names()), found
    [found] = errors("{kind: mtu-mismtch, node: r1}")
    assert "unknown fault kind 'mtu-mismtch'" in found and "did you mean 'mtu-mismatch'?" in found


def test_every_kind_is_complete() -> None:
    for spec in FAULTS.all():
        assert spec.doc and spec.semantic is not None, spec.name
        assert callable(spec.load()), spec.name
        for name, field in spec.fields.items():
            assert field.doc, (spec.name, name)


@pytest.mark.parametrize(
    ("fault", "at", "parts"),
    [
        # references: node, interface, route, service
        (
            "{kind: interface-down, node: clinet, iface: eth0}",
            "clinet",
            ["'clinet' is not a node", "did you mean 'client'?"],
        ),
        (
            "{kind: interface-down, node: client, iface: eht0}",
            "eht0",
            ["has no interface 'eht0'", "did you mean 'eth0'?"],
        ),
        (
            "{kind: missing-route, node: client, to: 10.9.0.0/24}",
            "10.9.0.0/24",
            ["no route to 10.9.0.0/24", "its routes: default, 10.9.0.0/16"],
        ),
        (
            "{kind: missing-route, node: server, to: default}",
            "default",
            ["no route to default", "its routes: 10.0.1.0/24"],
        ),
        (
            "{kind: missing-route, node: client, to: 10.9.0.1/16}",
            "10.9.0.1/16",
            ["is not a network or 'default'"],
        ),
        (
            "{kind: missing-default-route, node: server}",
            "server",
            ["no IPv4 default route", "10.0.1.0/24 via 10.0.2.1"],
        ),
        ("{kind: missing-return-route, node: inet, to: 10.0.1.0/24}", "10.0.1.0/24", ["has no routes"]),
        ("{kind: dead-listener, service: ap}", "ap", ["'ap' is not a service", "did you mean 'app'?"]),
        # changes that change nothing
        ("{kind: wrong-gateway, node: client, via: 10.0.1.1}", "10.0.1.1", ["already the gateway"]),
        ("{kind: wrong-netmask, node: client, iface: eth0, prefixlen: 24}", "24", ["already has /24"]),
        ("{kind: mtu-mismatch, node: r1, iface: eth1, mtu: 1400}", "1400", ["already has MTU 1400"]),
        ("{kind: mtu-mismatch, node: server, iface: eth0, mtu: 1400}", "1400", ["already has MTU 1400"]),
        ("{kind: forwarding-off, node: client}", "client", ["does not forward", "nodes that forward: r1"]),
        (
            "{kind: stale-hosts-entry, node: client, name: server.lab, address: 10.0.2.10}",
            "10.0.2.10",
            ["already maps"],
        ),
        ("{kind: bind-localhost, service: app, address: 10.0.2.10}", "10.0.2.10", ["not a loopback address"]),
        # what the kernel would refuse
        (
            "{kind: wrong-gateway, node: client, via: 10.0.5.1}",
            "10.0.5.1",
            ["off-link", "10.0.1.0/24 (eth0)"],
        ),
        (
            "{kind: wrong-gateway, node: client, via: '2001:db8:1::1'}",
            "'2001:db8:1::1'",
            ["differ in IP version"],
        ),
        (
            "{kind: wrong-netmask, node: client, iface: eth0, prefixlen: 29}",
            "29",
            ["gateway 10.0.1.1", "off-link", "/28 or shorter"],
        ),
        ("{kind: wrong-netmask, node: client, iface: eth0, prefixlen: 33}", "33", ["too long for IPv4"]),
        # pointless or impossible
        (
            "{kind: duplicate-ip, node: h2, iface: eth0, address: 10.0.1.11}",
            "10.0.1.11",
            ["no interface has 10.0.1.11", "addresses in this lab: 10.0.1.1, 10.0.1.10"],
        ),
        (
            "{kind: duplicate-ip, node: h2, iface: eth0, address: 10.0.2.10}",
            "10.0.2.10",
            ["another segment", "server:eth0"],
        ),
        ("{kind: duplicate-ip, node: h2, iface: eth0, address: 10.0.1.20}", "10.0.1.20", ["own address"]),
        (
            "{kind: wrong-static-arp, node: client, iface: eth0, ip: 10.0.2.1}",
            "10.0.2.1",
            ["not on the subnet", "10.0.1.0/24"],
        ),
        (
            "{kind: wrong-static-arp, node: client, iface: eth0, ip: 10.0.1.20, mac: '02:00:00:00:01:20'}",
            "'02:00",
            ["real MAC", "h2:eth0"],
        ),
        (
            "{kind: mtu-mismatch, node: r1, iface: up.link, mtu: 1400, scope: link}",
            "link}",
            ["end of no link"],
        ),
        (
            "{kind: drop-icmp, node: r1, icmp_type: fragmentation-neded}",
            "fragmentation-neded",
            ["not an ICMP type", "did you mean 'fragmentation-needed'?"],
        ),
        ("{kind: drop-icmp, node: r1, icmp_type: 3/256}", "3/256", ["not an ICMP type"]),
        (
            "{kind: firewall-drop, node: server, port: 80, chain: FORWARD}",
            "FORWARD",
            ["does not forward", "INPUT"],
        ),
        (
            "{kind: firewall-reject, node: r1, port: 53, proto: udp, reject_with: tcp-reset}",
            "tcp-reset",
            ["TCP only"],
        ),
        ("{kind: missing-snat, node: server}", "server", ["no SNAT or MASQUERADE rule", "nothing to break"]),
        (
            "{kind: missing-snat, node: r1, match: '-o eth9'}",
            "'-o eth9'",
            ["no SNAT or MASQUERADE rule of 'r1'", "-j MASQUERADE"],
        ),
        (
            "{kind: dnat-wrong-port, node: r1, port: 80, match: '--dport 8080'}",
            "80,",
            ["already sends to port 80"],
        ),
        (
            "{kind: dnat-wrong-port, node: r1, port: 443, match: '--dport 443'}",
            "443,",
            ["already sends to port 443"],
        ),
        ("{kind: dnat-wrong-port, node: inet, port: 81}", "inet", ["no DNAT rule"]),
        ("{kind: resolver-down, service: auth}", "auth", ["a dns service", "needs resolver"]),
        (
            "{kind: wrong-dns-record, service: app, zone: lab, name: www, value: 10.0.2.9}",
            "app",
            ["a tcp service", "needs dns"],
        ),
        (
            "{kind: wrong-dns-record, service: auth, zone: lba, name: www, value: 10.0.2.9}",
            "lba",
            ["no zone 'lba'", "did you mean 'lab'?"],
        ),
        (
            "{kind: wrong-dns-record, service: auth, zone: lab, name: ww, value: 10.0.2.9}",
            "ww,",
            ["no A record for ww.lab.", "did you mean 'www'?"],
        ),
        (
            "{kind: wrong-dns-record, service: auth, zone: lab, name: www, value: '2001:db8::1'}",
            "'2001",
            ["not an IPv4 address"],
        ),
        (
            "{kind: wrong-dns-record, service: auth, zone: lab, name: api, value: 10.0.2.12}",
            "10.0.2.12",
            ["already holds"],
        ),
        # wrong-address
        (
            "{kind: wrong-address, node: client, iface: eth0, to: 10.0.1.10/24}",
            "10.0.1.10/24",
            ["already has 10.0.1.10/24", "nothing would change"],
        ),
        (
            "{kind: wrong-address, node: client, iface: eth0, to: '2001:db8::1/64'}",
            "'2001",
            ["is IPv6 but it replaces the IPv4 address 10.0.1.10/24"],
        ),
        (
            "{kind: wrong-address, node: client, iface: eth0, address: 10.0.1.11, to: 10.0.1.12/24}",
            "10.0.1.11",
            ["10.0.1.11 is not an address of client:eth0", "its addresses: 10.0.1.10, 2001:db8:1::10"],
        ),
        (
            "{kind: wrong-address, node: r1, iface: up.link, to: 10.0.3.1/24}",
            "up.link",
            ["r1:up.link has no address to replace"],
        ),
        # sysctl
        (
            "{kind: sysctl, node: r1, key: net.ipv4.ip_forward, value: 1}",
            "1}",
            ["net.ipv4.ip_forward is already 1 on 'r1'", "nothing would change"],
        ),
        (
            "{kind: sysctl, node: client, key: net.ipv4.conf.all.rp_filter, value: 0}",
            "0}",
            ["is already 0"],
        ),
        (
            "{kind: sysctl, node: r1, key: net.ipv4.conf.eth9.rp_filter, value: 1}",
            "net.ipv4",
            ["names interface 'eth9', which 'r1' lacks", "its interfaces: all, default, eth0"],
        ),
        (
            "{kind: sysctl, node: r1, key: kernel.panic, value: 1}",
            "kernel",
            ["is not a network sysctl", "only net.* sysctls are per namespace"],
        ),
        (
            "{kind: sysctl, node: r1, key: net.ipv4.ip_forward, value: ''}",
            "''",
            ["a sysctl value is one line of text"],
        ),
    ],
)
def test_fault_reference_errors(fault: str, at: str, parts: list[str]) -> None:
    one_error(fault, at, *parts)


def test_bind_localhost_on_a_kind_without_bind() -> None:
    text = BASE + "  - {name: job, kind: exec, node: h2, command: 'sleep 1000'}\n"
    text += "faults:\n  - {kind: bind-localhost, service: job}\n"
    with pytest.raises(ScenarioError) as err:
        loader.load_text(text, "t.yaml")
    [found] = [d.render() for d in err.value.diagnostics]
    assert "exec service has no bind address" in found and "tcp" in found


def test_vxlan_mtu_above_its_underlay_is_refused_before_the_kernel_does() -> None:
    text = (
        "metadata: {name: v, title: v}\n"
        "nodes:\n"
        "  a:\n"
        "    interfaces:\n"
        "      eth0: {addresses: [10.9.0.1/24]}\n"
        "      vx0: {kind: vxlan, mtu: 1450, vxlan: {vni: 42, remote: 10.9.0.2, dev: eth0}}\n"
        "  b:\n"
        "    interfaces:\n"
        "      eth0: {addresses: [10.9.0.2/24]}\n"
        "      vx0: {kind: vxlan, mtu: 1450, vxlan: {vni: 42, remote: 10.9.0.1, dev: eth0}}\n"
        "links: [[a:eth0, b:eth0]]\n"
        "faults:\n"
        "  - {kind: mtu-mismatch, node: a, iface: vx0, mtu: 1500}\n"
        "  - {kind: mtu-mismatch, node: a, iface: vx0, mtu: 1400}\n"
    )
    with pytest.raises(ScenarioError) as err:
        loader.load_text(text, "v.yaml")
    [found] = [d.render() for d in err.value.diagnostics]
    assert found.startswith("v.yaml:13:52: error: the kernel refuses MTU 1500 on vx0")
    assert "room for 1450 after 50 bytes" in found


def test_all_errors_at_once_even_for_faults_a_seed_would_not_pick() -> None:
    text = BASE.replace(
        "metadata: {name: t, title: t}\n", "metadata: {name: t, title: t}\nparams:\n  f: {choices: [a, b]}\n"
    )
    text += (
        "faults:\n"
        "  - {kind: interface-down, node: nope, iface: eth0, when: {f: a}}\n"
        "  - {kind: missing-route, node: client, to: 10.1.0.0/16, when: {f: b}}\n"
    )
    with pytest.raises(ScenarioError) as err:
        loader.load_text(text, "t.yaml", seed="x")
    assert len(err.value.diagnostics) == 2


def test_docs_describe_every_kind_and_each_of_its_fields() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[3] / "docs" / "faults.md").read_text()
    sections = {part.split("\n", 1)[0].strip(): part for part in docs.split("\n### ")[1:]}
    assert set(sections) == set(FAULTS.names())
    for spec in FAULTS.all():
        usage = sections[spec.name].split("\n\n")[1]  # the `{kind: ...}` line under the title
        for name in spec.fields:
            assert f"{name}:" in usage, (spec.name, name)
