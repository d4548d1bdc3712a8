"""ping: ICMP echo over a raw socket; with `df` and `size` it measures the path MTU.

Three echoes are spread over the timeout (a single lost packet does not fail a check),
and the first answer decides: an echo reply (reachable), or an ICMP error naming the
router that gave up (unreachable, or too-big with the next-hop MTU).
"""

from __future__ import annotations

import errno
import socket
import time

from nslab.checks.context import ProbeContext
from nslab.checks.observation import UNRESOLVED, Observation
from nslab.checks.probes import icmp
from nslab.checks.probes.kstate import silence_reason
from nslab.checks.probes.netio import local_failure
from nslab.checks.probes.resolve import Unresolved, resolve
from nslab.scenario import model as m

SENDS = 3
IP_MTU = 14
IPV6_MTU = 24


def packet_bytes(version: int, size: int) -> int:
    return size + 8 + (20 if version == 4 else 40)


def route_mtu(target: icmp.IPAddress) -> int:
    """The MTU the node's route toward target allows (what ip route get would imply)."""
    family = socket.AF_INET if target.version == 4 else socket.AF_INET6
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((str(target), 9))
            level, opt = (socket.IPPROTO_IP, IP_MTU) if target.version == 4 else (41, IPV6_MTU)
            return int(sock.getsockopt(level, opt))
        except OSError:
            return 0


def probe(ctx: ProbeContext, check: m.Check) -> Observation:
    params = check.params
    try:
        target = resolve(ctx, str(params["to"]))
    except Unresolved as exc:
        return Observation(UNRESOLVED, str(exc))
    size = int(params.get("size") or 56)
    df = bool(params.get("df"))
    total = packet_bytes(target.version, size)
    evidence: dict[str, object] = {"address": str(target), "bytes": total, "df": df}
    ident = icmp.new_ident()
    with icmp.EchoSocket(target.version) as sock:
        sock.set_df(df)
        started = time.monotonic()
        spacing = ctx.timeout / SENDS
        seq = 0
        sent_at: dict[int, float] = {}
        while True:
            now = time.monotonic()
            if seq < SENDS and now >= started + seq * spacing:
                seq += 1
                try:
                    sock.send(target, ident, seq, size)
                except OSError as exc:
                    return _local(exc, ctx, target, total, df, evidence)
                sent_at[seq] = time.monotonic()
            next_send = started + seq * spacing if seq < SENDS else ctx.deadline
            reply = sock.receive(ident, min(next_send, ctx.deadline))
            if reply is not None:
                return _answer(ctx, reply, target, total, df, sent_at, evidence)
            if time.monotonic() >= ctx.deadline:
                break
    evidence["sent"] = seq
    reason = silence_reason(ctx.node, target)
    if reason:
        evidence["arp"] = "no reply"
        return Observation("timeout", f"no reply within {ctx.timeout:.1f} s: {reason}", evidence)
    return Observation(
        "timeout",
        f"no reply within {ctx.timeout:.1f} s (no echo reply, no ICMP error: dropped silently)",
        evidence,
    )


def _answer(
    ctx: ProbeContext,
    reply: icmp.Reply,
    target: icmp.IPAddress,
    total: int,
    df: bool,
    sent_at: dict[int, float],
    evidence: dict[str, object],
) -> Observation:
    version = target.version
    if reply.is_reply:
        rtt = (time.monotonic() - sent_at.get(reply.seq, time.monotonic())) * 1000
        evidence["rtt_ms"] = round(rtt, 3)
        return Observation("reachable", f"reply from {reply.source} in {rtt:.2f} ms", evidence)
    words = icmp.describe(version, reply.type, reply.code)
    evidence["icmp"] = {"from": reply.source, "type": reply.type, "code": reply.code, "text": words}
    if reply.mtu or (reply.type, reply.code) == icmp.TOO_BIG[version]:
        evidence["mtu"] = reply.mtu
        return Observation(
            "too-big",
            f"a {total}-byte packet{' with DF' if df else ''} does not fit: "
            f"{ctx.label(reply.source)} reports next-hop MTU {reply.mtu}",
            evidence,
        )
    if reply.type == icmp.TIME_EXCEEDED[version]:
        return Observation(
            "unreachable",
            f"TTL exceeded at {ctx.label(reply.source)}: the packet loops between routers",
            evidence,
        )
    reason = icmp.why(version, reply.type, reply.code, reply.source, str(target), "icmp")
    text = f"{ctx.label(reply.source)} answered ICMP {words}" + (f" ({reason})" if reason else "")
    return Observation("unreachable", text, evidence)


def _local(
    exc: OSError, ctx: ProbeContext, target: icmp.IPAddress, total: int, df: bool, evidence: dict[str, object]
) -> Observation:
    if exc.errno == errno.EMSGSIZE:
        mtu = route_mtu(target)
        evidence["mtu"] = mtu
        return Observation(
            "too-big",
            f"a {total}-byte packet{' with DF' if df else ''} does not fit {ctx.node}'s own "
            f"interface toward {target} (MTU {mtu})",
            evidence,
        )
    failure = local_failure(exc.errno or 0, ctx.node, str(target))
    return Observation(failure.outcome, failure.detail, {**evidence, **failure.evidence})
