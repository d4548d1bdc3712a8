"""Each service kind answers the real clients (nc, curl, ss, dig) run with `ip netns exec`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nslab.engine import journal, state
from nslab.labs import lifecycle as lab
from nslab.labs import service_control as control
from nslab.services import ca
from nslab.services.http import payload

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def ns_run(ns: str, *argv: str, stdin: str = "", timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", ns, *argv], input=stdin, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def basic(prefix: str) -> Iterator[str]:
    lab.up(str(SCENARIOS / "service-basic.yaml"), prefix=prefix, allow_exec=True)
    try:
        yield prefix
    finally:
        lab.down_one(prefix)


def test_tcp_udp_and_bind_address(basic: str) -> None:
    client, server = f"{basic}-client", f"{basic}-server"
    assert ns_run(client, "nc", "-w2", "10.0.2.10", "2222").stdout == "SSH-2.0-nslab\n"
    assert ns_run(client, "nc", "-q1", "-w2", "10.0.2.10", "7", stdin="round trip\n").stdout == "round trip\n"
    assert ns_run(client, "nc", "-u", "-w1", "10.0.2.10", "7", stdin="datagram\n").stdout == "datagram\n"
    # nc -u connects its socket: a reply from the router's other address would be dropped.
    assert ns_run(client, "nc", "-u", "-w1", "10.0.2.1", "7", stdin="far side\n").stdout == "far side\n"
    refused = ns_run(client, "nc", "-vz", "-w2", "10.0.2.10", "5432")
    assert refused.returncode != 0 and "refused" in refused.stderr
    assert ns_run(server, "nc", "-w2", "127.0.0.1", "5432").stdout == "hello from nslab\n"
    listening = ns_run(server, "ss", "-Htlnp").stdout
    assert "127.0.0.1:5432" in listening and '("local",pid=' in listening
    assert "0.0.0.0:2222" in listening and '("banner",pid=' in listening


def test_http_pages_and_exact_payload(basic: str) -> None:
    client = f"{basic}-client"
    assert ns_run(client, "curl", "-sS", "http://10.0.2.10/").stdout == "welcome to the lab\n"
    assert ns_run(client, "curl", "-sS", "http://www.lab.test/hello").stdout == "hi there\n"
    missing = ns_run(client, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://10.0.2.10/nope")
    assert missing.stdout == "404"
    big = subprocess.run(
        ["ip", "netns", "exec", client, "curl", "-sS", "http://10.0.2.10/big"],
        capture_output=True,
        timeout=20,
    )
    assert big.returncode == 0 and big.stdout == payload(1048576)
    head = ns_run(client, "curl", "-sSI", "http://10.0.2.10/big").stdout
    assert "Content-Length: 1048576" in head and "HTTP/1.1 200" in head


def test_https_is_trusted_inside_the_lab_and_only_with_the_lab_ca(basic: str, tmp_path: Path) -> None:
    client = f"{basic}-client"
    lab_ca = os.path.join(state.lab_dir(basic), "ca", "ca.crt")
    assert Path(lab_ca).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert ns_run(client, "curl", "-sS", "https://www.lab.test/").stdout.startswith(
        "nslab https service secure"
    )
    assert (
        ns_run(client, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "https://10.0.2.10/").stdout
        == "200"
    )
    # Verification is real: another lab's CA does not vouch for this lab's certificate.
    other_ca = ca.ensure_ca(str(tmp_path), "another-lab")
    untrusted = ns_run(client, "curl", "-sS", "--cacert", other_ca, "https://www.lab.test/")
    assert untrusted.returncode == 60, untrusted.stderr
    # The same through nslab's own entry point, and the CA file the graders read works as is.
    via_cli = subprocess.run(
        [
            "python3",
            "-m",
            "nslab",
            "exec",
            "--lab",
            basic,
            "client",
            "--",
            "curl",
            "-sS",
            "https://www.lab.test/",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert via_cli.stdout.startswith("nslab https service secure"), via_cli.stderr
    assert ns_run(client, "curl", "-sS", "--cacert", lab_ca, "https://www.lab.test/").returncode == 0


def _connect_many(ns: str, port: int, count: int) -> list[str]:
    """`count` nc clients at once, each leaving one second after its (empty) input ends."""
    argv = ["ip", "netns", "exec", ns, "nc", "-q1", "-w1", "10.0.2.10", str(port)]
    clients = [
        subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        for _ in range(count)
    ]
    return [c.communicate(timeout=10)[0] for c in clients]


def test_leaky_piles_up_close_wait_and_runs_out_of_files(basic: str) -> None:
    client, server = f"{basic}-client", f"{basic}-server"
    assert _connect_many(client, 9000, 3) == ["welcome\n"] * 3
    waiting = ns_run(server, "ss", "-Htnp", "state", "close-wait").stdout.splitlines()
    assert len([w for w in waiting if ":9000 " in w and '("leak",pid=' in w]) == 3, waiting
    _connect_many(client, 9001, 12)
    assert "accept failed: Too many open files" in control.log_tail(basic, "capped", 0)


def test_exec_runs_like_nslab_exec_and_waits_for_its_port(basic: str) -> None:
    client, server = f"{basic}-client", f"{basic}-server"
    assert ns_run(client, "nc", "-w2", "10.0.2.10", "7000").stdout == "from-nc\n"
    sleeping = ns_run(server, "ps", "-e", "-o", "comm=").stdout.split()
    rows = {row.name: row for row in control.listing(basic)}
    assert rows["sleeper"].alive and rows["greeter"].alive
    # `ps` in the namespace shares the host's /proc, so look the sleepers up by namespace instead.
    inode = os.stat(f"/run/netns/{server}").st_ino
    in_lab = [p for p in os.listdir("/proc") if p.isdigit() and _netns(p) == inode and _comm(p) == "sleep"]
    assert len(in_lab) == 2, sleeping


def _netns(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def test_autostart_false_then_start_stop_restart(basic: str) -> None:
    client = f"{basic}-client"
    later = {row.name: row for row in control.listing(basic)}["later"]
    assert later.pid is None and not later.alive
    assert ns_run(client, "nc", "-vz", "-w2", "10.0.2.10", "8081").returncode != 0
    started = control.start(basic, "later")
    assert started.alive and ns_run(client, "nc", "-w2", "10.0.2.10", "8081").stdout == "started by hand\n"
    entries = [p for p in journal.read(state.lab_dir(basic)).procs if p["service"] == "later"]
    assert [(e["pid"], e["node"]) for e in entries] == [(started.pid, "server")]
    restarted = control.restart(basic, "later")
    assert restarted.pid != started.pid and [s.pid for s in restarted.stopped] == [started.pid]
    stopped = control.stop(basic, "later")
    assert not stopped.alive and [s.pid for s in stopped.stopped] == [restarted.pid]
    assert control.stop(basic, "later").stopped == []  # stopping twice is fine
    pids = [p["pid"] for p in journal.read(state.lab_dir(basic)).procs if p["service"] == "later"]
    assert pids == [started.pid, restarted.pid]
