"""Where the plug-ins meet the core: importing a kind module adds its kinds to the registries
in nslab.scenario.kinds. The scenario layer never imports its plug-ins back; whoever reads a
scenario calls load() once first: the CLI, the lab lifecycle (nslab.labs, so `lab.up()` from
a library works as it is), the tests. A caller of nslab.scenario.loader alone calls it too.
Layer: above checks, faults and services, below labs."""

from __future__ import annotations


def load() -> None:
    """Register every check, fault and service kind (idempotent: imports run once)."""
    import nslab.checks.kinds
    import nslab.faults.kinds
    import nslab.services.kinds  # noqa: F401
