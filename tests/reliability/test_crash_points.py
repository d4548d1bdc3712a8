"""Crash safety: kill `nslab up` at many points of a build; `nslab down` must leave nothing.

Each kill point is a condition on what the build has visibly done (see watch.py). The
build is frozen the moment the condition holds, what exists is recorded, and then it gets
SIGKILL (or SIGTERM, whose rollback must leave nothing even without `nslab down`). After
`nslab down`: no namespace, /etc/netns entry, state file or process of the lab may remain,
and no process may still sit in (or hold) one of the lab's namespaces.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reliability import harness as h
from tests.reliability import scenarios
from tests.reliability.conftest import Figures, quick
from tests.reliability.watch import Predicate, Progress, Watcher, force_clean


@dataclass(frozen=True)
class Point:
    scenario: str
    name: str
    test: Predicate
    sig: int = signal.SIGKILL

    @property
    def id(self) -> str:
        return f"{self.scenario}:{self.name}"


def named(k: int) -> Predicate:
    return lambda p: p.named >= k


def all_named(p: Progress) -> bool:
    return p.all_named


def etc(k: int) -> Predicate:
    return lambda p: p.etc >= k


def configuring(k: int) -> Predicate:
    """Pass 2 (addresses, routes, sysctls) has reached node k: the build's worker thread sits
    in node k's namespace after every namespace got its name (the last index is ambiguous
    with the end of pass 1, so it is never a target)."""
    return lambda p: p.all_named and p.worker_node is not None and k <= p.worker_node < p.total - 1


def rules_loading(k: int) -> Predicate:
    return lambda p: p.restores_running >= k


def rules_loaded(k: int) -> Predicate:
    """k nodes have their rules in (their iptables-restore ended) and at least one still loads."""
    return lambda p: p.restores_done >= k and p.restores_running >= 1


def services(k: int) -> Predicate:
    return lambda p: p.services_seen >= k


def listening(k: int) -> Predicate:
    return lambda p: p.listening >= k and not p.done


def worker_started(p: Progress) -> bool:
    """Every /etc/netns entry written, a second thread running (the kernel worker), and no
    namespace journaled yet: the instant the worker has started."""
    return p.etc >= STAR_HOSTS and p.threads >= 2 and not p.op("netns")


def state_dir(p: Progress) -> bool:
    return p.state_dir


def header(p: Progress) -> bool:
    return p.op("lab") > 0


def meta(p: Progress) -> bool:
    return p.meta


def netns_journaled(p: Progress) -> bool:
    return p.op("netns") > 0


def journal_done(p: Progress) -> bool:
    return p.done


def proc_journaled(p: Progress) -> bool:
    return p.op("proc") > 0


TERM = signal.SIGTERM
STAR_HOSTS = 40  # reliability-star.yaml: sw1, then h1..h40

POINTS = [
    Point("two-hosts", "state-dir", state_dir),
    Point("two-hosts", "journal-header", header),
    Point("two-hosts", "meta-written", meta),
    Point("two-hosts", "netns-journaled", netns_journaled),
    Point("two-hosts", "named-1", named(1)),
    Point("two-hosts", "named-2", named(2)),
    Point("two-hosts", "journal-done", journal_done),
    Point("host-router-host", "state-dir", state_dir),
    Point("host-router-host", "named-1", named(1)),
    Point("host-router-host", "named-2", named(2)),
    Point("host-router-host", "named-all", all_named),
    Point("host-router-host", "rules-loading", rules_loading(1)),
    Point("host-router-host", "journal-done", journal_done),
    Point("star", "state-dir", state_dir),
    Point("star", "journal-header", header),
    Point("star", "meta-written", meta),
    *[Point("star", f"etc-{k}", etc(k)) for k in (1, 10, 20, 30, STAR_HOSTS)],
    Point("star", "netns-journaled", netns_journaled),
    *[Point("star", f"named-{k}", named(k)) for k in (1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40)],
    Point("star", "named-all", all_named),
    *[Point("star", f"configuring-{k}", configuring(k)) for k in (1, 5, 10, 15, 20, 25, 30, 35)],
    Point("star", "journal-done", journal_done),
    Point("firewall", "state-dir", state_dir),
    Point("firewall", "etc-1", etc(1)),
    Point("firewall", "named-1", named(1)),
    Point("firewall", "named-3", named(3)),
    Point("firewall", "named-all", all_named),
    Point("firewall", "rules-loading-1", rules_loading(1)),
    Point("firewall", "rules-loading-3", rules_loading(3)),
    *[Point("firewall", f"rules-loaded-{k}", rules_loaded(k)) for k in (1, 2, 3, 4)],
    Point("firewall", "journal-done", journal_done),
    # SIGTERM: the build must roll itself back completely.
    Point("host-router-host", "term-named-2", named(2), TERM),
    Point("star", "term-etc-20", etc(20), TERM),
    Point("star", "worker-started", worker_started),
    Point("star", "term-worker-started", worker_started, TERM),
    Point("star", "term-named-8", named(8), TERM),
    Point("star", "term-named-30", named(30), TERM),
    Point("star", "term-configuring-20", configuring(20), TERM),
    Point("firewall", "term-rules-loading-1", rules_loading(1), TERM),
    Point("firewall", "term-rules-loaded-2", rules_loaded(2), TERM),
    # Services: active once a service kind works (other developers are writing them).
    Point("services", "spawned-1", services(1)),
    Point("services", "proc-journaled", proc_journaled),
    Point("services", "spawned-4", services(4)),
    Point("services", "listening-1", listening(1)),
    Point("services", "listening-3", listening(3)),
    Point("services", "journal-done", journal_done),
    Point("services", "term-listening-1", listening(1), TERM),
]
if quick():  # inside the container run: a spread of every phase, a third of the points
    POINTS = POINTS[::3]

FIREWALL_NODES = {
    "host-router-host": ["r1"],
    "firewall": list(scenarios.FIREWALL_SIZES),
    "services": [],
    "two-hosts": [],
    "star": [],
}


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        "two-hosts": h.SHIPPED / "two-hosts.yaml",
        "host-router-host": h.SHIPPED / "host-router-host.yaml",
        "star": scenarios.STAR,
        "firewall": scenarios.firewall(tmp_path_factory.mktemp("fw") / "reliability-firewall.yaml"),
        "services": scenarios.SERVICES,
    }


@pytest.fixture(scope="module", autouse=True)
def host_untouched(figures: Figures) -> Iterator[None]:
    """The root namespace is the same after every kill point as before the first."""
    before = h.root_state()
    yield
    diffs, notes = h.root_diff(before, h.root_state())
    figures.section("crash")["root_namespace_differences"] = diffs
    figures.section("crash")["root_namespace_notes"] = notes
    assert not diffs, "\n".join(diffs)


def _record(figures: Figures, point: Point, entry: dict[str, Any]) -> None:
    part = figures.section("crash")
    figures.count("crash", "kill_points_tried")
    figures.count("crash", "kill_points_hit", int(entry["hit"]))
    key = "sigterm_points" if point.sig == TERM else "sigkill_points"
    figures.count("crash", f"{key}_tried")
    figures.count("crash", f"{key}_hit", int(entry["hit"]))
    known = entry.get("known_bug_leaks") or {}
    unexplained = entry.get("leaks") or {}
    figures.count("crash", "leaks_found", sum(map(len, known.values())) + sum(map(len, unexplained.values())))
    figures.count("crash", "leaks_unexplained", sum(map(len, unexplained.values())))
    for bug, items in known.items():
        figures.count("crash", f"known_bug_{bug}", len(items))
    part.setdefault("points", []).append(entry)


@pytest.mark.parametrize("point", POINTS, ids=lambda p: p.id)
def test_kill_point(point: Point, paths: dict[str, Path], figures: Figures, service_support: str) -> None:
    path = paths[point.scenario]
    if not path.exists():
        pytest.skip(f"{path} is no longer shipped")
    if point.scenario == "services" and service_support:
        pytest.skip(f"services do not work yet: {service_support}")
    lab = h.new_lab("k")
    watcher = Watcher(path, lab)
    entry: dict[str, Any] = {"scenario": point.scenario, "point": point.name, "signal": point.sig.name}
    leaks: dict[str, list[Any]] = {}
    try:
        hit = watcher.wait_for(point.test)
        if hit:
            watcher.freeze()
            hit = watcher.frozen_alive()
        entry["hit"] = hit
        if hit:
            entry["observed"] = watcher.snapshot(FIREWALL_NODES[point.scenario])
            code = watcher.deliver(point.sig)
        else:
            watcher.abandon()
            code = watcher.proc.returncode
        entry["up_exit"] = code
        race: dict[str, list[Any]] = {}
        if hit and point.sig == TERM:
            # The rollback alone must leave nothing; `down` then has nothing to do.
            entry["leaks_after_rollback"] = h.wait_clean(lab, watcher.tracked)
            left = entry["leaks_after_rollback"]
            if set(left) <= {"netns", "etc_netns"} and left and not h.has_state(lab):
                race = {"sigterm-rollback-race": [*left.get("netns", []), *left.get("etc_netns", [])]}
        down = h.nslab("down", lab)
        entry["down_exit"] = down.code
        leaks = h.wait_clean(lab, watcher.tracked)
        held = h.fd_holders(watcher.tracked.inodes)
        if held:
            leaks["namespace_fds_held"] = held
        known, leaks = h.explain(leaks)
        if race:
            known.update(race)
            leaks = {k: v for k, v in leaks.items() if k not in ("netns", "etc_netns")}
        entry["leaks"] = leaks
        entry["known_bug_leaks"] = known
    finally:
        if leaks or h.leftovers(lab):
            entry["forced_cleanup"] = force_clean(lab, watcher.tracked)
        entry.setdefault("hit", False)
        _record(figures, point, entry)
    assert "Traceback" not in down.err + watcher.output[1], down
    assert not leaks, f"after `nslab down` at {point.id}: {leaks}\n{entry.get('observed')}\n{down}"
    if known:
        pytest.xfail(f"known engine bug(s) {sorted(known)}: {known}")
    if not hit:
        assert code == 0, f"the build finished without being killed but failed:\n{watcher.output}"
        assert down.code == 0, down
    elif point.sig == TERM:
        assert not entry["leaks_after_rollback"], entry
        assert code == 130, (code, watcher.output)
        assert down.code == 3, down  # nothing is up any more
    else:
        assert code == -signal.SIGKILL
        assert down.code == 0, down  # every point comes after the state directory exists


def test_kill_point_figures(figures: Figures) -> None:
    """The figures the issue asks for: at least 50 kill points hit, none leaving anything."""
    part = figures.section("crash")
    points = part.get("points", [])
    if not points:
        pytest.skip("no kill point ran")
    states = {
        (
            p["scenario"],
            p["observed"]["phase"],
            p["observed"]["named"],
            p["observed"]["etc_netns"],
            tuple(sorted(p["observed"]["journal"].items())),
            p["observed"]["worker_in"],
            tuple(sorted(p["observed"]["rules"].items())),
            len(p["observed"]["children"]),
        )
        for p in points
        if p["hit"]
    }
    part["distinct_states_hit"] = len(states)
    part["phases_hit"] = sorted({p["observed"]["phase"] for p in points if p["hit"]})
    part["missed"] = [f"{p['scenario']}:{p['point']}" for p in points if not p["hit"]]
    need = 15 if quick() else 50
    assert part.get("sigkill_points_hit", 0) >= need, part["missed"]
    assert part.get("leaks_unexplained", 0) == 0
