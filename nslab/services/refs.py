"""Semantic hooks of the service kinds: what the structural schema cannot see.

A bind address must belong to the node (or be a wildcard or loopback address), two services
on one node must not want the same port, a DNS zone must make sense on its own and its
delegations must reach a server that holds the child zone, and a resolver's roots must be
root servers of this lab. Every problem is reported with the position of the offending value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from nslab.errors import Loc
from nslab.scenario import model as m
from nslab.services import names

if TYPE_CHECKING:
    from nslab.scenario.semantic import Report

DEFAULT_PORTS = {"http": 80, "https": 443, "dns": 53, "resolver": 53}
PROTOCOLS = {
    "tcp": ("tcp",),
    "udp": ("udp",),
    "http": ("tcp",),
    "https": ("tcp",),
    "leaky": ("tcp",),
    "dns": ("udp", "tcp"),
    "resolver": ("udp", "tcp"),
}


def listens(service: m.Service) -> list[tuple[str, int, str]]:
    """(protocol, port, bind address) of every socket the service listens on."""
    port = service.params.get("port") or DEFAULT_PORTS.get(service.kind)
    if port is None:
        return []
    bind = str(service.params.get("bind") or "0.0.0.0")
    return [(proto, int(port), bind) for proto in PROTOCOLS.get(service.kind, ())]


def _overlap(a: str, b: str) -> bool:
    """Would two sockets bound to a and b on the same port collide?"""
    x, y = ipaddress.ip_address(a), ipaddress.ip_address(b)
    if x == y:
        return True
    # "::" is dual-stack (nslab clears IPV6_V6ONLY), so it covers IPv4 addresses too.
    if x.is_unspecified and (x.version == y.version or x.version == 6):
        return True
    return y.is_unspecified and (x.version == y.version or y.version == 6)


def _covers(bind: str, address: m.IPAddress) -> bool:
    return _overlap(bind, str(address))


def node_addresses(node: m.Node) -> list[m.IPAddress]:
    return [a.ip for _, a in node.addresses()]


def owner_of(scenario: m.Scenario, address: m.IPAddress) -> m.Node | None:
    return next((n for n in scenario.nodes.values() if address in node_addresses(n)), None)


def _loc(value: Any, fallback: Loc) -> Loc:
    """Records and zones carry their own position (see kinds.py); edited copies fall back."""
    found = getattr(value, "loc", None)
    return found if isinstance(found, Loc) else fallback


# -- every listener ---------------------------------------------------------------------------


def check_bind(scenario: m.Scenario, service: m.Service, report: Report) -> None:
    bind = service.params.get("bind")
    node = scenario.nodes.get(service.node)
    if bind is None or node is None:
        return
    address = ipaddress.ip_address(str(bind))
    own = node_addresses(node)
    if address.is_unspecified or address.is_loopback or address in own:
        return
    holder = owner_of(scenario, address)
    where = f"it is an address of node {holder.name!r}; " if holder is not None else ""
    mine = ", ".join(str(a) for a in own) or "none"
    report.error(
        service.at("bind"),
        f"service {service.name}: bind address {address} is not an address of node {service.node!r}",
        f"{where}{service.node}'s addresses: {mine}; or 0.0.0.0 (every address), 127.0.0.1 (loopback only)",
    )


def check_ports(scenario: m.Scenario, service: m.Service, report: Report) -> None:
    """Report a clash once, on the later of the two services."""
    mine = listens(service)
    for other in scenario.services:
        if other is service:
            return
        if other.node != service.node:
            continue
        for proto, port, bind in mine:
            if any(p == proto and q == port and _overlap(bind, b) for p, q, b in listens(other)):
                report.error(
                    service.at("port"),
                    f"services {other.name} and {service.name} both listen on {port}/{proto} on node "
                    f"{service.node!r}",
                    "give one of them another port, or bind them to different addresses",
                )
                return


def check_listener(scenario: m.Scenario, service: m.Service, report: Report) -> None:
    check_bind(scenario, service, report)
    check_ports(scenario, service, report)


# -- http / https -----------------------------------------------------------------------------


def check_http(scenario: m.Scenario, service: m.Service, report: Report) -> None:
    check_listener(scenario, service, report)
    pages: Mapping[str, Any] = service.params.get("pages") or {}
    sizes: Mapping[str, Any] = service.params.get("sizes") or {}
    for path in sorted(set(pages) & set(sizes)):
        report.error(
            service.at("sizes"),
            f"service {service.name}: {path} is both a static page and a generated payload",
            "keep it under one of 'pages' or 'sizes'",
        )
    echo = service.params.get("echo_client")
    if echo is not None and (echo in pages or echo in sizes):
        what = "static page" if echo in pages else "generated payload"
        report.error(
            service.at("echo_client"),
            f"service {service.name}: {echo} is also a {what}",
            "give the client-address page a path no page or payload uses",
        )


def check_https(scenario: m.Scenario, service: m.Service, report: Report) -> None:
    check_http(scenario, service, report)
    for name in service.params.get("names") or ():
        if not (names.is_ip(name) or names.is_valid(names.absolute(name, "."))):
            report.error(
                service.at("names"),
                f"service {service.name}: {name!r} is neither a host name nor an IP address",
                "certificate names look like www.example.com (or *.example.com)",
            )


# -- dns ----------------------------------------------------------------------------------------


def record_problem(rtype: str, value: str, zone: str) -> str | None:
    """What is wrong with one record's value, or None. The server parses the same forms."""
    words = value.split()
    if rtype in ("A", "AAAA"):
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            return f"{value!r} is not an IP address"
        if address.version != (4 if rtype == "A" else 6):
            return f"{value!r} is not an IPv{4 if rtype == 'A' else 6} address"
        return None
    if rtype in ("CNAME", "NS", "PTR"):
        if len(words) != 1 or not names.is_valid(names.absolute(words[0], zone)):
            return f"{value!r} is not a domain name"
        return None
    if rtype == "MX":
        if len(words) != 2 or not words[0].isdigit() or int(words[0]) > 65535:
            return f"{value!r} is not 'PREFERENCE HOST', like '10 mail'"
        return None if names.is_valid(names.absolute(words[1], zone)) else f"{words[1]!r} is not a host name"
    if rtype == "SOA":
        if len(words) != 7 or not all(w.isdigit() for w in words[2:]):
            return f"{value!r} is not 'MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM'"
        return None
    return None  # TXT: any text, taken literally


