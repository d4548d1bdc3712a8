"""Scenario firewall text <-> iptables-restore input.

Instructors write the rule lines they know (`-A INPUT -p icmp -j DROP`); nslab frames them
per table, tags each rule with an ownership comment and maps iptables-restore's
"line N failed" back to the scenario's file:line.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

BUILTIN_CHAINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
}
_ADD = {"-A": "-A", "--append": "-A", "-I": "-I", "--insert": "-I"}
_NEW = ("-N", "--new-chain")
_POLICY = ("-P", "--policy")


@dataclass(frozen=True)
class Rule:
    offset: int  # line offset inside the table text
    tokens: tuple[str, ...]


def _lines(text: str) -> list[tuple[int, str]]:
    out = []
    for offset, raw in enumerate(text.splitlines()):
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append((offset, line))
    return out


def lint_table(table: str, text: str) -> list[tuple[int, str, str | None]]:
    """Structural problems in one table's lines: (line offset, message, hint)."""
    problems: list[tuple[int, str, str | None]] = []
    chains = set(BUILTIN_CHAINS.get(table, ()))
    for offset, line in _lines(text):
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            problems.append((offset, f"firewall {table}: cannot split line: {exc}", "check the quotes"))
            continue
        head = tokens[0]
        if head.startswith("*") or head == "COMMIT" or head.startswith(":"):
            problems.append(
                (
                    offset,
                    f"firewall {table}: {head!r} lines are added by nslab",
                    "write only -A/-I/-N/-P lines",
                )
            )
            continue
        if head in _NEW:
            if len(tokens) != 2:
                problems.append((offset, f"firewall {table}: -N takes exactly one chain name", None))
            else:
                chains.add(tokens[1])
            continue
        if head in _POLICY:
            if len(tokens) != 3 or tokens[1] not in BUILTIN_CHAINS.get(table, ()):
                problems.append(
                    (
                        offset,
                        f"firewall {table}: -P needs a built-in chain and a policy",
                        "e.g. -P INPUT DROP",
                    )
                )
            elif tokens[2] not in ("ACCEPT", "DROP"):
                problems.append(
                    (offset, f"firewall {table}: policy must be ACCEPT or DROP, not {tokens[2]!r}", None)
                )
            continue
        if head not in _ADD:
            problems.append(
                (offset, f"firewall {table}: a rule line starts with -A, -I, -N or -P, not {head!r}", None)
            )
            continue
        if len(tokens) < 2:
            problems.append((offset, f"firewall {table}: {head} needs a chain name", None))
            continue
        if tokens[1] not in chains:
            known = ", ".join(sorted(chains))
            problems.append(
                (
                    offset,
                    f"firewall {table}: unknown chain {tokens[1]!r}",
                    f"chains in {table}: {known} (or -N it first)",
                )
            )
        if "-j" not in tokens and "--jump" not in tokens and "-g" not in tokens:
            problems.append((offset, f"firewall {table}: rule has no target (-j)", "e.g. ... -j DROP"))
    return problems


def comment_for(lab: str) -> str:
    return f"nslab:{lab}"


@dataclass(frozen=True)
class RestoreInput:
    text: str
    # restore line number (1-based) -> (table, line offset in that table's text)
    origin: dict[int, tuple[str, int]]


def render_restore(tables: dict[str, str], lab: str) -> RestoreInput:
    """Build iptables-restore input (used with --noflush) for one node."""
    out: list[str] = []
    origin: dict[int, tuple[str, int]] = {}
    tag = comment_for(lab)
    for table, text in tables.items():
        out.append(f"*{table}")
        headers: list[tuple[int, str]] = []
        rules: list[tuple[int, str]] = []
        for offset, line in _lines(text):
            tokens = shlex.split(line)
            if tokens[0] in _NEW:
                headers.append((offset, f":{tokens[1]} - [0:0]"))
            elif tokens[0] in _POLICY:
                headers.append((offset, f":{tokens[1]} {tokens[2]} [0:0]"))
            else:
                # The comment goes right after the chain (and -I position) so target options stay last.
                at = 3 if tokens[0] in ("-I", "--insert") and len(tokens) > 2 and tokens[2].isdigit() else 2
                tokens = [_ADD[tokens[0]], *tokens[1:at], "-m", "comment", "--comment", tag, *tokens[at:]]
                rules.append((offset, shlex.join(tokens)))
        for offset, line in headers + rules:
            out.append(line)
            origin[len(out)] = (table, offset)
        out.append("COMMIT")
    return RestoreInput("\n".join(out) + "\n", origin)
