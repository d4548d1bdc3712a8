"""Reading and editing a node's firewall text (iptables-restore lines per table) for faults.

Line positions matter: nslab maps an iptables-restore failure back to file:line by the
line's offset inside the table text. So faults only ever append new lines at the end, or
blank an existing line in place; they never insert or delete lines.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from nslab.faults.edit import update_node
from nslab.kernel.icmptypes import ICMP_TYPES
from nslab.scenario import model as m
from nslab.scenario.loader import replace

_NUMERIC_ICMP = re.compile(r"(\d{1,3})(?:/(\d{1,3}))?")


def icmp_type_ok(text: str) -> bool:
    """A name iptables knows, a type number, or TYPE/CODE (each 0..255)."""
    if text in ICMP_TYPES:
        return True
    match = _NUMERIC_ICMP.fullmatch(text)
    return match is not None and all(int(g) <= 255 for g in match.groups() if g is not None)


@dataclass(frozen=True)
class RuleLine:
    """One rule line of a table: its offset in the text and its shell-split words."""

    offset: int
    text: str
    tokens: tuple[str, ...]

    @property
    def chain(self) -> str:
        return self.tokens[1] if len(self.tokens) > 1 else ""

    @property
    def target(self) -> str:
        for flag in ("-j", "--jump"):
            if flag in self.tokens:
                at = self.tokens.index(flag)
                return self.tokens[at + 1] if at + 1 < len(self.tokens) else ""
        return ""

    def has_words(self, words: str) -> bool:
        """Every word of `words` is one of the rule's words (like the iptables check's match)."""
        return set(words.split()) <= set(self.tokens)


def rule_lines(text: str) -> list[RuleLine]:
    """The -A/-I lines of one table's text, skipping blanks, comments and unsplittable lines."""
    out = []
    for offset, raw in enumerate(text.splitlines()):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            tokens = tuple(shlex.split(line))
        except ValueError:
            continue
        if tokens and tokens[0] in ("-A", "--append", "-I", "--insert"):
            out.append(RuleLine(offset, line, tokens))
    return out


def table_text(node: m.Node, table: str) -> str:
    return getattr(node.firewall, table) if node.firewall is not None else ""


def find_rules(node: m.Node, table: str, targets: tuple[str, ...], words: str | None) -> list[RuleLine]:
    """Rules of `table` jumping to one of `targets` whose words include `words` (when given)."""
    return [
        r
        for r in rule_lines(table_text(node, table))
        if r.target in targets and (not words or r.has_words(words))
    ]


def append_rule(scenario: m.Scenario, node_name: str, table: str, rule: str, where: m.Fault) -> m.Scenario:
    """Add one rule line at the end of a table's text (earlier lines keep their offsets).

    A node without a firewall gets one located at the fault, so a problem with the added
    rule points at the fault that added it."""
    node = scenario.nodes[node_name]
    fw = node.firewall or m.Firewall(loc=where.loc, locs={table: where.loc})
    text = getattr(fw, table)
    if text and not text.endswith("\n"):
        text += "\n"
    return update_node(scenario, node_name, firewall=replace(fw, **{table: text + rule + "\n"}))


def rewrite_lines(scenario: m.Scenario, node_name: str, table: str, new: dict[int, str]) -> m.Scenario:
    """Replace whole lines by offset; an empty replacement blanks the line (it stays counted)."""
    node = scenario.nodes[node_name]
    assert node.firewall is not None
    lines = getattr(node.firewall, table).splitlines()
    for offset, line in new.items():
        lines[offset] = line
    fw = replace(node.firewall, **{table: "\n".join(lines) + "\n"})
    return update_node(scenario, node_name, firewall=fw)


# DNAT's --to-destination takes [ADDR[-ADDR]][:PORT[-PORT]] (IPv6 addresses in brackets);
# iptables also accepts any unambiguous prefix of the option name, such as --to.
_TO_DEST = re.compile(r"(?P<flag>--to[-a-z]*)(?P<sep>[ =]+)(?P<value>\S+)")


def _to_destination(line: str) -> re.Match[str] | None:
    for match in _TO_DEST.finditer(line):
        if "--to-destination".startswith(match.group("flag")):
            return match
    return None


def dnat_destination(line: str) -> tuple[str, str | None] | None:
    """(address part, port part or None) of a DNAT rule's --to-destination, if it has one."""
    match = _to_destination(line)
    if match is None:
        return None
    return split_destination(match.group("value").strip("\"'"))


def split_destination(value: str) -> tuple[str, str | None]:
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return f"[{host}]", rest[1:] if rest.startswith(":") else None
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host, port
    return value, None


def with_dnat_port(line: str, port: int) -> str:
    """The same rule line with its --to-destination port replaced (or added)."""
    match = _to_destination(line)
    if match is None:
        return line
    host, _ = split_destination(match.group("value").strip("\"'"))
    new = f"{match.group('flag')}{match.group('sep')}{host}:{port}"
    return line[: match.start()] + new + line[match.end() :]
