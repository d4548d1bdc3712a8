"""Follow one probe across a lab: where did it go, where did it die, and why.

Capture on every interface of every node, send ONE probe from a socket in a thread inside
the sender's namespace (never scapy's L3 send, which routes with the host's table), stop,
then find the probe in the frames. A TCP SYN is recognised by its sequence number, a UDP
datagram or ICMP echo by a random token in its payload: both survive NAT, which rewrites
only addresses, ports and echo ids, so a rewrite shows as a change between two sightings.
At the hop where the probe was last seen, the node's kernel is asked why it went no further
(firewall counters read before and after, `ip route get` as for that packet, forwarding,
rp_filter, the neighbour entry of the next hop, the egress MTU, the TTL).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from nslab.errors import LabStateError, UsageError
from nslab.packets import dissect, why
from nslab.packets.capture import POLL, Capture, Packet, drain
from nslab.packets.dissect import ICMP, RST, SYN, TCP, UDP, Arp, IPv4
from nslab.packets.pcapng import OUTBOUND
from nslab.packets.probe import Probe, Sent, send
from nslab.packets.targets import Target, lab_nodes, resolve
from nslab.packets.trail import Hop, Sighting, Walk, causal, hops_of, render

__all__ = ["Probe", "Walk", "render", "walk"]

log = logging.getLogger(__name__)


def _sightings(capture: Capture, packets: list[Packet]) -> list[tuple[int, Target, bool, IPv4 | Arp]]:
    out = []
    for p in packets:
        parsed = dissect.frame(p.data, capture.linktypes[p.interface])
        if parsed is not None:
            out.append((p.ts_ns, capture.targets[p.interface], p.direction == OUTBOUND, parsed))
    out.sort(key=lambda s: s[0])
    return out


def _is_probe(packet: IPv4, probe: Probe, token: bytes, syn_seq: int | None) -> bool:
    if probe.proto == "tcp":
        return (
            packet.proto == TCP
            and packet.flags & SYN != 0
            and not packet.flags & 0x10
            and packet.seq == syn_seq
        )
    if probe.proto == "udp":
        return packet.proto == UDP and packet.payload.startswith(token)
    return packet.proto == ICMP and packet.icmp_type == 8 and packet.payload.startswith(token)


def walk(lab: str, source: str, destination: str, probe: Probe) -> Walk:
    """Send one probe from node `source` to `destination` (an address or a node name)."""
    started = time.perf_counter()
    nodes = lab_nodes(lab)
    if source not in nodes:
        raise UsageError(f"lab {lab} has no node {source!r}", "nodes: " + ", ".join(nodes))
    owners = {node: why.addresses(ns) for node, ns in nodes.items()}
    dst = _address_of(destination, owners)
    targets = resolve(lab, (), everything=True)
    before = _all_counters(nodes)
    capture = Capture(targets)
    token = b"nslab-walk-" + os.urandom(6).hex().encode()
    capture.start()
    try:
        sent = send(nodes[source], dst, probe, token)
        time.sleep(POLL * 2)  # let the capture threads queue what the kernel already stamped
    finally:
        capture.stop()
    after = _all_counters(nodes)
    frames = _sightings(capture, drain(capture))
    result = Walk(source, destination if destination == dst else f"{destination} ({dst})", probe)
    result.socket_result = sent.result
    _judge(result, lab, nodes, owners, dst, probe, token, sent, frames, before, after)
    result.seconds = time.perf_counter() - started
    return result


def _address_of(destination: str, owners: dict[str, list[str]]) -> str:
    try:
        socket.inet_aton(destination)
        return destination
    except OSError:
        pass
    found = [a for a in owners.get(destination, []) if not a.startswith("127.")]
    if not found:
        raise UsageError(
            f"{destination!r} is neither an IPv4 address nor a node with one",
            "give an address (10.0.2.10) or a node name: " + ", ".join(owners),
        )
    return found[0]


def _all_counters(nodes: dict[str, str]) -> dict[str, why.Counters]:
    """Every node's firewall counters, read in parallel (one iptables-save each)."""
    out: dict[str, why.Counters] = {}

    def read(node: str, ns: str) -> None:
        try:
            out[node] = why.counters(ns)
        except (OSError, LabStateError):
            log.debug("no counters from %s", node, exc_info=True)

    threads = [threading.Thread(target=read, args=item, daemon=True) for item in nodes.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return out


def _judge(
    result: Walk,
    lab: str,
    nodes: dict[str, str],
    owners: dict[str, list[str]],
    dst: str,
    probe: Probe,
    token: bytes,
    sent: Sent,
    frames: list[tuple[int, Target, bool, IPv4 | Arp]],
    before: dict[str, why.Counters],
    after: dict[str, why.Counters],
) -> None:
    syn_seq = _syn_seq(frames, result.source, sent.sport, dst, probe) if probe.proto == "tcp" else None
    seen = causal(
        [
            Sighting(ts, t.node, t.iface, out, p)
            for ts, t, out, p in frames
            if isinstance(p, IPv4) and _is_probe(p, probe, token, syn_seq)
        ],
        result.source,
    )
    result.hops = hops_of(seen)
    tuples = {s.packet.tuple() for s in seen}
    answers = _answers(frames, seen, tuples, probe, token, syn_seq)
    result.replies = [text for _, text, _ in answers]
    droppers = {node: why.droppers(before.get(node, {}), after.get(node, {})) for node in after}

    if not seen:  # it never left the sender
        result.node, result.where = result.source, "out"
        _explain(result, nodes, owners, dst, None, None, droppers, frames, sent)
        return
    last = seen[-1]
    result.node, result.where = last.node, f"{last.iface} {'out' if last.out else 'in'}"
    for kind, text, sender in answers:
        if kind == "answer":
            result.outcome, result.cause, result.node, result.reason = "answered", "reached", sender, text
            return
    for kind, text, sender in answers:
        if kind != "rst":
            continue
        at = [s for s in seen if s.node == sender and not s.out]
        result.node, result.where = sender, f"{at[-1].iface} in" if at else "?"
        rules = droppers.get(sender, [])
        if rules:
            result.outcome, result.cause, result.rule = "died", "filter-reject", rules[0]
            result.reason = f"rejected by {rules[0].describe()}; {sender} answered {text}"
        else:
            result.outcome, result.cause = "refused", "refused"
            result.reason = f"{text}, sent by {sender}"
        return
    if last.out:
        result.outcome, result.cause = "lost", "lost-on-link"
        result.reason = f"it left {last.node} through {last.iface} and no interface saw it arrive"
        return
    _explain(result, nodes, owners, dst, last.packet, last.iface, droppers, frames, sent)


def _syn_seq(
    frames: list[tuple[int, Target, bool, IPv4 | Arp]], source: str, sport: int, dst: str, probe: Probe
) -> int | None:
    """The sequence number of our SYN, read where it left the sender (it survives NAT)."""
    for _, target, out, p in frames:
        if not (isinstance(p, IPv4) and out and target.node == source and p.proto == TCP):
            continue
        if p.flags & SYN and (p.sport, p.dst, p.dport) == (sport, dst, probe.port):
            return p.seq
    return None


def _answers(
    frames: list[tuple[int, Target, bool, IPv4 | Arp]],
    seen: list[Sighting],
    tuples: set[tuple[int, str, int, str, int]],
    probe: Probe,
    token: bytes,
    syn_seq: int | None,
) -> list[tuple[str, str, str]]:
    """(kind, description, sender node) of every answer, RST and ICMP error about the probe,
    the sender being the node where it was first seen leaving."""
    reverse = {(p, d, dp, s, sp) for p, s, sp, d, dp in tuples}
    best: dict[tuple[str, str], tuple[int, bool, int, str]] = {}
    for ts, target, out, p in frames:
        if not isinstance(p, IPv4):
            continue
        kind, text = "", ""
        if probe.proto == "icmp" and p.icmp_type == 0 and p.payload.startswith(token):
            kind, text = "answer", f"echo reply from {p.src}"
        elif (
            p.proto == TCP and p.tuple() in reverse and syn_seq is not None and p.ack == (syn_seq + 1) % 2**32
        ):
            if p.flags & RST:
                kind, text = "rst", f"TCP RST from {p.src}"
            elif p.flags & SYN:
                kind, text = "answer", f"SYN-ACK from {p.src}:{p.sport}"
        elif probe.proto == "udp" and p.proto == UDP and p.tuple() in reverse:
            kind, text = "answer", f"UDP reply from {p.src}:{p.sport}"
        elif p.inner is not None and _quotes_probe(p.inner, tuples, probe):
            kind = "rst" if (p.icmp_type, p.icmp_code) in ((3, 3), (3, 9), (3, 10), (3, 13)) else "icmp"
            text = f"ICMP {dissect.icmp_name(p)} from {p.src}"
        if not kind:
            continue
        # The sender: where it was seen with the highest TTL, leaving, earliest.
        rank = (p.ttl, out, -ts, target.node)
        if (kind, text) not in best or rank[:3] > best[(kind, text)][:3]:
            best[(kind, text)] = rank
    return [(kind, text, rank[3]) for (kind, text), rank in best.items()]


def _quotes_probe(inner: IPv4, tuples: set[tuple[int, str, int, str, int]], probe: Probe) -> bool:
    if probe.proto == "icmp":
        return inner.proto == ICMP and any(
            t[0] == ICMP and t[1] == inner.src and t[3] == inner.dst for t in tuples
        )
    return inner.tuple() in tuples


def _explain(
    result: Walk,
    nodes: dict[str, str],
    owners: dict[str, list[str]],
    dst: str,
    packet: IPv4 | None,
    iif: str | None,
    droppers: dict[str, list[why.Rule]],
    frames: list[tuple[int, Target, bool, IPv4 | Arp]],
    sent: Sent,
) -> None:
    """The reason the probe went no further than result.node."""
    node = result.node
    ns = nodes[node]
    result.outcome = "died"
    target = packet.dst if packet is not None else dst
    errors = [text for text in result.replies if text.startswith("ICMP")]
    said = f"; {errors[0]}" if errors else ""
    rules = droppers.get(node, [])
    if packet is not None:
        # A node the probe reached never sends it through its own OUTPUT chain: a drop
        # counted there hit what the node itself sent, such as its ICMP error (the MTU
        # black hole). Worth saying, but it is not where the probe died.
        own = [r for r in rules if r.chain == "OUTPUT"]
        rules = [r for r in rules if r.chain != "OUTPUT"]
        if own:
            said += f"; {node}'s own reply was dropped by {own[0].describe()}"
    if rules:
        rule = rules[0]
        result.rule = rule
        verb = "rejected" if rule.target == "REJECT" else "dropped"
        result.cause = "filter-reject" if rule.target == "REJECT" else "filter-drop"
        result.reason = f"{verb} by {rule.describe()}{said}"
        return
    if packet is not None and target in owners.get(node, []):
        back = why.route_get(ns, packet.src)
        if not back.ok:
            result.cause = "no-return-route"
            result.reason = f"it arrived, but {node} has no route back to {packet.src} ({back.text})"
            return
        result.cause = "no-answer"
        result.reason = f"it arrived at its destination {target}, which did not answer{said}"
        return
    if packet is not None and packet.ttl <= 1:
        result.cause = "ttl"
        loop = _loop(result.hops)
        result.reason = f"TTL expired (it arrived with TTL {packet.ttl}){loop}{said}"
        return
    if packet is not None and why.sysctl_value(ns, "net.ipv4.ip_forward") == "0":
        result.cause = "forwarding-off"
        result.reason = f"{node} does not forward (net.ipv4.ip_forward=0)"
        return
    if packet is not None and iif:
        strict = _rp_filter_drops(ns, packet.src, iif)
        if strict:
            result.cause, result.reason = "rp-filter", strict
            return
    route = why.route_get(ns, target, packet.src if packet else None, iif)
    if not route.ok:
        # A blackhole/unreachable/prohibit route answers `route get` with an error (EINVAL,
        # EHOSTUNREACH, EACCES): the route table names its type.
        kind = why.route_type(ns, target)
        if kind in ("blackhole", "unreachable", "prohibit"):
            route = why.RouteAnswer(True, f"{kind} route to {target}", kind)
    if not route.ok:
        result.cause = "no-route"
        result.reason = f"no route to {target} ({route.text}){said}"
        return
    if route.kind in ("blackhole", "unreachable", "prohibit"):
        result.cause = route.kind if route.kind == "blackhole" else f"{route.kind}-route"
        result.reason = f"a {route.kind} route matches {target} ({route.text}){said}"
        return
    if packet is not None and route.dev:
        limit = why.mtu(ns, route.dev)
        if packet.df and limit and packet.length > limit:
            result.cause = "mtu"
            result.reason = (
                f"{packet.length}-byte packet with DF set is larger than {route.dev}'s MTU {limit}{said}"
            )
            return
    if route.dev:
        hop = route.via or target
        state = why.neighbour_state(ns, hop, route.dev)
        asked = sum(
            1
            for _, t, out, p in frames
            if isinstance(p, Arp) and t.node == node and p.op == 1 and p.target == hop and out
        )
        if state in ("INCOMPLETE", "FAILED") or (asked and not state.startswith(("REACHABLE", "STALE"))):
            result.cause = "no-arp"
            result.reason = (
                f"no ARP answer for {hop} on {route.dev} ({asked} request{'s' if asked != 1 else ''}, "
                f"neighbour {state or 'none'})"
            )
            return
    if sent.local_errno:
        result.cause = "local-error"
        result.reason = f"the send failed: {os.strerror(sent.local_errno)}"
        return
    result.cause = "unknown"
    result.reason = f"no reason found ({route.text}){said}"


def _rp_filter_drops(ns: str, source: str, iif: str) -> str:
    """Why reverse-path filtering drops a packet from `source` arriving on `iif`, or ''.
    The kernel uses the larger of conf.all and conf.IFACE: 1 strict (the route back must
    leave through iif), 2 loose (any route back will do)."""
    here = why.sysctl_value(ns, f"net.ipv4.conf.{iif}.rp_filter")
    every = why.sysctl_value(ns, "net.ipv4.conf.all.rp_filter")
    mode = max(int(here or 0), int(every or 0))
    if mode == 0:
        return ""
    back = why.route_get(ns, source)
    settings = f"rp_filter {iif}={here}, all={every}"
    if not back.ok:
        return f"reverse-path filter ({settings}): no route back to {source}"
    if mode == 1 and back.dev != iif:
        way = f"the route back to {source} leaves through {back.dev}, not {iif}"
        return f"reverse-path filter ({settings}): {way}"
    return ""


def _loop(hops: list[Hop]) -> str:
    counts: dict[str, int] = {}
    for hop in hops:
        counts[hop.node] = counts.get(hop.node, 0) + 1
    looping = [node for node, n in counts.items() if n > 2]
    return f", a routing loop between {' and '.join(looping)}" if len(looping) >= 2 else ""
