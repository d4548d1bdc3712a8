"""Match a scenario's rule fragment ('-p tcp --dport 23 -j REJECT') against `iptables -S` lines.

iptables prints rules in a canonical form that differs from what people type: long options
become short, a host address gains /32, ICMP type names become numbers, and matches gain
'-m tcp'. Both sides are normalised, split into option groups (an option and its values),
and every group of the fragment must appear, contiguous, in one rule.
"""

from __future__ import annotations

import shlex

from nslab.kernel.icmptypes import ICMP_TYPES

_ALIASES = {
    "--protocol": "-p",
    "--source": "-s",
    "--src": "-s",
    "--destination": "-d",
    "--dst": "-d",
    "--in-interface": "-i",
    "--out-interface": "-o",
    "--jump": "-j",
    "--goto": "-g",
    "--destination-port": "--dport",
    "--source-port": "--sport",
    "--match": "-m",
}
_ADDRESS_OPTIONS = ("-s", "-d")


def _normalise(tokens: list[str]) -> list[str]:
    out: list[str] = []
    option = ""
    for token in tokens:
        if token.startswith("-") and not token[1:].isdigit():
            option = _ALIASES.get(token, token)
            out.append(option)
            continue
        value = token
        if option in _ADDRESS_OPTIONS and "/" not in value and value[:1].isdigit():
            value += "/128" if ":" in value else "/32"
        elif option == "--icmp-type":
            value = ICMP_TYPES.get(value, value)
        elif option in ("-p", "-j"):
            value = value.lower() if option == "-p" else value
        out.append(value)
    return out


def groups(tokens: list[str]) -> list[tuple[str, ...]]:
    """['-p','tcp','--dport','23'] -> [('-p','tcp'), ('--dport','23')]; '!' joins the next group."""
    out: list[list[str]] = []
    negate = False
    for token in tokens:
        if token == "!":
            negate = True
            continue
        if token.startswith("-") and not token[1:].isdigit():
            out.append(["!", token] if negate else [token])
            negate = False
        elif out:
            out[-1].append(token)
        else:
            out.append([token])
    return [tuple(g) for g in out]


def split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def matches(rule: str, fragment: str) -> bool:
    rule_groups = groups(_normalise(split(rule)))
    return all(g in rule_groups for g in groups(_normalise(split(fragment))))


def chain_rules(saved: str, chain: str) -> tuple[list[str], str | None]:
    """The '-A chain ...' lines and the chain's policy from `iptables -S chain` output."""
    rules: list[str] = []
    policy = None
    for line in saved.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "-P" and parts[1] == chain:
            policy = parts[2]
        elif len(parts) >= 2 and parts[0] == "-A" and parts[1] == chain:
            rules.append(line)
    return rules, policy


def without_marker(rule: str) -> str:
    """The rule as a learner wrote it: nslab's ownership comment removed (it is noise to them)."""
    tokens = split(rule)
    out: list[str] = []
    skip = 0
    for index, token in enumerate(tokens):
        if skip:
            skip -= 1
            continue
        rest = tokens[index : index + 4]
        if rest[:3] == ["-m", "comment", "--comment"] and len(rest) == 4 and rest[3].startswith("nslab:"):
            skip = 3
            continue
        out.append(token)
    return " ".join(out)
