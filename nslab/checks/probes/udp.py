"""udp: send a request, wait for a response (and name the ICMP error if one came instead)."""

from __future__ import annotations

from nslab.checks.context import ProbeContext
from nslab.checks.observation import UNRESOLVED, Observation
from nslab.checks.probes.netio import Failure, udp_exchange
from nslab.checks.probes.resolve import Unresolved, resolve
from nslab.scenario import model as m

SHOWN = 60  # characters of the reply kept in the evidence


def probe(ctx: ProbeContext, check: m.Check) -> Observation:
    try:
        target = resolve(ctx, str(check.params["to"]))
    except Unresolved as exc:
        return Observation(UNRESOLVED, str(exc))
    port = int(check.params["port"])
    payload = str(check.params.get("send") or "ping").encode()
    got = udp_exchange(ctx, target, port, payload)
    evidence: dict[str, object] = {"address": str(target), "port": port}
    if isinstance(got, Failure):
        return Observation(got.outcome, got.detail, {**evidence, **got.evidence})
    text = got.data.decode(errors="replace")
    evidence.update(rtt_ms=round(got.rtt * 1000, 3), reply=text[:SHOWN], reply_bytes=len(got.data))
    if check.params.get("contains"):
        wanted = str(check.params["contains"])
        evidence["contains"] = {"text": wanted, "found": wanted in text}
    shown = text[:SHOWN].strip().replace("\n", " ")
    return Observation("reply", f"{len(got.data)}-byte reply from {got.source}: {shown!r}", evidence)
