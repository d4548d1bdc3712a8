"""The CI container for real: build container/Containerfile with podman and run nslab inside
it, privileged, in a network namespace of its own (--network none).

Privileged containers in CI are one of nslab's three uses, so this must not quietly skip
where it should run: without podman, runc or debootstrap it FAILS as root or under CI=true
(scripts/install-ci-extras.sh installs them), and only skips for a developer without root.
It caches, under /var/tmp/nslab-podman-cache (or $NSLAB_PODMAN_CACHE), in podman storage of
its own (--root), so the host's own podman images are never touched:
  - the base image debian:bookworm, made with debootstrap (no registry needed);
  - podman's layer cache and the nslab image built from this checkout (tag nslab-test).
podman reads a containers.conf of its own (CONTAINERS_CONF: no ulimits raised beyond this
machine's hard limit); /etc/containers is never edited. A re-run with unchanged sources
takes seconds. Containers are always removed; to drop the cache:
podman --root DIR/storage --runroot DIR/run system reset -f && rm -rf DIR.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nslab.scenario import loader
from tests.container.vagrant_config import REPO, evaluate, ruby

CACHE = Path(os.environ.get("NSLAB_PODMAN_CACHE", "/var/tmp/nslab-podman-cache"))
BASE_IMAGE = "debian:bookworm"  # the Containerfile's FROM
IMAGE = "localhost/nslab-test:latest"
# The host's CA bundle, handed to pip in the build: where HTTPS goes through a proxy that the
# host trusts (as on the machines this was written on), the build trusts it too.
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def _missing() -> str | None:
    absent = [tool for tool in ("podman", "runc", "debootstrap") if shutil.which(tool) is None]
    if absent:
        return f"{', '.join(absent)} not installed (bash scripts/install-ci-extras.sh installs them)"
    if os.geteuid() != 0:
        return "needs root (privileged containers)"
    return None


def _must_run() -> bool:
    """CI, or root: where a skip would hide that the CI path was never tried."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes") or os.geteuid() == 0


pytestmark = [
    pytest.mark.skipif(_missing() is not None and not _must_run(), reason=_missing() or ""),
    pytest.mark.slow,
    pytest.mark.timeout(1200),
]


