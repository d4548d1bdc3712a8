"""Scenario parameters: a seed picks each parameter's value; `${name}` in the file is replaced by it.

The same seed always gives the same choices, so an instructor can hand a learner a seed
(or derive it from the learner's id) and both the faults and the checks follow it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from nslab.errors import Diagnostic, Loc
from nslab.model import Param
from nslab.schema import did_you_mean
from nslab.yamlsrc import YMap, YNode, YScalar, YSeq

_REF = re.compile(r"\$\{([^}]*)\}")


def choose(params: Mapping[str, Param], scenario: str, seed: str | None) -> dict[str, Any]:
    """Pick one value per parameter. Without a seed, the first choice (or the default)."""
    chosen: dict[str, Any] = {}
    for name, param in params.items():
        if not param.choices:
            chosen[name] = param.default
        elif seed is None:
            chosen[name] = param.choices[0]
        else:
            digest = hashlib.sha256(f"{scenario}\0{seed}\0{name}".encode()).digest()
            chosen[name] = param.choices[int.from_bytes(digest[:8], "big") % len(param.choices)]
    return chosen


def substitute(root: YMap, values: Mapping[str, Any], skip: str = "params") -> list[Diagnostic]:
    """Replace ${name} in every scalar except under the `skip` key, in place."""
    problems: list[Diagnostic] = []
    seen: set[int] = set()
    stack: list[YNode] = [v for k, v in root.pairs if k.value != skip]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, YSeq):
            stack.extend(node.items)
        elif isinstance(node, YMap):
            stack.extend(v for _, v in node.pairs)
        elif isinstance(node, YScalar) and isinstance(node.value, str) and "${" in node.value:
            _replace(node, values, problems)
    return problems


def _replace(node: YScalar, values: Mapping[str, Any], problems: list[Diagnostic]) -> None:
    text = node.value
    whole = _REF.fullmatch(text)
    for match in _REF.finditer(text):
        name = match.group(1)
        if name not in values:
            hint = did_you_mean(name, tuple(values)) or (
                "declare it under params:" if not values else "parameters: " + ", ".join(values)
            )
            col = node.loc.col + match.start() + (1 if node.quoted else 0)
            problems.append(
                Diagnostic(Loc(node.loc.file, node.loc.line, col), f"unknown parameter ${{{name}}}", hint)
            )
            return
    if whole:
        node.value = values[whole.group(1)]
    else:
        node.value = _REF.sub(lambda mt: str(values[mt.group(1)]), text)
