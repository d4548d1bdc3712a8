"""Faults that need their own topology: NAT, the PMTU black hole, a duplicate IP on a LAN and
the MTU mismatch on a VXLAN overlay. Each shows its symptom with the real tools when built
broken, `nslab check` fails its goals, and the healthy build of the same file shows neither.
"""

from __future__ import annotations

import pytest

from tests.root.faults.test_fault_tools import (
    assert_broken_grade,
    assert_healthy_grade,
    built,
    capture,
    graded,
    nc_probe,
    ping,
    reaches,
    run,
    upload,
)


@pytest.mark.parametrize("healthy", [False, True], ids=["broken", "healthy"])
def test_missing_snat_sends_private_sources_out(prefix: str, healthy: bool) -> None:
    with built("fault-nat", prefix, healthy, fault="missing-snat") as p:
        seen = capture(
            p, "inet", "eth0", "icmp[icmptype] == icmp-echo", 1, lambda: ping(p, "client", "203.0.113.10")
        )
        if healthy:
            assert "203.0.113.1 > 203.0.113.10: ICMP echo request" in seen, seen
            assert reaches(p, "client", "203.0.113.10")
            assert_healthy_grade(graded(p))
        else:
            # The outside host sees the private source, and has no route back to it.
            assert "10.0.1.10 > 203.0.113.10: ICMP echo request" in seen, seen
            assert "Network is unreachable" in run(p, "inet", "ip", "route", "get", "10.0.1.10")
            assert not reaches(p, "client", "203.0.113.10")
            assert "MASQUERADE" not in run(p, "r1", "iptables", "-t", "nat", "-S", "POSTROUTING")
            assert_broken_grade(graded(p))


@pytest.mark.parametrize("healthy", [False, True], ids=["broken", "healthy"])
def test_dnat_to_the_wrong_port_is_refused_by_the_inside_host(prefix: str, healthy: bool) -> None:
    with built("fault-nat", prefix, healthy, fault="dnat-wrong-port") as p:
        forwarded = nc_probe(p, "inet", "203.0.113.1", 8080)
        rules = run(p, "r1", "iptables", "-t", "nat", "-S", "PREROUTING").text
        if healthy:
            assert "succeeded" in forwarded and "--to-destination 10.0.1.10:80" in rules, (forwarded, rules)
            assert_healthy_grade(graded(p))
        else:
            # The RST comes from the web host (nothing on 8081), through the router.
            assert "Connection refused" in forwarded, forwarded
            assert "--to-destination 10.0.1.10:8081" in rules, rules
            assert "succeeded" in nc_probe(p, "r1", "10.0.1.10", 80)  # the service itself is fine
            assert_broken_grade(graded(p))


@pytest.mark.parametrize("healthy", [False, True], ids=["broken", "healthy"])
def test_dropped_fragmentation_needed_makes_a_black_hole(prefix: str, healthy: bool) -> None:
    with built("fault-pmtu", prefix, healthy) as p:
        assert reaches(p, "client", "10.0.3.10")  # small packets always pass
        big = ping(p, "client", "10.0.3.10", "-M", "do", "-s", "1472")
        cache = run(p, "client", "ip", "route", "get", "10.0.3.10").text
        arrived = upload(p, "client", "server", "10.0.3.10", 9000, size=300_000, timeout=4)
        if healthy:
            # Path MTU discovery at work: r1 says how big a packet may be, TCP adapts.
            assert "Frag needed and DF set (mtu = 1400)" in big, big
            assert "mtu 1400" in cache, cache
            assert arrived == 300_000
            assert_healthy_grade(graded(p))
        else:
            assert "100% packet loss" in big and "Frag needed" not in big, big
            assert "mtu 1400" not in cache, cache
            assert arrived < 300_000  # the upload hangs: full-size segments vanish
            assert_broken_grade(graded(p))


@pytest.mark.parametrize("healthy", [False, True], ids=["broken", "healthy"])
def test_duplicate_ip_gets_two_arp_answers(prefix: str, healthy: bool) -> None:
    with built("fault-lan", prefix, healthy) as p:
        replies = capture(
            p, "h1", "eth0", "arp and arp[6:2] == 2", 2, lambda: ping(p, "h1", "10.0.1.2"), wait=2
        )
        assert "Reply 10.0.1.2 is-at 02:00:00:00:00:02" in replies, replies
        impostor = "Reply 10.0.1.2 is-at 02:00:00:00:00:03" in replies
        assert impostor != healthy, replies
        addr = run(p, "h3", "ip", "-br", "addr", "show", "eth0").text
        assert ("10.0.1.3/24" if healthy else "10.0.1.2/24") in addr, addr
        if healthy:
            assert_healthy_grade(graded(p))
        else:
            assert_broken_grade(graded(p))


@pytest.mark.parametrize("healthy", [False, True], ids=["broken", "healthy"])
def test_pod_mtu_above_the_overlay_drops_big_frames_silently(prefix: str, healthy: bool) -> None:
    with built("fault-vxlan", prefix, healthy) as p:
        mtu = "1450" if healthy else "1500"
        assert f"mtu {mtu} " in run(p, "pod1", "ip", "link", "show", "eth0").text
        assert f"mtu {mtu} " in run(p, "node1", "ip", "link", "show", "p1").text
        assert "mtu 1450 " in run(p, "node1", "ip", "link", "show", "vx0").text
        assert ping(p, "pod1", "172.16.0.12", "-M", "do", "-s", "1422").rc == 0  # what the overlay carries
        big = ping(p, "pod1", "172.16.0.12", "-M", "do", "-s", "1472", count=2)
        assert big.rc != 0
        if healthy:
            # pod1 knows its limit: the error is local and immediate.
            assert "message too long, mtu=1450" in big, big
            assert_healthy_grade(graded(p))
        else:
            # pod1 believes 1500 fits; the bridge drops the frame at the VXLAN port, silently.
            assert "100% packet loss" in big and "too long" not in big and "Frag" not in big, big
            assert_broken_grade(graded(p))
