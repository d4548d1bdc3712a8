"""Run checks in parallel, each in a thread that entered its node's namespace.

No process per probe: a thread setns()es into the node (the namespace belongs to the
thread, kernel-gotchas #1), so sockets it opens live there. All checks start at once, so a
run takes about its longest timeout (plus retry window), not the sum of them. A check with
`within` is retried until it passes or the window closes (for convergence after a fix).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from nslab.checks import probes as probe_table
from nslab.checks.context import ProbeContext
from nslab.checks.observation import ERROR, Observation, error
from nslab.grading.judge import judge
from nslab.grading.report import CheckRun
from nslab.kernel import libc, netns
from nslab.scenario import model as m

log = logging.getLogger(__name__)

RETRY_GAP = 0.2  # seconds between attempts of a failing check with a retry window
GRACE = 2.0  # how long past its budget a probe may overrun before it is reported stuck

Probe = Callable[[ProbeContext, m.Check], Observation]


def netns_name(lab: str, node: str) -> str:
    """Same as nslab.engine.naming.netns_name (a test holds them equal), without importing that module's
    build-id machinery (secrets, hmac) on the grading path."""
    return f"{lab}-{node}"


# Writing here drops the namespace's routing cache, PMTU exceptions and redirects included
# (what `ip route flush cache` does); /proc/sys/net follows the writing thread's namespace.
ROUTE_CACHE_FLUSH = ("/proc/sys/net/ipv4/route/flush", "/proc/sys/net/ipv6/route/flush")


def forget_learned_paths(lab: str, nodes: Sequence[str]) -> None:
    """Make every node forget what traffic taught it about paths, before and after grading.

    A probe's large transfer, or a learner's `ping -M do`, that draws a frag-needed caches a
    smaller path MTU, after which TCP advertises a smaller MSS and an MTU black hole seems
    healed (kernel-gotchas 16). A grade must reflect the lab's configuration, and a check must
    not leave the lab behaving differently for the learner's next command.
    """

    def flush() -> None:
        for path in ROUTE_CACHE_FLUSH:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
            except FileNotFoundError:  # IPv6 disabled in this namespace
                continue
            try:
                os.write(fd, b"1")
            finally:
                os.close(fd)

    for node in nodes:
        try:
            netns.run_in(netns_name(lab, node), flush)
        except OSError:  # a node whose namespace is gone: its checks report it
            log.debug("could not flush the route cache of %s", node, exc_info=True)


def owners_of(scenario: m.Scenario) -> dict[str, str]:
    """Address -> node name, so that reports can say 'r1 (10.0.1.1)'."""
    return {str(a.ip): node.name for node in scenario.nodes.values() for _, a in node.addresses()}


def _attempts(lab: str, check: m.Check, probe: Probe, owners: Mapping[str, str]) -> CheckRun:
    started = time.monotonic()
    ns = netns_name(lab, check.node)
    try:
        fd = netns.open_fd(ns)
    except FileNotFoundError:
        obs = error(f"node {check.node}'s namespace {ns} is gone (the lab is damaged: see 'nslab status')")
        return CheckRun(check, obs, 0, time.monotonic() - started)
    try:
        libc.setns_net(fd)
    finally:
        os.close(fd)
    seen: list[Observation] = []
    while True:
        obs = _observe(lab, ns, check, probe, owners)
        seen.append(obs)
        elapsed = time.monotonic() - started
        if judge(check, obs).passed:
            return CheckRun(check, obs, len(seen), elapsed)
        if elapsed + RETRY_GAP >= check.within:
            return CheckRun(check, most_informative(seen), len(seen), elapsed)
        time.sleep(RETRY_GAP)


def _informative(obs: Observation) -> int:
    """Silence says least: the kernel rate-limits its own ICMP errors (about one a second after
    a burst), so later attempts of a retry loop often time out where the first saw an error."""
    if obs.outcome == "timeout":
        return 1
    return 0 if obs.outcome == ERROR else 2


def most_informative(seen: Sequence[Observation]) -> Observation:
    """The failing attempt to report: the latest of the most informative ones (an ICMP error
    or a RST beats silence), with a count of what every attempt saw when they differ."""
    best = max(reversed(seen), key=_informative)
    counts = Counter(o.outcome for o in seen)
    if len(counts) < 2:
        return best
    summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.most_common())
    return Observation(
        best.outcome,
        f"{best.detail} [{len(seen)} attempts: {summary}]",
        {**best.evidence, "attempts": dict(counts)},
    )


def _observe(lab: str, ns: str, check: m.Check, probe: Probe, owners: Mapping[str, str]) -> Observation:
    """One attempt: the probe `check.repeat` times in a row, stopping at the first miss."""
    for round_ in range(1, check.repeat + 1):
        ctx = ProbeContext.start(lab, check.node, ns, check.timeout, owners)
        try:
            obs = probe(ctx, check)
        except Exception as exc:  # a probe bug must not hide the other results
            log.debug("probe %s crashed", check.name, exc_info=True)
            return error(f"the {check.kind} probe failed: {type(exc).__name__}: {exc} (a bug in nslab)")
        if check.repeat == 1:
            return obs
        evidence = {**obs.evidence, "round": round_, "repeat": check.repeat}
        if not judge(check, obs).passed:
            return Observation(obs.outcome, f"try {round_} of {check.repeat}: {obs.detail}", evidence)
    return Observation(obs.outcome, f"{obs.detail} ({check.repeat} times in a row)", evidence)


def run_checks(
    lab: str,
    checks: Sequence[m.Check],
    owners: Mapping[str, str] | None = None,
) -> list[CheckRun]:
    """Probe every check at once; results come back in the order of `checks`."""
    probes: dict[str, Probe] = {kind: probe_table.load(kind) for kind in {c.kind for c in checks}}
    results: list[CheckRun | None] = [None] * len(checks)
    finished = threading.Event()
    lock = threading.Lock()
    pending = [len(checks)]

    def body(index: int, check: m.Check) -> None:
        try:
            results[index] = _attempts(lab, check, probes[check.kind], owners or {})
        except BaseException as exc:
            results[index] = CheckRun(check, error(f"could not run the probe: {exc}"), 0, 0.0)
        finally:
            with lock:
                pending[0] -= 1
                if pending[0] == 0:
                    finished.set()

    if not checks:
        return []
    budget = max(c.timeout + c.within for c in checks) + GRACE
    started = time.monotonic()
    for index, check in enumerate(checks):
        threading.Thread(target=body, args=(index, check), name=f"check:{check.name}", daemon=True).start()
    # An Event, not join(): Ctrl-C must reach the main thread at once (see build.py).
    while not finished.wait(0.05):
        if time.monotonic() - started > budget:
            break
    return [
        run
        if run is not None
        else CheckRun(
            check, error(f"the probe did not finish within {budget:.1f} s (a bug in nslab)"), 0, budget
        )
        for run, check in zip(results, checks, strict=True)
    ]
