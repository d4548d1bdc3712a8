"""firewall-rule, without root: the exact model change (one line appended, the scenario's own
lines untouched) and the validation errors, each at the value at fault."""

from __future__ import annotations

import pytest

from nslab.faults.apply import apply_faults
from nslab.faults.edit import update_node
from nslab.scenario import loader
from nslab.scenario import model as m
from nslab.scenario.firewall import lint
from tests.conftest import SCENARIOS
from tests.unit.faults.faultbed import FaultBed

BASE = """\
metadata: {name: t, title: t}
nodes:
  client:
    interfaces:
      eth0: {addresses: [10.0.1.10/24]}
    routes:
      - {to: default, via: 10.0.1.1}
  r1:
    kind: router
    interfaces:
      eth0: {addresses: [10.0.1.1/24]}
      eth1: {addresses: [10.0.2.1/24]}
    firewall:
      filter: |
        -N LOGDROP
        -A LOGDROP -j DROP
        -A FORWARD -p tcp --dport 23 -j REJECT
  server:
    interfaces:
      eth0: {addresses: [10.0.2.10/24]}
    routes:
      - {to: default, via: 10.0.2.1}
links:
  - [client:eth0, r1:eth0]
  - [r1:eth1, server:eth0]
"""
_BED = FaultBed(BASE)
broken, errors, one_error = _BED.broken, _BED.errors, _BED.one_error
SYN_ACK = "-I FORWARD -i eth1 -p tcp --tcp-flags SYN SYN -j DROP"


def test_the_rule_is_appended_and_nothing_else_changes() -> None:
    healthy, out = broken(f"{{kind: firewall-rule, node: r1, rule: {SYN_ACK}}}")
    fw = healthy.nodes["r1"].firewall
    assert fw is not None
    expected = update_node(healthy, "r1", firewall=m.Firewall(filter=fw.filter + SYN_ACK + "\n"))
    assert out == expected
    # the scenario's own lines keep their offsets (iptables errors still name the right line)
    assert out.nodes["r1"].firewall.filter.splitlines()[:3] == fw.filter.splitlines()  # type: ignore[union-attr]
    assert not lint("filter", out.nodes["r1"].firewall.filter)  # type: ignore[union-attr]


def test_a_node_without_a_firewall_gets_one_in_the_table_named() -> None:
    _, out = broken("{kind: firewall-rule, node: server, table: nat, rule: '-I OUTPUT -p tcp -j ACCEPT'}")
    fw = out.nodes["server"].firewall
    assert fw is not None and fw.filter == "" and fw.nat == "-I OUTPUT -p tcp -j ACCEPT\n"


def test_a_chain_the_node_declares_is_a_valid_target() -> None:
    _, out = broken("{kind: firewall-rule, node: r1, rule: -I FORWARD -p udp -j LOGDROP}")
    assert out.nodes["r1"].firewall.filter.endswith("-I FORWARD -p udp -j LOGDROP\n")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fault", "at", "parts"),
    [
        (
            "{kind: firewall-rule, node: r1, rule: -I FORWARD -j DORP}",
            "-I FORWARD",
            ("unknown target 'DORP'", "DROP"),
        ),
        (
            "{kind: firewall-rule, node: r1, rule: -I FORWARD -o eth7 -j DROP}",
            "-I FORWARD",
            ("no interface 'eth7'",),
        ),
        (
            '{kind: firewall-rule, node: r1, rule: "-I FORWARD --dport 80 -j DROP"}',
            '"-I FORWARD',
            ("--dport needs -p tcp or -p udp",),
        ),
        (
            "{kind: firewall-rule, node: r1, table: nat, rule: -I PREROUTING -j DROP}",
            "-I PREROUTING",
            ("nat table does not filter",),
        ),
        (
            "{kind: firewall-rule, node: server, rule: -I INPUT -j LOGDROP}",
            "-I INPUT",
            ("unknown target 'LOGDROP'",),
        ),
        (
            "{kind: firewall-rule, node: r1, rule: -I FORWARD -p tcp --dport 23 -j REJECT}",
            "-I FORWARD",
            ("already has this rule", "nothing would change"),
        ),
        (
            "{kind: firewall-rule, node: client, rule: -A FORWARD -j DROP}",
            "-A FORWARD",
            ("does not forward", "FORWARD chain sees no traffic"),
        ),
        (
            "{kind: firewall-rule, node: r1, rule: -P FORWARD DROP}",
            "-P FORWARD",
            ("starting with -A or -I",),
        ),
        ("{kind: firewall-rule, node: r2, rule: -I FORWARD -j DROP}", "r2", ("not a node", "r1")),
        (
            "{kind: firewall-rule, node: r1, rule: '-I FORWARD -m comment --comment \"oops -j DROP'}",
            "'-I FORWARD",
            ("cannot split the rule",),
        ),
    ],
)
def test_validation_errors(fault: str, at: str, parts: tuple[str, ...]) -> None:
    one_error(fault, at, *parts)


