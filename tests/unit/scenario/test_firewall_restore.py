"""iptables-restore input: the scenario's rules go in exactly as written, with no marker."""

from __future__ import annotations

from nslab.scenario.firewall import has_rules, render_restore


def test_rules_carry_no_ownership_comment() -> None:
    text = render_restore(
        {"filter": "-A INPUT -i eth0 -p tcp --dport 8080 -j REJECT --reject-with tcp-reset\n"}
    ).text
    assert text == (
        "*filter\n-A INPUT -i eth0 -p tcp --dport 8080 -j REJECT --reject-with tcp-reset\nCOMMIT\n"
    )
    assert "comment" not in text and "nslab" not in text


def test_long_options_become_short_and_chains_come_first() -> None:
    result = render_restore({"filter": "--insert FORWARD 1 -j DROP\n-N LOGS\n-P INPUT DROP\n"})
    assert result.text == "*filter\n:LOGS - [0:0]\n:INPUT DROP [0:0]\n-I FORWARD 1 -j DROP\nCOMMIT\n"
    # restore line N -> where it came from, so a rejected line points back into the YAML
    assert result.origin == {2: ("filter", 1), 3: ("filter", 2), 4: ("filter", 0)}


def test_a_flushed_node_holds_no_rules() -> None:
    assert has_rules("*filter\n:INPUT ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --dport 23 -j REJECT\nCOMMIT\n")
    assert not has_rules("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n")
