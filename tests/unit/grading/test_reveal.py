"""Before a lab is solved a failing check tells its symptom, never the expected value. No root."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema  # type: ignore[import-untyped]
import pytest

from nslab.checks.observation import Observation
from nslab.grading import reveal
from nslab.grading.render import report_json, report_text
from nslab.grading.render_junit import report_junit
from nslab.grading.report import CheckRun, Report, grade
from nslab.grading.schema import CHECK_REPORT
from nslab.scenario import loader
from nslab.scenario import model as m

SCENARIO = """\
metadata: {name: demo, title: Demo}
nodes:
  pc: {interfaces: {eth0: {addresses: [192.168.10.20/24]}}}
  r1:
    interfaces:
      eth0: {addresses: [192.168.10.1/24]}
      eth1: {addresses: [10.0.23.1/24]}
  nas: {interfaces: {eth0: {addresses: [10.0.23.9/24]}}}
links: [[pc:eth0, r1:eth0], [r1:eth1, nas:eth0]]
checks:
  - {name: c-address, kind: address, from: r1, iface: eth1, address: 10.0.23.1/24}
  - {name: c-route, kind: route, from: pc, to: default, via: 192.168.10.1}
  - {name: c-link, kind: link, from: nas, iface: eth0, up: true, mtu: 1400}
  - {name: c-sysctl, kind: sysctl, from: r1, key: net.ipv4.ip_forward, value: "1"}
  - {name: c-rule, role: guard, kind: iptables, from: r1, chain: FORWARD,
     match: "-p tcp --dport 8443 -j ACCEPT"}
  - {name: c-web, kind: tcp, from: pc, to: 10.0.23.9, port: 80}
  - {name: c-own, kind: address, from: pc, iface: eth0, address: 192.168.10.20/24, symptom: pc looks lost}
  - {name: c-open, kind: link, from: pc, iface: eth0, up: true, reveal: always}
  - {name: c-late, kind: route, from: nas, to: default, via: 10.0.23.1, reveal: after-solve}
