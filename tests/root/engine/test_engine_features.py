"""Engine features against the real kernel, read back with pyroute2 (an independent implementation)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pyroute2 import NetNS

from nslab.engine import state, status
from nslab.labs import lifecycle as lab
from tests.conftest import REPO
from tests.root.engine.test_engine import ns_run, ping

SCENARIOS = REPO / "tests" / "scenarios"


def test_vxlan_overlay_carries_pods_across_nodes(prefix: str) -> None:
    lab.up(str(SCENARIOS / "engine-vxlan.yaml"), prefix=prefix, allow_exec=True)
    try:
        assert ping(f"{prefix}-pod1", "10.244.1.10")
        with NetNS(f"{prefix}-node1", flags=0) as ipr:
            (vx,) = ipr.get_links(ifname="vxlan0")
            info = dict(vx.get_attr("IFLA_LINKINFO")["attrs"])
            data = dict(info["IFLA_INFO_DATA"]["attrs"])
            assert info["IFLA_INFO_KIND"] == "vxlan" and data["IFLA_VXLAN_ID"] == 42
            assert data["IFLA_VXLAN_PORT"] == 4789 and vx.get_attr("IFLA_MTU") == 1450
        # A payload that fits the overlay MTU crosses with DF set; one that does not, does not.
        assert (
            ns_run(f"{prefix}-pod1", "ping", "-c1", "-W1", "-M", "do", "-s", "1422", "10.244.1.10").returncode
            == 0
        )
        assert (
            ns_run(f"{prefix}-pod1", "ping", "-c1", "-W1", "-M", "do", "-s", "1423", "10.244.1.10").returncode
            != 0
        )
    finally:
        lab.down_one(prefix)


def test_features_ipv6_neighbours_routes_sysctls_etc_files(prefix: str) -> None:
    lab.up(str(SCENARIOS / "engine-features.yaml"), prefix=prefix, allow_exec=True)
    a = f"{prefix}-a"
    try:
        assert ns_run(a, "ping", "-6", "-c1", "-W2", "fd00:5::2").returncode == 0
        with NetNS(a, flags=0) as ipr:
            (eth0,) = ipr.get_links(ifname="eth0")
            (eth1,) = ipr.get_links(ifname="eth1")
            assert eth0.get_attr("IFLA_MTU") == 1400 and eth0.get_attr("IFLA_ADDRESS") == "02:00:00:00:05:01"
            assert not eth1["flags"] & 1, "eth1 is declared up: false"
            neigh = [n for n in ipr.get_neighbours(dst="10.5.0.2") if n.get_attr("NDA_LLADDR")]
            assert neigh and neigh[0]["state"] == 0x80  # NUD_PERMANENT
            blackholes = [r for r in ipr.get_routes(family=2) if r["type"] == 6]
            assert [(r.get_attr("RTA_DST"), r["dst_len"]) for r in blackholes] == [("10.99.0.0", 16)]
        assert ns_run(a, "sysctl", "-n", "net.ipv4.conf.eth0.rp_filter").stdout.strip() == "2"
        assert "10.5.0.2\tpeer.lab" in ns_run(a, "cat", "/etc/hosts").stdout
        assert "search lab" in ns_run(a, "cat", "/etc/resolv.conf").stdout
        assert ns_run(a, "getent", "hosts", "peer.lab").stdout.split()[0] == "10.5.0.2"
        # One symlink on disk per node, to the upper layer of the node's /etc overlay on its
        # tmpfs in the lab's state directory: the node's own files, with their content.
        link = f"/etc/netns/{a}"
        assert os.readlink(link) == f"/run/nslab/{prefix}/nodes/{a}/etc/upper"
        with open(f"{link}/hosts") as handle:
            assert "10.5.0.2\tpeer.lab" in handle.read()
        with open(f"{link}/resolv.conf") as handle:
            assert "search lab" in handle.read()
        assert "failed" not in ns_run(a, "true").stderr  # ip netns exec binds every entry there
        ns_run(a, "sh", "-c", "echo '10.5.0.9 added.lab' >> /etc/hosts")  # a learner's edit...
        with open("/etc/hosts") as handle:
            assert "added.lab" not in handle.read()  # ...stays inside the node
    finally:
        lab.down_one(prefix)
    assert not os.path.exists(f"/etc/netns/{a}")


def test_status_reports_a_namespace_deleted_by_hand(prefix: str) -> None:
    lab.up("two-hosts", prefix=prefix, healthy=True)
    try:
        subprocess.run(["ip", "netns", "del", f"{prefix}-h2"], check=True)
        report = status.lab_status(prefix)
        assert not report.ok
        assert any("node h2" in p and "gone" in p for p in report.problems), report.problems
    finally:
        down = lab.down_one(prefix)
    assert down.namespaces == 2 and not down.problems
    assert not os.path.exists(state.lab_dir(prefix))


def test_five_hundred_hosts_build_at_ulimit_1024(tmp_path: Path, prefix: str) -> None:
    """Each namespace's netlink socket is closed as soon as it is configured (gotcha #4)."""
    lines = ["metadata: {name: big, title: big}", "nodes:", "  sw: {kind: switch}"]
    lines += [
        f"  h{i}: {{interfaces: {{eth0: {{addresses: [10.8.{i // 250}.{i % 250 + 1}/16]}}}}}}"
        for i in range(500)
    ]
    lines += ["links:"] + [f"  - [h{i}:eth0, sw]" for i in range(500)]
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines) + "\n")
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024));"
        "from nslab.cli.main import main; main(sys.argv[1:])"
    )
    up = subprocess.run(
        [sys.executable, "-c", code, "up", str(path), "--prefix", prefix], capture_output=True, text=True
    )
    try:
        assert up.returncode == 0, up.stderr
        assert ping(f"{prefix}-h499", "10.8.0.1")
    finally:
        down = subprocess.run([sys.executable, "-c", code, "down", prefix], capture_output=True, text=True)
    assert down.returncode == 0, down.stderr
    assert "removed 501 namespaces" in down.stdout


