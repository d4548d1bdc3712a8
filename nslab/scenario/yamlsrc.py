"""Parse YAML into a small located tree: every node knows its file:line:col.

We compose the tree ourselves from PyYAML's event stream instead of using yaml.compose():
it lets us reject duplicate keys, bound nesting depth (libyaml's composer recurses in C and
a deeply nested file could crash it), refuse recursive aliases, expand `<<` merge keys while
keeping the position of every merged value, and keep aliases shared so that alias bombs are
cheap to detect later by counting visits.

Long on purpose: the composer, the located node types and the error mapping are one unit
(each event handler needs all three); the file is just past 400 lines.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from typing import Any

import yaml

from nslab.errors import Diagnostic, Loc

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 48
MAX_NODES = 200_000

MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"

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
    raw: str = ""  # the text as written (before YAML typing), for messages like "01500 is octal"
    unresolved: bool = False  # holds a ${param} that could not be substituted (already reported)

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

    def key_node(self, key: str) -> YScalar | None:
        for k, _ in self.pairs:
            if k.value == key:
                return k
        return None


class _Scalars:
    """Resolves plain scalars to Python values with YAML 1.1 'safe' rules, like yaml.safe_load."""

    def __init__(self) -> None:
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, event: Any, loc: Loc, lines: list[str]) -> YScalar:
        text: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:  # quoted or block: a string, no resolving needed
                tag = _STR_TAG
            else:
                tag = self._resolver.resolve(yaml.ScalarNode, text, event.implicit)  # type: ignore[no-untyped-call]
        quoted = bool(event.style) and event.style in "'\""
        if tag == MERGE_TAG:
            return YScalar(loc, "<<", tag, quoted, text)
        if tag == _STR_TAG:
            value: Any = text  # most scalars: skip the constructor, which would return the text as is
        else:
            ctor = self._constructor.yaml_constructors.get(tag)
            if ctor is None or tag.endswith((":binary", ":timestamp", ":set", ":omap", ":pairs")):
                raise _Fail(
                    loc,
                    f"unsupported YAML tag {_short_tag(tag)}",
                    "nslab reads plain values only; remove the tag",
                )
            try:
                value = ctor(self._constructor, yaml.ScalarNode(tag, text))
            except ValueError:  # an int of more digits than Python converts (4300)
                raise _Fail(loc, f"a number of {len(text)} characters is too large", _BIG_HINT) from None
            if isinstance(value, int) and _too_many_digits(value):
                raise _Fail(loc, f"a number of {len(text)} characters is too large", _BIG_HINT)
        if event.style in ("|", ">") and loc.line < len(lines):
            # Point block scalars at their first content line so offsets inside map to real lines.
            first = lines[loc.line]
            loc = Loc(loc.file, loc.line + 1, len(first) - len(first.lstrip(" ")) + 1)
        return YScalar(loc, value, tag, quoted, event.value)


def _too_many_digits(value: int) -> bool:
    """Python refuses to print an int of more than sys.get_int_max_str_digits() digits (4300):
    a hex or sexagesimal number that parsed would still break every message that shows it."""
    limit = sys.get_int_max_str_digits()
    return bool(limit) and value.bit_length() > limit * 3  # 3 bits per digit: a safe under-estimate


_BIG_HINT = "no value in a scenario is this large; quote it if it is meant as text"


def _short_tag(tag: str) -> str:
    """The tag as it is usually written: !!python/object rather than tag:yaml.org,2002:python/object."""
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


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
        root = _compose(text, filename)
    except _Fail as fail:
        return None, [fail.diagnostic]
    except yaml.MarkedYAMLError as exc:
        return None, [syntax_diagnostic(exc, text, filename)]
    except yaml.YAMLError as exc:  # unmarked errors are rare (e.g. a reader error); keep libyaml's words
        return None, [Diagnostic(Loc(filename, 1, 1), f"YAML syntax: {exc}")]
    if root is None:
        return None, [
            Diagnostic(
                Loc(filename, 1, 1),
                "the file is empty (or holds only comments)",
                "a scenario needs at least 'metadata:' (name, title) and 'nodes:'",
            )
        ]
    return root, []


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def syntax_diagnostic(exc: yaml.MarkedYAMLError, text: str, filename: str) -> Diagnostic:
    """Turn libyaml's terse parser messages into ones that say what to change, and where.

    libyaml reports where it gave up (problem_mark), which for an unclosed bracket or quote
    is often lines later; the opening character (context_mark) is what the writer must fix.
    """
    problem = exc.problem or "invalid YAML"
    context = exc.context or ""
    pmark, cmark = exc.problem_mark, exc.context_mark
    ploc = _loc(filename, pmark) if pmark else Loc(filename, 1, 1)
    char = _char_at(text, pmark)
    if "tab" in problem or (char == "\t" and "cannot start any token" in problem):
        return Diagnostic(ploc, "YAML syntax: a tab character here", "YAML indents with spaces only")
    if "cannot start any token" in problem:
        return Diagnostic(
            ploc,
            f"YAML syntax: a plain value cannot start with {char!r}",
            "put the value in quotes",
        )
    opener = {"flow mapping": ("{", "}"), "flow sequence": ("[", "]")}
    for what, (left, right) in opener.items():
        if what in context and cmark is not None:
            return Diagnostic(
                _loc(filename, cmark),
                f"YAML syntax: this '{left}' is never closed",
                f"the parser expected ',' or '{right}' at {_where(pmark)}",
            )
    if "quoted scalar" in context and cmark is not None:
        return Diagnostic(
            _loc(filename, cmark),
            "YAML syntax: this quote is never closed",
            "end the value with the same quote character on the same line",
        )
    if "block mapping" in context and "expected key" in problem and cmark is not None:
        return Diagnostic(
            ploc,
            "YAML syntax: this line is not indented like the keys around it",
            f"keys of the mapping that starts at {_where(cmark)} must start in the same column",
        )
    if "block collection" in context and cmark is not None:
        return Diagnostic(
            ploc,
            "YAML syntax: expected another '- ' item here",
            f"the list starts at {_where(cmark)}; a key after list items needs less indentation",
        )
    if "mapping values are not allowed" in problem:
        return Diagnostic(
            ploc, "YAML syntax: unexpected ':' inside a value", "quote a value that contains ': '"
        )
    if "could not find expected ':'" in problem:
        return Diagnostic(
            ploc,
            "YAML syntax: a key without ':'",
            "check the indentation of this line and the one before",
        )
    return Diagnostic(ploc, f"YAML syntax: {problem}", f"{context} at {_where(cmark)}" if cmark else None)


def _char_at(text: str, mark: Any) -> str:
    if mark is None:
        return ""
    lines = text.split("\n")
    line: int = mark.line
    column: int = mark.column
    if line >= len(lines) or column >= len(lines[line]):
        return ""
    return lines[line][column]


class _Composer:
    """Builds the located tree from parser events, enforcing our limits as it goes."""

    def __init__(self, filename: str, lines: list[str]) -> None:
        self.filename = filename
        self.lines = lines
        self.scalars = _Scalars()
        self.anchors: dict[str, YNode] = {}
        # Each stack entry: (container, pending key for mappings, seen keys for mappings)
        self.stack: list[tuple[YNode, list[YScalar | None], dict[Any, Loc]]] = []
        self.root: YNode | None = None
        self.merges: dict[int, list[tuple[YScalar, YNode]]] = {}  # id(mapping) -> its '<<' keys and values
        self.documents = 0
        self.count = 0

    def attach(self, node: YNode) -> None:
        if not self.stack:
            self.root = node
            return
        parent, pending, seen = self.stack[-1]
        if isinstance(parent, YSeq):
            parent.items.append(node)
            return
        assert isinstance(parent, YMap)
        key_node = pending[0]
        if key_node is None:
            pending[0] = self._key(node, seen)
        elif key_node.tag == MERGE_TAG and not key_node.quoted:
            self.merges.setdefault(id(parent), []).append((key_node, node))
            pending[0] = None
        else:
            parent.pairs.append((key_node, node))
            pending[0] = None

    def _key(self, node: YNode, seen: dict[Any, Loc]) -> YScalar:
        if not isinstance(node, YScalar):
            raise _Fail(node.loc, "a mapping key must be a plain word, not a list or mapping")
        key = node.value
        try:
            hash(key)
        except TypeError as exc:
            raise _Fail(node.loc, "a mapping key must be a plain word") from exc
        if key in seen:
            first = seen[key]
            raise _Fail(
                node.loc,
                f"duplicate key {key!r} (first at line {first.line}, column {first.col})",
                "remove one of them; YAML would silently keep only the last",
            )
        seen[key] = node.loc
        return node

    def start_container(self, event: Any, loc: Loc) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise _Fail(
                loc,
                f"nesting deeper than {MAX_DEPTH} levels",
                "a scenario nests a few levels deep; flatten this structure",
            )
        self.count += 1
        is_seq = isinstance(event, yaml.SequenceStartEvent)
        container: YNode = YSeq(loc) if is_seq else YMap(loc)
        if event.tag not in (None, "!", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"):
            raise _Fail(
                loc,
                f"unsupported YAML tag {_short_tag(event.tag)}",
                "nslab reads plain values only; remove the tag",
            )
        if event.anchor:
            self.anchors[event.anchor] = container
        self.attach(container)
        self.stack.append((container, [None], {}))

    def end_container(self) -> None:
        container, _, _ = self.stack.pop()
        if isinstance(container, YMap) and id(container) in self.merges:
            _expand_merges(container, self.merges.pop(id(container)))

    def alias(self, event: Any, loc: Loc) -> None:
        target = self.anchors.get(event.anchor)
        if target is None:
            raise _Fail(loc, f"unknown alias *{event.anchor}", "define it first with &NAME on a value above")
        if any(target is entry[0] for entry in self.stack):
            raise _Fail(loc, f"alias *{event.anchor} refers to a value that contains it (a loop)")
        self.attach(target)


def _expand_merges(mapping: YMap, sources: list[tuple[YScalar, YNode]]) -> None:
    """YAML `<<: *base` (or `<<: [*a, *b]`): copy in keys the mapping does not set itself.

    Merged values keep the location of their definition, so an error in a shared block
    points at the block. The first source wins over later ones, as in PyYAML.
    """
    present = {k.value for k, _ in mapping.pairs}
    merged: list[tuple[YScalar, YNode]] = []
    for key_node, value in sources:
        for source in value.items if isinstance(value, YSeq) else [value]:
            if not isinstance(source, YMap):
                what = "a list" if isinstance(source, YSeq) else "a plain value"
                raise _Fail(
                    key_node.loc,
                    f"'<<' merges mappings, but it is given {what} (line {source.loc.line})",
                    "point it at a mapping (<<: *name) or a list of mappings (<<: [*a, *b])",
                )
            for key, item in source.pairs:
                if key.value not in present:
                    present.add(key.value)
                    merged.append((key, item))
    mapping.pairs[:0] = merged


def _compose(text: str, filename: str) -> YNode | None:
    composer = _Composer(filename, text.splitlines())
    for event in yaml.parse(text, Loader=_Parser):
        if isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            composer.end_container()
            continue
        loc = _loc(filename, event.start_mark)
        if isinstance(event, yaml.DocumentStartEvent):
            composer.documents += 1
            if composer.documents > 1:
                raise _Fail(loc, "a scenario file holds exactly one YAML document", "remove the extra '---'")
        elif isinstance(event, yaml.ScalarEvent):
            node = composer.scalars.build(event, loc, composer.lines)
            composer.count += 1
            if event.anchor:
                composer.anchors[event.anchor] = node
            composer.attach(node)
        elif isinstance(event, yaml.AliasEvent):
            composer.alias(event, loc)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            composer.start_container(event, loc)
        if composer.count > MAX_NODES:
            raise _Fail(loc, f"more than {MAX_NODES} YAML values", "a scenario is far smaller than this")
    return composer.root


def read_file(path: str, missing_ok: bool = False) -> tuple[str | None, list[Diagnostic]]:
    """Read a scenario (or service settings) file as UTF-8 text, turning OS and decoding errors
    into diagnostics. The size is checked with fstat before anything is read, so a 50 MB file
    (or /dev/zero, or a FIFO nobody writes to) is refused at once instead of read and then
    refused. With missing_ok, a file that does not exist gives (None, [])."""
    loc = Loc(path, 1, 1)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        if missing_ok:
            return None, []
        return None, [Diagnostic(loc, "no such file", "check the path, or run 'nslab list' for names")]
    except IsADirectoryError:
        return None, [Diagnostic(loc, "is a directory, not a scenario file")]
    except OSError as exc:
        return None, [Diagnostic(loc, f"cannot read file: {exc.strerror}")]
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            return None, [Diagnostic(loc, "is a directory, not a scenario file")]
        if not stat.S_ISREG(info.st_mode):
            return None, [Diagnostic(loc, "is not a regular file (a device, FIFO or socket)")]
        if info.st_size > MAX_BYTES:
            return None, [_too_large(loc, info.st_size)]
        data = _read_at_most(fd, MAX_BYTES + 1)  # the file may have grown since fstat
    except OSError as exc:
        return None, [Diagnostic(loc, f"cannot read file: {exc.strerror}")]
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        return None, [_too_large(loc, len(data))]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        where = Loc(path, data[: exc.start].count(b"\n") + 1, exc.start - line_start + 1)
        return None, [
            Diagnostic(
                where,
                f"byte 0x{data[exc.start]:02x} is not UTF-8 text",
                "save the file as UTF-8 (a Latin-1 or UTF-16 editor setting causes this)",
            )
        ]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return None, [Diagnostic(Loc(path, line, 1), "file contains NUL bytes; is it a binary file?")]
    return text.removeprefix("\ufeff"), []


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = os.read(fd, min(limit - total, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _too_large(loc: Loc, size: int) -> Diagnostic:
    return Diagnostic(
        loc,
        f"file is larger than {MAX_BYTES // 1024} KiB ({size // 1024} KiB)",
        "a scenario is a few hundred lines; split generated data out of it",
    )


def parse_value(text: str, what: str) -> tuple[Any, Diagnostic | None]:
    """One YAML value typed on a command line (--param port=8080): the same safe, bounded
    reader as a scenario file, turned into plain Python. An empty text is the empty string."""
    if not text:
        return "", None
    if not text.strip():
        return None, None  # as yaml.safe_load(" ")
    root, problems = parse_text(text, what)
    if root is None:
        return None, problems[0]
    budget = [MAX_NODES]
    try:
        return plain(root, budget), None
    except _Fail as fail:
        return None, fail.diagnostic


def plain(node: YNode, budget: list[int]) -> Any:
    """A located tree as plain Python values (lists, dicts, scalars). Aliases are expanded,
    so `budget` (values left to produce) stops an alias bomb."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _Fail(node.loc, "the value expands to too many values through aliases (an alias bomb?)")
    if isinstance(node, YScalar):
        return node.value
    if isinstance(node, YSeq):
        return [plain(item, budget) for item in node.items]
    assert isinstance(node, YMap)
    return {key.value: plain(value, budget) for key, value in node.pairs}
