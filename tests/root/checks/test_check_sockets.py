"""The sockets check against a real namespace: a server that forgets to close piles up
CLOSE-WAIT (named with the process that holds it), one that closes leaves none (its clients
keep TIME-WAIT), and the probe's own clients report a port where nothing listens.

The servers are this test's own sockets, made by threads inside the lab's namespace, and are
closed before teardown (an open socket would keep a deleted namespace alive)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nslab.grading.live import check_scenario
from nslab.grading.report import CheckResult, Report
from nslab.kernel import netns, procs
from nslab.labs import lifecycle as lab
from nslab.scenario import loader

NODE = """\
metadata: {name: sockets, title: sockets check}
nodes:
  srv:
    interfaces:
      br0: {kind: bridge, addresses: [10.9.0.1/24]}
"""
FIRST = """\
checks:
  - {name: leak-over, kind: sockets, from: srv, port: 9000, max: 0, connect: 5}
  - {name: leak-seen, kind: sockets, from: srv, port: 9000, min: 5, connect: 5, address: 10.9.0.1}
  - {name: clean, kind: sockets, from: srv, port: 9001, max: 0, connect: 5, send: hello, timeout: 2}
  - {name: nobody, kind: sockets, from: srv, port: 9002, max: 0, connect: 3}
  - {name: one-listener, kind: sockets, from: srv, port: 9000, state: listening, min: 1, max: 1}
"""
SECOND = """\
checks:
  - {name: clients-time-wait, kind: sockets, from: srv, peer_port: 9001, state: time-wait, min: 5}
  - {name: still-piled, kind: sockets, from: srv, port: 9000, state: close-wait, min: 10}
"""


LEAKY = """
import socket, sys
server = socket.create_server(("0.0.0.0", 9000), backlog=64)
print("ready", flush=True)
held = []
while True:
    conn, _ = server.accept()
    held.append(conn)  # the leak: accepted and never closed
"""


class Servers:
    """A leaky server on 9000, a process of its own inside the namespace (so that the check
    can name it, as `ss -tnp` would), and a clean one on 9001 (a thread of this test that reads
    until the client hangs up, then closes)."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.listeners: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.leaky: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.leaky = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, sys.executable, "-c", LEAKY], stdout=subprocess.PIPE, text=True
        )
        assert self.leaky.stdout is not None and self.leaky.stdout.readline().strip() == "ready"

        def make() -> socket.socket:
            sock = socket.create_server(("0.0.0.0", 9001), backlog=64)
            sock.settimeout(0.2)
            return sock

        sock = netns.run_in(self.ns, make)
        self.listeners.append(sock)

        def serve() -> None:
            while sock.fileno() != -1:
                try:
                    conn, _ = sock.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                with conn:
                    conn.settimeout(2)
                    while conn.recv(4096):
                        pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        self.threads.append(thread)

    def close(self) -> None:
        if self.leaky is not None:
            self.leaky.kill()
            self.leaky.wait(5)
            if self.leaky.stdout is not None:
                self.leaky.stdout.close()
        for sock in self.listeners:
            sock.close()
        for thread in self.threads:
            thread.join(3)


@pytest.fixture
def lab_and_servers(prefix: str, tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    path = tmp_path / "sockets.yaml"
    path.write_text(NODE + FIRST)
    lab.up(str(path), prefix=prefix, allow_exec=True)
    servers = Servers(f"{prefix}-srv")
    try:
        servers.start()
        assert servers.leaky is not None
        yield prefix, tmp_path, servers.leaky.pid
    finally:
        servers.close()
        lab.down_one(prefix)


def run(prefix: str, tmp_path: Path, checks: str) -> Report:
    path = tmp_path / "checks.yaml"
    path.write_text(NODE + checks)
    return check_scenario(prefix, loader.load(str(path)), False)


def result(report: Report, name: str) -> CheckResult:
    return next(r for r in report.results if r.name == name)


def test_close_wait_piles_up_where_the_server_forgets_to_close(
    lab_and_servers: tuple[str, Path, int],
) -> None:
    prefix, tmp_path, leaky_pid = lab_and_servers
    first = run(prefix, tmp_path, FIRST)

    over = result(first, "leak-over")
    assert (over.outcome, over.passed) == ("count", False), over.explanation
    assert over.evidence["count"] >= 5 and over.evidence["clients"]["connected"] == 5
    assert "in CLOSE-WAIT on local port 9000, held by " in over.explanation, over.explanation
    assert "expected at most 0 in CLOSE-WAIT" in over.explanation
    # The owner is named as ss names it: the process name (python or python3, by venv).
    assert over.evidence["owners"] == [f"{procs.command(leaky_pid)} pid {leaky_pid}"], over.evidence
    seen = result(first, "leak-seen")
    assert seen.passed and seen.evidence["count"] >= 5, seen.explanation

    clean = result(first, "clean")
    assert clean.passed and clean.evidence["count"] == 0, clean.explanation
    assert "after 5 of 5 test clients connected and hung up" in clean.explanation
    assert clean.seconds < 1.5, clean.seconds  # no waiting out the timeout once the bound holds

    nobody = result(first, "nobody")
    assert nobody.passed and nobody.evidence["clients"]["failed"] == {"refused": 3}, nobody.explanation
    assert "the others: 3 refused" in nobody.explanation

    listener = result(first, "one-listener")
    assert listener.passed and listener.evidence["count"] == 1, listener.explanation

    # The clean server closed after its clients did: they keep TIME-WAIT, it keeps nothing.
    # The leaky one still holds every connection: the probe's clients closed with a FIN
    # (they read what was sent first), so the pile does not shrink after a check.
    second = run(prefix, tmp_path, SECOND)
    waiting = result(second, "clients-time-wait")
    assert waiting.passed and waiting.evidence["count"] >= 5, waiting.explanation
    piled = result(second, "still-piled")
    assert piled.passed, piled.explanation
