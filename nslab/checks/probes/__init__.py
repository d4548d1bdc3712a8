"""Live probes. Each runs in a thread that already entered its node's network namespace.

Every probe is a function `(ctx, check) -> Observation` and must never raise for a network
outcome: a refused connection or a timeout is an observation, not an error.

PROBES names each kind's implementation. It lives here, not only in nslab.checks.kinds,
so that grading a running lab imports neither the kind declarations nor the schema machinery
behind them (~45 ms); nslab.checks.kinds takes its `impl=` strings from this table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from nslab.checks.context import ProbeContext
    from nslab.checks.observation import Observation
    from nslab.scenario.model import Check

    Probe = Callable[[ProbeContext, Check], Observation]

PROBES: dict[str, str] = {
    "ping": "nslab.checks.probes.ping:probe",
    "tcp": "nslab.checks.probes.tcp:probe",
    "udp": "nslab.checks.probes.udp:probe",
    "http": "nslab.checks.probes.http:probe",
    "https": "nslab.checks.probes.http:probe",
    "dns": "nslab.checks.probes.dns:probe",
    "path": "nslab.checks.probes.path:probe",
    "route": "nslab.checks.probes.state:route",
    "address": "nslab.checks.probes.state:address",
    "link": "nslab.checks.probes.state:link",
    "sysctl": "nslab.checks.probes.state:sysctl_value",
    "iptables": "nslab.checks.probes.state:iptables",
    "listening": "nslab.checks.probes.state:listening",
    "sockets": "nslab.checks.probes.sockstate:probe",
    "arp": "nslab.checks.probes.arp:probe",
}


def load(kind: str) -> Probe:
    """Import a kind's probe function on first use."""
    import importlib

    module, _, attr = PROBES[kind].partition(":")
    return cast("Probe", getattr(importlib.import_module(module), attr))
