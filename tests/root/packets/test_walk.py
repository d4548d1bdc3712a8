"""`nslab walk` on small labs built here, one fault each: the verdict must name the hop where
the probe died and the kernel's reason (firewall rule, route, sysctl, neighbour, MTU, TTL).

Every lab is client - r1 - r2 - server (10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24); each test
adds one fault to it. All traffic stays inside the test's own namespaces.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nslab.labs import lifecycle as lab
from nslab.packets.walk import Probe, Walk, render, walk

BASE = """\
metadata:
  name: walklab
  title: walk test lab
nodes:
  client:
    interfaces:
      eth0: {{addresses: [10.0.1.10/24]}}
    routes:
      - {{to: default, via: 10.0.1.1}}
  r1:
    kind: router
    interfaces:
      eth0: {{addresses: [10.0.1.1/24]}}
      eth1: {{addresses: [10.0.2.1/24]}}
    routes:
{r1_routes}
{r1_extra}
  r2:
    kind: router
    interfaces:
      eth0: {{addresses: [10.0.2.2/24]}}
      eth1: {{addresses: [10.0.3.1/24]}}
    routes:
{r2_routes}
{r2_extra}
  server:
    interfaces:
      eth0: {{addresses: [10.0.3.10/24]}}
    routes:
      - {{to: default, via: 10.0.3.1}}
links:
  - [client:eth0, r1:eth0]
  - {{a: "r1:eth1", b: "r2:eth0", mtu: {mtu}}}
  - [r2:eth1, server:eth0]
services:
  - {{name: web, kind: tcp, node: server, port: 80, banner: hello}}
{faults}
checks:
  - {{name: reach, kind: ping, from: client, to: 10.0.3.10}}
