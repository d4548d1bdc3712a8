"""A small declarative schema for located YAML trees.

Why not pydantic or jsonschema: importing either costs 80+ ms, a large share of the 300 ms
budget for a whole `nslab up`, and neither knows YAML positions. This module checks a
located tree against a declared shape, collects every problem with file:line:col and a
did-you-mean, builds frozen model objects, and exports the same shape as JSON Schema.

Message style, kept the same everywhere: "<path>: <what is wrong>", where <path> names the
value the way a reader would walk to it (nodes.r1.interfaces.eth0.mtu), and an optional
hint that says what to write instead.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nslab.errors import Diagnostic, Loc
from nslab.yamlsrc import MAX_NODES, YMap, YNode, YScalar, YSeq


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


def _with_doc(out: dict[str, Any], doc: str) -> dict[str, Any]:
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


_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?")


class Str(ScalarType):
    python = (str,)

    def __init__(
        self,
        pattern: str | None = None,
        meaning: str | None = None,
        max_len: int | None = None,
        min_len: int = 1,
        doc: str = "",
        too_long: str | None = None,
    ) -> None:
        self.pattern = re.compile(pattern) if pattern else None
        self.meaning = meaning
        self.max_len = max_len
        self.min_len = min_len
        self.expected = "a string"
        self.doc = doc
        self.too_long = too_long  # why the limit exists, shown with the error

    def hint_for(self, node: YNode) -> str | None:
        if isinstance(node, YScalar) and isinstance(node.value, int | float | bool):
            if not isinstance(node.value, bool) and _SEXAGESIMAL.fullmatch(node.raw):
                return f'YAML 1.1 reads {node.raw} as a base-60 number; quote it: "{node.raw}"'
            return f'quote it to make it a string: "{node.raw or node.value}"'
        return super().hint_for(node)

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        value: str = node.value
        if len(value) < self.min_len:
            return ctx.error(node.loc, f"{path}: must not be empty")
        if self.max_len is not None and len(value) > self.max_len:
            return ctx.error(
                node.loc,
                f"{path}: {value!r} is {len(value)} characters, at most {self.max_len} allowed",
                self.too_long,
            )
        if self.pattern and not self.pattern.fullmatch(value):
            hint = "parameters are substituted in values, not in keys" if "${" in value else None
            return ctx.error(node.loc, f"{path}: {value!r} is not {self.meaning or 'valid'}", hint)
        return value

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.pattern:
            out["pattern"] = f"^(?:{self.pattern.pattern})$"
        if self.max_len:
            out["maxLength"] = self.max_len
        if self.min_len:
            out["minLength"] = self.min_len
        return _with_doc(out, self.doc)


class Text(Str):
    """Free text such as a briefing (markdown)."""

    def __init__(self, doc: str = "") -> None:
        super().__init__(doc=doc, min_len=0)


class Ref(Str):
    """A name that must refer to something declared elsewhere in the scenario.

    The schema only checks its shape; nslab.semantic resolves it after the whole file is
    read, with a did-you-mean. `target` is "node", "interface" or "service". For an
    interface, `of` names the sibling key that holds the node name ("from" for checks,
    whose probe runs in that node; "node" for faults).
    """

    TARGETS = ("node", "interface", "service")

    def __init__(self, target: str, of: str | None = None, doc: str = "") -> None:
        if target not in self.TARGETS:
            raise ValueError(f"Ref target must be one of {self.TARGETS}, not {target!r}")
        super().__init__(r"\S+", f"a {target} name", doc=doc)
        self.target = target
        self.of = of


class Int(ScalarType):
    python = (int,)

    def __init__(self, min: int | None = None, max: int | None = None, doc: str = "") -> None:
        self.min = min
        self.max = max
        self.expected = "an integer"
        self.doc = doc

    def hint_for(self, node: YNode) -> str | None:
        if isinstance(node, YScalar) and isinstance(node.value, str) and node.value.strip().isdigit():
            return "remove the quotes"
        if isinstance(node, YScalar) and isinstance(node.value, float) and node.value.is_integer():
            return f"write it without the decimal point: {int(node.value)}"
        return super().hint_for(node)

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        raw = node.raw.lstrip("+-")
        if len(raw) > 1 and raw[0] == "0" and raw.isdigit():
            # YAML 1.1 reads a leading zero as octal: mtu: 01500 would silently be 832.
            return ctx.error(
                node.loc,
                f"{path}: {node.raw} has a leading zero, which YAML reads as the octal number {node.value}",
                f"write {int(raw, 10)} (or quote the value if you meant text)",
            )
        if ":" in raw:
            return ctx.error(
                node.loc,
                f"{path}: YAML 1.1 reads {node.raw} as the base-60 number {node.value}",
                "write a plain number",
            )
        return _bounded(node, ctx, path, self.min, self.max)

    def json_schema(self) -> dict[str, Any]:
        return _with_doc(_bounds({"type": "integer"}, self.min, self.max), self.doc)


class Num(ScalarType):
    python = (int, float)

    def __init__(
        self, min: float | None = None, max: float | None = None, unit: str = "", doc: str = ""
    ) -> None:
        self.min = min
        self.max = max
        self.unit = unit
        self.expected = f"a number of {unit}" if unit else "a number"
        self.doc = doc

    def hint_for(self, node: YNode) -> str | None:
        if isinstance(node, YScalar) and isinstance(node.value, str) and self.unit:
            return f"write the number of {self.unit} without a unit, e.g. 1.5"
        return super().hint_for(node)

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        value = _bounded(node, ctx, path, self.min, self.max)
        return value if value is INVALID else float(value)

    def json_schema(self) -> dict[str, Any]:
        return _with_doc(_bounds({"type": "number"}, self.min, self.max), self.doc)


def _bounded(node: YScalar, ctx: Ctx, path: str, lo: float | None, hi: float | None) -> Any:
    value = node.value
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            allowed = f"between {lo} and {hi}"
        else:
            allowed = f"at least {lo}" if lo is not None else f"at most {hi}"
        return ctx.error(node.loc, f"{path}: {node.raw or value} is out of range; it must be {allowed}")
    return value


def _bounds(out: dict[str, Any], lo: float | None, hi: float | None) -> dict[str, Any]:
    if lo is not None:
        out["minimum"] = lo
    if hi is not None:
        out["maximum"] = hi
    return out


class Bool(ScalarType):
    python = (bool,)
    expected = "true or false"

    def __init__(self, doc: str = "") -> None:
        self.doc = doc

    def hint_for(self, node: YNode) -> str | None:
        if isinstance(node, YScalar) and str(node.value).lower() in (
            "true",
            "false",
            "yes",
            "no",
            "on",
            "off",
        ):
            return "remove the quotes"
        return super().hint_for(node)

    def json_schema(self) -> dict[str, Any]:
        return _with_doc({"type": "boolean"}, self.doc)


class Enum(ScalarType):
    python = (str, int)

    def __init__(self, *values: str | int, doc: str = "") -> None:
        self.values = values
        self.expected = "one of " + ", ".join(repr(v) for v in values)
        self.doc = doc

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        if node.value in self.values:
            return node.value
        allowed = ", ".join(str(v) for v in self.values)
        if str(node.value) in (str(v) for v in self.values):
            hint: str | None = "remove the quotes" if node.quoted else "quote it"
        else:
            hint = did_you_mean(str(node.value), [str(v) for v in self.values])
        return ctx.error(node.loc, f"{path}: {node.value!r} is not one of: {allowed}", hint)

    def json_schema(self) -> dict[str, Any]:
        return _with_doc({"enum": list(self.values)}, self.doc)


class Any_(Type):
    """Any scalar value (used for sysctl values and parameter choices)."""

    expected = "a plain value (string, number or boolean)"

    def __init__(self, doc: str = "") -> None:
        self.doc = doc

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        ctx.visit()
        if isinstance(node, YScalar) and node.unresolved:
            return INVALID
        if not isinstance(node, YScalar) or not isinstance(node.value, str | int | float | bool):
            return self.wrong(node, ctx, path)
        return node.value

    def json_schema(self) -> dict[str, Any]:
        return _with_doc({"type": ["string", "integer", "number", "boolean"]}, self.doc)


def _ip_problem(text: str) -> str | None:
    """ipaddress's own explanation ("Octet 300 (> 255) not permitted...") for a bad address."""
    try:
        (ipaddress.IPv6Interface if ":" in text else ipaddress.IPv4Interface)(text)
    except ValueError as exc:
        return str(exc)
    return None


