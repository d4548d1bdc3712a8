"""Lab lifecycle as a library: what the CLI verbs call (and what tests call directly)."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nslab.engine import state, statefiles
from nslab.engine.naming import check_lab_name
from nslab.errors import KernelError, LabStateError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    # Imported lazily at run time: `nslab down` and `status` must not pay for YAML and validation.
    from nslab.engine.build import Builder, BuildResult
    from nslab.engine.teardown import TeardownReport
    from nslab.scenario import model as m


@dataclass
class UpResult:
    lab: str
    scenario: m.Scenario
    healthy: bool
    seconds: float
    phases: dict[str, float]

    def summary(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "scenario": self.scenario.name,
            "healthy": self.healthy,
            "nodes": {name: f"{self.lab}-{name}" for name in self.scenario.nodes},
            "params": dict(self.scenario.chosen),
            "seconds": round(self.seconds, 4),
            "phases": {k: round(v, 4) for k, v in self.phases.items()},
        }

    def describe(self) -> str:
        s = self.scenario
        state_word = "healthy" if self.healthy else "ready to debug"
        first = next((n.name for n in s.nodes.values() if n.kind != "switch"), None)
        lab_arg = "" if self.lab == s.name else f" --lab {self.lab}"
        steps = [(f"nslab show {s.name}", "read the briefing")]
        if first is not None:
            steps.append((f"nslab shell{lab_arg} {first}", f"a shell inside {first}"))
        steps += [(f"nslab check{lab_arg}", "grade your fix"), (f"nslab down {self.lab}", "remove the lab")]
        width = max(len(cmd) for cmd, _ in steps) + 3
        lines = [
            f"lab {self.lab} is up ({state_word}): {counted(len(s.nodes), 'node')}, "
            f"{counted(len(s.links), 'link')}, {counted(len(s.services), 'service')}, "
            f"built in {self.seconds * 1000:.0f} ms"
        ]
        lines += [f"  sudo {cmd:<{width}}{what}" for cmd, what in steps]
        return "\n".join(lines)


def counted(n: int, noun: str) -> str:
    """ "1 link", "2 links": the summary reads as a sentence."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def load_for_build(
    name_or_path: str, seed: str | None = None, params: dict[str, Any] | None = None, healthy: bool = False
) -> tuple[m.Scenario, str]:
    """Load a scenario and apply its faults (unless healthy). Returns (scenario, source text)."""
    from nslab import plugins
    from nslab.errors import ScenarioError
    from nslab.scenario import catalog, loader
    from nslab.scenario.yamlsrc import read_file

    plugins.load()  # a library caller of lab.up() need not know about the kind registries

    path = catalog.resolve(name_or_path)
    # The same reader as `nslab validate`: a binary, huge or unreadable file is a diagnostic
    # with file:line:col (exit 2), never an exception from read_text().
    text, problems = read_file(str(path))
    if text is None:
        raise ScenarioError(problems)
    scenario = loader.load_text(text, str(path), seed=seed, overrides=params)
    if not healthy:
        from nslab.faults.apply import apply_faults

        scenario = apply_faults(scenario)
    return scenario, text


def up(
    name_or_path: str,
    prefix: str | None = None,
    replace: bool = False,
    healthy: bool = False,
    seed: str | None = None,
    params: dict[str, Any] | None = None,
    allow_exec: bool = False,
    announce: Callable[[list[str]], None] | None = None,
) -> UpResult:
    """Build a lab. A scenario from outside the package that starts commands is refused
    (UsageError, before anything is built) unless allow_exec; `announce` receives its
    'runs as root:' listing just before the build."""
    from nslab.engine.build import Builder
    from nslab.scenario import catalog, trust
    from nslab.services.supervisor import start_services

    scenario, text = load_for_build(name_or_path, seed, params, healthy)
    path = str(catalog.resolve(name_or_path))
    trust.gate(scenario, path, None, allow_exec, (trust.SERVICES,))
    if announce is not None and not trust.is_shipped(path):
        announce(trust.describe(trust.root_actions(scenario, (trust.SERVICES,))))
    lab = check_lab_name(prefix or scenario.name)
    verb = "nslab up --replace" if replace else "nslab up"
    # One lock over teardown and build: nobody can slip a build in between, and nobody can
    # tear this build down while it is being made. A full disk anywhere in here (the lock
    # file, the claim, the build) is the same exit 5 naming the filesystem.
    with full_disk_is_exit_5(), state.lab_lock(lab, verb):
        if replace and os.path.isdir(state.lab_dir(lab)):
            report = down_one(lab)
            if report.problems:
                raise KernelError(f"could not tear down the old lab {lab}: " + "; ".join(report.problems))
        builder = Builder(scenario, lab, text, healthy=healthy, seed=seed, start_services=start_services)
        with statefiles.owner_only_umask():
            result = builder.run()
        setup_or_teardown(lab, scenario)
    return UpResult(lab, scenario, healthy, result.seconds, result.phases)


