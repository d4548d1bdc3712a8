"""The collector of meaning errors, with the lookups kind hooks need (nodes, interfaces, address
owners)."""

from __future__ import annotations

from typing import Any

from nslab.errors import Diagnostic, Loc
from nslab.scenario import model as m
from nslab.scenario.schema import did_you_mean
from nslab.scenario.semantic.domains import Pair, overlay_domains


class Report:
    """Collects diagnostics and offers the lookups that kind hooks need."""

    def __init__(self, scenario: m.Scenario, broken: set[str] | None = None) -> None:
        self.scenario = scenario
        self.diagnostics: list[Diagnostic] = []
        # Entries that failed structural validation: references to them are not errors again.
        self.broken = broken or set()
        self.partial = bool(broken)
        self._owners: dict[m.IPAddress, list[Pair]] | None = None
        self._domains: dict[Pair, Pair] | None = None

    def error(self, loc: Loc, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(loc, message, hint))

    def node(self, name: str, loc: Loc, what: str = "node") -> m.Node | None:
        found = self.scenario.nodes.get(name)
        invalid = [p.split(".", 1)[1] for p in self.broken if p.startswith("nodes.") and p.count(".") == 1]
        # 'client' refers to a node declared as 'Client': that declaration's error says it all.
        if found is None and name.lower() not in (n.lower() for n in invalid):
            names = tuple(sorted([*self.scenario.nodes, *invalid]))
            hint = did_you_mean(name, names) or "known nodes: " + ", ".join(names)
            self.error(loc, f"{what} {name!r} is not a node of this scenario", hint)
        return found

    def interface(self, node: m.Node, iface: str, loc: Loc, path: str | None = None) -> m.Interface | None:
        """The interface, or None after reporting it missing (`path` prefixes the message)."""
        found = node.interfaces.get(iface)
        if found is None and f"nodes.{node.name}.interfaces.{iface}" not in self.broken:
            names = tuple(node.interfaces)
            hint = did_you_mean(iface, names) or (
                "its interfaces: " + ", ".join(names) if names else "it declares no interfaces"
            )
            prefix = f"{path}: " if path else ""
            self.error(loc, f"{prefix}node {node.name!r} has no interface {iface!r}", hint)
        return found

    def service(self, name: str, loc: Loc) -> m.Service | None:
        services = {s.name: s for s in self.scenario.services}
        found = services.get(name)
        if found is None:
            hint = did_you_mean(name, tuple(services)) or (
                "services: " + ", ".join(services) if services else "the scenario declares no services"
            )
            self.error(loc, f"{name!r} is not a service of this scenario", hint)
        return found

    def param_values(self, name: str) -> tuple[Any, ...]:
        param = self.scenario.params.get(name)
        if param is None:
            return ()
        return param.choices or (param.default,)

    def incomplete(self, node: m.Node) -> bool:
        """Did part of this node fail structural validation? Then what it seems to lack
        (an address, an interface) may be in the part that failed."""
        prefix = f"nodes.{node.name}."
        return any(path.startswith(prefix) for path in self.broken)

    def owners(self, address: m.IPAddress) -> list[Pair]:
        """(node, interface) pairs that carry this address."""
        if self._owners is None:
            self._owners = {}
            for node in self.scenario.nodes.values():
                for iface in node.interfaces.values():
                    for a in iface.addresses:
                        self._owners.setdefault(a.ip, []).append((node.name, iface.name))
        return self._owners.get(address, [])

    def domain(self, node: str, iface: str) -> Pair:
        """The L2 segment of an interface, VXLAN overlays included."""
        if self._domains is None:
            self._domains = overlay_domains(self.scenario)
        return self._domains.get((node, iface), (node, iface))
