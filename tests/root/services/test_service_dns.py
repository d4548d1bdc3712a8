"""A lab's own DNS: root, TLD and domain servers plus an unbound resolver, asked with dig."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nslab.labs import lifecycle as lab
from nslab.labs import service_control as control

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "service-dns.yaml"


def dig(ns: str, *args: str) -> str:
    done = subprocess.run(
        ["ip", "netns", "exec", ns, "dig", "+time=2", "+tries=2", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout


@pytest.fixture
def dnslab(prefix: str) -> Iterator[str]:
    lab.up(str(SCENARIO), prefix=prefix, allow_exec=True)
    try:
        yield prefix
    finally:
        lab.down_one(prefix)


def test_resolver_answers_from_the_labs_own_hierarchy(dnslab: str) -> None:
    client = f"{dnslab}-client"
    answer = dig(client, "+noall", "+answer", "www.example.test")
    name, ttl, _, rtype, value = answer.split()
    assert (name, rtype, value) == ("www.example.test.", "A", "198.51.100.80") and 0 < int(ttl) <= 42
    chain = dig(client, "+noall", "+answer", "web.example.test", "AAAA").splitlines()
    assert [line.split()[3:] for line in chain] == [["CNAME", "www.example.test."], ["AAAA", "2001:db8::80"]]
    assert dig(client, "+short", "example.test", "TXT") == '"hello from the lab"\n'
    assert dig(client, "+short", "example.test", "MX") == "10 mail.example.test.\n"
    assert "status: NXDOMAIN" in dig(client, "nope.example.test")
    assert "status: NOERROR" in dig(client, "b.example.test") and "ANSWER: 0" in dig(client, "b.example.test")


def test_dig_trace_walks_root_tld_and_domain(dnslab: str) -> None:
    trace = dig(f"{dnslab}-client", "+trace", "www.example.test")
    servers = re.findall(r"^;; Received \d+ bytes from ([\d.]+)#53", trace, re.M)
    assert servers == ["10.0.1.53", "198.51.100.10", "198.51.100.20", "198.51.100.30"], trace
    assert re.search(r"^www\.example\.test\.\s+42\s+IN\s+A\s+198\.51\.100\.80$", trace, re.M), trace
    direct = dig(f"{dnslab}-client", "+trace", "@198.51.100.10", "a.b.example.test")
    assert "198.51.100.81" in direct


def test_authoritative_servers_refer_refuse_and_speak_tcp(dnslab: str) -> None:
    client = f"{dnslab}-client"
    referral = dig(client, "@198.51.100.10", "www.example.test")
    assert "status: NOERROR" in referral and "ANSWER: 0" in referral
    flags = re.search(r"^;; flags: ([a-z ]+);", referral, re.M)
    assert flags is not None and "aa" not in flags.group(1).split()
    assert re.search(r"^test\.\s+300\s+IN\s+NS\s+ns\.tld\.test\.$", referral, re.M)
    assert re.search(r"^ns\.tld\.test\.\s+300\s+IN\s+A\s+198\.51\.100\.20$", referral, re.M)
    assert "status: REFUSED" in dig(client, "@198.51.100.30", "example.org")
    assert dig(client, "+tcp", "+short", "@198.51.100.30", "www.example.test") == "198.51.100.80\n"
    log = control.log_tail(dnslab, "authdns", 0)
    assert "10.0.1.10 tcp www.example.test. A -> NOERROR (1 answers)" in log


def test_a_dead_domain_server_breaks_resolution_until_restarted(dnslab: str) -> None:
    client = f"{dnslab}-client"
    control.stop(dnslab, "authdns")
    # unbound keeps retrying the silent server: the client gets no answer (SERVFAIL or a timeout).
    failed = dig(client, "+time=1", "+tries=1", "mail.example.test")
    assert "198.51.100.25" not in failed and ("SERVFAIL" in failed or "timed out" in failed), failed
    control.start(dnslab, "authdns")
    control.restart(dnslab, "resolver")  # forget the failure at once
    assert dig(client, "+short", "mail.example.test") == "198.51.100.25\n"
