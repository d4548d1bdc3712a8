"""What every type shares: the validation context that collects errors, the INVALID marker,
path and did-you-mean helpers, and the Type base classes."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from nslab.errors import Diagnostic, Loc
from nslab.scenario.yamlsrc import MAX_NODES, YMap, YNode, YScalar, YSeq


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


class TooLarge(Exception):
    """The tree expands (through aliases) to more nodes than any scenario needs."""


class Ctx:
    """Collects diagnostics during one validation run."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.broken: set[str] = set()  # paths of map entries that failed validation
        self.once: set[str] = set()  # problems said once per file, however often they recur
        self._visits = 0

    def error(self, loc: Loc, message: str, hint: str | None = None) -> Any:
        self.diagnostics.append(Diagnostic(loc, message, hint))
        return INVALID

    def visit(self) -> None:
        self._visits += 1
        if self._visits > MAX_NODES:
            raise TooLarge


# How alike a suggestion must be (difflib's ratio). 0.75 still catches one swapped, missing
# or extra letter in a short word ('eht0', 'rol', 'pign'), but no longer offers a different
# name that merely shares half its letters ('srv' -> 'server', 'web' -> 'dns-web').
CLOSE_ENOUGH = 0.75
_NUMBER = re.compile(r"\d+")


def _other_number(word: str, choice: str) -> bool:
    """eth1 and eth0, r1 and r2: names that differ only in a number are different things
    (but eth00 is a typo of eth0: the same number)."""
    if _NUMBER.sub("#", word) != _NUMBER.sub("#", choice):
        return False
    return [int(n) for n in _NUMBER.findall(word)] != [int(n) for n in _NUMBER.findall(choice)]


def _slip(word: str, choice: str) -> bool:
    """Two letters swapped or one letter doubled or dropped: typos that difflib's ratio
    undervalues in very short words ('lba' for 'lab', 'yy' for 'y')."""
    if len(word) == len(choice):
        diff = [i for i, (a, b) in enumerate(zip(word, choice, strict=True)) if a != b]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == choice[diff[1]]
    short, long = sorted((word, choice), key=len)
    return len(long) == len(short) + 1 and any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """A suggestion for a near-miss name: same letters in another case, or a close spelling.

    Only a close one: a wrong suggestion sends the author to fix the wrong thing, so when
    nothing is close the caller's own hint (usually the list of valid names) is better."""
    options = [str(c) for c in choices]
    folded = [c for c in options if c.lower() == word.lower()]
    if folded:
        return f"did you mean {folded[0]!r}?"
    close = difflib.get_close_matches(word, options, n=5, cutoff=CLOSE_ENOUGH)
    close += [c for c in options if c not in close and _slip(word, c)]
    close = [c for c in close if not _other_number(word.lower(), c.lower())]
    return f"did you mean {close[0]!r}?" if close else None


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def join_path(path: str, key: object) -> str:
    """nodes.r1 for plain words; sysctls['net.ipv4.ip_forward'] when a key holds dots or spaces."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = str(key)
    if path and not _PLAIN_KEY.fullmatch(text):
        return f"{path}[{text!r}]"
    return f"{path}.{text}" if path else text


def describe(node: YNode) -> str:
    """What the reader wrote, in their words (the raw text, not Python's reading of it)."""
    if isinstance(node, YScalar):
        value, raw = node.value, node.raw
        if value is None:
            return "an empty value"
        if isinstance(value, bool):
            return f"the boolean {raw or value}"
        if isinstance(value, int | float):
            return f"the number {raw or value}"
        if isinstance(value, str):
            return f"the string {value!r}"
        return f"{type(value).__name__} {raw or value!r}"
    return "a list" if isinstance(node, YSeq) else "a mapping"


class Type:
    """Base of schema types. `check` returns the Python value or INVALID (after reporting)."""

    expected = "a value"
    doc = ""

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def wrong(self, node: YNode, ctx: Ctx, path: str, hint: str | None = None) -> Any:
        return ctx.error(node.loc, f"{path}: expected {self.expected}, got {describe(node)}", hint)


def with_doc(out: dict[str, Any], doc: str) -> dict[str, Any]:
    if doc:
        out["description"] = doc
    return out


class ScalarType(Type):
    python: tuple[type, ...] = ()

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        ctx.visit()
        if isinstance(node, YScalar) and node.unresolved:
            return INVALID
        if not isinstance(node, YScalar) or not self._accepts(node.value):
            return self.wrong(node, ctx, path, self.hint_for(node))
        return self.convert(node, ctx, path)

    def _accepts(self, value: Any) -> bool:
        return isinstance(value, self.python) and not (isinstance(value, bool) and bool not in self.python)

    def hint_for(self, node: YNode) -> str | None:
        if isinstance(node, YSeq | YMap) or not isinstance(node, YScalar):
            return None
        if node.value is None:
            return "write a value after the ':' (or remove the key to use the default)"
        return None

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        return node.value
