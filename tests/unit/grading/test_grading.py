"""The grader as a pure function: (checks, observations) -> verdicts, score, solved. No root."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nslab.checks.observation import ERROR, UNRESOLVED, Observation
from nslab.grading.judge import judge
from nslab.grading.report import CheckRun, grade
from nslab.scenario import loader
from nslab.scenario import model as m

HEAD = """\
metadata: {name: g, title: Grading}
nodes:
  client:
    interfaces: {eth0: {addresses: [10.0.1.10/24]}}
    routes: [{to: default, via: 10.0.1.1}]
    resolv: {nameservers: [10.0.2.10]}
  r1:
    kind: router
    interfaces:
      eth0: {addresses: [10.0.1.1/24]}
      eth1: {addresses: [10.0.2.1/24]}
  server:
    interfaces: {eth0: {addresses: [10.0.2.10/24]}}
links: [[client:eth0, r1:eth0], [r1:eth1, server:eth0]]
checks:
"""


def check(line: str) -> m.Check:
    """One check, through the real loader (so defaults are the ones users get)."""
    scenario = loader.load_text(HEAD + f"  - {{name: c, from: client, {line}}}\n", "g.yaml")
    return scenario.checks[0]


def obs(outcome: str, detail: str = "saw it", **evidence: object) -> Observation:
    return Observation(outcome, detail, evidence)


TCP_OUTCOMES = ("open", "refused", "timeout", "unreachable")


@given(expect=st.sampled_from(TCP_OUTCOMES), seen=st.sampled_from((*TCP_OUTCOMES, ERROR, UNRESOLVED)))
def test_tcp_passes_exactly_when_it_saw_what_it_expected(expect: str, seen: str) -> None:
    chk = check(f"kind: tcp, to: 10.0.2.10, port: 80, expect: {expect}")
    verdict = judge(chk, obs(seen))
    assert verdict.passed == (seen == expect)
    assert verdict.explanation.startswith("tcp client -> 10.0.2.10:80: ")
    assert verdict.explanation.endswith(f"; expected {expect}") != verdict.passed or seen == ERROR


def test_failure_line_says_what_was_seen_and_what_was_wanted() -> None:
    chk = check("kind: tcp, to: 10.0.2.10, port: 80")
    detail = "timed out after 1.0 s (no SYN-ACK, no RST: dropped silently)"
    verdict = judge(chk, obs("timeout", detail))
    assert verdict.explanation == f"tcp client -> 10.0.2.10:80: {detail}; expected open"
    assert "\n" not in verdict.explanation


def test_probe_error_never_passes_even_an_expected_failure() -> None:
    chk = check("kind: ping, to: 10.0.2.10, expect: unreachable")
    verdict = judge(chk, obs(ERROR, "node client's namespace is gone"))
    assert not verdict.passed and "could not probe" in verdict.explanation


@pytest.mark.parametrize(
    ("line", "seen", "passed"),
    [
        ("kind: ping, to: 10.0.2.10", obs("reachable"), True),
        ("kind: ping, to: 10.0.2.10", obs("too-big"), False),
        ("kind: ping, to: 10.0.2.10, expect: unreachable", obs("timeout"), True),
        ("kind: ping, to: 10.0.2.10, expect: unreachable", obs("too-big"), True),
        ("kind: ping, to: 10.0.2.10, expect: unreachable", obs(UNRESOLVED), False),
        ("kind: ping, to: 10.0.2.10, size: 1472, df: true, expect: too-big", obs("too-big"), True),
        ("kind: ping, to: 10.0.2.10, size: 1472, df: true, expect: too-big", obs("timeout"), False),
        ("kind: ping, to: 10.0.2.10, size: 1472, df: true, expect: too-big", obs("unreachable"), False),
        ("kind: ping, to: 10.0.2.10, size: 1472, df: true, expect: too-big", obs("reachable"), False),
        ("kind: udp, to: 10.0.2.10, port: 53", obs("reply"), True),
        (
            "kind: udp, to: 10.0.2.10, port: 53, contains: pong",
            obs("reply", contains={"found": False}),
            False,
        ),
        ("kind: udp, to: 10.0.2.10, port: 53, contains: pong", obs("reply", contains={"found": True}), True),
        ("kind: udp, to: 10.0.2.10, port: 53, expect: no-reply", obs("refused"), True),
        ("kind: udp, to: 10.0.2.10, port: 53, expect: no-reply", obs("reply"), False),
        ("kind: dns, query: www.lab.test", obs("answer", answers=["10.0.2.10"]), True),
        ("kind: dns, query: www.lab.test, answers: [10.0.2.11]", obs("answer", answers=["10.0.2.10"]), False),
        (
            "kind: dns, query: www.lab.test, type: CNAME, answers: [web.lab.test]",
            obs("answer", answers=["WEB.lab.test."]),
            True,
        ),
        ("kind: dns, query: nope.lab.test, expect: nxdomain", obs("nxdomain"), True),
        ("kind: dns, query: nope.lab.test, expect: nxdomain", obs("nodata"), False),
        ("kind: dns, query: www.lab.test, expect: failure", obs("rcode"), True),
        ("kind: dns, query: www.lab.test, expect: failure", obs("timeout"), True),
        ("kind: dns, query: www.lab.test, expect: failure", obs("nxdomain"), False),
        ("kind: route, to: default, via: 10.0.1.1", obs("present"), True),
        ("kind: route, to: 10.0.9.0/24, expect: absent", obs("present"), False),
        ("kind: address, iface: eth0, address: 10.0.1.10/24", obs("absent"), False),
        ("kind: link, iface: eth0, up: true, mtu: 1500", obs("up", up=True, mtu=1500), True),
        ("kind: link, iface: eth0, up: true, mtu: 1500", obs("up", up=True, mtu=9000), False),
        ("kind: link, iface: eth0, up: true", obs("down", up=False, mtu=1500), False),
        ("kind: link, iface: eth0, mtu: 1500", obs("down", up=False, mtu=1500), True),
        ("kind: link, iface: eth0, up: false", obs("missing"), False),
        ("kind: sysctl, key: net.ipv4.ip_forward, value: '1'", obs("value", value="1"), True),
        ("kind: sysctl, key: net.ipv4.ip_forward, value: '1'", obs("value", value="0"), False),
        ("kind: sysctl, key: net.ipv4.ping_group_range, value: '0 10'", obs("value", value="0\t10"), True),
        ("kind: sysctl, key: net.ipv4.ip_forward, value: 1", obs("value", value="1"), True),
        ("kind: sysctl, key: net.ipv4.conf.all.rp_filter, value: [1, 2]", obs("value", value="2"), True),
        ("kind: sysctl, key: net.ipv4.conf.all.rp_filter, value: [1, 2]", obs("value", value="0"), False),
        ("kind: sysctl, key: net.ipv4.conf.all.rp_filter, not: 0", obs("value", value="1"), True),
        ("kind: sysctl, key: net.ipv4.conf.all.rp_filter, not: 0", obs("value", value="0"), False),
        ("kind: sysctl, key: net.ipv4.conf.all.rp_filter, not: [0, 2]", obs("value", value="2"), False),
        ("kind: sysctl, key: net.ipv4.conf.all.rp_filter, not: 0", obs(ERROR), False),
        ("kind: sysctl, key: net.ipv4.ping_group_range, not: ['0 10']", obs("value", value="0\t10"), False),
        ("kind: iptables, chain: FORWARD, match: -j DROP", obs("present"), True),
        ("kind: iptables, chain: FORWARD, match: -j DROP, expect: absent", obs("present"), False),
        ("kind: listening, port: 80", obs("absent"), False),
        ("kind: arp, iface: eth0, who_has: 10.0.1.1, answers: 1", obs("count", count=1), True),
        ("kind: arp, iface: eth0, who_has: 10.0.1.1, answers: 1", obs("count", count=2), False),
        ("kind: arp, iface: eth0, who_has: 10.0.1.1, answers: 1", obs("count", count=0), False),
        ("kind: arp, iface: eth0, who_has: 10.0.1.1, answers: 1", obs("down", count=1), False),
        ("kind: arp, iface: eth0, who_has: 10.0.1.1, min: 1", obs("count", count=3), True),
        ("kind: arp, iface: eth0, who_has: 10.0.1.1, max: 0", obs("count", count=0), True),
        ("kind: arp, iface: eth0, who_has: 10.0.1.1, min: 1, max: 2", obs("count", count=3), False),
        ("kind: arp, iface: eth0, who_has: 10.0.1.1, max: 1", obs("missing"), False),
    ],
)
def test_kind_rules(line: str, seen: Observation, passed: bool) -> None:
    assert judge(check(line), seen).passed is passed


def test_sysctl_failure_names_what_would_do() -> None:
    verdict = judge(
        check("kind: sysctl, key: net.ipv4.conf.all.rp_filter, value: [1, 2]"), obs("value", value="0")
    )
    assert verdict.expected == "1 or 2"
    verdict = judge(check("kind: sysctl, key: net.ipv4.conf.all.rp_filter, not: 0"), obs("value", value="0"))
    assert verdict.expected == "anything but 0"


def _status(status: int, size: int = 10, found: bool | None = None) -> Observation:
    evidence: dict[str, object] = {"status": status, "bytes": size}
    if found is not None:
        evidence["contains"] = {"found": found}
    return Observation("response", "status", evidence)


@pytest.mark.parametrize(
    ("line", "seen", "passed"),
    [
        ("kind: http, url: 'http://10.0.2.10/'", _status(200), True),
        ("kind: http, url: 'http://10.0.2.10/'", _status(500), False),
        ("kind: http, url: 'http://10.0.2.10/', status: 404", _status(404), True),
        ("kind: http, url: 'http://10.0.2.10/', contains: hi", _status(200, found=False), False),
        ("kind: http, url: 'http://10.0.2.10/', min_bytes: 1000", _status(200, size=999), False),
        ("kind: http, url: 'http://10.0.2.10/', min_bytes: 1000", _status(200, size=1000), True),
        ("kind: http, url: 'http://10.0.2.10/', min_bytes: 1000", obs("incomplete", bytes=500), False),
        ("kind: http, url: 'http://10.0.2.10/', expect: error", obs("timeout"), True),
        ("kind: http, url: 'http://10.0.2.10/', expect: error", _status(403), True),
        ("kind: http, url: 'http://10.0.2.10/', expect: error", _status(200), False),
        ("kind: http, url: 'http://10.0.2.10/', expect: error", obs(UNRESOLVED), False),
        ("kind: https, url: 'https://10.0.2.10/'", obs("tls-error"), False),
    ],
)
def test_http_rules(line: str, seen: Observation, passed: bool) -> None:
    assert judge(check(line), seen).passed is passed


def hops(*pairs: tuple[str | None, str | None]) -> Observation:
    return obs("reached", hops=[{"address": a, "node": n} for a, n in pairs])


@pytest.mark.parametrize(
    ("line", "seen", "passed"),
    [
        ("kind: path, to: 10.0.2.10, via: [r1]", hops(("10.0.1.1", "r1"), ("10.0.2.10", "server")), True),
        (
            "kind: path, to: 10.0.2.10, via: [10.0.1.1]",
            hops(("10.0.1.1", "r1"), ("10.0.2.10", "server")),
            True,
        ),
        ("kind: path, to: 10.0.2.10, via: [r1]", hops((None, None), ("10.0.2.10", "server")), False),
        ("kind: path, to: 10.0.2.10, avoid: [r1]", hops(("10.0.1.1", "r1"), ("10.0.2.10", "server")), False),
        (
            "kind: path, to: 10.0.2.10, via: [server, r1]",
            hops(("10.0.1.1", "r1"), ("10.0.2.10", "server")),
            False,
        ),
        ("kind: path, to: 10.0.2.10", obs("not-reached", hops=[]), False),
    ],
)
def test_path_rules(line: str, seen: Observation, passed: bool) -> None:
    assert judge(check(line), seen).passed is passed


def run(line: str, seen: Observation, role: str = "goal", points: int = 1) -> CheckRun:
    chk = check(f"{line}, role: {role}, points: {points}")
    return CheckRun(chk, seen, attempts=1, seconds=0.1)


def test_score_and_solved() -> None:
    good = run("kind: ping, to: 10.0.2.10", obs("reachable"), points=3)
    bad = run("kind: tcp, to: 10.0.2.10, port: 80", obs("refused"), points=2)
    guard = run("kind: route, to: default", obs("present"), role="guard", points=1)
    report = grade([good, bad, guard], lab="lab1", scenario="g")
    assert (report.score, report.max_score, report.passed) == (4, 6, False)
    assert [r.passed for r in report.results] == [True, False, True]
    assert report.failed("goal")[0].explanation.endswith("expected open")
    fixed = grade([good, guard], lab="lab1", scenario="g")
    assert fixed.passed and fixed.score == fixed.max_score == 4


def test_a_broken_guard_means_not_solved_even_with_every_goal_met() -> None:
    good = run("kind: ping, to: 10.0.2.10", obs("reachable"))
    guard = run("kind: iptables, chain: FORWARD, match: -j REJECT", obs("absent"), role="guard")
    report = grade([good, guard], lab="l", scenario="g")
    assert not report.passed and report.failed("guard")[0].role == "guard"


def test_no_checks_is_never_solved() -> None:
    assert not grade([], lab="l", scenario="g").passed


@settings(deadline=None)  # a busy machine must not fail a pure function on time
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 100)), max_size=12))
def test_score_is_the_points_of_passing_checks(items: list[tuple[bool, int]]) -> None:
    runs = [
        run("kind: ping, to: 10.0.2.10", obs("reachable" if ok else "timeout"), points=p) for ok, p in items
    ]
    report = grade(runs, lab="l", scenario="g")
    assert report.score == sum(p for ok, p in items if ok)
    assert report.max_score == sum(p for _, p in items)
    assert report.passed == (bool(items) and all(ok for ok, _ in items))
