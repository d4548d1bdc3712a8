"""dns: ask a server (or the node's resolvers, from its own resolv.conf) one question."""

from __future__ import annotations

from typing import Any

from nslab.checks.context import ProbeContext
from nslab.checks.observation import Observation, error
from nslab.checks.probes.dnsclient import Answer, ask
from nslab.checks.probes.resolve import IPAddress, literal, resolv_conf
from nslab.scenario import model as m


def servers_for(ctx: ProbeContext, check: m.Check) -> list[IPAddress]:
    given = check.params.get("server")
    if given:
        address = literal(str(given))
        return [address] if address is not None else []
    own = ctx.own_etc_file("resolv.conf")
    return resolv_conf(own)[0] if own else []


def probe(ctx: ProbeContext, check: m.Check) -> Observation:
    name = str(check.params["query"])
    rdtype = str(check.params.get("type") or "A")
    servers = servers_for(ctx, check)
    if not servers:
        return error(f"{ctx.node} has no nameserver in its own resolv.conf and the check names no server")
    last: Observation | None = None
    for server in servers:
        got = ask(ctx, server, name, rdtype)
        evidence: dict[str, Any] = {"server": str(server), "type": rdtype}
        if isinstance(got, Answer):
            evidence.update(
                got.evidence,
                rcode=got.rcode,
                answers=list(got.values),
                cnames=list(got.chain),
                rtt_ms=round(got.rtt * 1000, 3),
            )
            return _judge_rcode(got, name, rdtype, evidence)
        evidence.update(got.evidence)
        # The subject names an explicit server already; a resolv.conf one is named here.
        where = "" if check.params.get("server") else f"nameserver {server}: "
        last = Observation(got.outcome, where + got.detail, evidence)
        if ctx.remaining() <= 0:
            break
    assert last is not None
    return last


def _judge_rcode(got: Answer, name: str, rdtype: str, evidence: dict[str, Any]) -> Observation:
    if got.rcode == "NXDOMAIN":
        return Observation("nxdomain", f"{got.server} says {name} does not exist (NXDOMAIN)", evidence)
    if got.rcode != "NOERROR":
        return Observation("rcode", f"{got.server} answered {got.rcode}", evidence)
    if not got.values:
        via = f" (CNAME to {', '.join(got.chain)})" if got.chain else ""
        return Observation("nodata", f"{got.server}: {name} exists but has no {rdtype} record{via}", evidence)
    return Observation("answer", f"{got.server}: {name} {rdtype} {', '.join(got.values)}", evidence)
