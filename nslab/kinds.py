"""Registries of check, service and fault kinds.

A kind declares its parameters (validated with file:line:col like everything else) and names
its implementation as "module:attribute", imported only when the kind is used, so that
`nslab validate` and `nslab --help` never import probe, server or packet-crafting code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nslab.schema import Field

if TYPE_CHECKING:
    from nslab.model import Scenario
    from nslab.semantic import Report

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
