"""Registries of check, service and fault kinds.

The scenario layer owns the registries; the kinds themselves live above it (nslab.checks,
nslab.faults, nslab.services) and add themselves when imported. nslab.plugins.load() imports
them all: the CLI calls it before a verb that reads a scenario, and so must a library caller.

A kind declares its parameters (validated with file:line:col like everything else) and names
its implementation as "module:attribute", imported only when the kind is used, so that
`nslab validate` and `nslab --help` never import probe, server or packet-crafting code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nslab.scenario.schema import Field

if TYPE_CHECKING:
    from nslab.scenario.model import Scenario
    from nslab.scenario.semantic.report import Report

# A semantic hook: (scenario, the check/service/fault object, report) -> None
SemanticHook = Callable[["Scenario", Any, "Report"], None]


@dataclass(frozen=True)
class KindSpec:
    name: str
    doc: str
    fields: dict[str, Field] = field(default_factory=dict)
    impl: str = ""
    semantic: SemanticHook | None = None

    def load(self) -> Any:
        """Import the implementation on first use."""
        module, _, attr = self.impl.partition(":")
        return getattr(importlib.import_module(module), attr)


class Registry:
    def __init__(self, what: str) -> None:
        self.what = what
        self._kinds: dict[str, KindSpec] = {}

    def add(self, spec: KindSpec) -> KindSpec:
        if spec.name in self._kinds:
            raise ValueError(f"{self.what} kind {spec.name!r} registered twice")
        self._kinds[spec.name] = spec
        return spec

    def get(self, name: str) -> KindSpec:
        return self._kinds[name]

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def all(self) -> list[KindSpec]:
        return [self._kinds[n] for n in self.names()]


CHECKS = Registry("check")
FAULTS = Registry("fault")
SERVICES = Registry("service")


def registries() -> tuple[Registry, Registry, Registry]:
    """(services, faults, checks), refusing to hand out registries nobody filled: an empty
    one would turn every kind in a scenario into an "unknown kind" error."""
    if not (SERVICES.names() and FAULTS.names() and CHECKS.names()):
        raise RuntimeError("no check, fault or service kinds are registered: call nslab.plugins.load() first")
    return SERVICES, FAULTS, CHECKS
