"""The pieces of `nslab walk` that need no root: dissecting frames, reading firewall counters,
ordering a packet's sightings, and which checks `check --explain` can walk."""

from __future__ import annotations

import socket
import struct

from nslab.packets import dissect, why
from nslab.packets.explain import probe_for
from nslab.packets.pcapng import LINKTYPE_ETHERNET
from nslab.packets.probe import Probe
from nslab.packets.trail import Hop, Sighting, causal, hops_of
from nslab.scenario import model as m

ETH = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"


def ip_header(src: str, dst: str, proto: int, body: bytes, ttl: int = 64, df: bool = True) -> bytes:
    return (
        struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(body), 7, 0x4000 if df else 0, ttl, proto, 0)
        + socket.inet_aton(src)
        + socket.inet_aton(dst)
        + body
    )


def tcp(sport: int, dport: int, seq: int, flags: int, ack: int = 0) -> bytes:
    return struct.pack("!HHIIHHHH", sport, dport, seq, ack, (5 << 12) | flags, 65535, 0, 0)


def test_a_tcp_syn_and_an_icmp_error_quoting_it() -> None:
    syn = ip_header("10.0.1.10", "10.0.2.10", 6, tcp(40000, 80, 12345, dissect.SYN))
    parsed = dissect.frame(ETH + syn, LINKTYPE_ETHERNET)
    assert isinstance(parsed, dissect.IPv4)
    assert parsed.tuple() == (6, "10.0.1.10", 40000, "10.0.2.10", 80)
    assert (parsed.seq, parsed.flags, parsed.ttl, parsed.df, parsed.length) == (12345, 2, 64, True, 40)
    error = ip_header("10.0.1.1", "10.0.1.10", 1, struct.pack("!BBHI", 3, 4, 0, 1400) + syn[:28])
    icmp = dissect.frame(ETH + error, LINKTYPE_ETHERNET)
    assert isinstance(icmp, dissect.IPv4) and icmp.inner is not None
    assert dissect.icmp_name(icmp) == "fragmentation needed"
    assert icmp.inner.tuple() == parsed.tuple() and icmp.inner.seq == 12345


def test_udp_payload_arp_and_frames_that_are_not_ours() -> None:
    udp = ip_header("10.0.1.10", "10.0.2.10", 17, struct.pack("!HHHH", 5000, 53, 13, 0) + b"token")
    parsed = dissect.frame(ETH + udp, LINKTYPE_ETHERNET)
    assert isinstance(parsed, dissect.IPv4) and parsed.payload == b"token" and parsed.dport == 53
    arp_body = struct.pack("!HHBBH", 1, 0x800, 6, 4, 1) + b"\x02" * 6 + socket.inet_aton("10.0.2.1")
    arp_body += b"\x00" * 6 + socket.inet_aton("10.0.2.99")
    arp = dissect.frame(ETH[:12] + b"\x08\x06" + arp_body, LINKTYPE_ETHERNET)
    assert arp == dissect.Arp(1, "10.0.2.1", "10.0.2.99")
    assert dissect.frame(ETH[:12] + b"\x86\xdd" + b"\x60" + b"\0" * 39, LINKTYPE_ETHERNET) is None
    assert dissect.frame(b"\x00" * 10, LINKTYPE_ETHERNET) is None


SAVE_BEFORE = """\
*filter
:INPUT ACCEPT [10:800]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [3:200]
[4:240] -A FORWARD -p tcp -m comment --comment "nslab:lab1" -m tcp --dport 22 -j ACCEPT
[0:0] -A FORWARD -p tcp -m comment --comment "nslab:lab1" -m tcp --dport 23 -j DROP
COMMIT
*nat
:POSTROUTING ACCEPT [1:60]
[1:60] -A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
"""


def test_counters_name_the_rule_that_dropped_and_a_drop_policy() -> None:
    before = why.parse_counters(SAVE_BEFORE)
    after = why.parse_counters(SAVE_BEFORE.replace("[0:0] -A FORWARD", "[1:60] -A FORWARD"))
    (rule,) = why.droppers(before, after)
    assert rule.describe() == "filter FORWARD rule 2: -A FORWARD -p tcp -m tcp --dport 23 -j DROP"
    policy = why.parse_counters(SAVE_BEFORE.replace(":FORWARD DROP [0:0]", ":FORWARD DROP [2:120]"))
    assert [r.describe() for r in why.droppers(before, policy)] == ["filter FORWARD policy DROP"]
    accepted = why.parse_counters(
        SAVE_BEFORE.replace("[4:240]", "[9:540]").replace("[1:60] -A", "[2:120] -A")
    )
    assert why.droppers(before, accepted) == []  # ACCEPT and MASQUERADE counted: nothing dropped


def seen(ts: int, node: str, iface: str, out: bool, ttl: int, src: str = "10.0.1.10") -> Sighting:
    return Sighting(ts, node, iface, out, dissect.IPv4(src, "10.0.2.10", 1, ttl, 1, True, 84))


def test_sightings_are_ordered_by_ttl_and_direction_not_by_timestamps() -> None:
    # the kernel stamped r1's "in" before client's "out", and a bridge forwards without a TTL change
    shuffled = [
        seen(5, "r1", "eth0", False, 64),
        seen(6, "client", "eth0", True, 64),
        seen(7, "sw", "p2", True, 63),
        seen(8, "r1", "eth1", True, 63, src="10.0.2.1"),
        seen(9, "sw", "p1", False, 63),
        seen(10, "server", "eth0", False, 63),
    ]
    hops = hops_of(causal(shuffled, "client"))
    assert [(h.node, h.iface_in, h.iface_out) for h in hops] == [
        ("client", "", "eth0"),
        ("r1", "eth0", "eth1"),
        ("sw", "p1", "p2"),
        ("server", "eth0", ""),
    ]
    assert hops[1].nat() == "source 10.0.1.10 -> 10.0.2.1"
    assert Hop("x").nat() == ""


def check(kind: str, **params: object) -> m.Check:
    return m.Check(name="c", kind=kind, node="client", params=params)


def test_which_checks_explain_can_walk() -> None:
    assert probe_for(check("ping", to="10.0.2.10", size=1400)) == ("10.0.2.10", Probe("icmp", size=1400))
    assert probe_for(check("tcp", to="server", port=22)) == ("server", Probe("tcp", 22))
    assert probe_for(check("udp", to="10.0.2.10", port=53)) == ("10.0.2.10", Probe("udp", 53))
    assert probe_for(check("http", url="http://10.0.2.10:8080/x")) == ("10.0.2.10", Probe("tcp", 8080))
    assert probe_for(check("https", url="https://site.test/", resolve="10.0.2.10")) == (
        "10.0.2.10",
        Probe("tcp", 443),
    )
    assert probe_for(check("sysctl", key="net.ipv4.ip_forward", value="1")) is None
