"""File -> validated, frozen Scenario. Needs no root and touches nothing outside the file.

`load` / `load_text` give the scenario for one seed (what `nslab up` builds). `check_file` /
`check_text` are what `nslab validate` runs: the same, and then once more for every other
choice of every parameter, so a variant that only one learner's seed would pick is
checked too.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from nslab.errors import Diagnostic, Loc, ScenarioError
from nslab.scenario import model as m
from nslab.scenario import params as params_mod
from nslab.scenario import semantic
from nslab.scenario.schema import INVALID, Ctx, MapOf, TooLarge, did_you_mean
from nslab.scenario.spec import PARAM, PARAM_NAME, scenario_struct
from nslab.scenario.yamlsrc import YMap, YNode, parse_text, read_file

T = TypeVar("T")

_PARAMS = MapOf(PARAM_NAME, PARAM, key_field="name")
_EMPTY: dict[str, Any] = {
    "metadata": m.Metadata(name="invalid", title=""),
    "nodes": {},
    "links": (),
    "services": (),
    "faults": (),
    "checks": (),
    "hints": (),
    "solution": (),
    "explanation": "",
}


def load(path: str, seed: str | None = None, overrides: dict[str, Any] | None = None) -> m.Scenario:
    text, problems = read_file(path)
    if text is None:
        raise ScenarioError(problems)
    return load_text(text, path, seed, overrides)


def load_text(
    text: str, filename: str, seed: str | None = None, overrides: dict[str, Any] | None = None
) -> m.Scenario:
    """Parse, substitute parameters, validate structure and meaning; raise with every problem found."""
    root = _parse(text, filename)
    try:
        return _validate(root, Ctx(), filename, seed, overrides or {})
    except TooLarge:
        raise ScenarioError(
            [
                Diagnostic(
                    root.loc,
                    "the document expands to too many values through aliases (an alias bomb?)",
                    "use fewer nested aliases",
                )
            ]
        ) from None


def check_file(path: str, seed: str | None = None) -> tuple[m.Scenario | None, list[Diagnostic]]:
    """Every problem in a file, for `nslab validate`: (scenario or None, diagnostics)."""
    text, problems = read_file(path)
    if text is None:
        return None, problems
    return check_text(text, path, seed)


def check_text(
    text: str, filename: str, seed: str | None = None
) -> tuple[m.Scenario | None, list[Diagnostic]]:
    """Validate with the seed's choices; without a seed, also with each other choice of
    each parameter (one parameter varied at a time). A problem that only a variant shows is
    reported once, naming the choice that causes it."""
    scenario: m.Scenario | None = None
    try:
        scenario = load_text(text, filename, seed)
        found: list[Diagnostic] = []
    except ScenarioError as exc:
        found = exc.diagnostics
    if seed is not None:
        return scenario, found
    known = {(d.loc, d.message) for d in found}
    variants: set[Diagnostic] = set()
    for name, choices in _declared_choices(text, filename).items():
        for choice in choices[1:]:
            try:
                load_text(text, filename, overrides={name: choice})
            except ScenarioError as exc:
                variants.update(
                    _with_choice(d, name, choice) for d in exc.diagnostics if (d.loc, d.message) not in known
                )
    found = found + sorted(variants, key=lambda d: (d.loc, d.message))
    return (None if found else scenario), found


def _declared_choices(text: str, filename: str) -> dict[str, tuple[Any, ...]]:
    """Each well-formed parameter's choices (read even when the rest of the file is broken)."""
    root, _ = parse_text(text, filename)
    node = root.get("params") if isinstance(root, YMap) else None
    if node is None:
        return {}
    got = MapOf(PARAM_NAME, PARAM, key_field="name", partial=True).check(node, Ctx(), "params")
    return {name: param.choices for name, param in got.items()} if isinstance(got, dict) else {}