def setup_or_teardown(lab: str, scenario: m.Scenario) -> None:
    """The nodes' setup scripts; if one fails, the lab goes, as after any failed build."""
    if not any(node.setup.strip() for node in scenario.nodes.values()):
        return
    from nslab.labs.setup import run_setup

    try:
        run_setup(lab, scenario)
    except BaseException:
        report = down_one(lab)
        if report.problems:
            log.warning("teardown after a failed setup script left: %s", "; ".join(report.problems))
        raise


def run_build(builder: Builder) -> BuildResult:
    """Run a build (which rolls itself back on any error); a full disk becomes exit 5."""
    with full_disk_is_exit_5():
        return builder.run()


@contextlib.contextmanager
def full_disk_is_exit_5() -> Iterator[None]:
    """ENOSPC/EDQUOT from anything in `up` (the lock file, the lab's claim and owner marker,
    its owner record, the journal, the nodes' files; each undoes its own part, the build
    rolls back the rest) becomes exit 5 naming the filesystem: the fix (free space there)
    is the learner's, not a bug."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        if isinstance(exc.filename, str):
            where, what = exc.filename, exc.filename
        else:  # a write to an open file: the journal or another file of the lab's state
            where, what = state.STATE_ROOT, f"the lab's state in {state.STATE_ROOT}"
        mount = mount_point(where)
        raise KernelError(
            f"no space left on the filesystem at {mount} (writing {what}); the build was rolled back",
            f"free some space there (df -h {mount}), then run 'nslab up' again",
        ) from exc


def mount_point(path: str) -> str:
    """The mount point of the filesystem holding `path` (or the nearest existing parent)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def down_one(lab: str, verb: str = "nslab down") -> TeardownReport:
    """Tear one lab down under its lock (re-entrant: callers that hold it keep it)."""
    from nslab.engine.teardown import down

    check_lab_name(lab)
    with state.lab_lock(lab, verb):
        return down(lab)


def down(lab: str | None, everything: bool = False, only: str = "") -> list[TeardownReport]:
    from nslab.engine.teardown import sweep

    if everything:
        return sweep(only)
    if lab is None:
        running = state.labs()
        if len(running) != 1:
            if not running:
                raise LabStateError("no lab is up", "nothing to do; 'nslab cleanup' also sweeps leftovers")
            raise LabStateError(f"{len(running)} labs are up: {', '.join(running)}", "name one, or use --all")
        lab = running[0]
    report = down_one(lab)
    if not report.found and not report.namespaces:
        raise LabStateError(f"lab {lab!r} is not up", "'nslab status' lists the labs that are up")
    return [report]


def load_running(lab: str) -> tuple[state.Meta, m.Scenario]:
    """The scenario a running lab was built from, from the lab's private copy."""
    meta, _, scenario = load_copy(lab)
    if not meta.healthy:
        from nslab.faults.apply import apply_faults

        scenario = apply_faults(scenario)
    return meta, scenario


def load_copy(lab: str) -> tuple[state.Meta, str, m.Scenario]:
    """The lab's metadata, its private scenario copy and that copy loaded (faults not applied).

    A copy that is missing, binary or no longer valid means the state directory was damaged
    (or nslab changed under a running lab): LabStateError naming the remedy, exit 3."""
    from nslab import plugins
    from nslab.errors import ScenarioError
    from nslab.scenario import loader
    from nslab.scenario.yamlsrc import read_file

    plugins.load()
    meta = state.require_meta(lab)
    copy = os.path.join(state.lab_dir(lab), "scenario.yaml")
    with contextlib.suppress(FileNotFoundError):  # missing: reported as damage below
        statefiles.verify_file(copy)  # it holds the solution, and root acts on it: ours only
    text, problems = read_file(copy)
    if text is None:
        raise _damaged(meta, f"{problems[0].loc}: {problems[0].message}")
    try:
        scenario = loader.load_text(text, meta.source, seed=meta.seed, overrides=meta.params)
    except ScenarioError as exc:
        # The copy was valid when the lab was built: it was changed since (or nslab was).
        first = exc.diagnostics[0]
        raise _damaged(meta, f"{first.loc}: {first.message}") from None
    return meta, text, scenario


def _damaged(meta: state.Meta, why: str) -> LabStateError:
    """The lab's private copy of its scenario is missing or unreadable: nothing can grade or
    control the lab from it, and only a rebuild makes a new one."""
    return LabStateError(
        f"the lab's state is damaged; nslab down {meta.lab} and up again ({why})",
        f"sudo nslab down {meta.lab}, then sudo nslab up {meta.source}"
        + ("" if meta.lab == meta.scenario else f" --prefix {meta.lab}"),
    )
