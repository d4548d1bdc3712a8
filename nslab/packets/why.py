"""Ask a node's kernel why it dropped a packet: firewall counters, routes, sysctls, neighbours.

Each question is one short `ip`/`iptables-save` process inside the node's namespace (the
walk asks only the nodes it needs, so a walk forks a handful of times, not per packet).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from typing import Any

from nslab.kernel import iptables, netns, sysctl

_COUNTED = re.compile(r"^\[(\d+):(\d+)\] (-A (\S+) .*)$")
_POLICY = re.compile(r"^:(\S+) (ACCEPT|DROP) \[(\d+):(\d+)\]$")
_TARGET = re.compile(r"-j (\S+)")
_MARKER = re.compile(r' -m comment --comment "?nslab:[^" ]*"?')  # ownership, not the learner's rule


@dataclass(frozen=True)
class Rule:
    table: str
    chain: str
    number: int  # position in its chain, 1-based (as `iptables -L --line-numbers`); 0 = policy
    text: str  # the rule as iptables-save prints it, or "policy DROP"
    target: str

    def describe(self) -> str:
        if self.number == 0:
            return f"{self.table} {self.chain} policy DROP"
        return f"{self.table} {self.chain} rule {self.number}: {self.text}"


Counters = dict[tuple[str, str, int], tuple[Rule, int]]


def counters(ns: str) -> Counters:
    """Every rule and chain policy of every table, with its packet count."""
    return parse_counters(netns.run_in(ns, lambda: _save_counted()))


def parse_counters(text: str) -> Counters:
    """`iptables-save -c` text -> (table, chain, rule number) -> (rule, packets)."""
    table, numbers, out = "", dict[str, int](), Counters()
    for line in text.splitlines():
        if line.startswith("*"):
            table, numbers = line[1:], {}
        elif m := _POLICY.match(line):
            chain, policy, packets = m.group(1), m.group(2), int(m.group(3))
            out[(table, chain, 0)] = (Rule(table, chain, 0, f"policy {policy}", policy), packets)
        elif m := _COUNTED.match(line):
            chain = m.group(4)
            numbers[chain] = numbers.get(chain, 0) + 1
            target = _TARGET.search(m.group(3))
            text = _MARKER.sub("", m.group(3))
            rule = Rule(table, chain, numbers[chain], text, target.group(1) if target else "")
            out[(table, chain, numbers[chain])] = (rule, int(m.group(1)))
    return out


def _save_counted() -> str:
    exe = iptables.binary().replace("iptables-restore", "iptables-save")
    return subprocess.run([exe, "-c"], capture_output=True, text=True, check=False).stdout


def droppers(before: Counters, after: Counters) -> list[Rule]:
    """Rules (and DROP policies) whose packet count rose and that drop or reject."""
    found = []
    for key, (rule, packets) in after.items():
        rose = packets - before.get(key, (rule, 0))[1]
        if rose > 0 and rule.target in ("DROP", "REJECT"):
            found.append(rule)
    return found


def ip(ns: str, *args: str) -> tuple[int, str]:
    """Run `ip -n NS ARGS`: (exit code, stdout or stderr)."""
    done = subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True, check=False)
    return done.returncode, (done.stdout if done.returncode == 0 else done.stderr).strip()


@dataclass(frozen=True)
class RouteAnswer:
    ok: bool
    text: str  # `ip route get`'s answer (or its error)
    kind: str = "unicast"  # unicast, local, blackhole, unreachable, prohibit, error
    dev: str = ""
    via: str = ""


def route_get(ns: str, dst: str, src: str | None = None, iif: str | None = None) -> RouteAnswer:
    """What the node's routing decides for dst, as for a packet from src arriving on iif."""
    args = ["-4", "route", "get", dst]
    if iif:
        args += ["from", src or "0.0.0.0", "iif", iif]
    code, text = ip(ns, *args)
    first = text.splitlines()[0] if text else ""
    if code != 0:
        return RouteAnswer(False, first.removeprefix("RTNETLINK answers: "), "error")
    words = first.split()
    kind = (
        words[0]
        if words and words[0] in ("local", "blackhole", "unreachable", "prohibit", "broadcast")
        else "unicast"
    )
    dev = words[words.index("dev") + 1] if "dev" in words else ""
    via = words[words.index("via") + 1] if "via" in words else ""
    return RouteAnswer(True, first, kind, dev, via)


def route_type(ns: str, dst: str) -> str:
    """The type of the main table's longest route matching dst ('' when none)."""
    code, text = ip(ns, "-4", "-j", "route", "show", "match", dst)
    if code != 0 or not text:
        return ""
    routes = json.loads(text)

    def length(route: dict[str, Any]) -> int:
        prefix = str(route.get("dst", ""))
        return 0 if prefix == "default" else int(prefix.partition("/")[2] or 32)

    best = max(routes, key=length, default=None)
    return str(best.get("type", "unicast")) if best else ""


def sysctl_value(ns: str, key: str) -> str:
    try:
        return netns.run_in(ns, lambda: sysctl.read(key))
    except OSError:
        return ""


def neighbour_state(ns: str, address: str, dev: str) -> str:
    """The neighbour entry's state (REACHABLE, INCOMPLETE, FAILED...), or '' when none."""
    code, text = ip(ns, "-4", "neigh", "show", address, "dev", dev)
    return text.split()[-1] if code == 0 and text else ""


def mtu(ns: str, dev: str) -> int:
    code, text = ip(ns, "-j", "link", "show", "dev", dev)
    if code != 0:
        return 0
    return int(json.loads(text)[0].get("mtu", 0))


def addresses(ns: str) -> list[str]:
    """The node's IPv4 addresses (lo's too: 127.0.0.1 is never a walk's destination anyway)."""
    code, text = ip(ns, "-4", "-j", "addr", "show")
    if code != 0:
        return []
    return [a["local"] for link in json.loads(text) for a in link.get("addr_info", []) if "local" in a]