"""

# What each probe saw in the broken lab: the wrong values a learner must find for themselves.
SEEN = {
    "c-address": Observation("absent", "eth1 has 10.0.23.1/25, not 10.0.23.1/24", {"have": ["10.0.23.1/25"]}),
    "c-route": Observation("absent", "pc's route to default goes via 192.168.1.1", {"via": "192.168.1.1"}),
    "c-link": Observation("down", "nas eth0 is administratively down, MTU 9000", {"up": False, "mtu": 9000}),
    "c-sysctl": Observation("value", "net.ipv4.ip_forward = 0", {"value": "0"}),
    "c-rule": Observation("absent", "no rule matches '-p tcp --dport 8443 -j ACCEPT'", {"rules": []}),
    "c-web": Observation("timeout", "timed out after 1.0 s", {"waited_s": 1.0}),
    "c-own": Observation("absent", "eth0 has 192.168.10.20/25", {"have": ["192.168.10.20/25"]}),
    "c-open": Observation("down", "pc eth0 is down", {"up": False}),
    "c-late": Observation("absent", "no default route", {}),
}
# Values that would give the answer (or the wrong value) away.
TELLS = ("/24", "/25", "192.168.10.1", "192.168.1.1", "1400", "9000", "ip_forward", "8443", "; expected")


def scenario() -> m.Scenario:
    return loader.load_text(SCENARIO, "demo.yaml")


def broken_report(s: m.Scenario) -> Report:
    runs = [CheckRun(c, SEEN[c.name]) for c in s.checks]
    return grade(runs, lab="demo", scenario="demo")


def by_name(report: Report) -> dict[str, str]:
    return {r.name: r.explanation for r in report.results}


def test_the_judge_itself_tells_everything() -> None:
    """The premise: unconcealed, the report names the expected values (what --reveal shows)."""
    text = by_name(broken_report(scenario()))
    assert "expected present" in text["c-address"] and "10.0.23.1/25" in text["c-address"]
    assert "192.168.10.1" in text["c-route"]
    assert "MTU 1400" in text["c-link"]


def test_unsolved_failing_state_checks_tell_only_a_symptom() -> None:
    s = scenario()
    hidden = reveal.conceal(broken_report(s), s, revealed=False)
    text = by_name(hidden)
    for name in ("c-address", "c-route", "c-link", "c-sysctl", "c-rule", "c-web", "c-own", "c-late"):
        for tell in TELLS:
            assert tell not in text[name], (name, tell, text[name])
    assert text["c-address"] == "eth1 of r1 does not carry the address the network needs"
    assert text["c-route"] == "pc has no working route toward default"
    assert text["c-web"] == "pc cannot open a TCP connection to 10.0.23.9:80"
    assert text["c-own"] == "pc looks lost"  # the check's own symptom: text wins
    assert text["c-late"].endswith(reveal.NOT_YET)  # after-solve: not even a symptom
    for result in hidden.results:
        if result.name != "c-open":
            assert (result.expected, dict(result.evidence), result.description) == ("", {}, "")
            assert not result.revealed


def test_reveal_always_checks_keep_their_whole_text() -> None:
    s = scenario()
    text = by_name(reveal.conceal(broken_report(s), s, revealed=False))
    assert text["c-open"] == by_name(broken_report(s))["c-open"]
    assert "expected up" in text["c-open"]


def test_scenario_default_applies_to_checks_without_their_own() -> None:
    s = scenario()
    always = m.Metadata(name="demo", title="Demo", reveal="always")
    loud = m.Scenario(path=s.path, metadata=always, nodes=s.nodes, checks=s.checks)
    text = by_name(reveal.conceal(broken_report(loud), loud, revealed=False))
    assert "expected present" in text["c-address"]
    assert text["c-late"].endswith(reveal.NOT_YET)  # the check's own mode still wins


def test_revealed_or_solved_reports_are_untouched() -> None:
    s = scenario()
    report = broken_report(s)
    assert reveal.conceal(report, s, revealed=True) is report
    healthy = {
        **SEEN,
        **{
            n: Observation("present", "ok", {}) for n in ("c-address", "c-route", "c-own", "c-rule", "c-late")
        },
        "c-link": Observation("up", "up, MTU 1400", {"up": True, "mtu": 1400}),
        "c-sysctl": Observation("value", "1", {"value": "1"}),
        "c-web": Observation("open", "open", {}),
        "c-open": Observation("up", "up", {"up": True}),
    }
    passed = grade([CheckRun(c, healthy[c.name]) for c in s.checks], lab="demo", scenario="demo")
    assert passed.passed
    assert reveal.conceal(passed, s, revealed=False) is passed


def test_passing_guards_do_not_print_the_rule_they_protect() -> None:
    s = scenario()
    seen = {**SEEN, "c-rule": Observation("present", "rule '-p tcp --dport 8443 -j ACCEPT' present", {})}
    report = grade([CheckRun(c, seen[c.name]) for c in s.checks], lab="demo", scenario="demo")
    text = by_name(reveal.conceal(report, s, revealed=False))
    assert text["c-rule"] == "firewall on r1: as it should be"


@pytest.mark.parametrize("kind", sorted(reveal.SYMPTOMS))
def test_every_check_kind_has_a_symptom(kind: str) -> None:
    from nslab.scenario.kinds import CHECKS

    assert kind in {spec.name for spec in CHECKS.all()}
    check = m.Check(name="x", kind=kind, node="pc", params={"to": "10.0.0.1", "iface": "eth0", "port": 1})
    assert "pc" in reveal.symptom(check)


def test_every_registered_kind_is_covered() -> None:
    from nslab.scenario.kinds import CHECKS

    assert {spec.name for spec in CHECKS.all()} <= set(reveal.SYMPTOMS)


def test_json_and_junit_carry_no_expected_value_until_revealed() -> None:
    s = scenario()
    hidden = reveal.conceal(broken_report(s), s, revealed=False)
    data = report_json(hidden)
    jsonschema.validate(data, CHECK_REPORT)
    address = next(c for c in data["checks"] if c["name"] == "c-address")
    assert address["expected"] == "" and address["evidence"] == {} and address["revealed"] is False
    assert address["passed"] is False and address["kind"] == "address"  # machine fields stay
    rendered = json.dumps([c for c in data["checks"] if c["name"] != "c-open"])
    text = "\n".join(line for line in report_text(hidden).splitlines() if "c-open" not in line)
    junit = report_junit([hidden])
    ET.fromstring(junit)
    for tell in TELLS:
        assert tell not in rendered, tell
        assert tell not in text, tell
    full = report_json(reveal.conceal(broken_report(s), s, revealed=True))
    address = next(c for c in full["checks"] if c["name"] == "c-address")
    assert address["expected"] == "present" and address["revealed"] is True
    assert "10.0.23.1/25" in address["explanation"]


def test_a_probe_that_could_not_run_still_says_why() -> None:
    s = scenario()
    seen = {**SEEN, "c-route": Observation("error", "node pc's namespace demo-pc is gone; see nslab status")}
    report = grade([CheckRun(c, seen[c.name]) for c in s.checks], lab="demo", scenario="demo")
    text = by_name(reveal.conceal(report, s, revealed=False))["c-route"]
    gone = "node pc's namespace demo-pc is gone; see nslab status"
    assert text == f"route on pc toward default: could not probe: {gone}"
    assert "192.168.10.1" not in text