def _odd_address(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if addr.is_unspecified:
        return "the unspecified address"
    if addr.is_multicast:
        return "a multicast address"
    if addr.is_loopback:
        return "a loopback address (those belong on lo)"
    return None


class IPAddr(ScalarType):
    python = (str,)

    def __init__(self, version: int | None = None, doc: str = "") -> None:
        self.version = version
        self.expected = f"an IPv{version} address" if version else "an IP address"
        self.doc = doc

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        try:
            addr = ipaddress.ip_address(node.value)
        except ValueError:
            hint = "drop the prefix length here" if "/" in node.value else _ip_problem(node.value)
            return ctx.error(node.loc, f"{path}: {node.value!r} is not {self.expected}", hint)
        if self.version and addr.version != self.version:
            return ctx.error(node.loc, f"{path}: {node.value!r} is not {self.expected}")
        return addr

    def json_schema(self) -> dict[str, Any]:
        fmt = {4: "ipv4", 6: "ipv6"}.get(self.version or 0)
        out: dict[str, Any] = {"type": "string", "pattern": r"^[0-9a-fA-F:.]+$"}
        if fmt:
            out["format"] = fmt
        return _with_doc(out, self.doc)


class IPIface(ScalarType):
    """An address with its prefix length, e.g. 10.0.1.10/24."""

    python = (str,)
    expected = "an address with a prefix length, like 10.0.1.10/24"

    def __init__(self, doc: str = "") -> None:
        self.doc = doc

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        text = node.value
        if "/" not in text:
            return ctx.error(
                node.loc,
                f"{path}: {text!r} has no prefix length",
                f"write it as {text}/24 (or whatever the subnet is)",
            )
        try:
            iface = ipaddress.ip_interface(text)
        except ValueError:
            return ctx.error(node.loc, f"{path}: {text!r} is not {self.expected}", _ip_problem(text))
        odd = _odd_address(iface.ip)
        if odd:
            return ctx.error(node.loc, f"{path}: {iface.ip} is {odd}, not an interface address")
        net = iface.network
        if (
            iface.version == 4
            and net.prefixlen <= 30
            and iface.ip in (net.network_address, net.broadcast_address)
        ):
            which = "network" if iface.ip == net.network_address else "broadcast"
            return ctx.error(
                node.loc,
                f"{path}: {text} is the {which} address of {net}, not a host address",
                f"pick a host address between {net.network_address + 1} and {net.broadcast_address - 1}",
            )
        return iface

    def json_schema(self) -> dict[str, Any]:
        return _with_doc({"type": "string", "pattern": r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"}, self.doc)


class IPNet(ScalarType):
    """A network with no host bits set, e.g. 10.0.2.0/24."""

    python = (str,)
    expected = "a network like 10.0.2.0/24"

    def __init__(self, doc: str = "") -> None:
        self.doc = doc

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        text = node.value
        try:
            return ipaddress.ip_network(text, strict=True)
        except ValueError:
            pass
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return ctx.error(node.loc, f"{path}: {text!r} is not {self.expected}", _ip_problem(text))
        return ctx.error(
            node.loc,
            f"{path}: {text} has host bits set; a network is meant here",
            f"the network is {loose}; write that",
        )

    def json_schema(self) -> dict[str, Any]:
        return _with_doc({"type": "string", "pattern": r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"}, self.doc)


class Mac(Str):
    """A MAC address; `unicast` (for an interface's own address) refuses group and zero MACs."""

    def __init__(self, unicast: bool = False, doc: str = "") -> None:
        super().__init__(
            r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", "a MAC address like 02:00:00:00:00:01", doc=doc
        )
        self.expected = 'a MAC address (quoted, like "02:00:00:00:00:01")'
        self.unicast = unicast

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        value = super().convert(node, ctx, path)
        if value is INVALID or not self.unicast:
            return value
        if int(value[:2], 16) & 1:
            return ctx.error(
                node.loc,
                f"{path}: {value} is a multicast MAC (the first byte is odd); "
                "an interface needs a unicast one",
                "locally administered unicast MACs start with 02, e.g. 02:00:00:00:00:01",
            )
        if int(value.replace(":", ""), 16) == 0:
            return ctx.error(node.loc, f"{path}: 00:00:00:00:00:00 is not a usable MAC address")
        return value


class ListOf(Type):
    def __init__(
        self,
        item: Type,
        min_len: int = 0,
        max_len: int | None = None,
        partial: bool = False,
        unique: bool = False,
        doc: str = "",
        too_many: str | None = None,
    ) -> None:
        self.item = item
        self.min_len = min_len
        self.max_len = max_len
        self.partial = partial  # keep the valid items so later checks can still run on them
        self.unique = unique
        self.expected = "a list"
        self.doc = doc
        self.too_many = too_many  # why the maximum exists

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        ctx.visit()
        if not isinstance(node, YSeq):
            if isinstance(node, YScalar) and node.value is None and self.min_len == 0:
                return ()
            return self.wrong(node, ctx, path, "write it as a YAML list ('- item' lines or [a, b])")
        if len(node.items) < self.min_len:
            got = "it is empty" if not node.items else f"it has {len(node.items)}"
            need = "one item" if self.min_len == 1 else f"{self.min_len} items"
            return ctx.error(node.loc, f"{path}: needs at least {need}; {got}")
        if self.max_len is not None and len(node.items) > self.max_len:
            extra = node.items[self.max_len]
            return ctx.error(
                extra.loc,
                f"{path}: at most {self.max_len} items allowed; this is item {self.max_len + 1}",
                self.too_many,
            )
        values = self._check_items(node, ctx, path)
        if self.unique:
            self._check_unique(node, values, ctx, path)
        if self.partial:
            ctx.broken.update(join_path(path, i) for i, v in enumerate(values) if v is INVALID)
            return tuple(v for v in values if v is not INVALID)
        return INVALID if any(v is INVALID for v in values) else tuple(values)

    def _check_items(self, node: YSeq, ctx: Ctx, path: str) -> list[Any]:
        """Each item once: an alias repeated in the list (item of a YAML bomb, say) is checked
        and reported at its first place only."""
        done: dict[int, Any] = {}
        values = []
        for i, item in enumerate(node.items):
            if id(item) not in done:
                done[id(item)] = self.item.check(item, ctx, join_path(path, i))
            values.append(done[id(item)])
        return values

    @staticmethod
    def _check_unique(node: YSeq, values: list[Any], ctx: Ctx, path: str) -> None:
        first: dict[Any, Loc] = {}
        for i, (item, value) in enumerate(zip(node.items, values, strict=True)):
            if value is INVALID:
                continue
            try:
                key = (type(value), value)
                hash(key)
            except TypeError:
                continue
            if key in first:
                ctx.error(
                    item.loc,
                    f"{join_path(path, i)}: {value} is listed twice (first at line {first[key].line})",
                    "remove the repeated item",
                )
            else:
                first[key] = item.loc

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.json_schema()}
        if self.min_len:
            out["minItems"] = self.min_len
        if self.max_len is not None:
            out["maxItems"] = self.max_len
        if self.unique:
            out["uniqueItems"] = True
        return _with_doc(out, self.doc)


class MapOf(Type):
    """A mapping from free-form names to values, e.g. nodes or interfaces.

    With `key_field`, each value is a Struct that receives the key as that field (a node's
    name is its key under `nodes:`), so the field must not also be written in the value.
    """

    def __init__(
        self,
        key: Str,
        value: Type,
        key_field: str | None = None,
        partial: bool = False,
        min_len: int = 0,
        doc: str = "",
    ) -> None:
        self.key = key
        self.value = value
        self.key_field = key_field
        self.partial = partial
        self.min_len = min_len
        self.expected = "a mapping"
        self.doc = doc

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        ctx.visit()
        if not isinstance(node, YMap):
            if isinstance(node, YScalar) and node.value is None and not self.min_len:
                return {}
            return self.wrong(node, ctx, path, "write it as 'name: value' lines under this key")
        if len(node.pairs) < self.min_len:
            need = "one entry" if self.min_len == 1 else f"{self.min_len} entries"
            return ctx.error(node.loc, f"{path}: needs at least {need}; it is empty")
        out: dict[Any, Any] = {}
        ok = True
        for key_node, value_node in node.pairs:
            sub = join_path(path, key_node.value)
            key = self.key.check(key_node, ctx, sub)
            if isinstance(self.value, Struct | Tagged) and self.key_field:
                value = self.value.check(value_node, ctx, sub, extra={self.key_field: (key, key_node.loc)})
            else:
                value = self.value.check(value_node, ctx, sub)
            if key is INVALID or value is INVALID:
                ok = False
                ctx.broken.add(sub)
                continue
            out[key] = value
        return out if ok or self.partial else INVALID

    def json_schema(self) -> dict[str, Any]:
        value = self.value.json_schema()
        if self.key_field and "properties" in value:
            value = dict(value)
            value["properties"] = {k: v for k, v in value["properties"].items() if k != self.key_field}
            required = [k for k in value.get("required", []) if k != self.key_field]
            value.pop("required", None)
            if required:
                value["required"] = required
        out: dict[str, Any] = {"type": "object", "additionalProperties": value}
        if self.key.pattern:
            out["propertyNames"] = {"pattern": f"^(?:{self.key.pattern.pattern})$"}
        if self.min_len:
            out["minProperties"] = self.min_len
        return _with_doc(out, self.doc)


@dataclass(frozen=True)
class Field:
    type: Type
    required: bool = False
    default: Any = None
    doc: str = ""


Builder = Callable[[dict[str, Any], Loc, Mapping[str, Loc]], Any]


class Struct(Type):
    """A mapping with fixed keys; unknown keys are errors with a did-you-mean.

    The built object's `locs` maps each key to its value's position, and also
    "key[i]" to the i-th item of a list value and "key.name" to the position of a
    name inside a mapping value, so that later checks can point at the exact item.
    """

    def __init__(
        self,
        name: str,
        fields: dict[str, Field],
        build: Builder,
        doc: str = "",
        partial: bool = False,
        mention: bool = False,
        extensions: bool = False,
    ) -> None:
        self.name = name
        self.fields = fields
        self.build = build
        self.doc = doc
        self.partial = partial  # build anyway, with invalid fields left as INVALID
        self.expected = f"a mapping ({name})"
        # Name the struct in key errors where the path alone does not say which shape applies
        # (a check's allowed keys depend on its kind).
        self.suffix = f" for {name}" if mention else ""
        # Keys starting with "x-" are ignored: a place for YAML anchors (&name) to live.
        self.extensions = extensions

    def check(self, node: YNode, ctx: Ctx, path: str, extra: dict[str, tuple[Any, Loc]] | None = None) -> Any:
        ctx.visit()
        if isinstance(node, YScalar) and node.value is None:
            node = YMap(node.loc)
        if not isinstance(node, YMap):
            return self.wrong(node, ctx, path)
        values: dict[str, Any] = {}
        locs: dict[str, Loc] = {}
        ok = True
        for key_node, value_node in node.pairs:
            if not self._check_entry(key_node, value_node, ctx, path, extra, values, locs):
                ok = False
        ok = self._fill_missing(node, ctx, path, extra, values) and ok
        for key, (value, loc) in (extra or {}).items():
            values[key] = value
            locs[key] = loc
        if not ok and not self.partial:
            return INVALID
        return self.build(values, node.loc, locs)

    def _check_entry(
        self,
        key_node: YScalar,
        value_node: YNode,
        ctx: Ctx,
        path: str,
        extra: dict[str, tuple[Any, Loc]] | None,
        values: dict[str, Any],
        locs: dict[str, Loc],
    ) -> bool:
        key = key_node.value
        spec = self.fields.get(key) if isinstance(key, str) else None
        where = path or "scenario"
        if extra and key in extra:
            ctx.error(
                key_node.loc,
                f"{where}: {key!r} is given by the key above (here {extra[key][0]!r}); remove this line",
            )
            return False
        if spec is None:
            if self.extensions and isinstance(key, str) and key.startswith("x-"):
                return True
            known = tuple(k for k in self.fields if not (extra and k in extra))
            hint = did_you_mean(str(key), known) or "allowed keys: " + ", ".join(known)
            if self.extensions and not hint.startswith("did"):
                hint += " (keys starting with x- are ignored: a place for YAML anchors)"
            ctx.error(key_node.loc, f"{where}: unknown key {key!r}{self.suffix}", hint)
            return False
        value = spec.type.check(value_node, ctx, join_path(path, key))
        if value is INVALID:
            if self.partial:
                values[key] = INVALID
            return False
        values[key] = value
        locs[key] = value_node.loc
        if isinstance(value_node, YSeq):
            for i, item in enumerate(value_node.items):
                locs[f"{key}[{i}]"] = item.loc
        elif isinstance(value_node, YMap):
            for sub_key, _ in value_node.pairs:
                locs[f"{key}.{sub_key.value}"] = sub_key.loc
        return True

    def _fill_missing(
        self,
        node: YMap,
        ctx: Ctx,
        path: str,
        extra: dict[str, tuple[Any, Loc]] | None,
        values: dict[str, Any],
    ) -> bool:
        ok = True
        present = {k.value for k, _ in node.pairs}
        for key, spec in self.fields.items():
            if key in present:
                continue
            if spec.required and not (extra and key in extra):
                hint = f"{key}: {spec.doc}" if spec.doc else None
                ctx.error(node.loc, f"{path or 'scenario'}: missing required key {key!r}{self.suffix}", hint)
                ok = False
            else:
                values[key] = spec.default
        return ok

    def json_schema(self) -> dict[str, Any]:
        props = {}
        for key, spec in self.fields.items():
            sub = dict(spec.type.json_schema())
            if spec.doc:
                sub["description"] = spec.doc
            if spec.default not in (None, (), {}, ""):
                sub["default"] = spec.default if not isinstance(spec.default, tuple) else list(spec.default)
            props[key] = sub
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        if self.extensions:
            out["patternProperties"] = {"^x-": {"description": "Ignored: a place for YAML anchors."}}
        required = [k for k, s in self.fields.items() if s.required]
        if required:
            out["required"] = required
        return _with_doc(out, self.doc)


class Tagged(Type):
    """A mapping whose `kind` key picks which Struct describes the rest."""

    def __init__(
        self,
        tag: str,
        variants: dict[str, Struct],
        default: str | None = None,
        what: str = "kind",
        doc: str = "",
    ):
        self.tag = tag
        self.variants = variants
        self.default = default
        self.what = what
        self.expected = f"a mapping with a {tag!r} key"
        self.doc = doc

    def check(self, node: YNode, ctx: Ctx, path: str, extra: dict[str, tuple[Any, Loc]] | None = None) -> Any:
        ctx.visit()
        if not isinstance(node, YMap):
            return self.wrong(node, ctx, path)
        tag_node = node.get(self.tag)
        known = ", ".join(sorted(self.variants))
        if tag_node is None:
            if self.default is None:
                return ctx.error(
                    node.loc, f"{path}: missing required key {self.tag!r}", f"known {self.what}s: {known}"
                )
            name = self.default
        elif not isinstance(tag_node, YScalar) or not isinstance(tag_node.value, str):
            return ctx.error(
                tag_node.loc,
                f"{join_path(path, self.tag)}: expected a {self.what} name, got {describe(tag_node)}",
                f"known {self.what}s: {known}",
            )
        else:
            name = tag_node.value
        variant = self.variants.get(name)
        if variant is None:
            assert tag_node is not None
            hint = did_you_mean(name, tuple(self.variants)) or f"known {self.what}s: {known}"
            return ctx.error(tag_node.loc, f"{join_path(path, self.tag)}: unknown {self.what} {name!r}", hint)
        return variant.check(node, ctx, path, extra)

    def json_schema(self) -> dict[str, Any]:
        """`if kind == X then <X's shape>` per kind: editors then complete and explain per kind,
        where a oneOf would only say that no branch matched."""
        branches = []
        for name, variant in self.variants.items():
            schema = variant.json_schema()
            schema["properties"] = {**schema["properties"], self.tag: {"const": name}}
            condition = {"properties": {self.tag: {"const": name}}, "required": [self.tag]}
            branches.append({"if": condition, "then": schema})
        out: dict[str, Any] = {
            "type": "object",
            "properties": {self.tag: {"enum": sorted(self.variants), "description": f"The {self.what}."}},
            "allOf": branches,
        }
        if self.default is None:
            out["required"] = [self.tag]
        return _with_doc(out, self.doc)


class Either(Type):
    """Chooses a type by the YAML node's shape: a short scalar or list form, or the full mapping."""

    def __init__(
        self, scalar: Type | None = None, seq: Type | None = None, mapping: Type | None = None, doc: str = ""
    ):
        self.scalar = scalar
        self.seq = seq
        self.mapping = mapping
        forms = [t.expected for t in (scalar, seq, mapping) if t is not None]
        self.expected = ", or ".join(forms)
        self.doc = doc

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        target = {YScalar: self.scalar, YSeq: self.seq, YMap: self.mapping}.get(type(node))
        if target is None:
            ctx.visit()
            return self.wrong(node, ctx, path)
        return target.check(node, ctx, path)

    def json_schema(self) -> dict[str, Any]:
        forms = [t.json_schema() for t in (self.scalar, self.seq, self.mapping) if t is not None]
        return _with_doc({"anyOf": forms}, self.doc)


class Custom(Type):
    """Wraps another type and post-processes its value (e.g. parse 'node:iface')."""

    def __init__(self, inner: Type, convert: Callable[[Any, YNode, Ctx, str], Any], expected: str = ""):
        self.inner = inner
        self.convert_fn = convert
        self.expected = expected or inner.expected
        self.doc = inner.doc

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        value = self.inner.check(node, ctx, path)
        if value is INVALID:
            return INVALID
        return self.convert_fn(value, node, ctx, path)

    def json_schema(self) -> dict[str, Any]:
        return self.inner.json_schema()