def _with_choice(diag: Diagnostic, name: str, choice: Any) -> Diagnostic:
    return Diagnostic(diag.loc, f"{diag.message} (when parameter {name!r} is {choice!r})", diag.hint)


def _parse(text: str, filename: str) -> YMap:
    root, problems = parse_text(text, filename)
    if root is None:
        raise ScenarioError(problems)
    if not isinstance(root, YMap):
        raise ScenarioError([_not_a_mapping(root, filename)])
    return root


def _not_a_mapping(root: YNode, filename: str) -> Diagnostic:
    from nslab.scenario.schema import describe

    return Diagnostic(
        root.loc if root else Loc(filename, 1, 1),
        f"a scenario is a mapping of keys (metadata:, nodes:, ...), not {describe(root)}",
        "start the file with 'metadata:' at the left margin",
    )


def _validate(root: YMap, ctx: Ctx, filename: str, seed: str | None, overrides: dict[str, Any]) -> m.Scenario:
    params = _check_params(root, ctx)
    chosen = params_mod.choose(params, _scenario_name(root), seed)
    _apply_overrides(ctx, filename, params, chosen, overrides)
    used: set[str] = set()
    ctx.diagnostics.extend(params_mod.substitute(root, chosen, used=used))
    # params were checked above; the main pass sees the file without them so that
    # their errors are not reported twice.
    body = YMap(root.loc, [(k, v) for k, v in root.pairs if k.value != "params"])
    values = scenario_struct().check(body, ctx, "")
    values.pop("version")
    values["params"] = params
    for key, empty in _EMPTY.items():
        if values.get(key, INVALID) in (INVALID, None):  # missing or invalid: keep going with nothing
            values[key] = empty
    scenario = m.Scenario(path=filename, chosen=chosen, loc=root.loc, locs=_top_locs(root), **values)
    # Meaning is checked even after structural errors (on the parts that were valid), so one
    # run reports everything; references to entries that were themselves invalid stay quiet.
    problems = semantic.check(scenario, broken=ctx.broken, used_params=used, partial=bool(ctx.diagnostics))
    if ctx.diagnostics or problems:
        raise ScenarioError(_unique(ctx.diagnostics + problems))
    return scenario


def _check_params(root: YMap, ctx: Ctx) -> dict[str, m.Param]:
    node = root.get("params")
    if node is None:
        return {}
    got = _PARAMS.check(node, ctx, "params")
    if got is INVALID:
        return {}
    ctx.diagnostics.extend(params_mod.check_declarations(got))
    return dict(got)


def _scenario_name(root: YMap) -> str:
    meta = root.get("metadata")
    if isinstance(meta, YMap):
        return str(getattr(meta.get("name"), "value", ""))
    return ""


def _apply_overrides(
    ctx: Ctx, filename: str, params: dict[str, m.Param], chosen: dict[str, Any], overrides: dict[str, Any]
) -> None:
    """--param NAME=VALUE: only declared parameters, and only values among their choices."""
    for key, value in overrides.items():
        param = params.get(key)
        if param is None:
            hint = did_you_mean(key, tuple(params)) or (
                "its parameters: " + ", ".join(params) if params else "this scenario has no parameters"
            )
            ctx.error(Loc(filename, 1, 1), f"--param {key}: the scenario has no parameter {key!r}", hint)
        elif param.choices and value not in param.choices:
            allowed = ", ".join(repr(c) for c in param.choices)
            ctx.error(param.at("choices"), f"--param {key}={value!r} is not one of its choices: {allowed}")
        else:
            chosen[key] = value


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The same problem reached twice (e.g. through a shared alias) is reported once."""
    return list(dict.fromkeys(diagnostics))


def _top_locs(root: YMap) -> dict[str, Loc]:
    return {str(k.value): v.loc for k, v in root.pairs}


def replace(obj: T, **changes: Any) -> T:
    """dataclasses.replace for model objects (their source locations are kept)."""
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
