"""Each routing, addressing, filtering and MTU fault shows its documented symptom with the real
tools, `nslab check` fails its goals, and a healthy build of the same file shows neither.

One scenario (tests/scenarios/fault-routed.yaml) holds every fault; the `fault` parameter
picks one, exactly as a seed would for a learner.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.root.faults.test_fault_tools import (
    Ran,
    assert_broken_grade,
    assert_healthy_grade,
    built,
    graded,
    listening,
    nc_probe,
    nstat,
    ping,
    reaches,
    run,
)

SERVER = "10.0.2.10"


def route_get(p: str, node: str, target: str) -> Ran:
    return run(p, node, "ip", "route", "get", target)


def no_route_on_client(p: str, healthy: bool) -> None:
    got = route_get(p, "client", SERVER)
    if healthy:
        assert got.rc == 0 and "via 10.0.1.1 dev eth0" in got, got
        assert reaches(p, "client", SERVER)
    else:
        assert got.rc != 0 and "Network is unreachable" in got, got
        assert "Network is unreachable" in ping(p, "client", SERVER)


def missing_return_route(p: str, healthy: bool) -> None:
    back = route_get(p, "server", "10.0.1.10")
    if healthy:
        assert "via 10.0.3.1 dev eth1" in back, back
        assert reaches(p, "client", SERVER)
    else:
        assert back.rc != 0 and "Network is unreachable" in back, back
        lost = ping(p, "client", SERVER)
        assert lost.rc != 0 and "100% packet loss" in lost, lost
        assert route_get(p, "client", SERVER).rc == 0  # the way there is fine


def wrong_gateway(p: str, healthy: bool) -> None:
    got = route_get(p, "client", SERVER)
    if healthy:
        assert "via 10.0.1.1 " in got and reaches(p, "client", SERVER), got
        return
    assert "via 10.0.1.99 dev eth0" in got, got
    assert not reaches(p, "client", SERVER)
    neigh = run(p, "client", "ip", "neigh", "show", "10.0.1.99")
    assert "INCOMPLETE" in neigh or "FAILED" in neigh, neigh  # nobody answers ARP for the gateway


def forwarding_off(p: str, healthy: bool) -> None:
    value = run(p, "r1", "sysctl", "-n", "net.ipv4.ip_forward").text.strip()
    if healthy:
        assert value == "1" and reaches(p, "client", SERVER)
        return
    assert value == "0"
    before = nstat(p, "r1", "IpInAddrErrors")
    lost = ping(p, "client", SERVER)
    assert lost.rc != 0 and "100% packet loss" in lost and "Unreachable" not in lost, lost  # silent
    assert nstat(p, "r1", "IpInAddrErrors") > before  # r1 counted it as not for itself, and dropped it
    assert reaches(p, "client", "10.0.1.1")  # the router itself answers


def interface_down(p: str, healthy: bool) -> None:
    link = run(p, "client", "ip", "-br", "link", "show", "eth0")
    if healthy:
        assert " UP " in link.text and reaches(p, "client", SERVER), link
    else:
        assert " DOWN " in link.text, link
        assert "Network is unreachable" in ping(p, "client", SERVER)


def wrong_netmask(p: str, healthy: bool) -> None:
    addr = run(p, "client", "ip", "-br", "addr", "show", "eth0")
    got = route_get(p, "client", SERVER)
    if healthy:
        assert "10.0.1.10/24" in addr and "via 10.0.1.1" in got and reaches(p, "client", SERVER)
        return
    assert "10.0.1.10/16" in addr, addr
    assert f"{SERVER} dev eth0 src 10.0.1.10" in got and "via" not in got, got  # "on my wire"
    assert not reaches(p, "client", SERVER)


def drop_icmp(p: str, healthy: bool) -> None:
    with listening(p, "server", 8080):
        port = nc_probe(p, "client", SERVER, 8080)
        assert "succeeded" in port, port  # the server is up and reachable either way
        if healthy:
            assert reaches(p, "client", SERVER)
        else:
            assert not reaches(p, "client", SERVER)
            rules = run(p, "server", "iptables", "-S", "INPUT").text
            assert "-p icmp" in rules and "--icmp-type 8 -j DROP" in rules, rules


def firewall(expected: str) -> Callable[[str, bool], None]:
    def check(p: str, healthy: bool) -> None:
        # Built with port=9090: only that port is hit, 8080 stays open.
        with listening(p, "server", 8080, 9090):
            hit = nc_probe(p, "client", SERVER, 9090)
            assert ("succeeded" if healthy else expected) in hit, hit
            assert "succeeded" in nc_probe(p, "client", SERVER, 8080)

    return check


def rp_filter_strict(p: str, healthy: bool) -> None:
    before = nstat(p, "server", "TcpExtIPReversePathFilter")
    if healthy:
        assert reaches(p, "client", SERVER)
        assert nstat(p, "server", "TcpExtIPReversePathFilter") == before
        return
    assert run(p, "server", "sysctl", "-n", "net.ipv4.conf.eth0.rp_filter").text.strip() == "1"
    assert not reaches(p, "client", SERVER)
    assert nstat(p, "server", "TcpExtIPReversePathFilter") > before
    assert reaches(p, "client", "10.0.3.10")  # the symmetric leg still works


def mtu_mismatch(p: str, healthy: bool) -> None:
    assert ping(p, "client", SERVER, "-M", "do", "-s", "1372").rc == 0  # small packets pass
    big = ping(p, "client", SERVER, "-M", "do", "-s", "1472", count=2)
    if healthy:
        assert big.rc == 0, big
    else:
        assert "100% packet loss" in big, big
        # The black hole: no "Frag needed", no local "message too long", nothing.
        assert "Frag" not in big and "too long" not in big, big


def wrong_static_arp(p: str, healthy: bool) -> None:
    neigh = run(p, "client", "ip", "neigh", "show", "10.0.1.1", "dev", "eth0")
    if healthy:
        assert reaches(p, "client", SERVER)
        assert "lladdr 02:00:00:00:01:01" in run(p, "client", "ip", "neigh", "show", "10.0.1.1")
    else:
        assert "lladdr 02:00:00:00:0b:ad PERMANENT" in neigh, neigh
        assert not reaches(p, "client", SERVER)


def stale_hosts_entry(p: str, healthy: bool) -> None:
    name = run(p, "client", "getent", "hosts", "server.lab").text.split()
    if healthy:
        assert name[:2] == [SERVER, "server.lab"] and reaches(p, "client", "server.lab")
    else:
        assert name[:2] == ["10.0.2.99", "server.lab"], name
        assert "PING server.lab (10.0.2.99)" in ping(p, "client", "server.lab")
        assert not reaches(p, "client", "server.lab") and reaches(p, "client", SERVER)


def wrong_address(p: str, healthy: bool) -> None:
    addr = run(p, "client", "ip", "-br", "addr", "show", "eth0")
    routes = run(p, "client", "ip", "route", "show").text
    if healthy:
        assert "10.0.1.10/24" in addr and "default via 10.0.1.1" in routes, (addr, routes)
        assert reaches(p, "client", SERVER)
        return
    assert "10.0.7.10/24" in addr, addr
    # The gateway is off-link now, so the default route went with the old address.
    assert routes.strip() == "10.0.7.0/24 dev eth0 proto kernel scope link src 10.0.7.10", routes
    assert "Network is unreachable" in ping(p, "client", SERVER)


def sysctl_arp_ignore(p: str, healthy: bool) -> None:
    value = run(p, "r1", "sysctl", "-n", "net.ipv4.conf.eth0.arp_ignore").text.strip()
    if healthy:
        assert value == "0" and reaches(p, "client", SERVER)
        return
    assert value == "8", value
    assert not reaches(p, "client", SERVER)
    neigh = run(p, "client", "ip", "neigh", "show", "10.0.1.1")
    assert "INCOMPLETE" in neigh or "FAILED" in neigh, neigh  # r1 no longer answers ARP on eth0


SYMPTOMS: dict[str, Callable[[str, bool], None]] = {
    "missing-route": no_route_on_client,
    "missing-default-route": no_route_on_client,
    "missing-return-route": missing_return_route,
    "wrong-gateway": wrong_gateway,
    "forwarding-off": forwarding_off,
    "interface-down": interface_down,
    "wrong-netmask": wrong_netmask,
    "drop-icmp": drop_icmp,
    "firewall-drop": firewall("timed out"),
    "firewall-reject": firewall("Connection refused"),
    "rp-filter-strict": rp_filter_strict,
    "mtu-mismatch": mtu_mismatch,
    "wrong-static-arp": wrong_static_arp,
    "stale-hosts-entry": stale_hosts_entry,
    "wrong-address": wrong_address,
    "sysctl": sysctl_arp_ignore,
}


@pytest.mark.parametrize("fault", sorted(SYMPTOMS))
def test_fault_symptom_and_grade(prefix: str, fault: str) -> None:
    with built("fault-routed", prefix, healthy=False, fault=fault, port=9090) as p:
        SYMPTOMS[fault](p, False)
        assert_broken_grade(graded(p))
    with built("fault-routed", prefix, healthy=True, fault=fault, port=9090) as p:
        SYMPTOMS[fault](p, True)
        assert_healthy_grade(graded(p))


def test_every_choice_of_the_scenario_has_a_symptom_test() -> None:
    from nslab.scenario import loader
    from tests.root.faults.test_fault_tools import SCENARIOS

    choices = loader.load(str(SCENARIOS / "fault-routed.yaml")).params["fault"].choices
    assert set(choices) == set(SYMPTOMS)
