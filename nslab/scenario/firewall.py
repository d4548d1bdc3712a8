"""Scenario firewall text <-> iptables-restore input.

Instructors write the rule lines they know (`-A INPUT -p icmp -j DROP`); nslab frames them
per table, tags each rule with an ownership comment and maps iptables-restore's
"line N failed" back to the scenario's file:line.

Long on purpose: parsing a rule, linting it and rendering it share one token model of the
iptables syntax; split apart, each half would have to re-derive the other's view of a rule.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass
from typing import NamedTuple

from nslab.scenario.schema import did_you_mean

BUILTIN_CHAINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
}
_ADD = {"-A": "-A", "--append": "-A", "-I": "-I", "--insert": "-I"}
_NEW = ("-N", "--new-chain")
_POLICY = ("-P", "--policy")


class Rule(NamedTuple):
    offset: int  # line offset inside the table text
    tokens: tuple[str, ...]


class Problem(NamedTuple):
    """One lint finding. `column` is 0-based in the table text's line, None for the whole line.

    (A NamedTuple rather than a dataclass: this module is imported while loading a
    scenario, and class creation is most of its import cost.)"""

    offset: int
    message: str
    hint: str | None = None
    column: int | None = None


def _lines(text: str) -> list[tuple[int, str]]:
    out = []
    for offset, raw in enumerate(text.splitlines()):
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append((offset, line))
    return out


# Targets iptables knows, and for some the only tables (and built-in chains) that accept them.
_TARGETS = frozenset(
    {
        "ACCEPT",
        "DROP",
        "RETURN",
        "REJECT",
        "LOG",
        "NFLOG",
        "NFQUEUE",
        "QUEUE",
        "AUDIT",
        "MARK",
        "CONNMARK",
        "TCPMSS",
        "DNAT",
        "SNAT",
        "MASQUERADE",
        "REDIRECT",
        "NETMAP",
        "NOTRACK",
        "CT",
        "TRACE",
        "TOS",
        "TTL",
        "DSCP",
        "ECN",
        "TPROXY",
        "CLASSIFY",
        "CHECKSUM",
        "SECMARK",
        "CONNSECMARK",
        "IDLETIMER",
        "LED",
        "RATEEST",
        "SET",
        "SYNPROXY",
        "TEE",
        "HMARK",
        "CLUSTERIP",
        "TCPOPTSTRIP",
    }
)
_TARGET_TABLES = {
    "REJECT": ("filter",),
    "DNAT": ("nat",),
    "SNAT": ("nat",),
    "MASQUERADE": ("nat",),
    "REDIRECT": ("nat",),
    "NETMAP": ("nat",),
    "NOTRACK": ("raw",),
    "CT": ("raw",),
    "TRACE": ("raw",),
    "TOS": ("mangle",),
    "TTL": ("mangle",),
    "DSCP": ("mangle",),
    "ECN": ("mangle",),
    "TPROXY": ("mangle",),
    "CLASSIFY": ("mangle",),
    "CHECKSUM": ("mangle",),
}
_TARGET_CHAINS = {
    "DNAT": ("PREROUTING", "OUTPUT"),
    "REDIRECT": ("PREROUTING", "OUTPUT"),
    "SNAT": ("POSTROUTING", "INPUT"),
    "MASQUERADE": ("POSTROUTING",),
}
_PORT_PROTOCOLS = ("tcp", "udp", "sctp", "dccp", "udplite")
_NEEDS_PROTOCOL = {
    "--dport": _PORT_PROTOCOLS,
    "--destination-port": _PORT_PROTOCOLS,
    "--sport": _PORT_PROTOCOLS,
    "--source-port": _PORT_PROTOCOLS,
    "--tcp-flags": ("tcp",),
    "--syn": ("tcp",),
    "--tcp-option": ("tcp",),
    "--icmp-type": ("icmp",),
}
_NO_IN_IFACE = ("OUTPUT", "POSTROUTING")
_NO_OUT_IFACE = ("INPUT", "PREROUTING")


def lint(table: str, text: str, interfaces: tuple[str, ...] | None = None) -> list[Problem]:
    """Problems in one table's lines that iptables-restore would refuse (or that match
    nothing), found before anything is built. `interfaces`: the node's interface names,
    to check -i/-o against (None skips that check)."""
    parsed: list[tuple[int, str, list[str]]] = []
    problems: list[Problem] = []
    for offset, line in _lines(text):
        try:
            parsed.append((offset, line, shlex.split(line)))
        except ValueError as exc:
            problems.append(Problem(offset, f"cannot split the line: {exc}", "check the quotes"))
    builtin = BUILTIN_CHAINS.get(table, ())
    chains = _declared_chains(parsed, builtin, problems)
    for offset, _, tokens in parsed:
        if tokens and tokens[0] not in _NEW:
            _lint_line(_Line(table, offset, _raw_line(text, offset), tokens), chains, interfaces, problems)
    return sorted(problems, key=lambda p: (p.offset, p.column or 0))


def _raw_line(text: str, offset: int) -> str:
    return text.splitlines()[offset]


def _declared_chains(
    parsed: list[tuple[int, str, list[str]]], builtin: tuple[str, ...], problems: list[Problem]
) -> set[str]:
    """-N lines, wherever they are: nslab moves them to the table header, so order is free."""
    chains = set(builtin)
    for offset, _, tokens in parsed:
        if not tokens or tokens[0] not in _NEW:
            continue
        if len(tokens) != 2:
            problems.append(Problem(offset, "-N takes exactly one chain name", "e.g. -N LOGDROP"))
        elif tokens[1] in builtin:
            problems.append(Problem(offset, f"{tokens[1]} is a built-in chain; -N creates new ones"))
        elif tokens[1] in chains:
            problems.append(Problem(offset, f"chain {tokens[1]} is created twice"))
        else:
            chains.add(tokens[1])
    return chains


def chains_of(table: str, text: str) -> set[str]:
    """The chains a table holds once this text is loaded: its built-in chains and every -N."""
    chains = set(BUILTIN_CHAINS.get(table, ()))
    for _, line in _lines(text):
        tokens = line.split()
        if len(tokens) == 2 and tokens[0] in _NEW:
            chains.add(tokens[1])
    return chains


class _Line:
    """One rule line being linted: its words and where each one sits in the raw text."""

    __slots__ = ("offset", "raw", "table", "tokens")

    def __init__(self, table: str, offset: int, raw: str, tokens: list[str]) -> None:
        self.table = table
        self.offset = offset
        self.raw = raw
        self.tokens = tokens

    def column(self, index: int) -> int | None:
        """Where token `index` starts in the raw line (None if quoting hides it)."""
        pos = 0
        for i, token in enumerate(self.tokens[: index + 1]):
            found = self.raw.find(token, pos)
            if found < 0:
                return None
            if i == index:
                return found
            pos = found + len(token)
        return None

    def problem(self, index: int | None, message: str, hint: str | None = None) -> Problem:
        return Problem(self.offset, message, hint, self.column(index) if index is not None else None)

    def option(self, *names: str) -> int | None:
        """Index of the value after the first of these options."""
        for i, token in enumerate(self.tokens[:-1]):
            if token in names:
                return i + 1
        return None


def _lint_line(
    line: _Line, chains: set[str], interfaces: tuple[str, ...] | None, problems: list[Problem]
) -> None:
    head = line.tokens[0]
    if head.startswith("*") or head == "COMMIT" or head.startswith(":"):
        problems.append(
            line.problem(0, f"{head!r} lines are added by nslab", "write only -N, -P, -A and -I lines")
        )
        return
    if head in _POLICY:
        _lint_policy(line, problems)
        return
    if head not in _ADD:
        hint = (
            "drop the command name; write the rule as iptables-restore reads it"
            if head in ("iptables", "ip6tables", "sudo")
            else "-A appends, -I inserts, -N creates a chain, -P sets a policy"
        )
        problems.append(line.problem(0, f"a rule line starts with -A, -I, -N or -P, not {head!r}", hint))
        return
    if len(line.tokens) < 2:
        problems.append(line.problem(0, f"{head} needs a chain name"))
        return
    chain = line.tokens[1]
    if chain not in chains:
        problems.append(
            line.problem(
                1,
                f"unknown chain {chain!r} in the {line.table} table",
                _chain_hint(line.table, chain, chains),
            )
        )
    _lint_options(line, chain, problems)
    _lint_target(line, chain, chains, problems)
    if interfaces is not None:
        _lint_interfaces(line, chain, interfaces, problems)


def _chain_hint(table: str, chain: str, chains: set[str]) -> str:
    elsewhere = [t for t, names in BUILTIN_CHAINS.items() if chain in names]
    if elsewhere:
        tables = " and ".join([", ".join(elsewhere[:-1]), elsewhere[-1]] if len(elsewhere) > 1 else elsewhere)
        which = "tables" if len(elsewhere) > 1 else "table"
        return f"{chain} is a chain of the {tables} {which}; put the rule under that key"
    return (
        did_you_mean(chain, sorted(chains))
        or f"chains in {table}: {', '.join(sorted(chains))} (or create it with -N)"
    )


def _lint_policy(line: _Line, problems: list[Problem]) -> None:
    tokens = line.tokens
    builtin = BUILTIN_CHAINS.get(line.table, ())
    if len(tokens) != 3 or tokens[1] not in builtin:
        problems.append(
            line.problem(
                0,
                "-P needs a built-in chain and a policy",
                f"e.g. -P {builtin[0] if builtin else 'INPUT'} DROP",
            )
        )
    elif tokens[2] not in ("ACCEPT", "DROP"):
        problems.append(line.problem(2, f"a policy is ACCEPT or DROP, not {tokens[2]!r}"))
    elif line.table == "nat" and tokens[2] == "DROP":
        problems.append(
            line.problem(
                2,
                "the nat table does not filter: its policies must stay ACCEPT",
                "filter in the filter table",
            )
        )


def _lint_options(line: _Line, chain: str, problems: list[Problem]) -> None:
    tokens = line.tokens
    if line.option("-t", "--table") is not None:
        index = tokens.index("-t") if "-t" in tokens else tokens.index("--table")
        problems.append(
            line.problem(index, "-t has no place here: the key (filter, nat, ...) names the table")
        )
    if (
        line.tokens[0] in ("-I", "--insert")
        and len(tokens) > 2
        and tokens[2].lstrip("-").isdigit()
        and int(tokens[2]) < 1
    ):
        problems.append(line.problem(2, f"rule positions start at 1, not {tokens[2]}"))
    protocol = _value(line, "-p", "--protocol")
    for option, protocols in _NEEDS_PROTOCOL.items():
        if option in tokens and protocol not in protocols:
            want = " or ".join(f"-p {p}" for p in protocols[:2])
            problems.append(line.problem(tokens.index(option), f"{option} needs {want} earlier in the rule"))
    for option in ("--to-destination", "--to-source", "--to-ports", "--to"):
        at = line.option(option)
        # A port in a NAT target (IP:PORT, or any --to-ports) only means something for a
        # protocol with ports; iptables-restore refuses it otherwise, after validation passed.
        if at is not None and protocol not in _PORT_PROTOCOLS:
            value = line.tokens[at]
            if option == "--to-ports" or value.rsplit("]", 1)[-1].count(":") == 1:
                problems.append(
                    line.problem(at - 1, f"{option} with a port needs -p tcp or -p udp earlier in the rule")
                )
    for option in ("-s", "--source", "-d", "--destination"):
        at = line.option(option)
        if at is not None:
            _lint_addresses(line, at, problems)


def _value(line: _Line, *names: str) -> str | None:
    index = line.option(*names)
    if index is None:
        return None
    value = line.tokens[index]
    return line.tokens[index + 1] if value == "!" and index + 1 < len(line.tokens) else value


def _lint_addresses(line: _Line, index: int, problems: list[Problem]) -> None:
    value = line.tokens[index]
    if value == "!" and index + 1 < len(line.tokens):
        index += 1
        value = line.tokens[index]
    for item in value.split(","):
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            problems.append(
                line.problem(
                    index,
                    f"{item!r} is not an IPv4 address or network",
                    "iptables would try to resolve a name, and lab namespaces start without DNS",
                )
            )
            continue
        if net.version == 6:
            problems.append(line.problem(index, f"{item} is IPv6; these tables are iptables (IPv4) rules"))
        elif "/" in item and ipaddress.ip_interface(item).ip != net.network_address:
            problems.append(
                line.problem(
                    index,
                    f"{item} has host bits set; a network is meant here",
                    f"the network is {net}; write that",
                )
            )


def _lint_target(line: _Line, chain: str, chains: set[str], problems: list[Problem]) -> None:
    tokens = line.tokens
    index = line.option("-j", "--jump", "-g", "--goto")
    if index is None:
        if not any(t in tokens for t in ("-j", "--jump", "-g", "--goto")):
            problems.append(line.problem(None, "the rule has no target (-j)", "e.g. ... -j DROP"))
        else:
            problems.append(line.problem(len(tokens) - 1, "-j needs a target after it"))
        return
    target = tokens[index]
    goto = tokens[index - 1] in ("-g", "--goto")
    if target in chains and target not in BUILTIN_CHAINS.get(line.table, ()):
        return
    if goto or target not in _TARGETS:
        known = sorted({*chains, *_TARGETS} - set(BUILTIN_CHAINS.get(line.table, ())))
        what = "chain" if goto else "target"
        hint = did_you_mean(target, known) or (
            f"user chains here: {', '.join(sorted(chains - set(BUILTIN_CHAINS.get(line.table, ()))))}"
            if goto
            else "create a chain with -N, or use ACCEPT, DROP, REJECT, LOG, RETURN"
        )
        problems.append(line.problem(index, f"unknown {what} {target!r}", hint))
        return
    tables = _TARGET_TABLES.get(target)
    if tables and line.table not in tables:
        problems.append(
            line.problem(
                index, f"{target} works only in the {' or '.join(tables)} table, not in {line.table}"
            )
        )
        return
    if line.table == "nat" and target == "DROP":
        problems.append(
            line.problem(
                index, "the nat table does not filter; DROP is refused there", "drop in the filter table"
            )
        )
    allowed = _TARGET_CHAINS.get(target)
    if allowed and chain in BUILTIN_CHAINS.get(line.table, ()) and chain not in allowed:
        problems.append(
            line.problem(index, f"{target} is valid only in {', '.join(allowed)}, not in {chain}")
        )


def _lint_interfaces(line: _Line, chain: str, interfaces: tuple[str, ...], problems: list[Problem]) -> None:
    for options, forbidden, what in (
        (("-i", "--in-interface"), _NO_IN_IFACE, "incoming"),
        (("-o", "--out-interface"), _NO_OUT_IFACE, "outgoing"),
    ):
        index = line.option(*options)
        if index is None:
            continue
        if line.tokens[index] == "!" and index + 1 < len(line.tokens):
            index += 1
        name = line.tokens[index]
        if chain in forbidden:
            problems.append(
                line.problem(
                    index - 1, f"{chain} packets have no {what} interface; {options[0]} cannot match there"
                )
            )
        elif name.endswith("+"):
            if not any(i.startswith(name[:-1]) for i in [*interfaces, "lo"]):
                problems.append(line.problem(index, f"no interface of this node starts with {name[:-1]!r}"))
        elif name not in (*interfaces, "lo"):
            hint = did_you_mean(name, interfaces) or "its interfaces: " + (", ".join(interfaces) or "none")
            problems.append(
                line.problem(index, f"{options[0]} {name}: the node has no interface {name!r}", hint)
            )


def lint_table(table: str, text: str) -> list[tuple[int, str, str | None]]:
    """Structural problems in one table's lines: (line offset, message, hint)."""
    return [(p.offset, f"firewall {table}: {p.message}", p.hint) for p in lint(table, text)]


