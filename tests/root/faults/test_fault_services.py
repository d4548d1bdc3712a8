"""Faults in services and names, against the real service implementations, and the whole
chain from a seed: the seed picks the fault and the port, the lab is broken exactly there,
and `nslab check` (whose checks name the same port) fails until it is fixed.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from nslab.labs import lifecycle as lab
from nslab.scenario import loader
from tests.root.faults.test_fault_tools import (
    SCENARIOS,
    assert_broken_grade,
    assert_healthy_grade,
    built,
    graded,
    nc_probe,
    run,
)

APP = "10.0.1.20"


def service_start(prefix: str, name: str) -> None:
    """What the learner types: `nslab service start NAME`."""
    cli = [sys.executable, "-m", "nslab", "service", "start", name, "--lab", prefix]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def listeners(prefix: str, node: str) -> str:
    return run(prefix, node, "ss", "-Htln").text


@pytest.mark.parametrize("healthy", [False, True], ids=["broken", "healthy"])
def test_dead_listener_is_refused_until_started(prefix: str, healthy: bool) -> None:
    with built("fault-services", prefix, healthy, fault="dead-listener", port=9000) as p:
        if healthy:
            assert "succeeded" in nc_probe(p, "client", APP, 9000)
            assert_healthy_grade(graded(p))
            return
        # The host answers (RST) at once: nothing listens. ss on the server agrees.
        assert "Connection refused" in nc_probe(p, "client", APP, 9000)
        assert ":9000 " not in listeners(p, "server")
        assert_broken_grade(graded(p))
        service_start(p, "app")
        assert "succeeded" in nc_probe(p, "client", APP, 9000)
        assert_healthy_grade(graded(p))


@pytest.mark.parametrize("healthy", [False, True], ids=["broken", "healthy"])
def test_bind_localhost_answers_itself_only(prefix: str, healthy: bool) -> None:
    with built("fault-services", prefix, healthy, fault="bind-localhost", port=9000) as p:
        assert "succeeded" in nc_probe(p, "server", "127.0.0.1", 9000)  # "but it works on the server!"
        remote = nc_probe(p, "client", APP, 9000)
        if healthy:
            assert "succeeded" in remote and "0.0.0.0:9000 " in listeners(p, "server")
            assert_healthy_grade(graded(p))
        else:
            assert "Connection refused" in remote, remote
            assert "127.0.0.1:9000 " in listeners(p, "server")
            assert_broken_grade(graded(p))


@pytest.mark.parametrize("healthy", [False, True], ids=["broken", "healthy"])
def test_wrong_record_on_the_authoritative_server(prefix: str, healthy: bool) -> None:
    with built("fault-authdns", prefix, healthy) as p:
        want = "10.0.1.80" if healthy else "10.0.1.99"
        assert run(p, "client", "dig", "+short", "@10.0.1.53", "www.lab").text.split() == [want]
        # The CNAME follows the A record; getent (what applications use) agrees.
        assert run(p, "client", "dig", "+short", "web.lab").text.split() == ["www.lab.", want]
        assert run(p, "client", "getent", "hosts", "www.lab").text.split()[0] == want
        assert run(p, "client", "dig", "+short", "ns.lab").text.split() == ["10.0.1.53"]
        if healthy:
            assert_healthy_grade(graded(p))
        else:
            assert_broken_grade(graded(p))


@pytest.mark.parametrize("healthy", [False, True], ids=["broken", "healthy"])
def test_wrong_record_through_the_resolver(prefix: str, healthy: bool) -> None:
    with built("fault-dns", prefix, healthy, fault="wrong-dns-record") as p:
        answer = run(p, "client", "dig", "+noall", "+answer", "www.lab").text
        site = run(p, "client", "curl", "-sS", "-m", "2", "http://www.lab/")
        if healthy:
            assert "IN\tA\t10.0.1.80" in answer and "welcome" in site.text, (answer, site)
            assert_healthy_grade(graded(p))
        else:
            assert "IN\tA\t10.0.1.99" in answer, answer
            assert site.rc != 0 and "timed out" in site.text, site  # nobody has 10.0.1.99
            assert_broken_grade(graded(p))


@pytest.mark.parametrize("healthy", [False, True], ids=["broken", "healthy"])
def test_resolver_down_fails_every_lookup_until_started(prefix: str, healthy: bool) -> None:
    with built("fault-dns", prefix, healthy, fault="resolver-down") as p:
        asked = run(p, "client", "dig", "+tries=1", "+time=2", "www.lab")
        direct = run(p, "client", "dig", "+short", "@10.0.1.53", "www.lab").text.split()
        assert direct == ["10.0.1.80"]  # the authority is fine either way
        if healthy:
            assert "status: NOERROR" in asked, asked
            assert_healthy_grade(graded(p))
            return
        assert "10.0.1.54#53: connection refused" in asked and "no servers could be reached" in asked, asked
        assert "Could not resolve host: www.lab" in run(
            p, "client", "curl", "-sS", "-m", "2", "http://www.lab/"
        )
        assert_broken_grade(graded(p))
        service_start(p, "rec")
        assert run(p, "client", "dig", "+short", "www.lab").text.split() == ["10.0.1.80"]
        assert_healthy_grade(graded(p))


# --- from a seed to a grade ------------------------------------------------------------------

EXPECTED = {
    "dead-listener": "Connection refused",
    "bind-localhost": "Connection refused",
    "firewall-reject": "Connection refused",
    "firewall-drop": "timed out",
}


def seeds_per_fault() -> dict[str, str]:
    """The first learner seed that draws each fault (found by loading, no root needed)."""
    path = str(SCENARIOS / "fault-services.yaml")
    found: dict[str, str] = {}
    for i in range(200):
        seed = f"learner-{i}"
        found.setdefault(loader.load(path, seed=seed).chosen["fault"], seed)
    assert set(found) == set(EXPECTED)
    return found


@pytest.mark.parametrize(("fault", "seed"), sorted(seeds_per_fault().items()))
def test_a_seed_picks_fault_and_port_and_the_checks_follow(prefix: str, fault: str, seed: str) -> None:
    path = str(SCENARIOS / "fault-services.yaml")
    up = lab.up(path, prefix=prefix, seed=seed, allow_exec=True)
    try:
        port = up.scenario.chosen["port"]
        assert up.scenario.chosen["fault"] == fault
        others = {8080, 8443, 9000} - {port}
        assert EXPECTED[fault] in nc_probe(prefix, "client", APP, port).text
        for other in others:  # nothing listens there in any variant: refused, never dropped
            assert "Connection refused" in nc_probe(prefix, "client", APP, other).text
        report = graded(prefix)
        assert_broken_grade(report)
        [app_open] = [r for r in report.results if r.name == "app-open"]
        assert app_open.evidence.get("port") == port or f":{port}" in app_open.explanation, app_open
    finally:
        lab.down_one(prefix)
    up = lab.up(path, prefix=prefix, seed=seed, healthy=True, allow_exec=True)
    try:
        assert up.scenario.chosen == {"fault": fault, "port": port}
        assert "succeeded" in nc_probe(prefix, "client", APP, port).text
        assert_healthy_grade(graded(prefix))
    finally:
        lab.down_one(prefix)