@dataclass
class Podman:
    """podman with storage, configuration and runtime of our own, and a record of timings."""

    cache: Path
    timings: dict[str, float] = field(default_factory=dict)
    _names: Iterator[int] = field(default_factory=itertools.count)

    @property
    def base(self) -> list[str]:
        runc = shutil.which("runc") or "runc"
        return [
            "podman",
            "--root",
            str(self.cache / "storage"),
            "--runroot",
            str(self.cache / "run"),
            "--runtime",
            runc,
            "--cgroup-manager=cgroupfs",
        ]

    @property
    def env(self) -> dict[str, str]:
        # Podman raises the open-files limit above this machine's hard limit unless told not to;
        # our own containers.conf says so without editing /etc/containers.
        return dict(os.environ, CONTAINERS_CONF=str(self.cache / "containers.conf"))

    def __call__(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.base, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def has_image(self, name: str) -> bool:
        return self("image", "exists", name).returncode == 0

    def run(
        self,
        image: str,
        *command: str,
        privileged: bool = True,
        network: str = "none",
        volumes: tuple[str, ...] = (),
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """One container, removed afterwards whatever happens (also on a timeout)."""
        name = f"nslab-test-{os.getpid()}-{next(self._names)}"
        args = ["run", "--rm", "--name", name, "--network", network]
        args += ["--privileged"] if privileged else []
        for volume in volumes:
            args += ["-v", volume]
        started = time.monotonic()
        try:
            return self(*args, image, *command, timeout=timeout)
        finally:
            self.timings["run " + " ".join(" ".join(command).split())[:70]] = time.monotonic() - started
            self("rm", "--force", "--ignore", name)
            assert name not in self("ps", "--all", "--format", "{{.Names}}").stdout.split()

    def host_trust_volumes(self) -> tuple[str, ...]:
        if not HOST_CA.is_file():
            return ()
        return (f"{self.cache / 'pip.conf'}:/etc/pip.conf:ro", f"{HOST_CA}:/etc/nslab-host-ca.crt:ro")


def _ensure_base(podman: Podman) -> None:
    if podman.has_image(BASE_IMAGE):
        return
    tree = podman.cache / f"rootfs.{os.getpid()}"
    started = time.monotonic()
    try:
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(tree), "http://deb.debian.org/debian"],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, f"debootstrap failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        # tar TREE | podman ... import - debian:bookworm
        pipeline = 'tar -C "$1" -c . | "${@:2}" import - "$0"'
        imported = subprocess.run(
            ["bash", "-o", "pipefail", "-c", pipeline, BASE_IMAGE, str(tree), *podman.base],
            env=podman.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert imported.returncode == 0, f"podman import failed: {imported.stderr}"
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    podman.timings["base image (debootstrap + import)"] = time.monotonic() - started


@pytest.fixture(scope="module")
def podman() -> Iterator[Podman]:
    if (missing := _missing()) is not None:
        pytest.fail(f"the container test must run here (root or CI=true): {missing}", pytrace=False)
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "containers.conf").write_text("[containers]\ndefault_ulimits = []\n")
    (CACHE / "pip.conf").write_text("[global]\ncert = /etc/nslab-host-ca.crt\n")
    tool = Podman(CACHE)
    yield tool
    for what, seconds in tool.timings.items():
        print(f"podman timing: {what}: {seconds:.1f} s")
    leftovers = [
        n for n in tool("ps", "--all", "--format", "{{.Names}}").stdout.split() if n.startswith("nslab-test-")
    ]
    assert not leftovers, f"containers left behind: {leftovers}"


@pytest.fixture(scope="module")
def image(podman: Podman) -> Iterator[str]:
    """The nslab image of this checkout; podman's layer cache makes an unchanged rebuild quick.

    Developers share this machine and this cache: building takes the lock exclusively, and
    using the images holds it shared, so no build replaces an image under a running module.
    """
    with open(podman.cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _ensure_base(podman)
        volumes = [arg for v in podman.host_trust_volumes() for arg in ("-v", v)]
        started = time.monotonic()
        # The build needs the network (apt, PyPI); it runs no lab, so the host's is fine.
        done = podman(
            "build",
            "--network",
            "host",
            "--pull=never",
            *volumes,
            "-f",
            str(REPO / "container" / "Containerfile"),
            "-t",
            IMAGE,
            str(REPO),
            timeout=1200,
        )
        podman.timings["image build"] = time.monotonic() - started
        assert done.returncode == 0, f"image build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        # The image this build replaced, if any; layers the new one still uses stay.
        podman("image", "prune", "--force")
        fcntl.flock(lock, fcntl.LOCK_SH)
        yield IMAGE


@pytest.fixture(scope="module")
def base(image: str) -> str:
    """The debootstrapped Debian bookworm the image is built FROM (made by `image`)."""
    return BASE_IMAGE


def _nslab_commands(podman: Podman, image: str) -> list[str]:
    done = podman.run(image, "cat", "/usr/local/share/nslab/commands")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


def test_doctor_is_green_in_a_privileged_container(podman: Podman, image: str) -> None:
    done = podman.run(image)  # the image's default command: doctor
    assert done.returncode == 0, done.stdout + done.stderr
    for finding in ("network namespaces", "kernel veth", "kernel bridge", "iptables in a namespace"):
        assert any(line.startswith("ok") and finding in line for line in done.stdout.splitlines()), finding
    assert "not privileged" not in done.stderr


def test_unprivileged_container_is_told_what_to_do(podman: Podman, image: str) -> None:
    done = podman.run(image, "doctor", privileged=False)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "run it with --privileged" in done.stderr  # the entrypoint's warning
    assert "FAIL network namespaces" in done.stdout


def test_unprivileged_up_is_an_environment_error(podman: Podman, image: str) -> None:
    done = podman.run(image, "up", "two-hosts", privileged=False)
    assert done.returncode == 4, done.stdout + done.stderr
    said = [line for line in done.stderr.splitlines() if not line.startswith("nslab-entrypoint:")]
    assert not [line for line in said if "Traceback" in line], done.stderr
    assert any("--privileged" in line for line in said), "nslab itself should name the remedy"


def test_lab_up_probe_down_inside_the_container(podman: Podman, image: str) -> None:
    """A healthy two-hosts lab (without its fault): h1 reaches h2, and no address beyond."""
    host_before = _host_links()
    script = """
        set -e
        nslab up two-hosts --healthy --prefix vmc
        nslab exec h1 -- ping -c1 -W2 10.0.1.2
        if nslab exec h1 -- ping -c1 -W1 10.0.1.99; then echo 'UNEXPECTED: reached 10.0.1.99'; exit 9; fi
        nslab status
        nslab down vmc
        echo "netns left: [$(ip netns list)]"
        echo "state left: [$(ls -A /run/nslab)]"
        echo "links: [$(ls /sys/class/net | tr '\\n' ' ')]"
    """
    done = podman.run(image, "sh", "-c", script)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "lab vmc is up" in out
    assert "1 received" in out and "0 received" in out  # the probe, and one that must fail
    assert "lab vmc is down" in out
    assert "netns left: []" in out and "state left: []" in out
    assert "links: [lo ]" in out  # the container's own namespace: only lo, before and after
    assert _host_links() == host_before, "the host's network namespace changed"


def _host_nslab(tmp_path: Path) -> dict[str, str]:
    """An environment whose `nslab` is this checkout's, run on the host (the reference)."""
    bin_dir = tmp_path / "host-bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "nslab"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m nslab "$@"\n')
    wrapper.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", PYTHONPATH=str(REPO))


def _selftest_verdict(report: str) -> list[tuple[str, bool, list[str]]]:
    """Each phase's name, result and problems: what must not depend on where nslab runs."""
    data = json.loads(report)
    return [
        (f"{variant['scenario']} {variant['params']} {phase['name']}", phase["passed"], phase["problems"])
        for variant in data["variants"]
        for phase in variant["phases"]
    ]


def test_selftest_in_the_container_matches_the_host(podman: Podman, image: str, tmp_path: Path) -> None:
    """Whatever the scenario's state of completion, the container must judge it as the host does."""
    if "selftest" not in _nslab_commands(podman, image):
        pytest.skip("this checkout has no `nslab selftest` yet")
    prefix = f"vmst{os.getpid() % 100000}"  # the same lab name on both sides
    args = ["selftest", "two-hosts", "--prefix", prefix, "--json"]
    host = subprocess.run(
        ["nslab", *args], env=_host_nslab(tmp_path), capture_output=True, text=True, timeout=300, check=False
    )
    assert host.returncode in (0, 1), host.stdout + host.stderr
    inside = podman.run(image, *args, "--junit", "/work/selftest.xml", volumes=(f"{tmp_path}:/work",))
    assert inside.returncode == host.returncode, inside.stdout + inside.stderr
    assert _selftest_verdict(inside.stdout) == _selftest_verdict(host.stdout)
    assert ("two-hosts {} teardown", True, []) in _selftest_verdict(inside.stdout)
    suites = list(ET.parse(tmp_path / "selftest.xml").getroot().iter("testsuite"))
    assert sum(int(s.get("tests", "0")) for s in suites) > 0


def test_grade_reports_a_scenario_that_does_not_build(podman: Podman, image: str, tmp_path: Path) -> None:
    fix = tmp_path / "fixes" / "no-such-scenario" / "h1.sh"
    fix.parent.mkdir(parents=True)
    fix.write_text("ip route\n")
    done = podman.run(image, "nslab-grade", "/work/fixes", "/work/reports", volumes=(f"{tmp_path}:/work",))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no scenario named 'no-such-scenario'" in done.stderr
    report = ET.parse(tmp_path / "reports" / "no-such-scenario.xml").getroot()
    suite = report.find("testsuite")
    assert suite is not None and suite.get("errors") == "1"


def _junit_verdict(path: Path) -> list[tuple[str, ...]]:
    """Test cases and their outcomes, and the suites' properties, without times."""
    root = ET.parse(path).getroot()
    out: list[tuple[str, ...]] = []
    for suite in root.iter("testsuite"):
        out += [("property", p.get("name", ""), p.get("value", "")) for p in suite.iter("property")]
        for case in suite.iter("testcase"):
            outcome = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
            out.append(("case", case.get("name", ""), *outcome))
    return out


def test_grade_in_the_container_matches_the_host(podman: Podman, image: str, tmp_path: Path) -> None:
    """ci-examples/grade.sh runs the fix inside its node and grades as it would on the host."""
    if "check" not in _nslab_commands(podman, image):
        pytest.skip("this checkout has no `nslab check` yet")
    fixes = tmp_path / "fixes" / "two-hosts"
    fixes.mkdir(parents=True)
    # Proof that the script ran inside h1: only there does an eth0 carry 10.0.1.1.
    (fixes / "h1.sh").write_text("ip -o addr show eth0 | grep -q 10.0.1.1/24 && echo FIX-RAN-IN-H1\n")
    # The scenario's own reference fix, so this follows the lab when its fault changes.
    scenario = loader.load(str(REPO / "scenarios" / "two-hosts.yaml"))
    for node in {step.node for step in scenario.solution}:
        steps = [step.run for step in scenario.solution if step.node == node]
        (fixes / f"{node}.sh").write_text("\n".join(steps) + "\n")
    prefix = f"vmg{os.getpid() % 100000}-"
    env = _host_nslab(tmp_path) | {"NSLAB_GRADE_PREFIX": prefix}
    host = subprocess.run(
        ["bash", str(REPO / "ci-examples" / "grade.sh"), str(tmp_path / "fixes"), str(tmp_path / "host")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "FIX-RAN-IN-H1" in host.stdout, host.stdout + host.stderr
    assert "exited" not in host.stdout, host.stdout  # every fix script ran to its end
    assert host.returncode == 0, host.stdout + host.stderr  # the reference fix solves the lab
    inside = podman.run(
        image,
        "env",
        f"NSLAB_GRADE_PREFIX={prefix}",
        "nslab-grade",
        "/work/fixes",
        "/work/inside",
        volumes=(f"{tmp_path}:/work",),
    )
    assert "FIX-RAN-IN-H1" in inside.stdout, inside.stdout + inside.stderr
    assert "exited" not in inside.stdout, inside.stdout + inside.stderr
    assert inside.returncode == host.returncode, inside.stdout + inside.stderr
    verdict = _junit_verdict(tmp_path / "inside" / "two-hosts.xml")
    assert verdict == _junit_verdict(tmp_path / "host" / "two-hosts.xml")
    assert verdict, "the JUnit report says nothing"
    assert [case for case in verdict if case[0] == "case"] == [
        ("case", check.name) for check in scenario.checks
    ], "every check should be reported, and pass"


@pytest.mark.skipif(ruby() is None, reason="ruby is needed to read the Vagrantfile's uploads")
def test_vagrant_provisioning_on_debian_bookworm(podman: Podman, base: str) -> None:
    """vagrant/provision.sh on a fresh bookworm, given exactly what the Vagrantfile uploads.

    Runs twice, as `vagrant up` then `vagrant provision` would, the second time with the
    scripts' line ends turned to CRLF as a Windows checkout may do. It needs the network
    (apt, PyPI): slirp4netns gives the container its own namespace with user-space NAT, so
    the host's network stays untouched.
    """
    config = evaluate(cwd=REPO)
    staging = config.shell.kwargs["args"][0]
    copies = " && ".join(
        f"mkdir -p {u.destination} && cp -a /src/{u.source.relative_to(REPO)}/. {u.destination}/"
        if u.source.is_dir()
        else f"mkdir -p $(dirname {u.destination}) && cp /src/{u.source.relative_to(REPO)} {u.destination}"
        for u in config.uploads
    )
    script = f"""
        set -e
        useradd --create-home vagrant
        upload() {{ {copies}; }}
        upload
        bash /src/vagrant/provision.sh {staging}
        upload
        sed -i 's/$/\\r/' {staging}/scripts/*.sh
        bash /src/vagrant/provision.sh {staging}
        test -L /home/vagrant/scenarios && test -f /home/vagrant/scenarios/two-hosts.yaml
        test ! -e {staging}
        echo PROVISIONED-TWICE
    """
    volumes = (f"{REPO}:/src:ro", *podman.host_trust_volumes())
    done = podman.run(base, "bash", "-c", script, network="slirp4netns", volumes=volumes, timeout=900)
    out = done.stdout
    assert done.returncode == 0, out[-6000:] + done.stderr[-4000:]
    assert "PROVISIONED-TWICE" in out
    assert out.count("nslab is ready") == 2
    assert "FAIL" not in out
