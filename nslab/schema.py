"""A small declarative schema for located YAML trees.

Why not pydantic or jsonschema: importing either costs 80+ ms, a large share of the 300 ms
budget for a whole `nslab up`, and neither knows YAML positions. This module checks a
located tree against a declared shape, collects every problem with file:line:col and a
did-you-mean, builds frozen model objects, and exports the same shape as JSON Schema.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping
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


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def join_path(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _describe(node: YNode) -> str:
    if isinstance(node, YScalar):
        if node.value is None:
            return "nothing (null)"
        return f"{type(node.value).__name__} {node.value!r}"
    return "a list" if isinstance(node, YSeq) else "a mapping"


class Type:
    """Base of schema types. `check` returns the Python value or INVALID (after reporting)."""

    expected = "a value"

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def wrong(self, node: YNode, ctx: Ctx, path: str, hint: str | None = None) -> Any:
        return ctx.error(node.loc, f"{path}: expected {self.expected}, got {_describe(node)}", hint)


class ScalarType(Type):
    python: tuple[type, ...] = ()

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        ctx.visit()
        if not isinstance(node, YScalar) or not self._accepts(node.value):
            return self.wrong(node, ctx, path, self.hint_for(node))
        return self.convert(node, ctx, path)

    def _accepts(self, value: Any) -> bool:
        return isinstance(value, self.python) and not (isinstance(value, bool) and bool not in self.python)

    def hint_for(self, node: YNode) -> str | None:
        return None

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        return node.value


class Str(ScalarType):
    python = (str,)

    def __init__(
        self,
        pattern: str | None = None,
        meaning: str | None = None,
        max_len: int | None = None,
        min_len: int = 1,
        doc: str = "",
    ) -> None:
        self.pattern = re.compile(pattern) if pattern else None
        self.meaning = meaning
        self.max_len = max_len
        self.min_len = min_len
        self.expected = "a string"
        self.doc = doc

    def hint_for(self, node: YNode) -> str | None:
        if isinstance(node, YScalar) and isinstance(node.value, int | float | bool):
            return "quote it to make it a string"
        return None

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        value: str = node.value
        if len(value) < self.min_len:
            return ctx.error(node.loc, f"{path}: must not be empty")
        if self.max_len is not None and len(value) > self.max_len:
            return ctx.error(
                node.loc, f"{path}: {value!r} is {len(value)} characters, at most {self.max_len} allowed"
            )
        if self.pattern and not self.pattern.fullmatch(value):
            return ctx.error(node.loc, f"{path}: {value!r} is not {self.meaning or 'valid'}")
        return value

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.pattern:
            out["pattern"] = f"^(?:{self.pattern.pattern})$"
        if self.max_len:
            out["maxLength"] = self.max_len
        if self.min_len:
            out["minLength"] = self.min_len
        if self.doc:
            out["description"] = self.doc
        return out


class Text(Str):
    """Free text such as a briefing (markdown)."""

    def __init__(self, doc: str = "") -> None:
        super().__init__(doc=doc)


class Int(ScalarType):
    python = (int,)

    def __init__(self, min: int | None = None, max: int | None = None) -> None:
        self.min = min
        self.max = max
        self.expected = "an integer"

    def hint_for(self, node: YNode) -> str | None:
        if isinstance(node, YScalar) and isinstance(node.value, str) and node.value.strip().isdigit():
            return "remove the quotes"
        return None

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        return _bounded(node, ctx, path, self.min, self.max)

    def json_schema(self) -> dict[str, Any]:
        return _bounds({"type": "integer"}, self.min, self.max)


class Num(ScalarType):
    python = (int, float)

    def __init__(self, min: float | None = None, max: float | None = None) -> None:
        self.min = min
        self.max = max
        self.expected = "a number"

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        value = _bounded(node, ctx, path, self.min, self.max)
        return value if value is INVALID else float(value)

    def json_schema(self) -> dict[str, Any]:
        return _bounds({"type": "number"}, self.min, self.max)


def _bounded(node: YScalar, ctx: Ctx, path: str, lo: float | None, hi: float | None) -> Any:
    value = node.value
    if lo is not None and value < lo:
        return ctx.error(node.loc, f"{path}: {value} is below the minimum {lo}")
    if hi is not None and value > hi:
        return ctx.error(node.loc, f"{path}: {value} is above the maximum {hi}")
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

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Enum(ScalarType):
    python = (str, int)

    def __init__(self, *values: str | int) -> None:
        self.values = values
        self.expected = "one of " + ", ".join(repr(v) for v in values)

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        if node.value in self.values:
            return node.value
        allowed = ", ".join(str(v) for v in self.values)
        hint = did_you_mean(str(node.value), [str(v) for v in self.values])
        return ctx.error(node.loc, f"{path}: {node.value!r} is not one of: {allowed}", hint)

    def json_schema(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


class Any_(Type):
    """Any scalar value (used for sysctl values and parameter choices)."""

    expected = "a plain value"

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        ctx.visit()
        if not isinstance(node, YScalar) or not isinstance(node.value, str | int | float | bool):
            return self.wrong(node, ctx, path)
        return node.value

    def json_schema(self) -> dict[str, Any]:
        return {"type": ["string", "integer", "number", "boolean"]}


class IPAddr(ScalarType):
    python = (str,)

    def __init__(self, version: int | None = None) -> None:
        self.version = version
        self.expected = f"an IPv{version} address" if version else "an IP address"

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        try:
            addr = ipaddress.ip_address(node.value)
        except ValueError:
            hint = "drop the prefix length here" if "/" in node.value else None
            return ctx.error(node.loc, f"{path}: {node.value!r} is not {self.expected}", hint)
        if self.version and addr.version != self.version:
            return ctx.error(node.loc, f"{path}: {node.value!r} is not {self.expected}")
        return addr

    def json_schema(self) -> dict[str, Any]:
        fmt = {4: "ipv4", 6: "ipv6"}.get(self.version or 0)
        return {"type": "string", **({"format": fmt} if fmt else {})}


class IPIface(ScalarType):
    """An address with its prefix length, e.g. 10.0.1.10/24."""

    python = (str,)
    expected = "an address with a prefix length, like 10.0.1.10/24"

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
            return ctx.error(node.loc, f"{path}: {text!r} is not {self.expected}")
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
        return {"type": "string", "pattern": r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"}


class IPNet(ScalarType):
    """A network with no host bits set, e.g. 10.0.2.0/24."""

    python = (str,)
    expected = "a network like 10.0.2.0/24"

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        text = node.value
        try:
            return ipaddress.ip_network(text, strict=True)
        except ValueError:
            pass
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return ctx.error(node.loc, f"{path}: {text!r} is not {self.expected}")
        return ctx.error(
            node.loc, f"{path}: {text} has host bits set", f"the network is {loose}; write that instead"
        )

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"}


class Mac(Str):
    def __init__(self) -> None:
        super().__init__(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", "a MAC address like 02:00:00:00:00:01")
        self.expected = "a MAC address"


class ListOf(Type):
    def __init__(
        self, item: Type, min_len: int = 0, max_len: int | None = None, partial: bool = False
    ) -> None:
        self.item = item
        self.min_len = min_len
        self.max_len = max_len
        self.partial = partial  # keep the valid items so later checks can still run on them
        self.expected = "a list"

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        ctx.visit()
        if not isinstance(node, YSeq):
            return self.wrong(node, ctx, path, "write it as a YAML list ('- item' lines or [a, b])")
        if len(node.items) < self.min_len:
            return ctx.error(node.loc, f"{path}: needs at least {self.min_len} item(s)")
        if self.max_len is not None and len(node.items) > self.max_len:
            return ctx.error(node.loc, f"{path}: at most {self.max_len} items allowed")
        values = [self.item.check(item, ctx, join_path(path, i)) for i, item in enumerate(node.items)]
        if self.partial:
            return tuple(v for v in values if v is not INVALID)
        return INVALID if any(v is INVALID for v in values) else tuple(values)

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.json_schema()}
        if self.min_len:
            out["minItems"] = self.min_len
        return out


class MapOf(Type):
    """A mapping from free-form names to values, e.g. nodes or interfaces."""

    def __init__(self, key: Str, value: Type, key_field: str | None = None, partial: bool = False) -> None:
        self.key = key
        self.value = value
        self.key_field = key_field
        self.partial = partial
        self.expected = "a mapping"

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        ctx.visit()
        if not isinstance(node, YMap):
            if isinstance(node, YScalar) and node.value is None:
                return {}
            return self.wrong(node, ctx, path)
        out: dict[Any, Any] = {}
        ok = True
        for key_node, value_node in node.pairs:
            key = self.key.check(key_node, ctx, join_path(path, key_node.value))
            sub = join_path(path, key_node.value)
            if isinstance(self.value, Struct) and self.key_field:
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
        out: dict[str, Any] = {"type": "object", "additionalProperties": self.value.json_schema()}
        if self.key.pattern:
            out["propertyNames"] = {"pattern": f"^(?:{self.key.pattern.pattern})$"}
        return out


@dataclass(frozen=True)
class Field:
    type: Type
    required: bool = False
    default: Any = None
    doc: str = ""


Builder = Callable[[dict[str, Any], Loc, Mapping[str, Loc]], Any]


class Struct(Type):
    """A mapping with fixed keys; unknown keys are errors with a did-you-mean."""

    def __init__(
        self, name: str, fields: dict[str, Field], build: Builder, doc: str = "", partial: bool = False
    ) -> None:
        self.name = name
        self.fields = fields
        self.build = build
        self.doc = doc
        self.partial = partial  # build anyway, with invalid fields left as INVALID
        self.expected = f"a mapping ({name})"

    def check(self, node: YNode, ctx: Ctx, path: str, extra: dict[str, tuple[Any, Loc]] | None = None) -> Any:
        ctx.visit()
        if isinstance(node, YScalar) and node.value is None:
            node = YMap(node.loc)
        if not isinstance(node, YMap):
            return self.wrong(node, ctx, path)
        values: dict[str, Any] = {}
        locs: dict[str, Loc] = {}
        ok = True
        present: set[str] = set()
        for key_node, value_node in node.pairs:
            key = key_node.value
            spec = self.fields.get(key) if isinstance(key, str) else None
            if spec is not None:
                present.add(key)
            if spec is None:
                known = tuple(self.fields)
                hint = did_you_mean(str(key), known) or "allowed keys: " + ", ".join(known)
                ctx.error(key_node.loc, f"{join_path(path, key)}: unknown key {key!r} in {self.name}", hint)
                ok = False
                continue
            value = spec.type.check(value_node, ctx, join_path(path, key))
            if value is INVALID:
                ok = False
                if self.partial:
                    values[key] = INVALID
                continue
            values[key] = value
            locs[key] = value_node.loc
        for key, spec in self.fields.items():
            if key in present:
                continue
            if spec.required and not (extra and key in extra):
                ctx.error(node.loc, f"{path or 'scenario'}: missing required key {key!r} in {self.name}")
                ok = False
            else:
                values[key] = spec.default
        for key, (value, loc) in (extra or {}).items():
            values[key] = value
            locs[key] = loc
        if not ok and not self.partial:
            return INVALID
        return self.build(values, node.loc, locs)

    def json_schema(self) -> dict[str, Any]:
        props = {}
        for key, spec in self.fields.items():
            sub = dict(spec.type.json_schema())
            if spec.doc:
                sub["description"] = spec.doc
            if spec.default not in (None, (), {}):
                sub["default"] = spec.default if not isinstance(spec.default, tuple) else list(spec.default)
            props[key] = sub
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        required = [k for k, s in self.fields.items() if s.required]
        if required:
            out["required"] = required
        if self.doc:
            out["description"] = self.doc
        return out


class Tagged(Type):
    """A mapping whose `kind` key picks which Struct describes the rest."""

    def __init__(self, tag: str, variants: dict[str, Struct], default: str | None = None, what: str = "kind"):
        self.tag = tag
        self.variants = variants
        self.default = default
        self.what = what
        self.expected = f"a mapping with a {tag!r} key"

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
            return ctx.error(tag_node.loc, f"{join_path(path, self.tag)}: expected a {self.what} name")
        else:
            name = tag_node.value
        variant = self.variants.get(name)
        if variant is None:
            assert tag_node is not None
            hint = did_you_mean(name, tuple(self.variants))
            hint = f"{hint} known {self.what}s: {known}" if hint else f"known {self.what}s: {known}"
            return ctx.error(tag_node.loc, f"{join_path(path, self.tag)}: unknown {self.what} {name!r}", hint)
        return variant.check(node, ctx, path, extra)

    def json_schema(self) -> dict[str, Any]:
        branches = []
        for name, variant in self.variants.items():
            schema = variant.json_schema()
            schema["properties"] = dict(schema["properties"])
            schema["properties"][self.tag] = {"const": name}
            if name != self.default:
                schema["required"] = sorted({*schema.get("required", []), self.tag})
            branches.append(schema)
        return {"oneOf": branches}


class Either(Type):
    """Chooses a type by the YAML node's shape: a short scalar or list form, or the full mapping."""

    def __init__(self, scalar: Type | None = None, seq: Type | None = None, mapping: Type | None = None):
        self.scalar = scalar
        self.seq = seq
        self.mapping = mapping
        forms = [t.expected for t in (scalar, seq, mapping) if t is not None]
        self.expected = " or ".join(forms)

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        target = {YScalar: self.scalar, YSeq: self.seq, YMap: self.mapping}.get(type(node))
        if target is None:
            ctx.visit()
            return self.wrong(node, ctx, path)
        return target.check(node, ctx, path)

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [t.json_schema() for t in (self.scalar, self.seq, self.mapping) if t is not None]}


class Custom(Type):
    """Wraps another type and post-processes its value (e.g. parse 'node:iface')."""

    def __init__(self, inner: Type, convert: Callable[[Any, YNode, Ctx, str], Any], expected: str = ""):
        self.inner = inner
        self.convert_fn = convert
        self.expected = expected or inner.expected

    def check(self, node: YNode, ctx: Ctx, path: str) -> Any:
        value = self.inner.check(node, ctx, path)
        if value is INVALID:
            return INVALID
        return self.convert_fn(value, node, ctx, path)

    def json_schema(self) -> dict[str, Any]:
        return self.inner.json_schema()
