"""The firewall lint: what iptables-restore would refuse is found before anything is built."""

from __future__ import annotations

import pytest

from nslab.scenario.firewall import Problem, lint, lint_table

IFACES = ("eth0", "eth1")


def only(table: str, line: str) -> Problem:
    found = lint(table, line + "\n", IFACES)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("table", "text"),
    [
        ("filter", "-A INPUT -p tcp --dport 22 -j ACCEPT"),
        ("filter", "-I INPUT 1 -p icmp --icmp-type echo-request -j DROP"),
        ("filter", "-A INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset"),
        ("filter", "-A FORWARD -j LOGS\n-N LOGS\n-A LOGS -j LOG --log-prefix 'dropped: '\n-A LOGS -j DROP"),
        ("filter", "-A FORWARD -g LOGS\n-N LOGS\n-A LOGS -j RETURN"),
        ("filter", "-A FORWARD -i eth+ -o lo -j ACCEPT"),
        ("filter", "-A INPUT ! -s 10.0.0.0/8,192.168.1.7 -j DROP\n-P INPUT DROP"),
        ("filter", "# a comment\n\n-A OUTPUT -d 10.0.0.1 -p udp --sport 53 -j ACCEPT"),
        (
            "nat",
            "-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2\n-A POSTROUTING -j MASQUERADE",
        ),
        ("nat", "-A POSTROUTING -s 10.0.0.0/24 -j SNAT --to-source 192.0.2.1"),
        ("mangle", "-A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu"),
        ("raw", "-A PREROUTING -j NOTRACK"),
    ],
)
def test_rules_iptables_accepts_pass(table: str, text: str) -> None:
    assert lint(table, text, IFACES) == []


@pytest.mark.parametrize(
    ("table", "line", "message", "column"),
    [
        ("filter", "-A INPUT -j DORP", "unknown target 'DORP'", 12),
        ("filter", "-A INPUT -j drop", "unknown target 'drop'", 12),
        ("filter", "-A INPUTT -j DROP", "unknown chain 'INPUTT' in the filter table", 3),
        ("filter", "-A POSTROUTING -j DROP", "unknown chain 'POSTROUTING' in the filter table", 3),
        ("filter", "-A INPUT -p tcp", "the rule has no target (-j)", None),
        ("filter", "-A INPUT -j", "-j needs a target after it", 9),
        ("filter", "-A INPUT --sport 53 -j ACCEPT", "--sport needs -p tcp or -p udp earlier in the rule", 9),
        ("filter", "-A INPUT -p udp --syn -j ACCEPT", "--syn needs -p tcp earlier in the rule", 16),
        (
            "filter",
            "-A INPUT -p tcp --icmp-type 8 -j ACCEPT",
            "--icmp-type needs -p icmp earlier in the rule",
            16,
        ),
        (
            "filter",
            "-A INPUT -o eth0 -j ACCEPT",
            "INPUT packets have no outgoing interface; -o cannot match there",
            9,
        ),
        ("filter", "-A FORWARD -o wlan+ -j ACCEPT", "no interface of this node starts with 'wlan'", 14),
        ("filter", "-A INPUT -s example.com -j DROP", "'example.com' is not an IPv4 address or network", 12),
        (
            "filter",
            "-A INPUT -d 2001:db8::1 -j DROP",
            "2001:db8::1 is IPv6; these tables are iptables (IPv4) rules",
            12,
        ),
        ("filter", "-I INPUT 0 -j DROP", "rule positions start at 1, not 0", 9),
        ("filter", "-P INPUT REJECT", "a policy is ACCEPT or DROP, not 'REJECT'", 9),
        ("filter", "-P LOGS DROP", "-P needs a built-in chain and a policy", 0),
        ("filter", "-N INPUT", "INPUT is a built-in chain; -N creates new ones", None),
        ("filter", "-N", "-N takes exactly one chain name", None),
        ("filter", "-F INPUT", "a rule line starts with -A, -I, -N or -P, not '-F'", 0),
        ("filter", ":INPUT ACCEPT [0:0]", "':INPUT' lines are added by nslab", 0),
        (
            "filter",
            "-A INPUT -m comment --comment 'open -j DROP",
            "cannot split the line: No closing quotation",
            None,
        ),
        ("nat", "-A PREROUTING -j DROP", "the nat table does not filter; DROP is refused there", 17),
        (
            "nat",
            "-A OUTPUT -j SNAT --to-source 1.2.3.4",
            "SNAT is valid only in POSTROUTING, INPUT, not in OUTPUT",
            13,
        ),
        (
            "mangle",
            "-A FORWARD -j DNAT --to-destination 10.0.0.1",
            "DNAT works only in the nat table, not in mangle",
            14,
        ),
    ],
)
def test_each_refusal_points_at_its_token(table: str, line: str, message: str, column: int | None) -> None:
    problem = only(table, line)
    assert problem.message == message
    assert problem.column == column


def test_chains_are_created_once_and_found_in_any_order() -> None:
    found = lint("filter", "-A INPUT -j LOGS\n-N LOGS\n-N LOGS\n", IFACES)
    assert [(p.offset, p.message) for p in found] == [(2, "chain LOGS is created twice")]


def test_a_chain_of_another_table_says_where_it_lives() -> None:
    problem = only("filter", "-A PREROUTING -j ACCEPT")
    assert (
        problem.hint == "PREROUTING is a chain of the nat, mangle and raw tables; put the rule under that key"
    )
    assert only("raw", "-A INPUT -j ACCEPT").hint == (
        "INPUT is a chain of the filter, nat and mangle tables; put the rule under that key"
    )


def test_interface_names_are_checked_only_when_known() -> None:
    assert lint("filter", "-A INPUT -i eth9 -j ACCEPT\n") == []
    problem = only("filter", "-A INPUT -i eht0 -j ACCEPT")
    assert (
        problem.message == "-i eht0: the node has no interface 'eht0'"
        and problem.hint == "did you mean 'eth0'?"
    )


def test_lint_table_keeps_its_old_shape() -> None:
    assert lint_table("filter", "-A INPUT -p icmp -j DROP\n") == []
    assert lint_table("filter", "\n-A INPUT\n") == [
        (1, "firewall filter: the rule has no target (-j)", "e.g. ... -j DROP")
    ]