def _records(zone_value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(zone_value, Mapping):
        return []
    return [r for r in zone_value.get("records") or () if isinstance(r, Mapping)]


def zone_cuts(zone: str, records: list[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Delegations inside a zone: child zone -> its name server names (absolute)."""
    cuts: dict[str, list[str]] = {}
    for record in records:
        owner = names.absolute(str(record["name"]), zone)
        if record["type"] == "NS" and owner != zone:
            cuts.setdefault(owner, []).append(names.absolute(str(record["value"]).strip(), zone))
    return cuts


def addresses_of(target: str, zone: str, records: list[Mapping[str, Any]]) -> list[str]:
    return [
        str(r["value"]).strip()
        for r in records
        if r["type"] in ("A", "AAAA") and names.absolute(str(r["name"]), zone) == target
    ]


def served_zones(service: m.Service) -> set[str]:
    zones: Mapping[str, Any] = service.params.get("zones") or {}
    return {names.zone_name(z) for z in zones}


def dns_servers_at(scenario: m.Scenario, address: m.IPAddress) -> list[m.Service]:
    """DNS services that answer on port 53 of the given address."""
    holder = owner_of(scenario, address)
    if holder is None:
        return []
    return [
        s
        for s in scenario.services
        if s.kind == "dns"
        and s.node == holder.name
        and int(s.params.get("port") or 53) == 53
        and _covers(str(s.params.get("bind") or "0.0.0.0"), address)
    ]


def check_dns(scenario: m.Scenario, service: m.Service, report: Report) -> None:
    check_listener(scenario, service, report)
    zones: Mapping[str, Any] = service.params.get("zones") or {}
    seen: dict[str, str] = {}
    for written, value in zones.items():
        zone = names.zone_name(written)
        where = _loc(value, service.at("zones"))
        if not names.is_valid(zone):
            report.error(where, f"zone {written!r} is not a valid domain name")
            continue
        if zone in seen:
            report.error(where, f"zone {zone} is declared twice (as {seen[zone]!r} and {written!r})")
            continue
        seen[zone] = written
        records = _records(value)
        for problem, loc, hint in _zone_problems(zone, records, where):
            report.error(loc, f"zone {zone}: {problem}", hint)
        for child, servers in zone_cuts(zone, records).items():
            _check_delegation(scenario, service, zone, child, servers, records, where, report)


def _zone_problems(
    zone: str, records: list[Mapping[str, Any]], zone_loc: Loc
) -> Iterator[tuple[str, Loc, str | None]]:
    types_at: dict[str, set[str]] = {}
    for record in records:
        loc = _loc(record, zone_loc)
        owner = names.absolute(str(record["name"]), zone)
        rtype = str(record["type"])
        if not names.is_valid(owner):
            yield f"{record['name']!r} is not a valid name", loc, None
            continue
        if not names.is_under(owner, zone):
            yield (
                f"{owner} is outside the zone",
                loc,
                f"write it relative to {zone}, or put it in its own zone",
            )
            continue
        problem = record_problem(rtype, str(record["value"]), zone)
        if problem is not None:
            yield f"{rtype} record of {owner}: {problem}", loc, None
        if rtype == "SOA" and owner != zone:
            yield f"an SOA record belongs at the zone apex, not at {owner}", loc, "use name: '@'"
        if rtype == "CNAME" and owner == zone:
            yield "a CNAME cannot sit at the zone apex", loc, "use A/AAAA records at '@'"
        kinds = types_at.setdefault(owner, set())
        if (rtype == "CNAME" and kinds) or "CNAME" in kinds:
            yield f"{owner} has a CNAME and other records", loc, "a name with a CNAME holds nothing else"
        if rtype == "SOA" and "SOA" in kinds:
            yield "more than one SOA record", loc, None
        kinds.add(rtype)


def _check_delegation(
    scenario: m.Scenario,
    service: m.Service,
    zone: str,
    child: str,
    servers: list[str],
    records: list[Mapping[str, Any]],
    where: Loc,
    report: Report,
) -> None:
    for server in servers:
        glue = addresses_of(server, zone, records)
        if names.is_under(server, child) and not glue:
            report.error(
                where,
                f"zone {zone}: the delegation of {child} names {server}, inside {child}, without glue",
                f"add an A record for {server} to {zone} so resolvers can find it",
            )
        for text in glue:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue  # already reported as a bad A/AAAA value
            if not any(child in served_zones(s) for s in dns_servers_at(scenario, address)):
                report.error(
                    where,
                    f"zone {zone}: the delegation of {child} points at {server} ({address}), "
                    f"but no dns service on port 53 there holds zone {child}",
                    "add a dns service with that zone on the node that has this address",
                )


def check_resolver(scenario: m.Scenario, service: m.Service, report: Report) -> None:
    check_listener(scenario, service, report)
    roots = [s for s in scenario.services if s.kind == "dns" and "." in served_zones(s)]
    for root in service.params.get("roots") or ():
        address = ipaddress.ip_address(str(root))
        holders = [s for s in dns_servers_at(scenario, address) if "." in served_zones(s)]
        for holder in holders:
            zones: Mapping[str, Any] = holder.params.get("zones") or {}
            records = next(_records(v) for z, v in zones.items() if names.zone_name(z) == ".")
            if not any(r["type"] == "NS" and names.absolute(str(r["name"]), ".") == "." for r in records):
                report.error(
                    holder.at("zones"),
                    f"root zone of {holder.name} has no NS records at '@', which resolver "
                    f"{service.name} (and dig +trace) start from",
                    "add {name: '@', type: NS, value: ROOT-SERVER-NAME.} and an A record for that name",
                )
        if holders:
            continue
        known = ", ".join(f"{s.name} on {s.node}" for s in roots) or "none declared"
        report.error(
            service.at("roots"),
            f"service {service.name}: root server {address} is not a dns service holding zone '.'",
            f"root servers in this scenario: {known}",
        )
