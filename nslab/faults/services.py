"""Faults in services: a listener left stopped, bound to loopback only, a resolver down."""

from __future__ import annotations

from nslab.faults.edit import as_ip, service_params, update_service
from nslab.scenario import model as m


def dead_listener(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """Declared but not started: `nslab service start NAME` (or fixing its cause) brings it back."""
    return update_service(scenario, fault.params["service"], autostart=False)


def resolver_down(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    return dead_listener(scenario, fault)


def bind_localhost(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    return service_params(scenario, fault.params["service"], bind=as_ip(fault.params["address"]))
