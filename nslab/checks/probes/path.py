"""path: the routers between a node and a target, found like `traceroute -I`.

One echo request per TTL (1..max_hops) goes out at once, each with seq = TTL; router k
answers the TTL-k probe with time-exceeded from its own address, the target answers with
an echo reply. Half-way through the timeout the unanswered TTLs are sent again. All hops
are probed in parallel, so a path check costs one round trip, not max_hops of them.
"""

from __future__ import annotations

import time
from typing import Any

from nslab.checks.context import ProbeContext
from nslab.checks.observation import UNRESOLVED, Observation
from nslab.checks.probes import icmp
from nslab.checks.probes.netio import local_failure
from nslab.checks.probes.resolve import Unresolved, resolve
from nslab.scenario import model as m


def probe(ctx: ProbeContext, check: m.Check) -> Observation:
    try:
        target = resolve(ctx, str(check.params["to"]))
    except Unresolved as exc:
        return Observation(UNRESOLVED, str(exc))
    max_hops = int(check.params.get("max_hops") or 8)
    ident = icmp.new_ident()
    answers: dict[int, icmp.Reply] = {}
    with icmp.EchoSocket(target.version) as sock:
        resend_at = time.monotonic() + ctx.timeout / 2
        try:
            _send(sock, target, ident, range(1, max_hops + 1))
        except OSError as exc:
            failure = local_failure(exc.errno or 0, ctx.node, str(target))
            return Observation("not-reached", failure.detail, {"address": str(target), "hops": []})
        resent = False
        while not _complete(answers, target.version):
            until = ctx.deadline if resent else min(resend_at, ctx.deadline)
            reply = sock.receive(ident, until)
            if reply is not None:
                answers.setdefault(reply.seq, reply)
                continue
            if time.monotonic() >= ctx.deadline:
                break
            resent = True
            missing = [
                t for t in range(1, _horizon(answers, target.version, max_hops) + 1) if t not in answers
            ]
            try:
                _send(sock, target, ident, missing)
            except OSError:
                break
    return _observe(ctx, target, answers, max_hops)


def _send(sock: icmp.EchoSocket, target: icmp.IPAddress, ident: int, ttls: Any) -> None:
    for ttl in ttls:
        sock.set_ttl(ttl)
        sock.send(target, ident, ttl, 32)


def _final_ttl(answers: dict[int, icmp.Reply], version: int) -> int | None:
    """The lowest TTL that got an answer other than time-exceeded (the end of the path)."""
    ends = [ttl for ttl, r in answers.items() if r.is_reply or r.type != icmp.TIME_EXCEEDED[version]]
    return min(ends) if ends else None


def _horizon(answers: dict[int, icmp.Reply], version: int, max_hops: int) -> int:
    end = _final_ttl(answers, version)
    return end if end is not None else max_hops


def _complete(answers: dict[int, icmp.Reply], version: int) -> bool:
    end = _final_ttl(answers, version)
    return end is not None and all(t in answers for t in range(1, end))


def _observe(
    ctx: ProbeContext, target: icmp.IPAddress, answers: dict[int, icmp.Reply], max_hops: int
) -> Observation:
    end = _final_ttl(answers, target.version)
    last = end if end is not None else max(answers, default=0)
    hops: list[dict[str, Any]] = []
    for ttl in range(1, last + 1):
        reply = answers.get(ttl)
        if reply is None:
            hops.append({"ttl": ttl, "address": None, "node": None})
        else:
            hops.append({"ttl": ttl, "address": reply.source, "node": ctx.owners.get(reply.source)})
    shown = " -> ".join(ctx.label(h["address"]) if h["address"] else "*" for h in hops) or "(no answer)"
    evidence: dict[str, Any] = {"address": str(target), "hops": hops}
    final = answers.get(end) if end is not None else None
    if final is not None and final.is_reply:
        return Observation("reached", f"{shown} ({len(hops)} hops)", evidence)
    if final is not None:
        words = icmp.describe(target.version, final.type, final.code)
        evidence["icmp"] = {"from": final.source, "type": final.type, "code": final.code, "text": words}
        return Observation("not-reached", f"{shown}: ICMP {words}", evidence)
    if not answers:
        return Observation("not-reached", f"no hop answered within {ctx.timeout:.1f} s", evidence)
    return Observation(
        "not-reached", f"{shown}, then silence: {target} not reached within {max_hops} hops", evidence
    )
