"""Shared helpers for the fault symptom tests (this module holds no tests).

Symptoms are observed with the real tools a learner uses (ping, ip, nc, tcpdump, dig,
getent, ss, nstat), run inside the lab's namespaces with `ip netns exec`; every process
started here is waited for or killed by its own pid before the test ends.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nslab.grading.live import check_lab
from nslab.grading.report import Report
from nslab.kernel import netns
from nslab.labs import lifecycle as lab

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@dataclass(frozen=True)
class Ran:
    rc: int
    text: str  # stdout and stderr together, as a learner sees them in a terminal

    def __contains__(self, part: str) -> bool:
        return part in self.text


def _clean(text: str) -> str:
    # `ip netns exec` bind-mounts every file of /etc/netns/NS over /etc and warns about
    # nslab's owner marker there; that line is noise for these tests (see the report).
    return "\n".join(line for line in text.splitlines() if not line.startswith("Bind /etc/netns/"))


def run(prefix: str, node: str, *argv: str, timeout: float = 15, stdin: bytes | None = None) -> Ran:
    proc = subprocess.run(
        ["ip", "netns", "exec", f"{prefix}-{node}", *argv],
        capture_output=True,
        input=stdin,
        timeout=timeout,
    )
    out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    return Ran(proc.returncode, _clean(out))


def ping(prefix: str, node: str, target: str, *options: str, count: int = 1) -> Ran:
    return run(prefix, node, "ping", "-n", "-c", str(count), "-i", "0.3", "-W", "1", *options, target)


def reaches(prefix: str, node: str, target: str) -> bool:
    return ping(prefix, node, target).rc == 0


def nc_probe(prefix: str, node: str, address: str, port: int) -> Ran:
    """`nc -vz` with a 2 s connect timeout: succeeded, refused or timed out."""
    return run(prefix, node, "nc", "-vz", "-w", "2", address, str(port))


def nstat(prefix: str, node: str, counter: str) -> int:
    out = run(prefix, node, "nstat", "-az", counter).text
    for line in out.splitlines():
        words = line.split()
        if words and words[0] == counter:
            return int(words[1])
    raise AssertionError(f"nstat has no {counter}: {out}")


@contextmanager
def built(scenario: str, prefix: str, healthy: bool, **params: Any) -> Iterator[str]:
    """The test scenario tests/scenarios/SCENARIO.yaml up under `prefix`, torn down after."""
    lab.up(
        str(SCENARIOS / f"{scenario}.yaml"),
        prefix=prefix,
        healthy=healthy,
        params=params or None,
        allow_exec=True,
    )
    try:
        yield prefix
    finally:
        report = lab.down_one(prefix)
        assert not report.problems, report.problems


def graded(prefix: str) -> Report:
    """What `nslab check` says about the running lab."""
    return check_lab(prefix).report


def assert_broken_grade(report: Report) -> None:
    """The broken build fails every goal and keeps every guard."""
    goals = report.of_role("goal")
    assert goals and all(not r.passed for r in goals), [(r.name, r.explanation) for r in goals]
    assert all(r.passed for r in report.of_role("guard")), [(r.name, r.explanation) for r in report.results]


def assert_healthy_grade(report: Report) -> None:
    assert report.passed, [(r.name, r.explanation) for r in report.failed()]


@contextmanager
def listening(prefix: str, node: str, *ports: int, address: str = "0.0.0.0") -> Iterator[None]:
    """Plain TCP listeners inside a node (the kernel completes handshakes without accept()).

    The sockets are made from a thread that entered the namespace; they stay in it after the
    thread ends (namespaces are per thread, sockets keep theirs). They are closed before the
    lab goes: an open socket would keep the deleted namespace alive."""

    def open_all() -> list[socket.socket]:
        socks = []
        for port in ports:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.listen(16)
            socks.append(sock)
        return socks

    socks = netns.run_in(f"{prefix}-{node}", open_all)
    try:
        yield
    finally:
        for sock in socks:
            sock.close()


def capture(
    prefix: str, node: str, iface: str, bpf: str, count: int, action: Callable[[], object], wait: float = 3
) -> str:
    """tcpdump's lines for up to `count` packets seen while `action` runs."""
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            f"{prefix}-{node}",
            "tcpdump",
            "-l",
            "-n",
            "-e",
            "-i",
            iface,
            "-c",
            str(count),
            bpf,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        # tcpdump says "listening on" once its filter is in place: only then is nothing missed.
        deadline = time.monotonic() + 5
        while "listening on" not in proc.stderr.readline():
            assert time.monotonic() < deadline and proc.poll() is None, "tcpdump did not start"
        action()
        try:
            out, _ = proc.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        return out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_listening(prefix: str, node: str, port: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while f":{port} " not in run(prefix, node, "ss", "-Htln").text:
        assert time.monotonic() < deadline, f"nothing listens on {port} in {node}"
        time.sleep(0.05)


def upload(prefix: str, client: str, server: str, address: str, port: int, size: int, timeout: float) -> int:
    """Send `size` bytes with nc from client to an nc listening on server; bytes that arrived.

    A transfer that hangs (the black hole) is cut after `timeout` seconds."""
    sink = subprocess.Popen(
        ["ip", "netns", "exec", f"{prefix}-{server}", "nc", "-l", "-p", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(prefix, server, port)
        # On a timeout, subprocess.run kills the client nc before raising.
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                ["ip", "netns", "exec", f"{prefix}-{client}", "nc", "-N", address, str(port)],
                input=b"x" * size,
                capture_output=True,
                timeout=timeout,
            )
        try:
            received, _ = sink.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            sink.kill()
            received, _ = sink.communicate()
        return len(received)
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
