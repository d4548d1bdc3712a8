"""http checks that upload (POST/PUT with a body) and read the client address the http
service saw (echo_client), against a real lab: a NAT router, then a narrow link behind it
whose frag-needed messages are dropped (an MTU black hole on the way in)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from nslab.grading.live import check_scenario
from nslab.labs import lifecycle as lab

SCENARIO = """\
metadata: {name: upl, title: uploads through NAT}
nodes:
  client:
    interfaces: {eth0: {addresses: [10.8.1.10/24]}}
    routes: [{to: default, via: 10.8.1.1}]
  r1:
    kind: router
    interfaces:
      eth0: {addresses: [10.8.1.1/24]}
      eth1: {addresses: [10.8.2.1/24]}
    routes: [{to: 10.8.3.0/24, via: 10.8.2.2}]
    firewall:
      nat: |
        -A POSTROUTING -s 10.8.1.0/24 -o eth1 -j MASQUERADE
  r2:
    kind: router
    interfaces:
      eth0: {addresses: [10.8.2.2/24]}
      eth1: {addresses: [10.8.3.1/24]}
    routes: [{to: default, via: 10.8.2.1}]
  server:
    interfaces: {eth0: {addresses: [10.8.3.10/24]}}
    routes: [{to: default, via: 10.8.3.1}]
links:
  - [client:eth0, r1:eth0]
  - {a: "r1:eth1", b: "r2:eth0", mtu: 1300}
  - [r2:eth1, server:eth0]
services:
  - {name: web, kind: http, node: server, echo_client: /whoami}
checks:
  - {name: seen-as-r1, kind: http, from: client, url: "http://10.8.3.10/whoami", contains: "10.8.2.1\\n",
     description: d}
  - {name: small-post, kind: http, from: client, url: "http://10.8.3.10/form", method: POST,
     body: "name=nslab", contains: received 10 bytes, description: d}
  - {name: big-put, kind: http, from: client, url: "http://10.8.3.10/upload", method: PUT,
     body_bytes: 1000000, contains: received 1000000 bytes, timeout: 3, description: d}
  - {name: post-whoami, kind: http, from: client, url: "http://10.8.3.10/whoami", method: POST,
     body: x, contains: "10.8.2.1", description: d}
  - {name: head, kind: http, from: client, url: "http://10.8.3.10/whoami", method: HEAD, role: guard,
     description: d}
  - {name: delete-refused, kind: http, from: client, url: "http://10.8.3.10/", method: DELETE, status: 501,
     role: guard, description: d}
"""


def _r1(prefix: str, *args: str) -> None:
    subprocess.run(["ip", "netns", "exec", f"{prefix}-r1", *args], check=True)


def test_uploads_and_the_client_address_seen_by_the_server(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "upl.yaml"
    path.write_text(SCENARIO)
    result = lab.up(str(path), prefix=prefix)
    try:
        report = check_scenario(prefix, result.scenario, False)
        assert [(r.name, r.explanation) for r in report.results if not r.passed] == []
        by = {r.name: r for r in report.results}
        assert by["big-put"].evidence["sent"] == 1_000_000
        assert by["big-put"].explanation.startswith(
            "http client -> PUT http://10.8.3.10/upload (1000000 B): "
        )
        assert by["head"].evidence["bytes"] == 0

        # Without the translation the server sees the client itself.
        _r1(prefix, "iptables", "-t", "nat", "-F", "POSTROUTING")
        report = check_scenario(prefix, result.scenario, False)
        by = {r.name: r for r in report.results}
        assert not by["seen-as-r1"].passed
        assert "body starts '10.8.1.10'" in by["seen-as-r1"].explanation
        assert by["small-post"].passed and by["big-put"].passed

        # r1 can no longer say "fragmentation needed": large uploads stall, small ones pass.
        _r1(prefix, "ip", "route", "flush", "cache")
        _r1(
            prefix,
            "iptables",
            "-A",
            "OUTPUT",
            "-p",
            "icmp",
            "--icmp-type",
            "fragmentation-needed",
            "-j",
            "DROP",
        )
        subprocess.run(
            ["ip", "netns", "exec", f"{prefix}-client", "ip", "route", "flush", "cache"], check=True
        )
        report = check_scenario(prefix, result.scenario, False)
        by = {r.name: r for r in report.results}
        assert by["small-post"].passed
        assert not by["big-put"].passed and by["big-put"].outcome == "incomplete", by["big-put"]
        assert "the upload stalled after" in by["big-put"].explanation
        assert by["big-put"].evidence["sent"] < 1_000_000
    finally:
        lab.down_one(prefix)
