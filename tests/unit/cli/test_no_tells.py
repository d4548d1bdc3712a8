"""`nslab list`, `show` and `up` never name a shipped lab's fault (GUIDE non-negotiable 8),
and the old names of renamed labs keep working as aliases. No root.

Heuristic tells: each active fault's kind (as written and with spaces), its description, and
the lab's former names (which stated the cause)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nslab.cli.main import cli
from nslab.labs.lifecycle import UpResult
from nslab.scenario import catalog, loader
from nslab.scenario import model as m
from tests.conftest import SCENARIOS

RENAMED = {
    "missing-return-route": "sales-app-never-loads",
    "router-not-forwarding": "branch-lost-intranet",
    "localhost-only": "api-refused-from-outside",
    "dns-resolver-down": "every-website-down",
    "wrong-netmask": "ws2-cannot-open-share",
    "no-default-route": "prints-but-cannot-browse",
    "duplicate-ip": "share-shows-printer-page",
    "arp-poisoned": "stuck-on-lan-after-swap",
    "syn-ack-dropped": "shop-never-loads",
    "mtu-black-hole": "big-downloads-hang",
}


def shipped() -> list[m.Scenario]:
    return [loader.load(str(path)) for path in sorted(SCENARIOS.glob("*.yaml"))]


@functools.cache
def listed() -> str:
    """`nslab list` loads every scenario: run it once for the whole module."""
    out = CliRunner().invoke(cli, ["list"])
    assert out.exit_code == 0, out.output
    return out.output


def tells(scenario: m.Scenario) -> list[str]:
    words = [*scenario.metadata.aliases]
    for fault in scenario.active_faults():
        words += [fault.kind, fault.kind.replace("-", " ")]
        if fault.description:
            words.append(fault.description.strip())
    return [w.lower() for w in words if w]


def assert_no_tell(text: str, scenario: m.Scenario, where: str) -> None:
    low = text.lower()
    for word in tells(scenario):
        assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", low), (
            f"{where} of {scenario.name} names its fault: {word!r}"
        )


@pytest.mark.parametrize("scenario", shipped(), ids=lambda s: s.name)
def test_show_list_and_up_name_no_fault(scenario: m.Scenario) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["show", scenario.name])
    assert shown.exit_code == 0, shown.output
    assert_no_tell(shown.output, scenario, "nslab show")
    line = next(li for li in listed().splitlines() if f" {scenario.name} " in li)
    assert_no_tell(line, scenario, "nslab list")
    up = UpResult(lab=scenario.name, scenario=scenario, healthy=False, seconds=0.1, phases={})
    assert_no_tell(up.describe(), scenario, "nslab up")


def test_the_tell_detector_catches_a_tell() -> None:
    """The heuristic is not vacuous: a title naming the fault is caught."""
    scenario = loader.load(str(SCENARIOS / "ws2-cannot-open-share.yaml"))
    with pytest.raises(AssertionError, match="wrong-netmask"):
        assert_no_tell("Lab: the wrong-netmask on ws2", scenario, "test")
    with pytest.raises(AssertionError):
        assert_no_tell("the wrong netmask", scenario, "test")


def test_show_does_not_print_guard_descriptions() -> None:
    scenario = loader.load(str(SCENARIOS / "nat-port-forward.yaml"))
    out = CliRunner().invoke(cli, ["show", "nat-port-forward"]).output
    guards = [c for c in scenario.active_checks() if c.role == "guard"]
    assert guards
    for check in guards:
        assert check.description not in out
    assert "the mapping is wrong" not in out


@pytest.mark.parametrize(("old", "new"), sorted(RENAMED.items()))
def test_old_names_resolve_as_aliases(old: str, new: str) -> None:
    assert catalog.resolve(old) == catalog.resolve(new)
    assert catalog.resolve(new).stem == new
    assert old in loader.load(str(catalog.resolve(new))).metadata.aliases
    shown = CliRunner().invoke(cli, ["show", old])
    assert shown.exit_code == 0 and f"({new}:" in shown.output


def test_list_shows_only_the_new_names() -> None:
    out = listed()
    for old, new in RENAMED.items():
        assert re.search(rf"\s{re.escape(new)}\s", out)
        assert not re.search(rf"\s{re.escape(old)}\s", out), old


def test_a_real_file_wins_over_an_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An instructor's own scenario named like an old alias is found first."""
    own = tmp_path / "wrong-netmask.yaml"
    own.write_text("metadata: {name: wrong-netmask, title: Mine}\nnodes: {a: {}}\n")
    monkeypatch.setenv("NSLAB_SCENARIOS", str(tmp_path))
    assert catalog.resolve("wrong-netmask") == own


def test_an_alias_in_another_directory_resolves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "new-name.yaml").write_text(
        "metadata:\n  name: new-name\n  aliases: [old-name, 'older-name']\n  title: T\nnodes: {a: {}}\n"
    )
    monkeypatch.setenv("NSLAB_SCENARIOS", str(tmp_path))
    assert catalog.resolve("older-name") == tmp_path / "new-name.yaml"
    assert catalog.resolve("old-name") == tmp_path / "new-name.yaml"
