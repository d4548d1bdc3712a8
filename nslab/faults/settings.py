"""service-edit: a text edit in one of a service's string settings, such as a bug in the code
of an `exec` service (a close() that was forgotten) or a wrong word in any text setting.

The edit lands in the service's settings, so the learner repairs it where a developer or an
admin would: `nslab service config NAME` shows the file, an editor fixes it, and
`nslab service restart NAME` runs the repaired version. Grading never reads the file.
"""

from __future__ import annotations

from nslab.faults.edit import service_params
from nslab.scenario import model as m
from nslab.scenario.schema import Str, did_you_mean
from nslab.scenario.semantic import Report

FIXED = ("name", "kind", "node", "autostart")


def service_edit(scenario: m.Scenario, fault: m.Fault) -> m.Scenario:
    p = fault.params
    service = next(s for s in scenario.services if s.name == p["service"])
    text = str(service.params[p["field"]])
    return service_params(scenario, service.name, **{p["field"]: text.replace(p["replace"], p["with"], 1)})


def check_service_edit(scenario: m.Scenario, fault: m.Fault, report: Report) -> None:
    from nslab.services.kinds import SERVICES

    p = fault.params
    service = report.service(p["service"], fault.at("service"))
    if service is None:
        return
    fields = SERVICES.get(service.kind).fields
    texts = tuple(k for k, f in fields.items() if isinstance(f.type, Str) and k not in FIXED)
    field = str(p["field"])
    if field not in texts:
        hint = did_you_mean(field, texts) or (
            f"its text settings: {', '.join(texts)}" if texts else f"a {service.kind} service has none"
        )
        report.error(
            fault.at("field"),
            f"{field!r} is not a text setting of {service.kind} service {service.name!r}",
            hint,
        )
        return
    value = service.params.get(field)
    if not isinstance(value, str):
        report.error(
            fault.at("field"), f"service {service.name!r} does not set {field}", "declare it in services:"
        )
        return
    found = value.count(str(p["replace"]))
    if found != 1:
        report.error(
            fault.at("replace"),
            f"{p['replace']!r} occurs {found} times in {service.name}'s {field}; it must occur exactly once",
            "quote a longer, unique piece of the text" if found else "copy the text exactly, spaces included",
        )
    if p["replace"] == p["with"]:
        report.error(fault.at("with"), "replace and with are the same: nothing would change")
