"""File -> validated, frozen Scenario. Needs no root and touches nothing outside the file."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from nslab import model as m
from nslab import params as params_mod
from nslab import semantic
from nslab.errors import Diagnostic, Loc, ScenarioError
from nslab.schema import INVALID, Ctx, MapOf, TooLarge
from nslab.spec import PARAM, PARAM_NAME, scenario_struct
from nslab.yamlsrc import YMap, parse_text, read_file

T = TypeVar("T")


def load(path: str, seed: str | None = None, overrides: dict[str, Any] | None = None) -> m.Scenario:
    text, problems = read_file(path)
    if text is None:
        raise ScenarioError(problems)
    return load_text(text, path, seed, overrides)


def load_text(
    text: str, filename: str, seed: str | None = None, overrides: dict[str, Any] | None = None
) -> m.Scenario:
    """Parse, substitute parameters, validate structure and meaning; raise with every problem found."""
    root, problems = parse_text(text, filename)
    if root is None:
        raise ScenarioError(problems)
    if not isinstance(root, YMap):
        raise ScenarioError(
            [
                Diagnostic(
                    root.loc if root else Loc(filename, 1, 1),
                    "a scenario is a YAML mapping (key: value lines)",
                )
            ]
        )
    ctx = Ctx()
    try:
        return _validate(root, ctx, filename, seed, overrides or {})
    except TooLarge:
        raise ScenarioError(
            [
                Diagnostic(
                    root.loc, "the document expands to too many nodes (an alias bomb?)", "remove the aliases"
                )
            ]
        ) from None


def _validate(root: YMap, ctx: Ctx, filename: str, seed: str | None, overrides: dict[str, Any]) -> m.Scenario:
    params_node = root.get("params")
    params: dict[str, m.Param] = {}
    if params_node is not None:
        got = MapOf(PARAM_NAME, PARAM, key_field="name").check(params_node, ctx, "params")
        params = got if got is not INVALID else {}
    name_node = root.get("metadata")
    scenario_name = ""
    if isinstance(name_node, YMap):
        raw = name_node.get("name")
        scenario_name = str(getattr(raw, "value", ""))
    chosen = params_mod.choose(params, scenario_name, seed)
    for key, value in overrides.items():
        if key not in params:
            ctx.error(Loc(filename, 1, 1), f"--param {key}: the scenario has no parameter {key!r}")
        elif params[key].choices and value not in params[key].choices:
            ctx.error(params[key].loc, f"--param {key}={value!r} is not one of {list(params[key].choices)}")
        else:
            chosen[key] = value
    ctx.diagnostics.extend(params_mod.substitute(root, chosen))
    values = scenario_struct().check(root, ctx, "")
    values.pop("version")
    if values["metadata"] in (INVALID, None):
        values["metadata"] = m.Metadata(name="invalid", title="")
    for key in ("nodes", "params"):
        if values.get(key) in (INVALID, None):
            values[key] = {}
    scenario = m.Scenario(path=filename, chosen=chosen, loc=root.loc, locs=_top_locs(root), **values)
    # Meaning is checked even after structural errors (on the parts that were valid), so one
    # run reports everything; references to entries that were themselves invalid stay quiet.
    problems = semantic.check(scenario, broken=ctx.broken)
    if ctx.diagnostics or problems:
        raise ScenarioError(ctx.diagnostics + problems)
    return scenario


def _top_locs(root: YMap) -> dict[str, Loc]:
    return {str(k.value): v.loc for k, v in root.pairs}


def replace(obj: T, **changes: Any) -> T:
    """dataclasses.replace for model objects (their source locations are kept)."""
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
