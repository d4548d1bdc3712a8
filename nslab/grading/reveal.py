"""What a report may say before the lab is solved (GUIDE non-negotiable 8).

The judge writes the whole truth: what each probe saw and what the check expected. Until the
lab is solved, that truth gives the answer away ("eth1 has 10.0.23.1/25; expected
10.0.23.1/24"). `conceal` rewrites a report so that every check whose reveal mode is not
`always` says only what a learner could see for themselves: a symptom, written per check kind
(or the check's own `symptom:` text), never the expected value nor the wrong value the probe
read, and no evidence. Passing checks are named without their values too: a guard's passing
line would otherwise print the rule it protects.

Pure, like the judge: the caller decides whether the lab counts as solved (`--reveal`, a run
that passes everything, or a solve recorded for the lab) and passes `revealed`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from nslab.checks.observation import ERROR
from nslab.grading.judge import subject
from nslab.grading.report import CheckResult, Report
from nslab.scenario import model as m

NOT_YET = "not met yet (details once the lab is solved)"


def mode(check: m.Check, scenario_default: str) -> str:
    """The check's own reveal mode, else the scenario's."""
    return check.reveal or scenario_default


def _absent(p: Mapping[str, Any]) -> bool:
    return p.get("expect") == "absent"


def _ping(c: m.Check) -> str:
    p = c.params
    if p.get("expect", "reachable") != "reachable":
        return f"{p.get('to')} answers {c.node}'s pings where it should not"
    if p.get("df") or p.get("size", 56) != 56:
        return f"{c.node}'s large pings to {p.get('to')} do not get through"
    return f"{c.node} gets no echo reply from {p.get('to')}"


def _tcp(c: m.Check) -> str:
    p = c.params
    if p.get("expect", "open") == "open":
        return f"{c.node} cannot open a TCP connection to {p.get('to')}:{p.get('port')}"
    return f"a TCP connection from {c.node} to {p.get('to')}:{p.get('port')} is not handled as it should be"


def _udp(c: m.Check) -> str:
    p = c.params
    if p.get("expect", "reply") == "no-reply":
        return f"{p.get('to')}:{p.get('port')} answers {c.node} over UDP where it should not"
    return f"{c.node} gets no proper UDP reply from {p.get('to')}:{p.get('port')}"


def _http(c: m.Check) -> str:
    p = c.params
    if p.get("expect", "ok") == "error":
        return f"{c.node} can still load {p.get('url')}, which it should not"
    return f"{c.node} does not get the right page from {p.get('url')}"


def _dns(c: m.Check) -> str:
    return f"{c.node}'s lookup of {c.params.get('query')} does not give the right result"


def _path(c: m.Check) -> str:
    return f"traffic from {c.node} toward {c.params.get('to')} does not take a path the network allows"


def _route(c: m.Check) -> str:
    to = c.params.get("to")
    if _absent(c.params):
        return f"{c.node}'s routing table holds a route toward {to} that does not belong there"
    return f"{c.node} has no working route toward {to}"


def _address(c: m.Check) -> str:
    iface = c.params.get("iface")
    if _absent(c.params):
        return f"{iface} of {c.node} carries an address that does not belong there"
    return f"{iface} of {c.node} does not carry the address the network needs"


def _link(c: m.Check) -> str:
    return f"{c.params.get('iface')} of {c.node} is not in the state the network needs"


def _sysctl(c: m.Check) -> str:
    return f"a kernel network setting on {c.node} is not what the network needs"


def _iptables(c: m.Check) -> str:
    chain = f"{c.params.get('table') or 'filter'} {c.params.get('chain')}"
    return f"{c.node}'s firewall ({chain}) does not hold what the network needs"


def _listening(c: m.Check) -> str:
    p = c.params
    port = f"{p.get('proto') or 'tcp'}/{p.get('port')}"
    if _absent(p):
        return f"something listens on {port} on {c.node} that should not"
    return f"nothing suitable listens on {port} on {c.node}"


def _sockets(c: m.Check) -> str:
    return f"{c.node}'s TCP sockets are not in the shape a healthy service leaves them"


def _arp(c: m.Check) -> str:
    who = c.params.get("who_has")
    return f"on {c.params.get('iface')} of {c.node}, the answers to who-has {who} are not right"


SYMPTOMS: dict[str, Callable[[m.Check], str]] = {
    "ping": _ping,
    "tcp": _tcp,
    "udp": _udp,
    "http": _http,
    "https": _http,
    "dns": _dns,
    "path": _path,
    "route": _route,
    "address": _address,
    "link": _link,
    "sysctl": _sysctl,
    "iptables": _iptables,
    "listening": _listening,
    "sockets": _sockets,
    "arp": _arp,
}


def symptom(check: m.Check) -> str:
    """What a learner could see while `check` fails: its own text, else the kind's."""
    if check.symptom:
        return check.symptom
    make = SYMPTOMS.get(check.kind)
    return make(check) if make else f"{check.kind} check on {check.node} does not pass yet"


def where(check: m.Check) -> str:
    """The report's subject without the values a state check compares against."""
    p = check.params
    if check.kind == "route":
        return f"route on {check.node} toward {p.get('to')}"
    if check.kind == "sysctl":
        return f"a kernel setting on {check.node}"
    if check.kind == "iptables":
        return f"firewall on {check.node}"
    return subject(check)


def concealed(result: CheckResult, check: m.Check, how: str) -> CheckResult:
    """One result as it may be shown before the lab is solved."""
    if how == "always":
        return result
    if result.outcome == ERROR:
        # The probe could not run (a namespace gone, a tool missing): that is about the lab,
        # not the fault, and the learner needs it. Only the head loses its values.
        head = subject(check)
        rest = result.explanation[len(head) :] if result.explanation.startswith(head) else ""
        text = where(check) + rest if rest else f"{where(check)}: could not probe (see 'nslab status')"
    elif result.passed:
        text = f"{where(check)}: as it should be"
    elif how == "after-solve":
        text = f"{where(check)}: {NOT_YET}"
    else:
        text = symptom(check)
    return dataclasses.replace(
        result, description="", expected="", explanation=text, evidence={}, revealed=False
    )


def conceal(report: Report, scenario: m.Scenario, revealed: bool) -> Report:
    """The report as the learner may see it now; unchanged once revealed or solved."""
    if revealed or report.passed:
        return report
    checks = {c.name: c for c in scenario.checks}
    default = scenario.metadata.reveal
    results = []
    for result in report.results:
        check = checks.get(result.name)
        if check is None:  # cannot happen for a report of this scenario; hide rather than leak
            results.append(
                dataclasses.replace(
                    result, description="", expected="", explanation=NOT_YET, evidence={}, revealed=False
                )
            )
            continue
        results.append(concealed(result, check, mode(check, default)))
    return dataclasses.replace(report, results=tuple(results))
