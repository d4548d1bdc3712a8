"""Does an observation meet its check's expectation? Pure: (check, observation) -> verdict.

Each kind has one function that says what it expected (in words, for the report) and
whether the observation meets it. The explanation line is "<subject>: <what was seen>",
with "; expected <what>" added when the check failed, so every failure reads on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nslab.checks.observation import ERROR, UNRESOLVED, Observation
from nslab.scenario import model as m


@dataclass(frozen=True)
class Verdict:
    passed: bool
    expected: str
    explanation: str


Rule = Callable[[Mapping[str, Any], Observation], tuple[bool, str]]
FAILURES = ("timeout", "refused", "unreachable")


def subject(check: m.Check) -> str:
    """How the report names what was probed, e.g. 'tcp client -> 10.0.2.10:80'."""
    p = check.params
    node = check.node
    kind = check.kind
    if kind == "ping":
        extra = (
            f" ({p.get('size')} B{', DF' if p.get('df') else ''})"
            if p.get("df") or p.get("size") != 56
            else ""
        )
        return f"ping {node} -> {p.get('to')}{extra}"
    if kind in ("tcp", "udp"):
        return f"{kind} {node} -> {p.get('to')}:{p.get('port')}"
    if kind in ("http", "https"):
        method = p.get("method") or "GET"
        sent = f" ({p['body_bytes']} B)" if p.get("body_bytes") is not None else ""
        return f"{kind} {node} -> {method + ' ' if method != 'GET' else ''}{p.get('url')}{sent}"
    if kind == "dns":
        server = f" @{p['server']}" if p.get("server") else ""
        return f"dns {node}: {p.get('query')} {p.get('type') or 'A'}{server}"
    if kind == "path":
        return f"path {node} -> {p.get('to')}"
    if kind == "route":
        via = f" via {p['via']}" if p.get("via") else ""
        return f"route on {node}: {p.get('to')}{via}"
    if kind in ("address", "link"):
        return f"{kind} {node} {p.get('iface')}"
    if kind == "sysctl":
        return f"sysctl {node} {p.get('key')}"
    if kind == "iptables":
        return f"iptables {node} {p.get('table') or 'filter'} {p.get('chain')}"
    if kind == "arp":
        return f"arp {node} {p.get('iface')}: who-has {p.get('who_has')}"
    if kind == "listening":
        return f"listening {node} {p.get('proto') or 'tcp'}/{p.get('port')}"
    if kind == "sockets":
        ports = "/".join(
            text
            for text in (
                f"port {p['port']}" if p.get("port") is not None else "",
                f"peer port {p['peer_port']}" if p.get("peer_port") is not None else "",
            )
            if text
        )
        return f"sockets {node} tcp {ports} {str(p.get('state') or 'close-wait').upper()}"
    return f"{kind} {node}"


def _ping(p: Mapping[str, Any], obs: Observation) -> tuple[bool, str]:
    expect = p.get("expect", "reachable")
    if expect == "reachable":
        return obs.outcome == "reachable", "reachable"
    if expect == "too-big":
        return obs.outcome == "too-big", "an ICMP 'too big' error (fragmentation needed / packet too big)"
    return obs.outcome in (*FAILURES, "too-big"), "no reply (unreachable)"


def _exact(field: str, default: str) -> Rule:
    def rule(p: Mapping[str, Any], obs: Observation) -> tuple[bool, str]:
        wanted = str(p.get(field) or default)
        return obs.outcome == wanted, wanted

    return rule


def _found(obs: Observation) -> bool:
    contains = obs.evidence.get("contains")
    return contains is None or bool(contains.get("found"))


def _udp(p: Mapping[str, Any], obs: Observation) -> tuple[bool, str]:
    if p.get("expect", "reply") == "no-reply":
        return obs.outcome in FAILURES, "no reply"
    wanted = f"a reply containing {p['contains']!r}" if p.get("contains") else "a reply"
    return obs.outcome == "reply" and _found(obs), wanted


def _http(p: Mapping[str, Any], obs: Observation) -> tuple[bool, str]:
    status = int(p.get("status") or 200)
    wanted = [f"status {status}"]
    if p.get("contains"):
        wanted.append(f"a body containing {p['contains']!r}")
    if p.get("min_bytes"):
        wanted.append(f"at least {p['min_bytes']} bytes")
    ok = (
        obs.outcome == "response"
        and obs.evidence.get("status") == status
        and _found(obs)
        and int(obs.evidence.get("bytes", 0)) >= int(p.get("min_bytes") or 0)
    )
    if p.get("expect", "ok") == "error":
        return not ok and obs.outcome not in (ERROR, UNRESOLVED), "the request to fail (not " + ", ".join(
            wanted
        ) + ")"
    return ok, ", ".join(wanted)


def _norm(value: str) -> str:
    return value.strip().strip('"').rstrip(".").lower()


def _dns(p: Mapping[str, Any], obs: Observation) -> tuple[bool, str]:
    expect = p.get("expect", "answer")
    if expect == "nxdomain":
        return obs.outcome == "nxdomain", "NXDOMAIN"
    if expect == "failure":
        return obs.outcome in (*FAILURES, "rcode"), "a failed lookup (no answer, SERVFAIL or REFUSED)"
    wanted = [str(v) for v in p.get("answers") or ()]
    got = {_norm(v) for v in obs.evidence.get("answers", ())}
    missing = [v for v in wanted if _norm(v) not in got]
    text = "an answer" + (f" with {', '.join(wanted)}" if wanted else "")
    return obs.outcome == "answer" and not missing, text


def _hop_names(hop: Mapping[str, Any]) -> set[str]:
    return {str(hop[k]) for k in ("address", "node") if hop.get(k)}


def _path(p: Mapping[str, Any], obs: Observation) -> tuple[bool, str]:
    via = [str(v) for v in p.get("via") or ()]
    avoid = {str(v) for v in p.get("avoid") or ()}
    hops = list(obs.evidence.get("hops", ()))
    wanted = "to reach the target" + (f" via {', '.join(via)}" if via else "")
    wanted += f" avoiding {', '.join(sorted(avoid))}" if avoid else ""
    if obs.outcome != "reached":
        return False, wanted
    position = 0
    for hop in hops:
        if position < len(via) and via[position] in _hop_names(hop):
            position += 1
    touched = any(_hop_names(hop) & avoid for hop in hops)
    return position == len(via) and not touched, wanted


def _link(p: Mapping[str, Any], obs: Observation) -> tuple[bool, str]:
    wanted = []
    ok = obs.outcome in ("up", "down")
    if p.get("up") is not None:
        wanted.append("up" if p["up"] else "down")
        ok = ok and obs.evidence.get("up") == p["up"]
    if p.get("mtu") is not None:
        wanted.append(f"MTU {p['mtu']}")
        ok = ok and obs.evidence.get("mtu") == p["mtu"]
    return ok, ", ".join(wanted) or "to exist"


def _values(given: Any) -> list[str]:
    """A sysctl check's value(s): one scalar or a list, each compared whitespace-insensitively."""
    return [str(v) for v in given] if isinstance(given, list | tuple) else [str(given)]