def has_rules(saved: str) -> bool:
    """Whether iptables-save output holds any rule at all. The namespace is nslab's own, so its
    rules need no ownership marker: a node that had rules loaded and now holds none was flushed."""
    return any(line.startswith("-A ") for line in saved.splitlines())


@dataclass(frozen=True)
class RestoreInput:
    text: str
    # restore line number (1-based) -> (table, line offset in that table's text)
    origin: dict[int, tuple[str, int]]


_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./!^-]+")


def restore_join(tokens: list[str]) -> str:
    """Join tokens the way iptables-restore reads them back: bare words, double quotes only
    where a token needs them. (shlex.join would write '!' as a quoted string, which
    iptables-restore takes literally: "Bad argument '!'".)"""
    out = []
    for token in tokens:
        if _PLAIN.fullmatch(token):
            out.append(token)
        else:
            out.append('"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(out)


def render_restore(tables: dict[str, str]) -> RestoreInput:
    """Build iptables-restore input (used with --noflush) for one node. The rules go in exactly as
    the scenario wrote them, with no ownership comment: the namespace is nslab's own, and a learner
    who types the textbook `iptables -D ...` for a rule they see must match it."""
    out: list[str] = []
    origin: dict[int, tuple[str, int]] = {}
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
                tokens = [_ADD[tokens[0]], *tokens[1:]]
                rules.append((offset, restore_join(tokens)))
        for offset, line in headers + rules:
            out.append(line)
            origin[len(out)] = (table, offset)
        out.append("COMMIT")
    return RestoreInput("\n".join(out) + "\n", origin)
