"""The pure parts of the probes and the check declarations: packet parsing, rule matching,
/proc tables, hosts files, selftest variants, validation of check fields. No root."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from nslab.checks.probes import errqueue, icmp, rules, sockets
from nslab.checks.probes.resolve import from_hosts, resolv_conf
from nslab.errors import ScenarioError
from nslab.grading import phases
from nslab.grading.report import CheckResult, Report
from nslab.scenario import loader

# --- iptables rule fragments ------------------------------------------------------------------
SAVED = (
    '-A FORWARD -p tcp -m comment --comment "nslab:lab1" -m tcp --dport 23 -j REJECT'
    " --reject-with icmp-port-unreachable"
)


@pytest.mark.parametrize(
    ("fragment", "hit"),
    [
        ("-p tcp --dport 23 -j REJECT", True),
        ("--protocol tcp --destination-port 23 --jump REJECT", True),
        ("-p tcp --dport 23", True),
        ("-j REJECT -p tcp", True),  # order of groups does not matter
        ("-p tcp --dport 2 -j REJECT", False),
        ("-p udp --dport 23", False),
        ("-j DROP", False),
    ],
)
def test_rule_fragments(fragment: str, hit: bool) -> None:
    assert rules.matches(SAVED, fragment) is hit


def test_rule_fragments_normalise_addresses_and_icmp_names() -> None:
    rule = "-A INPUT -s 10.0.1.5/32 -p icmp -m icmp --icmp-type 8 -j DROP"
    assert rules.matches(rule, "-s 10.0.1.5 -p icmp --icmp-type echo-request -j DROP")
    assert not rules.matches(rule, "-s 10.0.1.6 -p icmp -j DROP")
    assert rules.matches("-A FORWARD ! -s 10.0.0.0/8 -j DROP", "! -s 10.0.0.0/8")
    assert not rules.matches("-A FORWARD -s 10.0.0.0/8 -j DROP", "! -s 10.0.0.0/8")


def test_chain_rules_and_marker_removal() -> None:
    saved = f"-P FORWARD DROP\n{SAVED}\n-A INPUT -j ACCEPT\n"
    found, policy = rules.chain_rules(saved, "FORWARD")
    assert policy == "DROP" and found == [SAVED]
    assert rules.without_marker(SAVED) == (
        "-A FORWARD -p tcp -m tcp --dport 23 -j REJECT --reject-with icmp-port-unreachable"
    )


# --- ICMP -------------------------------------------------------------------------------------
def test_checksum_of_a_known_echo_request() -> None:
    packet = icmp.echo_request(4, ident=0x1234, seq=1, size=0)
    assert icmp.checksum(packet) == 0  # a valid checksum sums to zero
    assert packet == struct.pack("!BBHHH", 8, 0, 0xE5CA, 0x1234, 1)


def _ipv4(proto: int, payload: bytes, src: str = "10.0.1.1", dst: str = "10.0.1.10") -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))  # fmt: skip
    return header + payload


def test_parse_echo_reply_and_errors_quoting_our_probe() -> None:
    ident = 0x4242
    reply = _ipv4(1, struct.pack("!BBHHH", 0, 0, 0, ident, 7) + b"data")
    got = icmp.parse(4, reply, "10.0.2.10", ident)
    assert got is not None and got.is_reply and got.seq == 7
    assert icmp.parse(4, reply, "10.0.2.10", ident + 1) is None  # someone else's ping

    quoted = _ipv4(1, icmp.echo_request(4, ident, 3, 1472)[:8], src="10.0.1.10", dst="10.0.2.10")
    too_big = _ipv4(1, struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + quoted)
    got = icmp.parse(4, too_big, "10.0.1.1", ident)
    assert got is not None and not got.is_reply and (got.type, got.code, got.mtu, got.seq) == (3, 4, 1400, 3)

    expired = _ipv4(1, struct.pack("!BBHI", 11, 0, 0, 0) + quoted)
    got = icmp.parse(4, expired, "10.0.1.1", ident)
    assert got is not None and got.type == 11 and got.source == "10.0.1.1"


def test_icmp_words_for_learners() -> None:
    assert icmp.describe(4, 3, 13) == "communication administratively prohibited"
    assert icmp.describe(6, 2, 0) == "packet too big"
    assert icmp.why(4, 3, 3, "10.0.2.10", "10.0.2.10", "udp") == "nothing listens on that UDP port"
    assert icmp.why(4, 3, 3, "10.0.1.1", "10.0.2.10", "tcp") == "a firewall REJECT there"
    assert icmp.why(4, 3, 0, "10.0.1.1", "10.0.2.10", "tcp") == "no route onward from there"


def test_parse_an_extended_error_with_its_offender() -> None:
    offender = struct.pack("=HH4s8x", socket.AF_INET, 0, socket.inet_aton("10.0.1.1"))
    data = struct.pack("=IBBBBII", 111, 2, 3, 3, 0, 0, 0) + offender
    got = errqueue.parse(socket.IPPROTO_IP, 11, data)
    assert got == errqueue.QueuedError(111, True, 3, 3, 0, "10.0.1.1")
    assert errqueue.parse(socket.SOL_SOCKET, 11, data) is None


# --- /proc/net tables -------------------------------------------------------------------------
TCP_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0A02000A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5002 1 0
   2: 0A02000A:1F90 0A01000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 5003 1 0
"""
TCP6_TABLE = (
    "  sl  local_address                         remote_address                        st ...\n"
    "   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A"
    " 00000000:00000000 00:00000000 00000000     0        0 6001 1 0\n"
)


