"""A probe's trail: the sightings of one packet, put in the order the packet met them and
grouped into hops (a node, the interface it came in by and the one it left by), and how a
walk's result prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nslab.packets import why
from nslab.packets.dissect import TCP, UDP, IPv4
from nslab.packets.probe import Probe

MAX_HOPS_SHOWN = 12


@dataclass(frozen=True)
class Sighting:
    ts_ns: int
    node: str
    iface: str
    out: bool
    packet: IPv4


@dataclass
class Hop:
    node: str
    iface_in: str = ""
    iface_out: str = ""
    seen_in: IPv4 | None = None
    seen_out: IPv4 | None = None

    def nat(self) -> str:
        """The rewrite between what arrived and what left, in words ('' when none)."""
        a, b = self.seen_in, self.seen_out
        if a is None or b is None:
            return ""
        parts = []
        if (a.src, a.sport) != (b.src, b.sport):
            parts.append(f"source {_endpoint(a, a.src, a.sport)} -> {_endpoint(b, b.src, b.sport)}")
        if (a.dst, a.dport) != (b.dst, b.dport):
            parts.append(f"destination {_endpoint(a, a.dst, a.dport)} -> {_endpoint(b, b.dst, b.dport)}")
        return ", ".join(parts)


@dataclass
class Walk:
    source: str
    destination: str
    probe: Probe
    outcome: str = ""  # answered, refused, died, lost
    cause: str = ""  # machine-readable reason (see docs/walk.md)
    node: str = ""  # where it ended
    where: str = ""  # "eth0 in", "eth1 out"
    reason: str = ""
    rule: why.Rule | None = None
    hops: list[Hop] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # RSTs, ICMP errors and answers, with sender
    socket_result: str = ""
    seconds: float = 0.0

    def verdict(self) -> str:
        if self.outcome == "answered":
            return f"the packet reached {self.node} and was answered: {self.reason}"
        if self.outcome == "refused":
            return f"the packet reached {self.node} ({self.where}) and was refused: {self.reason}"
        return f"the packet died at {self.node} ({self.where}): {self.reason}"

    def nat_rewrites(self) -> list[str]:
        return [f"{hop.node}: {hop.nat()}" for hop in self.hops if hop.nat()]

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.destination,
            "probe": {"proto": self.probe.proto, "port": self.probe.port, "size": self.probe.size},
            "outcome": self.outcome,
            "cause": self.cause,
            "node": self.node,
            "where": self.where,
            "reason": self.reason,
            "verdict": self.verdict(),
            "rule": None
            if self.rule is None
            else {
                "table": self.rule.table,
                "chain": self.rule.chain,
                "number": self.rule.number,
                "text": self.rule.text,
            },
            "hops": [
                {
                    "node": h.node,
                    "in": h.iface_in or None,
                    "out": h.iface_out or None,
                    "seen_in": h.seen_in.where() if h.seen_in else None,
                    "seen_out": h.seen_out.where() if h.seen_out else None,
                    "nat": h.nat() or None,
                }
                for h in self.hops
            ],
            "replies": self.replies,
            "socket": self.socket_result,
            "seconds": round(self.seconds, 3),
        }


def _endpoint(packet: IPv4, address: str, port: int) -> str:
    return f"{address}:{port}" if packet.proto in (TCP, UDP) else address


def causal(sightings: list[Sighting], source: str) -> list[Sighting]:
    """The sightings in the order the packet met them. Kernel timestamps of different
    sockets do not order one packet's sightings reliably (a peer's "in" can be stamped before
    the sender's "out"), but the TTL does across routers; within one TTL (a veth, a bridge),
    an "out" is followed by an "in" and an "in" by an "out" on the same node."""
    ordered: list[Sighting] = []
    for ttl in sorted({s.packet.ttl for s in sightings}, reverse=True):
        group = sorted((s for s in sightings if s.packet.ttl == ttl), key=lambda s: s.ts_ns)
        while group:
            last = ordered[-1] if ordered else None
            if last is None:
                pick = next((s for s in group if s.out and s.node == source), group[0])
            elif last.out:
                pick = next((s for s in group if not s.out), group[0])
            else:
                pick = next((s for s in group if s.out and s.node == last.node), group[0])
            group.remove(pick)
            ordered.append(pick)
    return ordered


def hops_of(sightings: list[Sighting]) -> list[Hop]:
    hops: list[Hop] = []
    for s in sightings:
        last = hops[-1] if hops else None
        if s.out:
            if last is not None and last.node == s.node and not last.iface_out:
                last.iface_out, last.seen_out = s.iface, s.packet
            else:
                hops.append(Hop(s.node, iface_out=s.iface, seen_out=s.packet))
        elif last is None or last.node != s.node or last.iface_out:
            hops.append(Hop(s.node, iface_in=s.iface, seen_in=s.packet))
        # the same frame seen inbound again on the same node (a bridge's own device): ignore
    return hops


def render(result: Walk) -> str:
    """Hops, one a line (in/out interfaces, addresses seen, NAT), then the verdict."""
    p = result.probe
    what = f"{p.proto}/{p.port}" if p.proto != "icmp" else "icmp echo"
    lines = [f"walk {result.source} -> {result.destination} {what}"]
    hops = result.hops
    shown = hops if len(hops) <= MAX_HOPS_SHOWN else hops[: MAX_HOPS_SHOWN - 2] + hops[-2:]
    width = max((len(h.node) for h in shown), default=0)
    for index, hop in enumerate(shown):
        if len(hops) > MAX_HOPS_SHOWN and index == MAX_HOPS_SHOWN - 2:
            lines.append(f"  ... {len(hops) - MAX_HOPS_SHOWN} more hops ...")
        cells = []
        if hop.iface_in and hop.seen_in:
            cells.append(f"in {hop.iface_in} {hop.seen_in.where()} ttl {hop.seen_in.ttl}")
        if hop.iface_out and hop.seen_out:
            cells.append(f"out {hop.iface_out} {hop.seen_out.where()} ttl {hop.seen_out.ttl}")
        nat = hop.nat()
        lines.append(f"  {hop.node:<{width}}  " + "  |  ".join(cells) + (f"  (NAT: {nat})" if nat else ""))
    if not hops:
        lines.append(f"  (no interface saw the probe; the sender said: {result.socket_result or 'nothing'})")
    for text in result.replies:
        lines.append(f"  seen: {text}")
    lines.append(result.verdict())
    return "\n".join(lines)
