"""Faults in name resolution: a wrong record in a zone, a stale /etc/hosts line."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from nslab.faults.edit import service_params, update_node
from nslab.scenario import model as m
from nslab.services import names as dnsnames


def zone_key(zones: Mapping[str, Any], zone: str) -> str | None:
    """The zones' own key for `zone`, however either is written ("lab", "lab.", "LAB")."""
    wanted = dnsnames.zone_name(zone)
    return next((k for k in zones if dnsnames.zone_name(k) == wanted), None)


def record_matches(record: Mapping[str, Any], zone: str, name: str, rtype: str) -> bool:
    """Same type and same owner name, compared the way the DNS server reads them."""
    same_owner = dnsnames.absolute(str(record["name"]), zone) == dnsnames.absolute(name, zone)
    return bool(record["type"] == rtype and same_owner)


def wrong_dns_record(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """Every record of that name and type in the zone now holds the wrong value.

    Records that become identical collapse into one: a set of two A records turns into
    a single wrong one, not two copies of it."""
    p = fault.params
    service = next(s for s in scenario.services if s.name == p["service"])
    zones = dict(service.params["zones"])
    key = zone_key(zones, p["zone"])
    assert key is not None  # the semantic hook insists on it
    records: list[Any] = []
    for record in zones[key]["records"]:
        # copy.copy keeps the record's own class, and with it the position it was written at.
        new = copy.copy(record)
        if record_matches(record, key, p["name"], p["type"]):
            new["value"] = str(p["value"])
        if new not in records:
            records.append(new)
    zone = copy.copy(zones[key])
    zone["records"] = tuple(records)
    zones[key] = zone
    return service_params(scenario, service.name, zones=zones)


def stale_hosts_entry(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """The node's /etc/hosts maps the name to an old address (added, or replacing its entry)."""
    node = scenario.nodes[fault.params["node"]]
    name: str = fault.params["name"]
    # Host names are case-insensitive: the stale entry replaces any spelling of the same name.
    hosts = {k: v for k, v in node.hosts.items() if k.lower() != name.lower()}
    hosts[name] = (fault.params["address"],)
    return update_node(scenario, node.name, hosts=hosts)
