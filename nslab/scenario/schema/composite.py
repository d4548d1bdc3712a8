"""Types made of types: lists, maps, structs with fields (which build the frozen model objects),
tagged unions chosen by a `kind:` key, alternatives, and custom checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nslab.errors import Loc
from nslab.scenario.schema.base import INVALID, Ctx, Type, describe, did_you_mean, join_path, with_doc
from nslab.scenario.schema.scalars import Str
from nslab.scenario.yamlsrc import YMap, YNode, YScalar, YSeq


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
        return with_doc(out, self.doc)


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
        return with_doc(out, self.doc)


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
        return with_doc(out, self.doc)


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
        return with_doc(out, self.doc)


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
        return with_doc({"anyOf": forms}, self.doc)


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
