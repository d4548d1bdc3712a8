"""Services, faults and checks: each kind's own meaning hook, references to nodes and services,
parameters that are declared but unused, `when:` conditions, solution steps."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import Any

from nslab.errors import Loc
from nslab.scenario import model as m
from nslab.scenario.schema import Ref, did_you_mean
from nslab.scenario.semantic.faultorder import report_for
from nslab.scenario.semantic.report import Report

log = logging.getLogger(__name__)


def check_kinds(report: Report) -> None:
    from nslab.scenario.kinds import registries

    SERVICES, FAULTS, CHECKS = registries()
    scenario = report.scenario
    names: dict[str, Loc] = {}
    for i, service in enumerate(scenario.services):
        report.node(service.node, service.at("node"), f"services[{i}].node:")
        if service.name in names:
            report.error(
                service.at("name"),
                f"services[{i}].name: {service.name!r} is used twice "
                f"(first at line {names[service.name].line})",
            )
        names.setdefault(service.name, service.at("name"))
        _run_kind(report, SERVICES.get(service.kind), service, service.node)
    check_names: dict[str, Loc] = {}
    for i, chk in enumerate(scenario.checks):
        report.node(chk.node, chk.at("node"), f"checks[{i}].from:")
        if chk.name in check_names:
            report.error(
                chk.at("name"),
                f"checks[{i}].name: {chk.name!r} is used twice (first at line {check_names[chk.name].line})",
            )
        check_names.setdefault(chk.name, chk.at("name"))
        _run_kind(report, CHECKS.get(chk.kind), chk, chk.node)
    for index, fault in enumerate(scenario.faults):
        node = fault.params.get("node")
        # Each fault meets the lab that the faults before it (in its variant) produce.
        seen = report_for(report, FAULTS, index)
        before = len(report.diagnostics)
        _run_kind(report, FAULTS.get(fault.kind), fault, node if isinstance(node, str) else None, seen)
        if seen is not report:
            # Say so: the author reads the healthy file and may not see why the lab differs.
            report.diagnostics[before:] = [
                dataclasses.replace(d, message=f"{d.message} (in the lab the faults above it leave)")
                for d in report.diagnostics[before:]
            ]


def _run_kind(report: Report, spec: Any, obj: Any, node: str | None, seen: Report | None = None) -> None:
    _check_refs(report, spec, obj, node)
    if spec.semantic is None:
        return
    seen = seen or report
    if not report.partial:
        spec.semantic(seen.scenario, obj, seen)
        return
    # With structural errors elsewhere a kind's hook may meet a half-built scenario; the
    # errors already found explain the file, so a hook that trips over the gaps is skipped.
    try:
        spec.semantic(seen.scenario, obj, seen)
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        log.debug("semantic hook of %s skipped on a partial scenario: %r", spec.name, exc)


def _check_refs(report: Report, spec: Any, obj: Any, node_name: str | None) -> None:
    """Fields a kind declares as Ref(...) must name a node, an interface or a service."""
    for key, field in spec.fields.items():
        value = obj.params.get(key)
        if not isinstance(field.type, Ref) or not isinstance(value, str):
            continue
        loc = obj.at(key)
        if field.type.target == "node":
            report.node(value, loc, f"{key}:")
        elif field.type.target == "service":
            report.service(value, loc)
        else:
            owner = obj.params.get(field.type.of) if field.type.of not in (None, "from") else node_name
            node = report.scenario.nodes.get(owner) if isinstance(owner, str) else None
            if node is not None:
                report.interface(node, value, loc, key)


def check_unused_params(report: Report, used: set[str]) -> None:
    conditional: list[m.Fault | m.Check | m.SolutionStep | m.Hint] = [
        *report.scenario.faults,
        *report.scenario.checks,
        *report.scenario.solution,
        *report.scenario.hints,
    ]
    named = {name for obj in conditional for name in obj.when}
    for name, param in report.scenario.params.items():
        if name not in used and name not in named:
            report.error(
                param.loc,
                f"params.{name}: the parameter is never used",
                f"write ${{{name}}} in a value, or name it in a fault's or check's when:",
            )


def check_conditions(report: Report) -> None:
    scenario = report.scenario
    groups: list[tuple[str, Iterable[m.Fault | m.Check | m.SolutionStep | m.Hint]]] = [
        ("faults", scenario.faults),
        ("checks", scenario.checks),
        ("solution", scenario.solution),
        ("hints", scenario.hints),
    ]
    for section, objs in groups:
        for i, obj in enumerate(objs):
            for name, values in obj.when.items():
                _check_condition(report, obj, f"{section}[{i}].when.{name}", name, values)


def _check_condition(
    report: Report,
    obj: m.Fault | m.Check | m.SolutionStep | m.Hint,
    path: str,
    name: str,
    values: tuple[Any, ...],
) -> None:
    loc = obj.at(f"when.{name}")
    if name not in report.scenario.params:
        hint = did_you_mean(name, tuple(report.scenario.params)) or "declare it under params:"
        report.error(loc, f"{path}: unknown parameter {name!r}, so this can never match", hint)
        return
    allowed = report.param_values(name)
    for value in values:
        if value in allowed:
            continue
        if str(value) in (str(a) for a in allowed):
            hint = f"{value!r} is text here but the parameter's values are not; match their quoting"
        else:
            hint = "its values: " + ", ".join(repr(v) for v in allowed)
        report.error(loc, f"{path}: parameter {name!r} never takes the value {value!r}", hint)


def check_solution(report: Report) -> None:
    for i, card in enumerate(report.scenario.metadata.commands):
        report.node(card.node, card.at("node"), f"metadata.commands[{i}].node:")
    for i, step in enumerate(report.scenario.solution):
        report.node(step.node, step.at("node"), f"solution[{i}].node:")