TELNET = "-A FORWARD -p tcp --dport 23 -j REJECT"


def test_delete_blanks_the_nodes_own_line_in_place() -> None:
    # -I and other spacing name the same rule: its words after -A/-I are what count.
    healthy, out = broken(
        "{kind: firewall-rule, node: r1, action: delete, rule: '-I FORWARD  -p tcp --dport 23 -j REJECT'}"
    )
    fw = healthy.nodes["r1"].firewall
    assert fw is not None
    expected = update_node(healthy, "r1", firewall=m.Firewall(filter="-N LOGDROP\n-A LOGDROP -j DROP\n\n"))
    assert out == expected
    assert TELNET not in out.nodes["r1"].firewall.filter  # type: ignore[union-attr]


def test_replace_rewrites_the_line_in_place() -> None:
    new = "-A FORWARD -p tcp --dport 25 -j REJECT"
    healthy, out = broken(f"{{kind: firewall-rule, node: r1, action: replace, rule: {TELNET}, with: {new}}}")
    fw = out.nodes["r1"].firewall
    assert fw is not None and fw.filter.splitlines() == ["-N LOGDROP", "-A LOGDROP -j DROP", new]
    assert out == update_node(healthy, "r1", firewall=m.Firewall(filter=fw.filter))


@pytest.mark.parametrize(
    ("fault", "at", "parts"),
    [
        (
            "{kind: firewall-rule, node: r1, action: delete, rule: -A FORWARD -p tcp --dport 22 -j REJECT}",
            "-A FORWARD",
            (
                "'r1' has no such rule in its filter table to delete",
                "its rules: -A LOGDROP -j DROP; " + TELNET,
            ),
        ),
        (
            "{kind: firewall-rule, node: server, action: delete, rule: -A INPUT -j DROP}",
            "-A INPUT",
            ("no such rule", "its filter table has no rules"),
        ),
        (
            f"{{kind: firewall-rule, node: r1, action: replace, rule: {TELNET}}}",
            "replace",
            ("action: replace needs 'with'",),
        ),
        (
            f"{{kind: firewall-rule, node: r1, action: delete, rule: {TELNET}, with: -A INPUT -j DROP}}",
            "-A INPUT -j DROP",
            ("'with' belongs to action: replace, not delete",),
        ),
        (
            f"{{kind: firewall-rule, node: r1, action: replace, rule: {TELNET},"
            " with: '-I FORWARD -p tcp  --dport 23 -j REJECT'}",
            "'-I FORWARD",
            ("matches what the old one did", "nothing would change"),
        ),
        (
            f"{{kind: firewall-rule, node: r1, action: replace, rule: {TELNET}, with: -A FORWARD -j DORP}}",
            "-A FORWARD -j DORP",
            ("unknown target 'DORP'", "DROP"),
        ),
        (
            f"{{kind: firewall-rule, node: r1, action: replace, rule: {TELNET},"
            " with: -A FORWARD -o eth9 -j DROP}",
            "-A FORWARD -o eth9",
            ("no interface 'eth9'",),
        ),
    ],
)
def test_delete_and_replace_errors(fault: str, at: str, parts: tuple[str, ...]) -> None:
    one_error(fault, at, *parts)


def test_the_shipped_syn_ack_lab_uses_it() -> None:
    """The SYN-ACK drop is what the named kinds cannot express (they match --dport only)."""
    scenario = loader.load(str(SCENARIOS / "shop-never-loads.yaml"))
    [fault] = scenario.faults
    assert fault.kind == "firewall-rule" and "--tcp-flags SYN SYN" in fault.params["rule"]
    fw = apply_faults(scenario).nodes["r1"].firewall
    assert fw is not None and fw.filter.rstrip().endswith(fault.params["rule"])
