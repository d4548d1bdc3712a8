"""Every probe kind against a real lab, covering every outcome it can report.

Servers are the test's own sockets, opened from threads inside the server namespace (the
lab's service kinds are tested elsewhere), and closed before teardown: an open socket
would keep a deleted namespace alive.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from nslab.engine import state
from nslab.grading.live import check_lab
from nslab.grading.report import CheckResult, Report
from nslab.kernel import netns
from nslab.labs import lifecycle as lab

SCENARIO = str(Path(__file__).resolve().parents[2] / "scenarios" / "grading-probes.yaml")
SERVER = "10.0.2.10"
BIG = 3_000_000


class Servers:
    """Tiny servers bound inside one namespace; each socket is made by a thread in it."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.stops: list[Callable[[], None]] = []
        self.stall = threading.Event()  # released at close, so stalled handlers end

    def _bind(self, kind: int, port: int, address: str = SERVER) -> socket.socket:
        def make() -> socket.socket:
            sock = socket.socket(socket.AF_INET, kind)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            if kind == socket.SOCK_STREAM:
                sock.listen(16)
            return sock

        sock = netns.run_in(self.ns, make)
        self.sockets.append(sock)
        return sock

    def _loop(self, fn: Callable[[], None]) -> None:
        thread = threading.Thread(target=fn, daemon=True)
        thread.start()
        self.threads.append(thread)

    def tcp_listener(self, port: int) -> None:
        self._bind(socket.SOCK_STREAM, port)  # the kernel completes handshakes without accept()

    def udp_echo(self, port: int) -> None:
        sock = self._bind(socket.SOCK_DGRAM, port)

        def serve() -> None:
            while True:
                try:
                    data, peer = sock.recvfrom(2048)
                    sock.sendto(data, peer)
                except OSError:
                    return

        self._loop(serve)

    def dns(self, records: dict[str, str]) -> None:
        sock = self._bind(socket.SOCK_DGRAM, 53)

        def serve() -> None:
            while True:
                try:
                    data, peer = sock.recvfrom(2048)
                except OSError:
                    return
                query = dns.message.from_wire(data)
                reply = dns.message.make_response(query)
                question = query.question[0]
                address = records.get(question.name.to_text())
                if question.name.to_text().startswith("broken."):
                    reply.set_rcode(dns.rcode.SERVFAIL)
                elif address is None:
                    reply.set_rcode(dns.rcode.NXDOMAIN)
                elif question.rdtype == dns.rdatatype.A:
                    reply.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", address))
                # any other type of a known name: NOERROR with no answer (NODATA)
                sock.sendto(reply.to_wire(), peer)

        self._loop(serve)

    def banner(self, port: int, text: bytes) -> None:
        """A TCP server that is not HTTP: reads the request, answers with `text`, hangs up cleanly."""
        sock = self._bind(socket.SOCK_STREAM, port)

        def serve() -> None:
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                with conn:
                    conn.settimeout(2)
                    conn.recv(4096)
                    conn.sendall(text)
                    conn.shutdown(socket.SHUT_WR)
                    while conn.recv(4096):
                        pass

        self._loop(serve)

    def http(self, port: int, tls: tuple[str, str] | None = None) -> None:
        stall = self.stall

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/index.html":
                    body = b"<p>hello from the lab</p>"
                elif self.path == "/big":
                    body = b"x" * BIG
                elif self.path == "/stall":  # promises a megabyte, sends a little, then hangs
                    self.send_response(200)
                    self.send_header("Content-Length", str(1 << 20))
                    self.end_headers()
                    self.wfile.write(b"y" * 1000)
                    self.wfile.flush()
                    stall.wait(5)
                    return
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        def make() -> http.server.ThreadingHTTPServer:
            server = http.server.ThreadingHTTPServer((SERVER, port), Handler)
            if tls is not None:
                import ssl

                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(*tls)
                server.socket = context.wrap_socket(server.socket, server_side=True)
            return server

        server = netns.run_in(self.ns, make)
        self._loop(server.serve_forever)

        def stop() -> None:
            server.shutdown()
            server.server_close()

        self.stops.append(stop)

    def close(self) -> None:
        self.stall.set()
        for stop in self.stops:
            stop()
        for sock in self.sockets:
            sock.close()
        for thread in self.threads:
            thread.join(2)


