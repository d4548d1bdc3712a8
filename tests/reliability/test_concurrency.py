"""Concurrency: many labs at once under distinct prefixes, each with correct traffic; two
`nslab up` of the same lab at the same moment: one wins, the other gets exit 3."""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.reliability import harness as h
from tests.reliability import scenarios
from tests.reliability.conftest import Figures, quick

LABS = 8


def _mac(ns: str, dev: str) -> str:
    out = subprocess.run(
        ["ip", "-n", ns, "-j", "link", "show", dev], capture_output=True, text=True, check=True
    )
    return str(json.loads(out.stdout)[0]["address"])


def _neighbor_mac(ns: str, ip: str) -> str | None:
    out = subprocess.run(["ip", "-n", ns, "neigh", "show", ip], capture_output=True, text=True, check=True)
    match = re.search(r"lladdr (\S+)", out.stdout)
    return match.group(1) if match else None


def _reject_counter(ns: str) -> int:
    """Packets matched by r1's `--dport 23 -j REJECT` rule (iptables-save -c counters)."""
    saved = h.ns_run(ns, "iptables-save", "-c", "-t", "filter").stdout
    for line in saved.splitlines():
        if "--dport 23" in line and "REJECT" in line:
            return int(line[1:].split(":")[0])
    raise AssertionError(f"no port 23 rule in {ns}:\n{saved}")


def _traffic(kind: str, lab: str) -> list[str]:
    """Prove this lab's traffic stays in this lab. Returns what failed."""
    failed = []
    if kind == "two-hosts":
        if h.ns_run(f"{lab}-h1", "ping", "-c1", "-W2", "10.0.1.2").returncode != 0:
            failed.append(f"{lab}: h1 cannot ping h2")
        # The answer came from this lab's h2: the MAC h1 learned is h2's own.
        if _neighbor_mac(f"{lab}-h1", "10.0.1.2") != _mac(f"{lab}-h2", "eth0"):
            failed.append(f"{lab}: h1 learned a MAC that is not its own lab's h2")
    elif kind == "host-router-host":
        if h.ns_run(f"{lab}-client", "ping", "-c1", "-W2", "10.0.2.10").returncode != 0:
            failed.append(f"{lab}: client cannot reach the server through r1")
    else:
        if h.ns_run(f"{lab}-client", "ping", "-c1", "-W2", "10.30.4.10").returncode != 0:
            failed.append(f"{lab}: client cannot reach the server through three routers")
    return failed


def _firewalls_apart(labs: list[str]) -> list[str]:
    """A telnet attempt in one lab is rejected by that lab's r1, and only that one's rule
    counts it: the same rules in the other labs see nothing."""
    failed = []
    for lab in labs:
        before = {other: _reject_counter(f"{other}-r1") for other in labs}
        refused = h.ns_run(f"{lab}-client", "bash", "-c", "exec 3<>/dev/tcp/10.0.2.10/23", timeout=10)
        after = {other: _reject_counter(f"{other}-r1") for other in labs}
        grew = sorted(other for other in labs if after[other] > before[other])
        if refused.returncode == 0 or grew != [lab]:
            failed.append(f"{lab}: telnet attempt counted by {grew} (refused: {refused.returncode != 0})")
    return failed


def _check_argv(lab: str) -> list[str] | None:
    ran = h.nslab("check", "--help")
    if ran.code != 0:
        return None
    return ["check", "--lab", lab] if "--lab" in ran.out else ["check", lab]


def test_many_labs_at_once(figures: Figures, tmp_path: Path) -> None:
    kinds = ["two-hosts", "host-router-host", "firewall"]
    paths = {
        "two-hosts": h.SHIPPED / "two-hosts.yaml",
        "host-router-host": h.SHIPPED / "host-router-host.yaml",
        "firewall": scenarios.firewall(tmp_path / "reliability-firewall.yaml"),
    }
    count = 8 if quick() else LABS
    labs = [(kinds[i % len(kinds)], h.new_lab("c")) for i in range(count)]
    procs = [h.spawn("up", str(paths[kind]), "--prefix", lab, "--healthy") for kind, lab in labs]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    try:
        for (kind, lab), (code, out, err) in zip(labs, results, strict=True):
            assert code == 0, (kind, lab, out, err)
        up_at_once = [lab for _, lab in labs if h.lab_netns(lab)]
        figures.section("concurrency")["labs_at_once"] = len(up_at_once)
        assert len(up_at_once) == count
        failures: list[str] = []
        for kind, lab in labs:
            failures += _traffic(kind, lab)
            figures.count("concurrency", "traffic_checks")
        routed = [lab for kind, lab in labs if kind == "host-router-host"]
        failures += _firewalls_apart(routed)
        figures.count("concurrency", "traffic_checks", len(routed))
        assert not failures, failures
        with ThreadPoolExecutor(max_workers=count) as pool:
            statuses = list(pool.map(lambda item: h.nslab("status", item[1]), labs))
        assert all(s.code == 0 for s in statuses), [str(s) for s in statuses if s.code]
        if _check_argv(labs[0][1]) is not None:
            with ThreadPoolExecutor(max_workers=count) as pool:
                checks = list(pool.map(lambda item: h.nslab(*_check_argv(item[1]) or [], timeout=300), labs))
            for (kind, _), check in zip(labs, checks, strict=True):
                assert "Traceback" not in check.err, check
                assert check.code in (0, 1), check
                if re.search(r"^checks:", paths[kind].read_text(), re.M):
                    assert check.code == 0, check  # healthy builds pass every check
                figures.count("concurrency", "checks_run")
    finally:
        with ThreadPoolExecutor(max_workers=count) as pool:
            downs = list(pool.map(lambda item: h.nslab("down", item[1]), labs))
    assert all(d.code == 0 for d in downs), [str(d) for d in downs if d.code]
    left = {lab: h.wait_clean(lab) for _, lab in labs}
    left = {k: v for k, v in left.items() if v}
    figures.count("concurrency", "leaks_found", sum(len(v) for v in left.values()))
    assert not left, left


@pytest.mark.parametrize("round_", range(2 if quick() else 4))
def test_two_ups_of_the_same_lab(round_: int, figures: Figures) -> None:
    """Both start at once: exactly one builds the lab, the other says it is up (exit 3)."""
    lab = h.new_lab("s")
    path = h.SHIPPED / ("two-hosts.yaml" if round_ % 2 else "host-router-host.yaml")
    argv = ("up", str(path), "--prefix", lab, "--healthy")
    first, second = h.spawn(*argv), h.spawn(*argv)
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in (first, second)]
    try:
        codes = sorted(code for code, _, _ in outcomes)
        figures.append("concurrency", "same_lab_race_exits", codes)
        assert codes == [0, 3], outcomes
        loser = next(o for o in outcomes if o[0] == 3)
        assert "already up" in loser[2] and "Traceback" not in loser[2], loser
        node, target = ("h1", "10.0.1.2") if round_ % 2 else ("client", "10.0.2.10")
        assert h.ns_run(f"{lab}-{node}", "ping", "-c1", "-W2", target).returncode == 0
    finally:
        down = h.nslab("down", lab)
    assert down.code == 0, down
    left = h.wait_clean(lab)
    figures.count("concurrency", "same_lab_races")
    figures.count("concurrency", "leaks_found", len(left))
    assert not left, left
