"""Scenarios the suite generates (too repetitive to keep as files) and the ones it ships."""

from __future__ import annotations

from pathlib import Path

from tests.reliability import harness as h

STAR = h.OURS / "reliability-star.yaml"
SERVICES = h.OURS / "reliability-services.yaml"

# Filter rules per node: very different sizes, so that the parallel iptables-restore runs
# end one after another and a build can be killed with some nodes loaded and others not.
FIREWALL_SIZES = {"client": 40, "r1": 1800, "r2": 900, "r3": 300, "server": 10}


def _block(rules: list[str]) -> list[str]:
    return ["        " + rule for rule in rules]


def _filler(chain: str, count: int, proto: str = "tcp") -> list[str]:
    """A user chain nothing jumps to: it loads like real rules and never changes traffic."""
    return [f"-N {chain}"] + [f"-A {chain} -p {proto} --dport {20000 + i} -j RETURN" for i in range(count)]


def firewall(path: Path) -> Path:
    """client - r1 - r2 - r3 - server, with firewalls of very different sizes on every node,
    an /etc/netns entry on the client and the server, and port 23 rejected at r1."""
    routers = {
        "r1": (
            "10.30.1.1",
            "10.30.2.1",
            ["{to: 10.30.3.0/24, via: 10.30.2.2}", "{to: 10.30.4.0/24, via: 10.30.2.2}"],
        ),
        "r2": (
            "10.30.2.2",
            "10.30.3.1",
            ["{to: 10.30.4.0/24, via: 10.30.3.2}", "{to: 10.30.1.0/24, via: 10.30.2.1}"],
        ),
        "r3": (
            "10.30.3.2",
            "10.30.4.1",
            ["{to: 10.30.1.0/24, via: 10.30.3.1}", "{to: 10.30.2.0/24, via: 10.30.3.1}"],
        ),
    }
    out = [
        "metadata: {name: reliability-firewall, title: Three routers with large firewalls}",
        "nodes:",
        "  client:",
        "    interfaces: {eth0: {addresses: [10.30.1.10/24]}}",
        "    routes: [{to: default, via: 10.30.1.1}]",
        "    resolv: {nameservers: [10.30.4.10]}",
        "    firewall:",
        "      filter: |",
        *_block(_filler("RE-FILL", FIREWALL_SIZES["client"])),
    ]
    for name, (inside, outside, routes) in routers.items():
        count = FIREWALL_SIZES[name]
        rules = _filler("RE-FILL", count)
        if name == "r1":
            rules.append("-A FORWARD -p tcp --dport 23 -j REJECT")
        out += [
            f"  {name}:",
            "    kind: router",
            f"    interfaces: {{eth0: {{addresses: [{inside}/24]}}, eth1: {{addresses: [{outside}/24]}}}}",
            f"    routes: [{', '.join(routes)}]",
            "    firewall:",
            "      filter: |",
            *_block(rules),
            "      nat: |",
            *_block(_filler("RE-NAT", count // 3, "udp")),
            "      mangle: |",
            *_block(["-A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu"]),
        ]
    out += [
        "  server:",
        "    interfaces: {eth0: {addresses: [10.30.4.10/24]}}",
        "    routes: [{to: default, via: 10.30.4.1}]",
        "    hosts: {client: 10.30.1.10}",
        "    firewall:",
        "      filter: |",
        *_block(_filler("RE-FILL", FIREWALL_SIZES["server"])),
        "links:",
        "  - [client:eth0, r1:eth0]",
        "  - [r1:eth1, r2:eth0]",
        "  - [r2:eth1, r3:eth0]",
        "  - [r3:eth1, server:eth0]",
    ]
    path.write_text("\n".join(out) + "\n")
    return path


def tcp_service(path: Path) -> Path:
    """The smallest lab with a service: what decides whether service kill points can run."""
    path.write_text(
        "metadata: {name: reliability-svc-probe, title: one tcp service}\n"
        "nodes:\n"
        "  h1: {interfaces: {eth0: {addresses: [10.41.0.1/24]}}}\n"
        "  h2: {interfaces: {eth0: {addresses: [10.41.0.2/24]}}}\n"
        "links: [[h1:eth0, h2:eth0]]\n"
        "services: [{name: web, kind: tcp, node: h2, port: 80}]\n"
    )
    return path
