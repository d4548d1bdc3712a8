"""Scalar types: text, references, numbers, booleans, enums, addresses, networks, MACs."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from nslab.scenario.schema.base import INVALID, Ctx, ScalarType, Type, did_you_mean, with_doc
from nslab.scenario.yamlsrc import YNode, YScalar

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
        return with_doc(out, self.doc)


class Text(Str):
    """Free text such as a briefing (markdown)."""

    def __init__(self, doc: str = "") -> None:
        super().__init__(doc=doc, min_len=0)


class Ref(Str):
    """A name that must refer to something declared elsewhere in the scenario.

    The schema only checks its shape; nslab.scenario.semantic resolves it after the whole file is
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
        return with_doc(_bounds({"type": "integer"}, self.min, self.max), self.doc)


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
        return with_doc(_bounds({"type": "number"}, self.min, self.max), self.doc)


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
        return with_doc({"type": "boolean"}, self.doc)


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
        return with_doc({"enum": list(self.values)}, self.doc)


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
        return with_doc({"type": ["string", "integer", "number", "boolean"]}, self.doc)


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
        return with_doc(out, self.doc)


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
        return with_doc({"type": "string", "pattern": r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"}, self.doc)


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
        return with_doc({"type": "string", "pattern": r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"}, self.doc)


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
