"""Every way of building the star, behind one interface: build, prove, tear down, verify.

A Way's once() returns one Sample, or raises Failed; it always leaves none of its
namespaces behind (try/finally). Times are wall-clock seconds (time.perf_counter):
in-process ways are timed around the call, whole-process ways around subprocess.run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import floor
import ipcmd
import probe
import pyroute2_star
from topo import NETNS_DIR, Star, nslab_yaml

BIN = os.path.dirname(sys.executable)
NSLAB = os.path.join(BIN, "nslab")  # the real console script beside the real interpreter
MININET_PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
# Environment of every whole-process run. An installed nslab has .pyc files; a shell with
# PYTHONDONTWRITEBYTECODE=1 (as on the shared dev machines) recompiles every module at every
# start (~60 ms). run.py points PYTHONPYCACHEPREFIX at a directory of its own, so that child
# processes cache bytecode there, outside the checkout, as an installed copy would.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class Failed(Exception):
    """This build did not work (or did not go away): its times are not counted."""

    def __init__(self, message: str) -> None:
        text = " ".join(message.split())  # one line: it goes into a markdown list
        super().__init__(text if len(text) <= 400 else text[:400] + "...")


@dataclass
class Sample:
    build: float
    teardown: float
    probe: float
    extra: dict[str, float] = field(default_factory=dict)


def unname(star: Star) -> None:
    """Last-resort cleanup of this star's namespaces (only our own "be" names)."""
    floor.teardown(star)


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=ENV, **kwargs)  # type: ignore[call-overload, no-any-return]


@dataclass
class Way:
    key: str
    label: str
    prefix: str
    build: Callable[[Star], dict[str, float] | None]
    teardown: Callable[[Star], None]
    cleanup: Callable[[Star], None] = unname
    prepare: Callable[[Star], object] = lambda star: None  # untimed: write files

    def once(self, n: int) -> Sample:
        star = Star(n, self.prefix)
        if star.leftovers():
            self.cleanup(star)
            unname(star)
            if star.leftovers():
                raise Failed(f"namespaces of an earlier run are in the way: {star.leftovers()[:3]}")
        self.prepare(star)
        built = False
        try:
            started = time.perf_counter()
            extra = self.build(star) or {}
            build = time.perf_counter() - started
            built = True
            try:
                rtt = probe.ping(os.path.join(NETNS_DIR, star.host_ns(n)), star.host_ip(1))
            except OSError as exc:
                neigh = _run(["ip", "-n", star.host_ns(n), "neigh", "show"]).stdout
                raise Failed(
                    f"probe h{n} -> h1 failed: {exc}; neighbours of h{n}: {neigh or 'none'}"
                ) from None
            started = time.perf_counter()
            self.teardown(star)
            teardown = time.perf_counter() - started
            built = False
            if star.leftovers():
                raise Failed(f"teardown left {len(star.leftovers())} namespaces, e.g. {star.leftovers()[0]}")
            return Sample(build, teardown, rtt, extra)
        except Failed:
            raise
        except Exception as exc:
            raise Failed(f"{type(exc).__name__}: {exc}") from None
        finally:
            if built or star.leftovers():
                try:
                    self.cleanup(star)
                finally:
                    unname(star)


def _floor() -> Way:
    return Way(
        "floor", "raw-netlink floor (bench/floor.py, in process)", "be-fl", floor.build, floor.teardown
    )


def _scenario_file(workdir: str) -> Callable[[Star], str]:
    """The star as an nslab scenario file in workdir (written once per size)."""

    def path(star: Star) -> str:
        name = os.path.join(workdir, f"star{star.n}.yaml")
        if not os.path.exists(name):
            with open(name, "w") as handle:
                handle.write(nslab_yaml(star.n, f"be-star-{star.n}"))
        return name

    return path


def _nslab_lib(workdir: str) -> Way:
    from nslab.labs import lifecycle as lab

    path = _scenario_file(workdir)

    def build(star: Star) -> dict[str, float]:
        result = lab.up(path(star), prefix=star.prefix)
        return {f"phase_{k}": v for k, v in result.phases.items()} | {"inner": result.seconds}

    def teardown(star: Star) -> None:
        report = lab.down_one(star.prefix)
        if report.problems:
            raise Failed("; ".join(report.problems))

    def cleanup(star: Star) -> None:
        lab.down_one(star.prefix)

    label = "nslab, library in process (lab.up / lab.down_one)"
    return Way("nslab", label, "be-nl", build, teardown, cleanup, prepare=path)


