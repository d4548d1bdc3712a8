"""Strings that end up in a file nslab writes as root: one line of a generated configuration
file, or a sysctl key naming a file under /proc/sys/net. Each is refused with file:line:col
when it could change what the file means or where it is."""

from __future__ import annotations

import re
from typing import Any

from nslab.kernel.sysctl import KEY_PATTERN, key_problem
from nslab.scenario.schema.base import Ctx
from nslab.scenario.schema.scalars import Str
from nslab.scenario.yamlsrc import YScalar

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def control_problem(value: str) -> str | None:
    """Why `value` cannot go on one line of a generated file: a control character, or None."""
    bad = _CONTROL.search(value)
    if bad is None:
        return None
    names = {"\n": "a newline", "\r": "a carriage return", "\x00": "a NUL byte", "\t": "a tab"}
    what = names.get(bad.group(), f"the control character {bad.group()!r}")
    return f"{what} at character {bad.start() + 1}"


class Line(Str):
    """Text that nslab writes into a generated file (resolv.conf, a server's configuration):
    a control character there (a newline above all) would start a line of the author's
    choosing, so it is refused, with its position."""

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        if isinstance(node.value, str):
            problem = control_problem(node.value)
            if problem:
                return ctx.error(
                    node.loc,
                    f"{path}: {node.value!r} holds {problem}",
                    "this text is written into a generated file, where a control character would"
                    " change its meaning; write it on one line",
                )
        return super().convert(node, ctx, path)

    def json_schema(self) -> dict[str, Any]:
        out = super().json_schema()
        out.setdefault("pattern", "^[^\\x00-\\x1f\\x7f]*$")
        return out


class SysctlKey(Str):
    """A net.* sysctl key, checked against the kernel layer's grammar: a key names a file
    under /proc/sys/net that nslab writes as root, so no level may climb out of it."""

    def __init__(self, doc: str = "") -> None:
        super().__init__(KEY_PATTERN, "a network sysctl such as net.ipv4.ip_forward", doc=doc)

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        if isinstance(node.value, str):
            problem = key_problem(node.value)
            if problem:
                hint = (
                    "a scenario may set only its own namespaces' net.* sysctls"
                    if not node.value.startswith("net.")
                    else "write it as sysctl(8) does, like net.ipv4.conf.eth0.rp_filter"
                    " ('/' for a '.' inside an interface name: net.ipv4.conf.eth0/100.rp_filter)"
                )
                return ctx.error(node.loc, f"{path}: {node.value!r} is not a network sysctl: {problem}", hint)
        return super().convert(node, ctx, path)