def test_listening_sockets_from_proc_tables() -> None:
    found = sockets.parse_table(TCP_TABLE, "tcp")
    assert [(s.address, s.port, s.inode) for s in found] == [("10.0.2.10", 8080, 5001), ("0.0.0.0", 22, 5002)]
    assert [(s.address, s.port) for s in sockets.parse_table(TCP6_TABLE, "tcp")] == [("::1", 80)]
    assert str(found[0]) == "10.0.2.10:8080/tcp"


# --- names ------------------------------------------------------------------------------------
def test_hosts_and_resolv_conf(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n2001:db8::5 web\n10.0.2.10\tweb www # the server\n# 1.2.3.4 web\n")
    assert str(from_hosts(str(hosts), "WEB.")) == "10.0.2.10"  # IPv4 preferred, case-insensitive
    assert from_hosts(str(hosts), "nothere") is None
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("# written by nslab\nnameserver 10.0.2.53\nnameserver bogus\nsearch lab.test\n")
    servers, search = resolv_conf(str(resolv))
    assert [str(s) for s in servers] == ["10.0.2.53"] and search == ["lab.test"]


# --- selftest variants and phase rules ---------------------------------------------------------
VARIANTS = """\
metadata: {name: v, title: Variants}
params:
  fault: {choices: [a, b]}
  port: {choices: [80, 8080, 8000]}
  banner: {choices: [x, y]}
nodes:
  h1: {kind: router, interfaces: {eth0: {addresses: [10.0.1.1/24]}}}
  h2: {interfaces: {eth0: {addresses: [10.0.1.2/24]}}}
links: [[h1:eth0, h2:eth0]]
faults:
  - {kind: forwarding-off, node: h1, when: {fault: a}}
  - {kind: interface-down, node: h2, iface: eth0, when: {fault: b}}
checks:
  - {name: c, kind: tcp, from: h1, to: 10.0.1.2, port: "${port}", when: {port: [80, 8080]}}
  - {name: d, kind: ping, from: h1, to: 10.0.1.2, description: "banner ${banner}"}
"""


def test_one_variant_per_combination_of_when_parameters() -> None:
    scenario = loader.load_text(VARIANTS, "v.yaml")
    assert phases.when_params(scenario) == ["fault", "port"]
    got = phases.variants(scenario)
    assert len(got) == 6 and {"fault": "b", "port": 8000} in got
    assert all("banner" not in v for v in got)  # used in a value, not in when: one variant does


def _result(name: str, role: str, passed: bool) -> CheckResult:
    return CheckResult(name, "ping", role, "h1", 1, "", passed, "x", "y", f"{name} line")


def test_phase_rules() -> None:
    report = Report("l", "s", False, (_result("g", "goal", True), _result("d", "guard", False)))
    assert phases.problems(report, "healthy") == ["guard d fails: d line"]
    broken = phases.problems(report, "broken")
    assert broken[0].startswith("goal g passes in the broken lab") and broken[1].startswith("guard d fails")
    fine = Report("l", "s", False, (_result("g", "goal", False), _result("d", "guard", True)))
    assert phases.problems(fine, "broken") == []
    only_guards = Report("l", "s", False, (_result("d", "guard", True),))
    assert phases.problems(only_guards, "healthy") == ["the scenario has no goal check"]
    assert phases.problems(Report("l", "s", False, ()), "healthy") == ["the scenario has no active checks"]


# --- validation of check declarations -----------------------------------------------------------
BASE = """\
metadata: {name: s, title: S}
nodes:
  client: {interfaces: {eth0: {addresses: [10.0.1.10/24]}}}
  r1: {kind: router, interfaces: {eth0: {addresses: [10.0.1.1/24]}}}
links: [[client:eth0, r1:eth0]]
checks:
"""


def problems(check: str) -> list[str]:
    try:
        loader.load_text(BASE + f"  - {{name: c, from: client, {check}}}\n", "s.yaml")
    except ScenarioError as exc:
        return [d.render() for d in exc.diagnostics]
    return []


@pytest.mark.parametrize(
    ("check", "words"),
    [
        ("kind: path, to: 10.0.1.1, via: [r2]", "'r2' is neither an address nor a node"),
        ("kind: link, iface: eht0, up: true", "did you mean 'eth0'"),
        ("kind: address, iface: eth0, address: 10.0.1.10/33", "is not an address, like 10.0.1.10"),
        ("kind: route, to: 10.0.2.1/24", "has host bits set"),
        ("kind: https, url: 'http://10.0.1.1/'", "needs an https:// URL"),
        ("kind: dns, query: www.example.test", "names no server and node 'client' has no nameservers"),
        ("kind: tcp, to: web, port: 80", "cannot resolve 'web'"),
    ],
)
def test_check_fields_are_validated_with_positions(check: str, words: str) -> None:
    found = problems(check)
    assert any(words in p for p in found), found
    assert all(p.startswith("s.yaml:7:") for p in found), found


def test_valid_checks_pass_validation() -> None:
    for check in (
        "kind: path, to: 10.0.1.1, via: [r1], avoid: [10.0.9.9]",
        "kind: link, iface: lo, up: true",
        "kind: route, to: default",
        "kind: tcp, to: localhost, port: 22, expect: refused",
    ):
        assert problems(check) == [], check


def test_a_goal_that_heals_between_two_gradings_is_a_flip() -> None:
    first = Report("l", "s", False, (_result("g", "goal", False), _result("h", "goal", False)))
    again = Report("l", "s", False, (_result("g", "goal", True), _result("h", "goal", False)))
    (flip,) = phases.flips(first, again)
    assert flip.startswith("goal g failed in the broken lab, then passed when graded again")
    assert phases.flips(first, first) == []
    assert phases.flips(again, first) == []  # a goal that stops passing is not healing
