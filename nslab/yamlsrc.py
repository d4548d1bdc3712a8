"""Parse YAML into a small located tree: every node knows its file:line:col.

We compose the tree ourselves from PyYAML's event stream instead of using yaml.compose():
it lets us reject duplicate keys, bound nesting depth (libyaml's composer recurses in C and
a deeply nested file could crash it) and keep aliases shared so that alias bombs are cheap
to detect later by counting visits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from nslab.errors import Diagnostic, Loc

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 48
MAX_NODES = 200_000

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(eq=False)
class YNode:
    loc: Loc

    @property
    def kind(self) -> str:
        raise NotImplementedError


@dataclass(eq=False)
class YScalar(YNode):
    value: Any
    tag: str
    quoted: bool = False

    @property
    def kind(self) -> str:
        return "scalar"


@dataclass(eq=False)
class YSeq(YNode):
    items: list[YNode] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "list"


@dataclass(eq=False)
class YMap(YNode):
    pairs: list[tuple[YScalar, YNode]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "mapping"

    def get(self, key: str) -> YNode | None:
        for k, v in self.pairs:
            if k.value == key:
                return v
        return None


class _Scalars:
    """Resolves plain scalars to Python values with YAML 1.1 'safe' rules, like yaml.safe_load."""

    def __init__(self) -> None:
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, event: Any, loc: Loc, lines: list[str]) -> YScalar:
        implicit = event.implicit
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._resolver.resolve(yaml.ScalarNode, event.value, implicit)  # type: ignore[no-untyped-call]
        node = yaml.ScalarNode(tag, event.value)
        ctor = self._constructor.yaml_constructors.get(tag)
        if ctor is None:
            raise _Fail(loc, f"unsupported YAML tag {tag!r}", "remove the tag; plain values are enough")
        value = ctor(self._constructor, node)
        quoted = bool(event.style) and event.style in "'\""
        if event.style in ("|", ">") and loc.line < len(lines):
            # Point block scalars at their first content line so offsets inside map to real lines.
            first = lines[loc.line]
            loc = Loc(loc.file, loc.line + 1, len(first) - len(first.lstrip(" ")) + 1)
        return YScalar(loc, value, tag, quoted)


class _Fail(Exception):
    def __init__(self, loc: Loc, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.diagnostic = Diagnostic(loc, message, hint)


def _loc(filename: str, mark: Any) -> Loc:
    return Loc(filename, mark.line + 1, mark.column + 1)


def parse_text(text: str, filename: str) -> tuple[YNode | None, list[Diagnostic]]:
    """Parse one YAML document. Returns (root, diagnostics); root is None when parsing failed."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return None, [
            Diagnostic(
                Loc(filename, 1, 1),
                f"file is larger than {MAX_BYTES // 1024} KiB",
                "a scenario is a few hundred lines; split generated data out of it",
            )
        ]
    try:
        return _compose(text, filename), []
    except _Fail as fail:
        return None, [fail.diagnostic]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _loc(filename, mark) if mark else Loc(filename, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [Diagnostic(loc, f"YAML syntax: {problem}", _syntax_hint(problem))]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(Loc(filename, 1, 1), f"YAML syntax: {exc}")]


def _syntax_hint(problem: str) -> str | None:
    if "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted"
    if "could not find expected ':'" in problem:
        return "check the indentation of this line and the one before"
    return None


def _compose(text: str, filename: str) -> YNode | None:
    scalars = _Scalars()
    lines = text.splitlines()
    anchors: dict[str, YNode] = {}
    # Each stack entry: (container, pending key for mappings, seen keys for mappings)
    stack: list[tuple[YNode, list[YScalar | None], dict[Any, Loc]]] = []
    root: YNode | None = None
    documents = 0
    count = 0

    def attach(node: YNode) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        parent, pending, seen = stack[-1]
        if isinstance(parent, YSeq):
            parent.items.append(node)
            return
        assert isinstance(parent, YMap)
        if pending[0] is None:
            if not isinstance(node, YScalar):
                raise _Fail(node.loc, "mapping keys must be plain values", "write the key as a plain word")
            key = node.value
            try:
                hash(key)
            except TypeError as exc:
                raise _Fail(node.loc, "mapping key is not a plain value") from exc
            if key in seen:
                first = seen[key]
                raise _Fail(
                    node.loc,
                    f"duplicate key {key!r} (first defined at line {first.line})",
                    "remove one of them; YAML would silently keep only the last",
                )
            seen[key] = node.loc
            pending[0] = node
        else:
            parent.pairs.append((pending[0], node))
            pending[0] = None

    for event in yaml.parse(text, Loader=_Parser):
        loc = _loc(filename, event.start_mark)
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Fail(loc, "a scenario file holds exactly one YAML document", "remove the extra '---'")
        elif isinstance(event, yaml.ScalarEvent):
            node: YNode = scalars.build(event, loc, lines)
            count += 1
            if event.anchor:
                anchors[event.anchor] = node
            attach(node)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise _Fail(loc, f"unknown alias *{event.anchor}")
            attach(anchors[event.anchor])
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _Fail(loc, f"nesting deeper than {MAX_DEPTH} levels", "flatten the structure")
            count += 1
            container: YNode = YSeq(loc) if isinstance(event, yaml.SequenceStartEvent) else YMap(loc)
            if event.tag not in (None, "!", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"):
                raise _Fail(loc, f"unsupported YAML tag {event.tag!r}", "remove the tag")
            if event.anchor:
                anchors[event.anchor] = container
            attach(container)
            stack.append((container, [None], {}))
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            stack.pop()
        if count > MAX_NODES:
            raise _Fail(loc, f"more than {MAX_NODES} YAML nodes", "a scenario is far smaller than this")
    return root


def read_file(path: str) -> tuple[str | None, list[Diagnostic]]:
    """Read a scenario file as UTF-8 text, turning OS and decoding errors into diagnostics."""
    loc = Loc(path, 1, 1)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None, [Diagnostic(loc, "no such file", "check the path, or run 'nslab list' for names")]
    except IsADirectoryError:
        return None, [Diagnostic(loc, "is a directory, not a scenario file")]
    except OSError as exc:
        return None, [Diagnostic(loc, f"cannot read file: {exc.strerror}")]
    if len(data) > MAX_BYTES:
        return None, [Diagnostic(loc, f"file is larger than {MAX_BYTES // 1024} KiB")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [Diagnostic(Loc(path, line, 1), "file is not valid UTF-8 text")]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return None, [Diagnostic(Loc(path, line, 1), "file contains NUL bytes; is it a binary file?")]
    return text, []
