"""One DNS question over UDP from inside a node, with every way it can go wrong named.

The exchange is nslab's UDP exchange, so an ICMP port-unreachable ("no DNS server there")
is told apart from silence; the messages are nslab's small codec (dnswire).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

from nslab.checks.context import ProbeContext
from nslab.checks.probes import dnswire
from nslab.checks.probes.netio import Failure, udp_exchange

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Answer:
    server: str
    rcode: str  # NOERROR, NXDOMAIN, SERVFAIL, REFUSED...
    values: tuple[str, ...]  # answers of the asked type, as text (e.g. 10.0.2.10)
    chain: tuple[str, ...] = ()  # CNAMEs followed
    rtt: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)


def ask(ctx: ProbeContext, server: IPAddress, name: str, rdtype: str, port: int = 53) -> Answer | Failure:
    ident, wire = dnswire.query(name, rdtype)
    wanted = dnswire.TYPES[rdtype]
    started = time.monotonic()
    while True:
        got = udp_exchange(ctx, server, port, wire)
        if isinstance(got, Failure):
            return got
        try:
            reply = dnswire.decode(got.data)
        except dnswire.WireError as exc:
            return Failure("bad-response", f"{server} sent a malformed DNS reply ({exc})")
        if reply.id == ident and reply.flags & dnswire.FLAG_QR:
            break
        if time.monotonic() >= ctx.deadline:  # an answer to another question; keep waiting
            return Failure("timeout", f"no answer from {server}")
    values = tuple(r.text for r in reply.answers if r.type == wanted)
    chain = tuple(r.text for r in reply.answers if r.type == dnswire.TYPES["CNAME"] and wanted != r.type)
    return Answer(
        server=str(server),
        rcode=reply.rcode,
        values=values,
        chain=chain,
        rtt=time.monotonic() - started,
        evidence={
            "authoritative": bool(reply.flags & dnswire.FLAG_AA),
            "truncated": bool(reply.flags & dnswire.FLAG_TC),
        },
    )