def _nslab_cli(workdir: str) -> Way:
    path = _scenario_file(workdir)

    def build(star: Star) -> None:
        done = _run([NSLAB, "up", path(star), "--prefix", star.prefix])
        if done.returncode != 0:
            raise Failed(f"nslab up exited {done.returncode}: {done.stderr.strip()[-300:]}")

    def teardown(star: Star) -> None:
        done = _run([NSLAB, "down", star.prefix])
        if done.returncode != 0:
            raise Failed(f"nslab down exited {done.returncode}: {done.stderr.strip()[-300:]}")

    def cleanup(star: Star) -> None:
        _run([NSLAB, "down", star.prefix])

    label = "nslab up / nslab down (whole process)"
    return Way("nslab-cli", label, "be-nc", build, teardown, cleanup, prepare=path)


def _ip_script(workdir: str) -> Way:
    def files(star: Star) -> tuple[str, str]:
        return os.path.join(workdir, f"ip-up-{star.n}.sh"), os.path.join(workdir, f"ip-down-{star.n}.sh")

    def prepare(star: Star) -> None:
        up, down = files(star)
        with open(up, "w") as handle:
            handle.write(ipcmd.script_build(star))
        with open(down, "w") as handle:
            handle.write(ipcmd.script_teardown(star))

    return Way(
        "ip-script",
        "shell script, one `ip` per command",
        "be-ip",
        lambda star: ipcmd.run_script(files(star)[0]),
        lambda star: ipcmd.run_script(files(star)[1]),
        prepare=prepare,
    )


def _ip_batch(workdir: str) -> Way:
    def files(star: Star) -> tuple[str, str]:
        return os.path.join(workdir, f"ipb-up-{star.n}.sh"), os.path.join(workdir, f"ipb-down-{star.n}.sh")

    def prepare(star: Star) -> None:
        up, down = files(star)
        with open(up, "w") as handle:
            handle.write(ipcmd.batch_build(star, workdir))
        with open(down, "w") as handle:
            handle.write(ipcmd.batch_teardown(star, workdir))

    return Way(
        "ip-batch",
        "`ip -batch` (+ one `ip -n NS -batch` per namespace)",
        "be-ipb",
        lambda star: ipcmd.run_script(files(star)[0]),
        lambda star: ipcmd.run_script(files(star)[1]),
        prepare=prepare,
    )


def _pyroute2() -> Way:
    pyroute2_star.load()
    return Way(
        "pyroute2",
        "pyroute2 IPRoute, fork-free (in process)",
        "be-pr",
        pyroute2_star.build,
        pyroute2_star.teardown,
    )


class MininetWay:
    """Mininet runs in its own interpreter (Debian's python3), one process per build."""

    key = "mininet"
    label = "Mininet 2.3, LinuxBridge, no controller (in its process)"

    def once(self, n: int) -> Sample:
        script = os.path.join(HERE, "mininet_star.py")
        try:
            done = _run([MININET_PYTHON, script, str(n)], timeout=600)
        except subprocess.TimeoutExpired:
            raise Failed(f"mininet worker for N={n} did not finish within 600 s") from None
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise Failed(f"mininet worker exited {done.returncode}: {done.stderr.strip()[-300:]}")
        out = json.loads(lines[-1])
        if not out.get("ok"):
            raise Failed(f"mininet: {out.get('error') or out}")
        return Sample(out["build"], out["teardown"], out["probe"])


def mininet_available() -> str | None:
    """None if Mininet can run here, else why not."""
    if not os.path.exists(MININET_PYTHON):
        return f"{MININET_PYTHON} not found"
    check = _run(
        [MININET_PYTHON, "-c", "import mininet.net, mininet.nodelib"],
        cwd="/",
    )
    if check.returncode != 0:
        return "Mininet is not installed (apt-get install mininet bridge-utils)"
    for tool in ("mnexec", "brctl"):
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin"):
            return f"{tool} not found (apt-get install mininet bridge-utils)"
    return None


def all_ways(workdir: str, mininet: bool) -> list[Way | MininetWay]:
    ways: list[Way | MininetWay] = [
        _floor(),
        _nslab_lib(workdir),
        _nslab_cli(workdir),
        _ip_batch(workdir),
        _pyroute2(),
        _ip_script(workdir),
    ]
    if mininet:
        ways.append(MininetWay())
    return ways
