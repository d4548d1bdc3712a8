"""`nslab capture` and `nslab check --pcap` in real labs, read back with scapy as the oracle.

All traffic stays inside each test's own lab: pings run with `ip netns exec` in its nodes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nslab.labs import lifecycle as lab


def nslab(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nslab", *args], capture_output=True, text=True, timeout=timeout
    )


def start_capture(*args: str, stdout: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """Start `nslab capture` and return once it says every socket is bound."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nslab", "capture", *args], stdout=stdout, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert line.startswith("capturing on "), line + proc.stderr.read().decode()
    return proc


def ping(prefix: str, node: str, target: str, count: int = 3) -> None:
    subprocess.run(
        ["ip", "netns", "exec", f"{prefix}-{node}", "ping", "-c", str(count), "-i", "0.2", "-W", "1", target],
        capture_output=True,
        check=True,
    )


def read(path: Path) -> tuple[list[str], list[Any]]:
    from scapy.config import conf

    conf.route_autoload = False
    from scapy.layers import inet, l2  # noqa: F401  (registers the layers scapy dissects)
    from scapy.utils import PcapNgReader

    with PcapNgReader(str(path)) as reader:
        packets = list(reader)
        names = [opts["name"].decode() for _, _, opts in reader.interfaces]
    return names, packets


def echoes(packets: list[Any], iface: str) -> set[int]:
    from scapy.layers.inet import ICMP

    return {p[ICMP].type for p in packets if p.sniffed_on == iface and ICMP in p}


@pytest.fixture
def healthy(prefix: str) -> Iterator[str]:
    lab.up("two-hosts", prefix=prefix, healthy=True)
    try:
        yield prefix
    finally:
        lab.down_one(prefix)


def test_two_nodes_while_pinging_and_the_filter_decides(healthy: str, tmp_path: Path) -> None:
    icmp_file, tcp_file = tmp_path / "icmp.pcapng", tmp_path / "tcp.pcapng"
    icmp = start_capture("--lab", healthy, "h1", "h2:eth0", "-f", "icmp", "-w", str(icmp_file))
    tcp = start_capture("--lab", healthy, "h1:eth0", "h2", "-f", "tcp", "-d", "2", "-w", str(tcp_file))
    ping(healthy, "h1", "10.0.1.2")
    time.sleep(0.2)
    icmp.send_signal(subprocess.signal.SIGINT)  # type: ignore[attr-defined]
    assert icmp.wait(10) == 0
    assert tcp.wait(10) == 0  # its --duration ended it

    names, packets = read(icmp_file)
    assert names == ["h1:eth0", "h2:eth0"]
    assert echoes(packets, "h1:eth0") == {0, 8} and echoes(packets, "h2:eth0") == {0, 8}
    assert len(packets) == 12  # 3 requests + 3 replies, seen on both ends; nothing but ICMP
    outbound_requests = [p for p in packets if p.sniffed_on == "h1:eth0" and p.direction == 2]
    assert len(outbound_requests) == 3
    names, packets = read(tcp_file)
    assert names == ["h1:eth0", "h2:eth0"] and packets == []


def test_count_stops_it_and_duration_stops_an_idle_capture(healthy: str, tmp_path: Path) -> None:
    counted = tmp_path / "c.pcapng"
    proc = start_capture("--lab", healthy, "--all", "-f", "icmp", "-c", "3", "-w", str(counted))
    ping(healthy, "h1", "10.0.1.2", count=2)
    assert proc.wait(10) == 0
    names, packets = read(counted)
    assert sorted(names) == ["h1:eth0", "h2:eth0", "sw1:br0", "sw1:p1", "sw1:p2"]  # lo skipped
    assert len(packets) == 3

    started = time.monotonic()
    idle = nslab("capture", "--lab", healthy, "h1", "-f", "tcp", "-d", "1", "-w", str(tmp_path / "d.pcapng"))
    assert idle.returncode == 0, idle.stderr
    assert 1.0 <= time.monotonic() - started < 6
    assert "0 packets written" in idle.stderr


def test_stdout_pipe_streams_and_a_closed_pipe_ends_cleanly(healthy: str) -> None:
    proc = start_capture("--lab", healthy, "--all", "-w", "-", stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    header = proc.stdout.read(4)
    assert header == b"\x0a\x0d\x0d\x0a"  # a pcapng section begins at once, before any packet
    ping(healthy, "h1", "10.0.1.2", count=1)
    proc.stdout.close()  # the reader goes away (Wireshark closed)
    ping(healthy, "h1", "10.0.1.2", count=2)  # the next packets hit the broken pipe
    assert proc.wait(10) == 0
    rest = proc.stderr.read().decode()
    assert "Traceback" not in rest and "error" not in rest.lower(), rest


def test_wrong_names_and_no_lab(healthy: str, tmp_path: Path) -> None:
    out = str(tmp_path / "x.pcapng")
    bad = nslab("capture", "--lab", healthy, "h3", "h1:eht0", "-w", out)
    assert bad.returncode == 2
    assert "no node 'h3'" in bad.stderr and "no interface 'eht0'" in bad.stderr
    assert "did you mean 'eth0'?" in bad.stderr and "Traceback" not in bad.stderr
    assert nslab("capture", "--lab", healthy, "h1", "-f", "icmp andd", "-w", out).returncode == 2
    gone = nslab("capture", "--lab", healthy + "x", "--all", "-w", out)
    assert gone.returncode == 3 and "is not up" in gone.stderr


def test_check_pcap_keeps_a_capture_of_each_failing_check(prefix: str, tmp_path: Path) -> None:
    from scapy.layers.inet import ICMP

    lab.up("two-hosts", prefix=prefix)  # broken: h2's firewall drops echo requests
    try:
        traces = tmp_path / "traces"
        result = nslab("check", "--lab", prefix, "--pcap", str(traces))
        assert result.returncode == 1, result.stderr
        failing = {"h1-reaches-h2"}
        assert {p.name for p in traces.iterdir()} == {f"{name}.pcapng" for name in failing}
        names, packets = read(traces / "h1-reaches-h2.pcapng")
        assert "h1:eth0" in names and "sw1:p2" in names
        echo = [p for p in packets if ICMP in p and p.sniffed_on == "sw1:p2"]
        requests = [p for p in echo if p[ICMP].type == 8 and p["IP"].dst == "10.0.1.2"]
        # the evidence: h1's echo requests reach h2's port on the switch, and nothing comes back
        assert requests and not [p for p in echo if p[ICMP].type == 0 and p["IP"].src == "10.0.1.2"], echo

        plain = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "nslab", "check", "--lab", prefix],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert plain.returncode == 1
        assert "nslab.checks" in plain.stderr and "nslab.packets" not in plain.stderr
    finally:
        lab.down_one(prefix)
