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
        self._visits = 0

    def error(self, loc: Loc, message: str, hint: str | None = None) -> Any:
        self.diagnostics.append(Diagnostic(loc, message, hint))
        return INVALID

    def visit(self) -> None:
        self._visits += 1
        if self._visits > MAX_NODES:
            raise TooLarge


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """A suggestion for a near-miss name: same letters in another case, or a close spelling."""
    options = [str(c) for c in choices]
    folded = [c for c in options if c.lower() == word.lower()]
    close = folded or difflib.get_close_matches(word, options, n=1, cutoff=0.6)
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
