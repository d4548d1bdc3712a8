"""The engine against the real kernel: build, prove with traffic, tear down, leave nothing."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from pyroute2 import NetNS

from nslab.engine import state, status
from nslab.errors import KernelError, LabStateError
from nslab.kernel import netns
from nslab.labs import lifecycle as lab


def ns_run(ns: str, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=timeout)


def ping(ns: str, address: str) -> bool:
    # -W3: the first packet waits for ARP and bridge learning, slow on a loaded machine
    return ns_run(ns, "ping", "-c1", "-W3", address).returncode == 0


def test_two_hosts_on_a_switch_talk(prefix: str) -> None:
    result = lab.up("two-hosts", prefix=prefix, healthy=True)
    try:
        assert ping(f"{prefix}-h1", "10.0.1.2")
        assert ping(f"{prefix}-h2", "10.0.1.1")
        # Read the kernel back with an independent netlink implementation (pyroute2).
        with NetNS(f"{prefix}-sw1", flags=0) as ipr:
            links = {link.get_attr("IFLA_IFNAME"): link for link in ipr.get_links()}
            bridge_index = links["br0"]["index"]
            ports = [n for n, link in links.items() if link.get_attr("IFLA_MASTER") == bridge_index]
            assert sorted(ports) == ["p1", "p2"]
            assert links["lo"].get_attr("IFLA_IFALIAS").startswith(f"nslab:{prefix}:sw1:")
        assert result.summary()["nodes"]["h1"] == f"{prefix}-h1"
    finally:
        report = lab.down_one(prefix)
    assert report.namespaces == 3 and not report.problems


def test_router_forwards_and_firewall_loads(prefix: str) -> None:
    lab.up("host-router-host", prefix=prefix, healthy=True)
    try:
        assert ping(f"{prefix}-client", "10.0.2.10")
        rules = ns_run(f"{prefix}-r1", "iptables", "-S", "FORWARD").stdout
        # Exactly the rule the scenario wrote, no ownership comment: the textbook delete matches it.
        assert "-A FORWARD -p tcp -m tcp --dport 23 -j REJECT" in rules and "comment" not in rules
        assert (
            ns_run(
                f"{prefix}-r1", "iptables", "-D", "FORWARD", "-p", "tcp", "--dport", "23", "-j", "REJECT"
            ).returncode
            == 0
        )
        assert "--dport 23" not in ns_run(f"{prefix}-r1", "iptables", "-S", "FORWARD").stdout
        # With no marker, status still notices that the node nslab loaded rules into holds none now.
        assert any("every firewall rule" in p for p in status.lab_status(prefix).problems)
        with NetNS(f"{prefix}-client", flags=0) as ipr:
            routes = ipr.get_routes(family=2, dst_len=0)
            assert [r.get_attr("RTA_GATEWAY") for r in routes] == ["10.0.1.1"]
        with open("/proc/sys/net/ipv4/ip_forward") as handle:
            assert handle.read().strip() in ("0", "1")  # the host's value, whatever it is, untouched
        assert ns_run(f"{prefix}-r1", "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    finally:
        lab.down_one(prefix)


def _veths_not_up(prefix: str, nodes: list[str]) -> list[str]:
    """Every veth of the lab whose kernel operstate is not UP, read at once (no retry)."""
    down = []
    for node in nodes:
        out = subprocess.run(
            ["ip", "-n", f"{prefix}-{node}", "-j", "-d", "link"], capture_output=True, text=True, check=True
        ).stdout
        for link in json.loads(out):
            if link.get("linkinfo", {}).get("info_kind") != "veth":
                continue
            if link.get("operstate") != "UP" or "NO-CARRIER" in link.get("flags", []):
                down.append(f"{node}:{link['ifname']} {link.get('operstate')} {link.get('flags')}")
    return down


@pytest.mark.parametrize(
    ("scenario", "nodes"),
    [("host-router-host", ["client", "r1", "server"]), ("two-hosts", ["h1", "h2", "sw1"])],
)
def test_every_veth_is_up_when_up_returns(prefix: str, scenario: str, nodes: list[str]) -> None:
    """`nslab up` then `nslab check` at once must not lose packets to a link still coming up.

    The kernel defers a carrier change it deems non-urgent by up to a second (linkwatch); a
    veth whose two ends share an interface index is such a case. Read with no wait at all.
    """
    lab.up(scenario, prefix=prefix, healthy=True)
    try:
        assert _veths_not_up(prefix, nodes) == []
    finally:
        report = lab.down_one(prefix)
    assert not report.problems


def test_same_scenario_under_two_prefixes(prefix: str) -> None:
    a, b = f"{prefix}a", f"{prefix}b"
    lab.up("two-hosts", prefix=a, healthy=True)
    try:
        lab.up("two-hosts", prefix=b, healthy=True)
        try:
            assert ping(f"{a}-h1", "10.0.1.2") and ping(f"{b}-h1", "10.0.1.2")
            lab.down_one(a)
            assert ping(f"{b}-h1", "10.0.1.2")
        finally:
            lab.down_one(b)
    finally:
        lab.down_one(a)


def test_up_twice_is_a_clear_error(prefix: str) -> None:
    lab.up("two-hosts", prefix=prefix, healthy=True)
    try:
        with pytest.raises(LabStateError) as err:
            lab.up("two-hosts", prefix=prefix, healthy=True)
        assert "nslab down" in (err.value.hint or "") and "--replace" in (err.value.hint or "")
        replaced = lab.up("two-hosts", prefix=prefix, replace=True, healthy=True)
        assert replaced.lab == prefix and ping(f"{prefix}-h1", "10.0.1.2")
    finally:
        lab.down_one(prefix)


def test_kernel_failure_rolls_back_everything(prefix: str, tmp_path: os.PathLike[str]) -> None:
    bad = os.path.join(tmp_path, "bad.yaml")
    with open(bad, "w") as handle:
        handle.write(
            "metadata: {name: bad, title: t}\n"
            "nodes:\n"
            "  a: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}, sysctls: {net.ipv4.no_such_knob: 1}}\n"
            "  b: {interfaces: {eth0: {addresses: [10.0.0.2/24]}}}\n"
            "links: [[a:eth0, b:eth0]]\n"
        )
    with pytest.raises(KernelError) as err:
        lab.up(bad, prefix=prefix)
    assert "no_such_knob" in err.value.message
    assert not netns.exists(f"{prefix}-a") and not netns.exists(f"{prefix}-b")
    assert not os.path.exists(state.lab_dir(prefix))


def test_bad_firewall_rule_points_at_its_line(prefix: str, tmp_path: os.PathLike[str]) -> None:
    bad = os.path.join(tmp_path, "fw.yaml")
    with open(bad, "w") as handle:
        handle.write(
            "metadata: {name: fw, title: t}\n"
            "nodes:\n"
            "  a:\n"
            "    firewall:\n"
            "      filter: |\n"
            "        -A INPUT -p icmp -j DROP\n"
            "        -A INPUT -p tcp --dport 99999 -j DROP\n"
        )
    with pytest.raises(KernelError) as err:
        lab.up(bad, prefix=prefix)
    assert f"{bad}:7:" in (err.value.hint or ""), err.value.hint
    assert not netns.exists(f"{prefix}-a")


def test_namespace_name_taken_by_someone_else_is_left_alone(prefix: str) -> None:
    foreign = f"{prefix}-h1"
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        with pytest.raises(LabStateError):
            lab.up("two-hosts", prefix=prefix, healthy=True)
        assert netns.exists(foreign), "nslab removed a namespace it did not create"
        assert not os.path.exists(state.lab_dir(prefix))
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=True)