@pytest.fixture(scope="module")
def graded() -> Iterator[Report]:
    """One lab, one grading run of every check in grading-probes.yaml (they run in parallel)."""
    prefix = f"ga{os.getpid() % 100000}-probes"
    lab.up(SCENARIO, prefix=prefix, allow_exec=True)
    servers = Servers(f"{prefix}-server")
    try:
        servers.tcp_listener(8080)
        servers.udp_echo(5353)
        servers.dns({"www.lab.test.": SERVER})
        servers.http(80)
        servers.banner(2222, b"SSH-2.0-OpenSSH_9.2\r\n")
        yield check_lab(prefix).report
    finally:
        servers.close()
        report = lab.down_one(prefix)
        # Module-scoped, so the per-test leak check does not see this lab: check it here.
        assert not report.problems, report.problems
        assert not [n for n in netns.list_names() if n.startswith(f"{prefix}-")]
        assert not os.path.exists(state.lab_dir(prefix))


def result(report: Report, name: str) -> CheckResult:
    return next(r for r in report.results if r.name == name)


EXPECTED = {
    # name: (outcome, passed, words the explanation must hold)
    "ping-ok": ("reachable", True, "reply from 10.0.2.10"),
    "ping-by-name": ("reachable", True, "reply from 10.0.2.10"),
    "ping-df-fits": ("reachable", True, "reply from"),
    "ping-df-too-big": ("too-big", True, "r1 (10.0.1.1) reports next-hop MTU 1400"),
    "ping-df-local-too-big": ("too-big", True, "does not fit server's own interface toward 10.0.2.1"),
    "ping-no-route": ("unreachable", True, "r1 has no route to 192.0.2.1"),
    "ping-net-unreachable": ("unreachable", True, "r1 (10.0.2.1) answered ICMP network unreachable"),
    "ping-nobody": ("timeout", True, "no reply within 0.5 s"),
    "tcp-open": ("open", True, "handshake with 10.0.2.10"),
    "tcp-refused": ("refused", True, "refused: RST from 10.0.2.10"),
    "tcp-timeout": ("timeout", True, "no SYN-ACK, no RST: dropped silently"),
    "tcp-unreachable": (
        "unreachable",
        True,
        "r1 (10.0.1.1) answered ICMP port unreachable (a firewall REJECT",
    ),
    "tcp-prohibited": ("unreachable", True, "communication administratively prohibited"),
    "tcp-no-route": ("unreachable", True, "r1 has no route to 198.51.100.7"),
    "tcp-net-unreachable": ("unreachable", True, "r1 (10.0.2.1) answered ICMP network unreachable"),
    "tcp-wrong": ("refused", False, "refused: RST from 10.0.2.10; expected open"),
    "udp-reply": ("reply", True, "'hello'"),
    "udp-refused": ("refused", True, "ICMP port unreachable from server (10.0.2.10) (nothing listens"),
    "udp-dropped": ("timeout", True, "no reply after"),
    "udp-rejected": ("unreachable", True, "r1 (10.0.1.1) answered ICMP port unreachable (a firewall REJECT"),
    "dns-answer": ("answer", True, "10.0.2.10"),
    "dns-nxdomain": ("nxdomain", True, "NXDOMAIN"),
    "dns-nodata": ("nodata", False, "www.lab.test exists but has no AAAA record"),
    "dns-timeout": ("timeout", True, "@10.0.2.99: no reply after 0.5 s"),
    "dns-servfail": ("rcode", True, "answered SERVFAIL"),
    "dns-no-server": ("refused", True, "@10.0.2.1: refused: ICMP port unreachable from r1 (10.0.2.1)"),
    "http-ok": ("response", True, "status 200"),
    "http-big": ("response", True, f"{BIG} bytes"),
    "http-404": ("response", True, "status 404"),
    "http-blocked": ("timeout", True, "dropped silently"),
    "http-refused": ("refused", True, "refused: RST from 10.0.2.10"),
    "http-rejected": ("unreachable", True, "r1 (10.0.1.1) answered ICMP port unreachable"),
    "http-stalls": ("incomplete", False, "status 200, then the transfer stalled after 1000 of 1048576 bytes"),
    "http-not-http": ("bad-response", False, "not an HTTP response: 'SSH-2.0-OpenSSH_9.2'"),
    "path-via-r1": ("reached", True, "r1 (10.0.1.1) -> server (10.0.2.10)"),
    "path-not-reached": ("not-reached", False, "192.0.2.1: r1 (10.0.2.1): ICMP network unreachable;"),
    "path-avoid-r1": ("reached", False, "expected to reach the target avoiding 10.0.1.1"),
    "route-default": ("present", True, "default via 10.0.1.1 dev eth0"),
    "route-missing": ("absent", True, "client has no route to 10.0.9.0/24"),
    "address-ok": ("present", True, "eth0 has 10.0.1.10/24"),
    "address-wrong-mask": ("absent", False, "eth0 has 10.0.1.10/24, not 10.0.1.10/16"),
    "link-mtu": ("up", True, "eth0 is up, MTU 1400"),
    "sysctl-forward": ("value", True, "net.ipv4.ip_forward = 1"),
    "iptables-telnet": ("present", True, "--dport 23"),
    "iptables-absent": ("absent", True, "no rule in filter INPUT"),
    "listening-8080": ("present", True, "10.0.2.10:8080/tcp"),
    "listening-udp": ("present", True, "10.0.2.10:5353/udp"),
    "listening-none": ("absent", False, "nothing listens on tcp port 9999"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_probe_outcome(graded: Report, name: str) -> None:
    outcome, passed, words = EXPECTED[name]
    got = result(graded, name)
    assert (got.outcome, got.passed) == (outcome, passed), got.explanation
    assert words in got.explanation, got.explanation


def test_every_check_of_the_scenario_is_covered(graded: Report) -> None:
    assert sorted(r.name for r in graded.results) == sorted(EXPECTED)


def test_checks_run_in_parallel(graded: Report) -> None:
    """The run costs about its slowest check, not the sum of all of them."""
    slowest = max(r.seconds for r in graded.results)
    total = sum(r.seconds for r in graded.results)
    assert total > 2.0  # four checks wait out a 0.5 s timeout ...
    assert graded.seconds < slowest + 0.5, (graded.seconds, slowest)  # ... all at the same time


def test_icmp_evidence_names_the_router(graded: Report) -> None:
    icmp = result(graded, "tcp-unreachable").evidence["icmp"]
    assert (icmp["from"], icmp["type"], icmp["code"]) == ("10.0.1.1", 3, 3)
    assert result(graded, "ping-df-too-big").evidence["mtu"] == 1400
    hops = result(graded, "path-via-r1").evidence["hops"]
    assert [h["node"] for h in hops] == ["r1", "server"]


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[str, str, str]:
    """A CA and a server certificate for 'server' and 10.0.2.10, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    ca_key, ca_crt = tmp_path / "ca.key", tmp_path / "ca.crt"
    key, csr, crt = tmp_path / "s.key", tmp_path / "s.csr", tmp_path / "s.crt"
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName = DNS:server, IP:10.0.2.10\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(
        "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "1", "-subj", "/CN=test CA"
    )
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=server")
    run(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(crt), "-days", "1", "-extfile", str(ext),
    )  # fmt: skip
    return str(ca_crt), str(crt), str(key)


def test_https_verifies_against_the_lab_ca(
    prefix: str, tmp_path: Path, tls_files: tuple[str, str, str]
) -> None:
    ca, crt, key = tls_files
    scenario = tmp_path / "tls.yaml"
    scenario.write_text(
        Path(SCENARIO).read_text().split("checks:")[0]
        + "checks:\n"
        + '  - {name: good, kind: https, from: client, url: "https://server/index.html", contains: hello}\n'
        + '  - {name: wrong-name, kind: https, from: client, url: "https://10.0.2.1/", resolve: 10.0.2.10}\n'
    )
    lab.up(str(scenario), prefix=prefix, allow_exec=True)
    servers = Servers(f"{prefix}-server")
    try:
        os.makedirs(os.path.join(state.lab_dir(prefix), "ca"), exist_ok=True)
        shutil.copy(ca, os.path.join(state.lab_dir(prefix), "ca", "ca.crt"))
        servers.http(443, tls=(crt, key))
        report = check_lab(prefix).report
    finally:
        servers.close()
        lab.down_one(prefix)
    good, wrong = report.results
    assert good.passed and good.outcome == "response", good.explanation
    assert good.evidence["tls"]["version"].startswith("TLS")
    assert wrong.outcome == "tls-error" and not wrong.passed
    assert "not valid for 10.0.2.1" in wrong.explanation, wrong.explanation


IPV6 = str(Path(__file__).resolve().parents[2] / "scenarios" / "grading-ipv6.yaml")


def _not_ready(lab_name: str) -> list[str]:
    """What in the lab cannot carry IPv6 yet: an interface that is up but whose carrier the
    kernel has not yet seen (its queue still drops), or an address still tentative (not
    usable as a source). Both settle in kernel work queues, late on a loaded machine."""
    waiting = []
    for ns in (n for n in netns.list_names() if n.startswith(f"{lab_name}-")):
        done = subprocess.run(["ip", "-n", ns, "-j", "addr", "show"], capture_output=True, text=True)
        for link in json.loads(done.stdout or "[]"):
            if "UP" in link["flags"] and link["ifname"] != "lo" and link.get("operstate") != "UP":
                waiting.append(f"{ns} {link['ifname']} is {link.get('operstate')}")
            waiting += [
                f"{ns} {link['ifname']} {a['local']} is tentative"
                for a in link.get("addr_info", [])
                if a.get("tentative")
            ]
    return waiting


def wait_ipv6_ready(lab_name: str, timeout: float = 30) -> None:
    """Wait until neighbour discovery can work at once (the probes' timeout is 1 s, and a
    lost first neighbour solicitation is only retried after 1 s)."""
    deadline = time.monotonic() + timeout
    while waiting := _not_ready(lab_name):
        assert time.monotonic() < deadline, f"not ready after {timeout:.0f} s: {waiting}"
        time.sleep(0.02)


def test_probes_over_ipv6(prefix: str) -> None:
    lab.up(IPV6, prefix=prefix, allow_exec=True)
    try:
        wait_ipv6_ready(prefix)
        report = check_lab(prefix).report
    finally:
        lab.down_one(prefix)
    got = {r.name: r for r in report.results}
    assert all(r.passed for r in report.results), [r.explanation for r in report.results if not r.passed]
    assert got["ping6-too-big"].outcome == "too-big"
    assert "r1 (fd00:1::1) reports next-hop MTU 1400" in got["ping6-too-big"].explanation
    assert got["ping6-no-route"].explanation.endswith("r1 has no route to 2001:db8::1")
    assert got["tcp6-refused"].explanation.endswith("refused: RST from fd00:2::10")
    assert [h["node"] for h in got["path6"].evidence["hops"]] == ["r1", "server"]


FAR = """\
metadata: {name: far, title: a router with no route onward}
nodes:
  a:
    interfaces: {eth0: {addresses: [10.62.1.10/24]}}
    routes: [{to: default, via: 10.62.1.1}]
  r:
    kind: router
    interfaces: {eth0: {addresses: [10.62.1.1/24]}}
links: [[a:eth0, r:eth0]]
checks:
  - {name: far, kind: ping, from: a, to: 10.62.9.9, within: 4, timeout: 0.5}
"""


def test_a_retry_window_reports_the_icmp_error_not_the_rate_limited_silence(
    prefix: str, tmp_path: Path
) -> None:
    """The router answers "net unreachable" to the first few attempts, then the kernel's own
    rate limit makes it fall silent: the report must still say what ping shows."""
    scenario_file = tmp_path / "far.yaml"
    scenario_file.write_text(FAR)
    lab.up(str(scenario_file), prefix=prefix)
    try:
        graded = check_lab(prefix)
    finally:
        lab.down_one(prefix)
    (result,) = graded.report.results
    assert not result.passed
    assert result.outcome == "unreachable", result.explanation
    assert "attempts:" in result.explanation and "timeout" in result.explanation, result.explanation


NARROW = """\
metadata: {name: narrow, title: a narrower link behind a router}
nodes:
  a:
    interfaces: {eth0: {addresses: [10.63.1.10/24]}}
    routes: [{to: default, via: 10.63.1.1}]
  r:
    kind: router
    interfaces:
      eth0: {addresses: [10.63.1.1/24]}
      eth1: {addresses: [10.63.2.1/24]}
  b:
    interfaces: {eth0: {addresses: [10.63.2.10/24]}}
    routes: [{to: default, via: 10.63.2.1}]
links:
  - [a:eth0, r:eth0]
  - {a: "r:eth1", b: "b:eth0", mtu: 1300}
checks:
  - {name: small, kind: ping, from: a, to: 10.63.2.10}
"""


def test_grading_forgets_path_mtus_that_traffic_taught(prefix: str, tmp_path: Path) -> None:
    """A frag-needed (here drawn by `ping -M do`, as a learner would) caches a smaller path
    MTU that would let an MTU black hole look fixed; `nslab check` must clear it."""
    scenario_file = tmp_path / "narrow.yaml"
    scenario_file.write_text(NARROW)
    lab.up(str(scenario_file), prefix=prefix)
    ns = f"{prefix}-a"

    def cached() -> str:
        return subprocess.run(
            ["ip", "-n", ns, "route", "get", "10.63.2.10"], capture_output=True, text=True, check=True
        ).stdout

    try:
        subprocess.run(
            ["ip", "netns", "exec", ns, "ping", "-c1", "-W1", "-M", "do", "-s", "1400", "10.63.2.10"],
            capture_output=True,
            check=False,
        )
        assert "mtu 1300" in cached()
        assert check_lab(prefix).report.passed
        assert "mtu 1300" not in cached()
    finally:
        lab.down_one(prefix)
