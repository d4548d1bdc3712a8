"""Scenario parameters: a seed picks each parameter's value; `${name}` in the file is replaced by it.

The same seed always gives the same choices, so an instructor can hand a learner a seed
(or derive it from the learner's id) and both the faults and the checks follow it.
`$${...}` is a literal `${...}` (shell commands in `solution:` or exec services use it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from nslab.errors import Diagnostic, Loc
from nslab.scenario.model import Param
from nslab.scenario.schema import did_you_mean
from nslab.scenario.yamlsrc import YMap, YNode, YScalar, YSeq

_REF = re.compile(r"\$(\$?)\{([^}]*)\}")


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


def check_declarations(params: Mapping[str, Param]) -> list[Diagnostic]:
    """A parameter has either choices (a seed picks one) or a default, never both or neither."""
    problems = []
    for name, param in params.items():
        if param.choices and param.default is not None:
            problems.append(
                Diagnostic(
                    param.at("default"),
                    f"params.{name}: has both choices and a default",
                    "without a seed the first choice is used; remove 'default' (or 'choices')",
                )
            )
        elif not param.choices and param.default is None:
            problems.append(
                Diagnostic(
                    param.loc,
                    f"params.{name}: needs 'choices' (a seed picks one) or a 'default'",
                    "e.g. choices: [8080, 9090]",
                )
            )
    return problems


def substitute(
    root: YMap, values: Mapping[str, Any], skip: str = "params", used: set[str] | None = None
) -> list[Diagnostic]:
    """Replace ${name} in every scalar except under the `skip` key, in place.

    Names found are added to `used` (so that unused parameters can be reported).
    """
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
            _replace(node, values, problems, used if used is not None else set())
    return problems


def _position(node: YScalar, offset: int) -> Loc:
    """The file position of a character of a scalar's value (exact for one-line and block values)."""
    text = node.value
    before = text[:offset]
    newlines = before.count("\n")
    if newlines:
        return Loc(node.loc.file, node.loc.line + newlines, node.loc.col + offset - before.rfind("\n") - 1)
    return Loc(node.loc.file, node.loc.line, node.loc.col + offset + (1 if node.quoted else 0))


def _replace(node: YScalar, values: Mapping[str, Any], problems: list[Diagnostic], used: set[str]) -> None:
    text = node.value
    unknown = False
    for match in _REF.finditer(text):
        escaped, name = match.group(1), match.group(2)
        if escaped:
            continue
        used.add(name)
        if name not in values:
            unknown = True
            hint = did_you_mean(name, tuple(values)) or (
                "declare it under params:" if not values else "parameters: " + ", ".join(values)
            )
            if name.isupper():
                hint = f"to keep a shell variable, write $${{{name}}}"
            problems.append(
                Diagnostic(_position(node, match.start()), f"unknown parameter ${{{name}}}", hint)
            )
    if unknown or any(values.get(m.group(2)) is None for m in _REF.finditer(text) if not m.group(1)):
        # Nothing to put in (an unknown parameter, or one without a value): the problem is
        # already reported, and checking the raw text's type would only repeat it.
        node.unresolved = True
        return
    whole = _REF.fullmatch(text)
    if whole and not whole.group(1):
        node.value = values[whole.group(2)]
    else:
        node.value = _REF.sub(
            lambda mt: "${" + mt.group(2) + "}" if mt.group(1) else str(values[mt.group(2)]), text
        )
    node.raw = str(node.value)