def test_down_recognises_its_namespaces_even_if_the_marker_was_changed(prefix: str) -> None:
    """Teardown knows each namespace by the inode the journal saw it named with, so a learner
    overwriting lo's alias does not strand the node; a foreign namespace of the same name
    (different inode, no marker) would still be left alone (test_engine.py)."""
    lab.up("two-hosts", prefix=prefix, healthy=True)
    subprocess.run(["ip", "-n", f"{prefix}-h1", "link", "set", "lo", "alias", "mine now"], check=True)
    report = lab.down_one(prefix)
    assert report.namespaces == 3 and not report.skipped and not report.problems


def test_firewall_rules_with_negation_and_quoted_words_load(prefix: str, tmp_path: Path) -> None:
    """'!' must reach iptables-restore bare and multi-word values quoted (a shlex.join bug
    once turned '! -o docker0' into a literal "'!'" that iptables-restore rejected)."""
    path = tmp_path / "fw.yaml"
    path.write_text(
        "metadata: {name: fw, title: t}\n"
        "nodes:\n"
        "  a:\n"
        "    interfaces: {eth0: {addresses: [10.7.0.1/24]}}\n"
        "    firewall:\n"
        "      filter: |\n"
        "        -A FORWARD -i eth0 ! -o eth0 -j ACCEPT\n"
        '        -A INPUT ! -s 10.7.0.0/24 -p tcp --dport 22 -j LOG --log-prefix "ssh from outside: "\n'
        '        -A INPUT -p tcp --dport 23 -m comment --comment "no telnet here" -j REJECT\n'
        "  b:\n"
        "    interfaces: {eth0: {addresses: [10.7.0.2/24]}}\n"
        "links: [[a:eth0, b:eth0]]\n"
    )
    lab.up(str(path), prefix=prefix, allow_exec=True)
    try:
        rules = ns_run(f"{prefix}-a", "iptables", "-S").stdout
        assert "-A FORWARD -i eth0 ! -o eth0 " in rules
        assert "! -s 10.7.0.0/24" in rules and '--log-prefix "ssh from outside: "' in rules
        assert '--comment "no telnet here"' in rules
    finally:
        lab.down_one(prefix)


def test_onlink_gateway_and_route_metrics_read_back(prefix: str) -> None:
    lab.up(str(SCENARIOS / "engine-routes.yaml"), prefix=prefix)
    host = f"{prefix}-host"
    try:
        shown = ns_run(host, "ip", "route", "show").stdout
        assert "default via 192.0.2.1 dev eth0 proto static onlink" in shown, shown
        assert "10.0.2.0/24 via 192.0.2.1 dev eth0 proto static metric 5 onlink mtu 1400 advmss 1300" in shown
        with NetNS(host, flags=0) as ipr:
            # A dump, filtered here (get_routes(dst=...) asks for a lookup: a cloned route).
            (route,) = [r for r in ipr.get_routes(table=254) if r.get_attr("RTA_DST") == "10.0.2.0"]
            assert route["flags"] & 4  # RTNH_F_ONLINK
            metrics = route.get_attr("RTA_METRICS")
            assert metrics.get_attr("RTAX_MTU") == 1400 and metrics.get_attr("RTAX_ADVMSS") == 1300
        # The /32 host reaches the server through its on-link gateway, and the route's MTU holds.
        assert ping(host, "10.0.2.10")
        big = ns_run(host, "ping", "-c1", "-W1", "-M", "do", "-s", "1373", "10.0.2.10")
        assert big.returncode != 0 and "message too long, mtu=1400" in big.stdout + big.stderr, big
    finally:
        lab.down_one(prefix)
