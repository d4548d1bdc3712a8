"""Faults above TCP: a TLS certificate for the wrong name, a web page at the wrong path.

They complete the "what happens when you type a URL" ladder (DNS, routing, TCP, TLS, HTTP):
the connection opens, and then the certificate or the answer is wrong. Both edit the
service's settings, so the learner repairs them where an admin would, in the service's
settings file (`nslab service config NAME`, then `nslab service restart NAME`).

The semantic hooks live here too (they import nothing heavy): `nslab validate` runs them.
"""

from __future__ import annotations

from typing import Any

from nslab.faults.edit import service_params
from nslab.scenario import model as m
from nslab.scenario.schema import did_you_mean
from nslab.scenario.semantic import Report

WEB_KINDS = ("http", "https")


# --- transformations ------------------------------------------------------------------------


def tls_wrong_name(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """The certificate names only `names`: the names the site is reached by are gone.

    The lab still makes the certificate from the lab CA, and still adds the node's own
    name and addresses (nslab.services.http), so the chain verifies and only the name
    check fails: the "certificate for the wrong host" every browser warns about."""
    return service_params(scenario, fault.params["service"], names=tuple(fault.params["names"]))


def page_moved(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    """The page (or payload) at `path` now lives at `to`; nothing else moves.

    A request for the old path gets 404, except for `/`, which the server always answers:
    without a page of its own it serves its placeholder page (status 200, the wrong body),
    like a web server whose site configuration was lost in a deploy."""
    p = fault.params
    service = next(s for s in scenario.services if s.name == p["service"])
    changes: dict[str, Any] = {}
    for key in ("pages", "sizes"):
        table = dict(service.params.get(key) or {})
        if p["path"] in table:
            changes[key] = {(p["to"] if path == p["path"] else path): v for path, v in table.items()}
    return service_params(scenario, service.name, **changes)


# --- semantic hooks ---------------------------------------------------------------------------


def _web_service(report: Report, fault: m.Fault, kinds: tuple[str, ...]) -> m.Service | None:
    service = report.service(fault.params["service"], fault.at("service"))
    if service is not None and service.kind not in kinds:
        report.error(
            fault.at("service"),
            f"service {service.name!r} is a {service.kind} service; {fault.kind} needs {' or '.join(kinds)}",
            "the web service kinds are http and https" if len(kinds) > 1 else None,
        )
        return None
    return service


def check_tls_wrong_name(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    from nslab.services import names as dnsnames

    wrong = tuple(str(n) for n in fault.params["names"])
    for name in wrong:
        if not (dnsnames.is_ip(name) or dnsnames.is_valid(dnsnames.absolute(name, "."))):
            report.error(
                fault.at("names"),
                f"{name!r} is neither a host name nor an IP address",
                "certificate names look like shop.example.test",
            )
    service = _web_service(report, fault, ("https",))
    if service is None:
        return
    right = tuple(str(n) for n in service.params.get("names") or ())
    if not right:
        report.error(
            fault.at("service"),
            f"https service {service.name!r} declares no names: its certificate holds only its"
            " node's name and addresses, which the fault cannot take away",
            "give the service the name clients use (names: [www.shop.test]) and break that",
        )
    elif {n.lower() for n in wrong} >= {n.lower() for n in right}:
        report.error(
            fault.at("names"),
            f"the certificate of {service.name!r} would still be valid for every name it has: "
            + ", ".join(right),
            "name other hosts, e.g. the bare domain or a staging name",
        )


def check_page_moved(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    p = fault.params
    service = _web_service(report, fault, WEB_KINDS)
    if service is None:
        return
    paths = [*(service.params.get("pages") or {}), *(service.params.get("sizes") or {})]
    if p["path"] not in paths:
        hint = did_you_mean(p["path"], tuple(paths)) or (
            ("its paths: " + ", ".join(paths)) if paths else "it declares no pages or sizes"
        )
        report.error(fault.at("path"), f"service {service.name!r} has no page {p['path']!r}", hint)
        return
    if p["to"] == p["path"]:
        report.error(fault.at("to"), "the page would stay where it is", "move it to another path")
    elif p["to"] in paths:
        report.error(
            fault.at("to"),
            f"service {service.name!r} already has a page at {p['to']!r}",
            "move the page to a path the service does not use",
        )
