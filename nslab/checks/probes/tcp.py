"""tcp: a non-blocking connect that reports open, refused (RST), timeout (dropped silently)
or unreachable (an ICMP error, or no route on the node itself)."""

from __future__ import annotations

import time

from nslab.checks.context import ProbeContext
from nslab.checks.observation import UNRESOLVED, Observation
from nslab.checks.probes.netio import Failure, connect_tcp
from nslab.checks.probes.resolve import Unresolved, resolve
from nslab.scenario import model as m


def probe(ctx: ProbeContext, check: m.Check) -> Observation:
    try:
        target = resolve(ctx, str(check.params["to"]))
    except Unresolved as exc:
        return Observation(UNRESOLVED, str(exc))
    port = int(check.params["port"])
    started = time.monotonic()
    got = connect_tcp(ctx, target, port)
    evidence: dict[str, object] = {"address": str(target), "port": port}
    if isinstance(got, Failure):
        return Observation(got.outcome, got.detail, {**evidence, **got.evidence})
    with got:
        rtt = (time.monotonic() - started) * 1000
        local = got.getsockname()
    evidence.update(rtt_ms=round(rtt, 3), local=f"{local[0]}:{local[1]}")
    return Observation("open", f"open: handshake with {target} completed in {rtt:.2f} ms", evidence)