"""

R1_DEFAULT = "      - {to: default, via: 10.0.2.2}"
R2_DEFAULT = "      - {to: default, via: 10.0.2.1}"


def scenario(
    tmp_path: Path,
    r1_routes: str = R1_DEFAULT,
    r2_routes: str = R2_DEFAULT,
    r1_extra: str = "",
    r2_extra: str = "",
    mtu: int = 1500,
    faults: str = "",
) -> str:
    path = tmp_path / "walklab.yaml"
    path.write_text(
        BASE.format(
            r1_routes=r1_routes,
            r2_routes=r2_routes,
            r1_extra=textwrap.indent(textwrap.dedent(r1_extra), "    "),
            r2_extra=textwrap.indent(textwrap.dedent(r2_extra), "    "),
            mtu=mtu,
            faults=faults,
        )
    )
    return str(path)


@pytest.fixture
def build(prefix: str) -> Iterator[Callable[[str], str]]:
    built: list[str] = []

    def up(path: str) -> str:
        lab.up(path, prefix=prefix)
        built.append(prefix)
        return prefix

    yield up
    for name in built:
        lab.down_one(name)


def died_at(result: Walk, node: str, where: str, cause: str) -> None:
    text = render(result)
    assert (result.outcome, result.node, result.where, result.cause) == ("died", node, where, cause), text
    assert f"the packet died at {node} ({where})" in text


def test_a_firewall_drop_names_the_rule_and_its_number(build: Callable[[str], str], tmp_path: Path) -> None:
    extra = """\
    firewall:
      filter: |
        -A FORWARD -p tcp --dport 22 -j ACCEPT
        -A FORWARD -p tcp --dport 80 -j DROP
    """
    name = build(scenario(tmp_path, r2_extra=extra))
    result = walk(name, "client", "server", Probe("tcp", 80))
    died_at(result, "r2", "eth0 in", "filter-drop")
    assert result.reason == "dropped by filter FORWARD rule 2: -A FORWARD -p tcp -m tcp --dport 80 -j DROP"
    assert [h.node for h in result.hops] == ["client", "r1", "r2"]
    assert result.hops[1].iface_in == "eth0" and result.hops[1].iface_out == "eth1"
    # the same lab, another port: answered by the server, so the verdict really depends on the rule
    ok = walk(name, "client", "10.0.3.10", Probe("icmp"))
    assert ok.outcome == "answered" and ok.node == "server", render(ok)


def test_reject_names_the_rule_and_who_answered(build: Callable[[str], str], tmp_path: Path) -> None:
    extra = """\
    firewall:
      filter: |
        -A FORWARD -p tcp --dport 80 -j REJECT --reject-with tcp-reset
    """
    name = build(scenario(tmp_path, r1_extra=extra))
    result = walk(name, "client", "server", Probe("tcp", 80))
    died_at(result, "r1", "eth0 in", "filter-reject")
    assert "rejected by filter FORWARD rule 1" in result.reason and "-j REJECT" in result.reason
    assert "r1 answered TCP RST from 10.0.3.10" in result.reason  # r1 forges it as the server
    assert result.socket_result == "Connection refused"


def test_a_closed_port_is_refused_by_the_destination(build: Callable[[str], str], tmp_path: Path) -> None:
    name = build(scenario(tmp_path))
    result = walk(name, "client", "server", Probe("udp", 5353))
    assert (result.outcome, result.node, result.cause) == ("refused", "server", "refused"), render(result)
    assert "ICMP port unreachable from 10.0.3.10, sent by server" in result.reason


def test_no_route(build: Callable[[str], str], tmp_path: Path) -> None:
    faults = "faults:\n  - {kind: missing-route, node: r1, to: default}"
    name = build(scenario(tmp_path, faults=faults))
    result = walk(name, "client", "server", Probe("icmp"))
    died_at(result, "r1", "eth0 in", "no-route")
    assert "no route to 10.0.3.10" in result.reason
    assert "ICMP net unreachable from 10.0.1.1" in result.reason  # r1 says so to the client


def test_blackhole_route(build: Callable[[str], str], tmp_path: Path) -> None:
    routes = R2_DEFAULT + "\n      - {to: 10.0.8.0/24, type: blackhole}"
    name = build(scenario(tmp_path, r2_routes=routes))
    result = walk(name, "client", "10.0.8.1", Probe("udp", 9))
    died_at(result, "r2", "eth0 in", "blackhole")
    assert "a blackhole route matches 10.0.8.1" in result.reason


def test_forwarding_off(build: Callable[[str], str], tmp_path: Path) -> None:
    faults = "faults:\n  - {kind: forwarding-off, node: r2}"
    name = build(scenario(tmp_path, faults=faults))
    result = walk(name, "client", "server", Probe("tcp", 80))
    died_at(result, "r2", "eth0 in", "forwarding-off")
    assert result.reason == "r2 does not forward (net.ipv4.ip_forward=0)"


def test_reverse_path_filter(build: Callable[[str], str], tmp_path: Path) -> None:
    # r2 believes the client lives behind its eth1: the client's packets arrive on the "wrong"
    # interface, and strict rp_filter drops them.
    routes = R2_DEFAULT + "\n      - {to: 10.0.1.0/24, via: 10.0.3.10}"
    faults = "faults:\n  - {kind: rp-filter-strict, node: r2}"
    name = build(scenario(tmp_path, r2_routes=routes, faults=faults))
    result = walk(name, "client", "server", Probe("icmp"))
    died_at(result, "r2", "eth0 in", "rp-filter")
    assert "rp_filter" in result.reason and "all=1" in result.reason


def test_no_arp_answer_for_a_gateway_nobody_owns(build: Callable[[str], str], tmp_path: Path) -> None:
    faults = "faults:\n  - {kind: wrong-gateway, node: r1, to: default, via: 10.0.2.99}"
    name = build(scenario(tmp_path, faults=faults))
    result = walk(name, "client", "server", Probe("icmp"))
    died_at(result, "r1", "eth0 in", "no-arp")
    assert result.reason.startswith("no ARP answer for 10.0.2.99 on eth1 (")


def test_mtu_with_df(build: Callable[[str], str], tmp_path: Path) -> None:
    name = build(scenario(tmp_path, mtu=1400))
    result = walk(name, "client", "server", Probe("icmp", size=1450))
    died_at(result, "r1", "eth0 in", "mtu")
    assert "1478-byte packet with DF set is larger than eth1's MTU 1400" in result.reason
    assert "ICMP fragmentation needed from 10.0.1.1" in result.reason
    small = walk(name, "client", "server", Probe("icmp", size=1000))
    assert small.outcome == "answered", render(small)


def test_ttl_in_a_routing_loop(build: Callable[[str], str], tmp_path: Path) -> None:
    # The base lab already loops: r1's default route points at r2 and r2's back at r1, so a
    # packet for an address neither knows bounces between them until its TTL runs out.
    name = build(scenario(tmp_path))
    result = walk(name, "client", "10.0.9.9", Probe("icmp"))
    assert result.cause == "ttl" and result.node in ("r1", "r2"), render(result)
    assert "a routing loop between r1 and r2" in result.reason
    assert "ICMP time exceeded (TTL 0 in transit) from 10.0.2." in result.reason
    assert len(result.hops) > 60  # it bounced until the TTL ran out
    assert "more hops" in render(result)


def test_nat_rewrite_is_shown(build: Callable[[str], str], tmp_path: Path) -> None:
    extra = """\
    firewall:
      nat: |
        -A POSTROUTING -o eth1 -j MASQUERADE
    """
    name = build(scenario(tmp_path, r2_extra=extra))
    result = walk(name, "client", "server", Probe("tcp", 80))
    assert result.outcome == "answered" and result.node == "server", render(result)
    r2 = next(h for h in result.hops if h.node == "r2")
    assert r2.seen_in is not None and r2.seen_out is not None
    assert r2.seen_in.src == "10.0.1.10" and r2.seen_out.src == "10.0.3.1"
    assert result.nat_rewrites() == [
        f"r2: source 10.0.1.10:{r2.seen_in.sport} -> 10.0.3.1:{r2.seen_out.sport}"
    ]
    assert "(NAT: source 10.0.1.10:" in render(result)


def test_cli_text_json_and_exit_codes(build: Callable[[str], str], tmp_path: Path) -> None:
    name = build(scenario(tmp_path, faults="faults:\n  - {kind: forwarding-off, node: r1}"))

    def nslab(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "nslab", *args], capture_output=True, text=True, timeout=60
        )

    started = time.monotonic()
    text = nslab("walk", "--lab", name, "client", "server", "--tcp", "80")
    took = time.monotonic() - started
    assert text.returncode == 1, text.stderr
    assert text.stdout.splitlines()[-1] == (
        "the packet died at r1 (eth0 in): r1 does not forward (net.ipv4.ip_forward=0)"
    )
    assert took < 5
    data = json.loads(nslab("walk", "--lab", name, "client", "10.0.3.10", "--json").stdout)
    assert data["cause"] == "forwarding-off" and data["node"] == "r1"
    assert [h["node"] for h in data["hops"]] == ["client", "r1"]
    both = nslab("walk", "--lab", name, "client", "server", "--tcp", "1", "--udp", "2")
    assert both.returncode == 2 and "choose one of" in both.stderr
    unknown = nslab("walk", "--lab", name, "nobody", "server")
    assert unknown.returncode == 2 and "no node 'nobody'" in unknown.stderr


def test_check_explain_attaches_a_walk_to_each_failing_reachability_check(prefix: str) -> None:
    lab.up("host-router-host", prefix=prefix, params={"fault": "forwarding-off"})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "nslab", "check", "--lab", prefix, "--explain"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1, done.stderr
        out = done.stdout
        assert "walk for client-reaches-server:" in out and "walk for server-reaches-client:" in out
        assert "the packet died at r1 (eth0 in): r1 does not forward (net.ipv4.ip_forward=0)" in out
        assert "the packet died at r1 (eth1 in): r1 does not forward (net.ipv4.ip_forward=0)" in out
        assert "walk for r1-forwards" not in out  # a sysctl check sends no packet: no walk
        plain = subprocess.run(
            [sys.executable, "-m", "nslab", "check", "--lab", prefix, "--json", "--explain"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        walks = json.loads(plain.stdout)["walks"]
        assert set(walks) == {"client-reaches-server", "server-reaches-client", "path-through-r1"}
        assert {w["cause"] for w in walks.values()} == {"forwarding-off"}
        without = subprocess.run(
            [sys.executable, "-m", "nslab", "check", "--lab", prefix],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "walk for" not in without.stdout
    finally:
        lab.down_one(prefix)


def test_mtu_black_hole_names_the_rule_that_ate_the_icmp_error(
    build: Callable[[str], str], tmp_path: Path
) -> None:
    faults = "faults:\n  - {kind: drop-icmp, node: r1, chain: OUTPUT, icmp_type: fragmentation-needed}"
    name = build(scenario(tmp_path, mtu=1400, faults=faults))
    result = walk(name, "client", "server", Probe("udp", 9, size=1450))
    died_at(result, "r1", "eth0 in", "mtu")  # the OUTPUT drop is not where the probe died
    assert "1478-byte packet with DF set is larger than eth1's MTU 1400" in result.reason
    assert "r1's own reply was dropped by filter OUTPUT rule 1:" in result.reason
    assert "--icmp-type 3/4 -j DROP" in result.reason
    assert not any(text.startswith("ICMP") for text in result.replies)  # none got out


def test_no_route_back_from_the_destination(build: Callable[[str], str], tmp_path: Path) -> None:
    faults = "faults:\n  - {kind: missing-default-route, node: server}"
    name = build(scenario(tmp_path, faults=faults))
    result = walk(name, "client", "server", Probe("icmp"))
    died_at(result, "server", "eth0 in", "no-return-route")
    assert result.reason == "it arrived, but server has no route back to 10.0.1.10 (Network is unreachable)"
    local = walk(name, "server", "10.0.1.10", Probe("udp", 9))  # never leaves: no route at the sender
    died_at(local, "server", "out", "no-route")
    assert local.hops == [] and local.socket_result == "Network is unreachable"
