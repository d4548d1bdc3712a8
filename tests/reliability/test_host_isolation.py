"""Host isolation: many up / status / check / down cycles of every shipped scenario leave
the root network namespace exactly as it was, and it stays so while each lab is up.

Compared: links, addresses, routes (v4, v6, every table), policy rules, iptables-save,
ip6tables-save, the nft ruleset, every net.* sysctl, and this suite's own names under
/run/netns and /etc/netns (other developers' labs come and go there: not the root
namespace's state).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.reliability import harness as h
from tests.reliability.conftest import Figures, quick

CLI_CYCLE_BUDGET = 8  # CLI cycles (up, status, check, down) shared out, two at least each
LIBRARY_CYCLE_BUDGET = 24  # the same through the library (what the CLI calls), cheaper


def _check_argv(lab: str) -> list[str] | None:
    ran = h.nslab("check", "--help")
    if ran.code != 0:
        return None
    return ["check", "--lab", lab] if "--lab" in ran.out else ["check", lab]


def _assert_same(before: dict[str, object], when: str, figures: Figures, lab: str = "") -> None:
    """Compare with `before`; `lab`: a lab that is up right now, whose own names are expected."""
    now = h.root_state()
    if lab:
        for key in ("netns_ours", "etc_netns_ours"):
            now[key] = [n for n in now[key] if not n.startswith(f"{lab}-")]
    diffs, notes = h.root_diff(before, now)  # type: ignore[arg-type]
    figures.count("host_isolation", "snapshots_compared")
    for note in notes:
        figures.append("host_isolation", "notes", f"{when}: {note}")
    if diffs:
        figures.count("host_isolation", "leaks_found", len(diffs))
        figures.append("host_isolation", "differences", {when: diffs})
    assert not diffs, f"root namespace changed ({when}):\n" + "\n".join(diffs)


def _cli_cycle(
    path: Path, healthy: bool, before: dict[str, object], figures: Figures, snapshot: bool
) -> None:
    lab = h.new_lab("i")
    up = h.nslab("up", str(path), "--prefix", lab, *(["--healthy"] if healthy else []))
    try:
        assert up.code == 0, up
        if snapshot:
            _assert_same(before, f"{path.name} up", figures, lab)
        status = h.nslab("status", lab)
        assert status.code in (0, 1) and "Traceback" not in status.err, status
        argv = _check_argv(lab)
        if argv is not None:
            check = h.nslab(*argv, timeout=300)
            assert check.code in (0, 1) and "Traceback" not in check.err, check
            figures.count("host_isolation", "checks_run")
            if healthy and re.search(r"^checks:", path.read_text(), re.M):
                assert check.code == 0, check  # a healthy build passes every check
    finally:
        down = h.nslab("down", lab)
    assert down.code == 0, down
    assert not h.wait_clean(lab), h.leftovers(lab)
    figures.count("host_isolation", "cycles")
    figures.count("host_isolation", "cli_cycles")


def test_every_shipped_scenario_leaves_the_root_namespace_alone(figures: Figures) -> None:
    from nslab.labs import lifecycle as library

    shipped = h.shipped_scenarios()
    assert shipped, "no scenario is shipped"
    per_cli = max(2, CLI_CYCLE_BUDGET // len(shipped))
    per_lib = max(2, LIBRARY_CYCLE_BUDGET // len(shipped))
    if quick():
        per_cli, per_lib = 1, 1
    figures.section("host_isolation")["scenarios"] = [p.name for p in shipped]
    before = h.root_state()
    for path in shipped:
        for i in range(per_cli):
            _cli_cycle(path, healthy=bool(i % 2), before=before, figures=figures, snapshot=i < 2)
        for i in range(per_lib):
            name = h.new_lab("l")
            library.up(str(path), prefix=name, healthy=bool(i % 2))
            report = library.down_one(name)
            assert not report.problems, report.problems
            assert not h.wait_clean(name), h.leftovers(name)
            figures.count("host_isolation", "cycles")
            figures.count("host_isolation", "library_cycles")
        _assert_same(before, f"after {path.name}", figures)
    _assert_same(before, "after every cycle", figures)
    figures.count("host_isolation", "leaks_found", 0)


@pytest.mark.parametrize("name", ["reliability-star", "reliability-firewall"])
def test_large_labs_leave_the_root_namespace_alone(name: str, figures: Figures, tmp_path: Path) -> None:
    """Forty namespaces with /etc/netns entries; thousands of rules in five namespaces."""
    from tests.reliability import scenarios

    path = scenarios.STAR if name == "reliability-star" else scenarios.firewall(tmp_path / f"{name}.yaml")
    before = h.root_state()
    _cli_cycle(path, healthy=True, before=before, figures=figures, snapshot=True)
    _assert_same(before, f"after {name}", figures)