def _sysctl(p: Mapping[str, Any], obs: Observation) -> tuple[bool, str]:
    seen = str(obs.evidence.get("value", "")).split()
    if p.get("value") is None and p.get("not") is not None:
        banned = _values(p["not"])
        wanted = "anything but " + " or ".join(banned)
        return obs.outcome == "value" and all(seen != v.split() for v in banned), wanted
    allowed = _values(p.get("value"))
    wanted = " or ".join(allowed)
    return obs.outcome == "value" and any(seen == v.split() for v in allowed), wanted


def _count_within(low: int | None, high: int | None, obs: Observation) -> bool:
    """A probe that counted something (sockets, MACs) saw a count within [low, high]."""
    count = obs.evidence.get("count")
    return (
        obs.outcome == "count"
        and isinstance(count, int)
        and (low is None or count >= low)
        and (high is None or count <= high)
    )


def _bounds_text(low: int | None, high: int | None, unit: str, plural: str) -> str:
    """'3 to 5 sockets', 'exactly 1 MAC', 'at most 0 sockets'... for an explanation."""
    if low is not None and high is not None:
        return f"{low} to {high} {plural}" if low != high else f"exactly {low} {unit if low == 1 else plural}"
    if high is not None:
        return f"at most {high} {unit if high == 1 else plural}"
    return f"at least {low} {unit if low == 1 else plural}"


def _sockets(p: Mapping[str, Any], obs: Observation) -> tuple[bool, str]:
    low = int(p["min"]) if p.get("min") is not None else None
    high = int(p["max"]) if p.get("max") is not None else None
    state = str(p.get("state") or "close-wait").upper()
    if low is not None and high is not None and low != high:
        wanted = f"{low} to {high} sockets in {state}"
    elif low is not None and high is not None:
        wanted = f"exactly {low} in {state}"
    elif high is not None:
        wanted = f"at most {high} in {state}"
    else:
        wanted = f"at least {low} in {state}"
    return _count_within(low, high, obs), wanted


def _arp_bound(p: Mapping[str, Any], key: str) -> int | None:
    """answers: N stands for min: N and max: N."""
    value = p.get("answers") if p.get("answers") is not None else p.get(key)
    return int(value) if value is not None else None


def _arp(p: Mapping[str, Any], obs: Observation) -> tuple[bool, str]:
    low, high = _arp_bound(p, "min"), _arp_bound(p, "max")
    return _count_within(low, high, obs), _bounds_text(low, high, "MAC", "MACs") + " answering"


RULES: dict[str, Rule] = {
    "ping": _ping,
    "tcp": _exact("expect", "open"),
    "udp": _udp,
    "http": _http,
    "https": _http,
    "dns": _dns,
    "path": _path,
    "route": _exact("expect", "present"),
    "address": _exact("expect", "present"),
    "link": _link,
    "sysctl": _sysctl,
    "iptables": _exact("expect", "present"),
    "listening": _exact("expect", "present"),
    "sockets": _sockets,
    "arp": _arp,
}


def judge(check: m.Check, obs: Observation) -> Verdict:
    rule = RULES.get(check.kind)
    head = subject(check)
    if rule is None:
        return Verdict(False, "?", f"{head}: no judge for check kind {check.kind!r} (a bug in nslab)")
    passed, expected = rule(check.params, obs)
    if obs.outcome == ERROR:
        return Verdict(False, expected, f"{head}: could not probe: {obs.detail}")
    if obs.outcome == UNRESOLVED:
        passed = False
    text = f"{head}: {obs.detail}"
    if not passed:
        text += f"; expected {expected}"
    return Verdict(passed, expected, text)
