"""Apply a build plan: the lab ends up fully up, or fully gone.

Kernel work runs in one worker thread that moves between lab namespaces; the CLI thread
never leaves the root namespace. Each object is recorded in the journal before it is made.
Any failure, Ctrl-C or SIGTERM rolls back everything recorded so far.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from nslab.engine import etcfiles, plan, state, statefiles
from nslab.engine.journal import Journal
from nslab.errors import KernelError, LabStateError, NslabError, UsageError
from nslab.kernel import iptables, libc, netns, rtnl, sysctl
from nslab.scenario import firewall
from nslab.scenario import model as m

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The user interrupted the build."""


@dataclass
class BuildResult:
    lab: str
    plan: plan.BuildPlan
    seconds: float
    phases: dict[str, float]


def probe_first_index() -> int:
    """The lowest interface index free in a new namespace: fallback tunnel devices of loaded
    modules (sit0, tunl0, ...) appear in every new namespace and take the first indexes."""
    found: list[int] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            netns.new_here()
            with rtnl.Rtnl() as sock:
                found.append(max(link.index for link in sock.links()) + 1)
        except BaseException as exc:  # reported in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return max(found[0], 2)


# The last stage of a build, run under the same journal and rollback: starts the lab's
# services. The engine does not know what a service is; the layer above hands this in.
# (lab, scenario, plan, journal, state directory, cancel event) -> None
ServiceStarter = Callable[[str, m.Scenario, plan.BuildPlan, Journal, str, threading.Event], None]


class Builder:
    def __init__(
        self,
        scenario: m.Scenario,
        lab: str,
        source_text: str,
        healthy: bool = False,
        seed: str | None = None,
        on_phase: Callable[[str], None] | None = None,
        start_services: ServiceStarter | None = None,
    ) -> None:
        self.scenario = scenario
        self.start_services = start_services
        self.lab = lab
        self.source_text = source_text
        self.healthy = healthy
        self.seed = seed
        self.on_phase = on_phase or (lambda _: None)
        self.cancel = threading.Event()
        self.phases: dict[str, float] = {}
        self.build_id = ""

    def run(self) -> BuildResult:
        # Every verb that changes a lab holds its lock (re-entrant: `up --replace` and
        # `reset` already hold it for their teardown).
        with state.lab_lock(self.lab, "nslab up"):
            return self._run_locked()

    def _run_locked(self) -> BuildResult:
        from nslab.engine.naming import new_build_id

        started = time.perf_counter()
        build_id = new_build_id()
        directory = state.claim(self.lab, build_id)
        try:
            journal = Journal(directory)
        except BaseException:
            state.remove_lab_dir(self.lab, build_id)  # claimed, nothing built: it goes too
            raise
        try:
            journal.record("lab", lab=self.lab, scenario=self.scenario.name, build=build_id, pid=os.getpid())
            meta = state.Meta(
                lab=self.lab,
                scenario=self.scenario.name,
                source=os.path.abspath(self.scenario.path),
                build=build_id,
                healthy=self.healthy,
                seed=self.seed,
                params=dict(self.scenario.chosen),
                created=time.time(),
            )
            # 0600: the copy holds the faults and the solution.
            statefiles.write_atomic(os.path.join(directory, "scenario.yaml"), self.source_text)
            state.write_meta(meta)
            self.build_id = build_id
            result = self._build(journal, directory, build_id)
            journal.record("done")
            meta.complete = True
            state.write_meta(meta)
            result.seconds = time.perf_counter() - started
            return result
        except BaseException as exc:
            journal.close()
            self._rollback(exc, build_id)
            raise
        finally:
            with contextlib.suppress(OSError):
                journal.close()

    def _rollback(self, exc: BaseException, build_id: str) -> None:
        from nslab.engine.teardown import down

        log.info("build of %s failed (%s); rolling back", self.lab, exc)
        # Only this build's objects: whatever carries another build's id stays.
        report = down(self.lab, build=build_id)
        if report.problems and isinstance(exc, NslabError):
            exc.message += "; rollback also failed: " + "; ".join(report.problems)

    def _phase(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.phases[name] = now - since
        return now

    def _build(self, journal: Journal, directory: str, build_id: str) -> BuildResult:
        t = time.perf_counter()
        netns.ensure_dir()
        taken = [
            p for p in (netns.path_of(f"{self.lab}-{n}") for n in self.scenario.nodes) if os.path.exists(p)
        ]
        if taken:
            raise self._taken_error(os.path.basename(taken[0]))
        bplan = plan.make(self.scenario, self.lab, build_id, probe_first_index())
        t = self._phase("plan", t)
        self.on_phase("namespaces")
        # /etc/netns files are plain disk writes (~0.3 ms per file on ext4): they go in a
        # thread of their own, overlapping the netlink work instead of adding to it.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            etc = pool.submit(self._write_etc, journal, bplan)
            # Either side failing stops the other; the rollback then sees a quiet journal.
            etc.add_done_callback(self._cancel_on_failure)
            try:
                self._in_worker(lambda: self._kernel(journal, bplan))
            except BaseException as exc:
                self.cancel.set()
                concurrent.futures.wait([etc])
                failed = etc.exception()
                if isinstance(exc, Cancelled) and failed is not None:
                    # The /etc side failed first and cancelled the kernel side: its error
                    # (a full disk, say) is the one to report, not the cancellation.
                    raise failed from None
                raise
            etc.result()
        t = self._phase("kernel", t)
        self.on_phase("firewall")
        self._firewall(bplan, journal)
        t = self._phase("firewall", t)
        if self.scenario.services:
            if self.start_services is None:
                raise RuntimeError("this scenario has services, but the build was given no way to start them")
            self.on_phase("services")
            self.start_services(self.lab, self.scenario, bplan, journal, directory, self.cancel)
            t = self._phase("services", t)
        return BuildResult(self.lab, bplan, 0.0, self.phases)

    def _taken_error(self, name: str) -> LabStateError:
        """Say whose the namespace is. Never suggest a sweep that would remove a running lab."""
        from nslab.engine.teardown import owner_of_namespace

        owner = owner_of_namespace(name)
        if owner is None:
            return LabStateError(
                f"namespace {name} already exists and nslab did not make it",
                f"pick another --prefix (or, if you made it yourself, 'ip netns del {name}')",
            )
        lab, node, _ = owner
        if lab != self.lab and lab in state.labs():
            return LabStateError(
                f"namespace {name} belongs to running lab {lab} (its node {node}):"
                f" lab {self.lab} would give one of its nodes the same name",
                f"pick another --prefix; lab {lab} is left as it is",
            )
        return LabStateError(
            f"namespace {name} was left behind by lab {lab}, whose state is gone",
            f"run 'nslab down {lab}' to remove what it left, then try again",
        )

    def _cancel_on_failure(self, done: concurrent.futures.Future[None]) -> None:
        if done.exception() is not None:
            self.cancel.set()

    def _write_etc(self, journal: Journal, bplan: plan.BuildPlan) -> None:
        for node_plan in bplan.nodes:
            self._check_cancel()
            files = etcfiles.files_for(self.lab, node_plan.node, self.scenario)
            if not files:
                continue
            directory = etcfiles.claim(journal, self.lab, node_plan.netns)
            for name, text in files.items():
                # 0644: hosts and resolv.conf are read by unprivileged programs in the node.
                statefiles.write_atomic(os.path.join(directory, name), text, statefiles.SHARED)

    def _in_worker(self, fn: Callable[[], None]) -> None:
        """Run fn in a worker thread; turn Ctrl-C in the main thread into a cancel request."""
        error: list[BaseException] = []
        finished = threading.Event()

        def body() -> None:
            try:
                fn()
            except BaseException as exc:
                error.append(exc)
            finally:
                finished.set()

        worker = threading.Thread(target=body, name="nslab-build", daemon=True)
        interrupted: BaseException | None = None
        try:
            # Inside the try: a Ctrl-C or SIGTERM can land while start() waits for the thread
            # to begin, and the worker must then still be told to stop and be waited for.
            worker.start()
        except BaseException as exc:
            self.cancel.set()
            interrupted = exc
        # Wait on an Event, not Thread.join(): a KeyboardInterrupt inside join() marks the
        # thread stopped while it still runs (CPython 3.11), and we would roll back too early.
        while worker.ident is not None and not finished.is_set():
            try:
                finished.wait(0.05)
            except BaseException as exc:  # KeyboardInterrupt / SystemExit from a signal handler
                self.cancel.set()
                interrupted = exc
        if interrupted is not None:
            raise interrupted
        if error:
            raise error[0]

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    def _kernel(self, journal: Journal, bplan: plan.BuildPlan) -> None:
        home = netns.current_fd()
        try:
            journal.record_many("netns", [{"name": p.netns, "node": p.name} for p in bplan.nodes])
            named: list[tuple[str, str, int]] = []
            try:
                for node_plan in bplan.nodes:
                    self._check_cancel()
                    self._create_namespace(node_plan)
                    named.append((node_plan.netns, node_plan.name, netns.inode_of(node_plan.netns)))
            finally:
                # Teardown recognises these by inode, without entering each namespace to
                # read its marker (one write for the whole lab, not one per namespace).
                journal.record("named", namespaces=[[name, inode] for name, _, inode in named])
                # And outside the lab directory: cleanup without a journal still proves them
                # ours when a learner has changed lo's alias (the marker) inside a node.
                state.write_owners(self.lab, self.build_id, named)
            for node_plan in bplan.nodes:
                self._check_cancel()
                self._configure(node_plan, home)
        finally:
            libc.setns_net(home)
            os.close(home)

    def _create_namespace(self, node_plan: plan.NodePlan) -> None:
        """Pass 1: a fresh namespace with lo up and our marker, then its veths, then its name.
        The name comes last: a namespace killed before it is named simply vanishes."""
        netns.new_here()
        if node_plan.uses_ipv6:
            # Addresses must be usable at once, not after duplicate address detection.
            sysctl.write("net.ipv6.conf.default.accept_dad", "0")
            sysctl.write("net.ipv6.conf.all.accept_dad", "0")
        with rtnl.Rtnl() as sock:
            requests = plan.lo_requests(node_plan)
            peer_fds = []
            try:
                for veth in node_plan.veths:
                    fd = netns.open_fd(f"{self.lab}-{veth.there}")
                    peer_fds.append(fd)
                    requests.append(plan.veth_request(veth, fd))
                self._kernel_call(sock, requests, node_plan)
            finally:
                for fd in peer_fds:
                    os.close(fd)
        netns.name_current(node_plan.netns)

    def _configure(self, node_plan: plan.NodePlan, home: int) -> None:
        """Pass 2: everything else inside the namespace, in one batch, then sysctls."""
        fd = netns.open_fd(node_plan.netns)
        try:
            libc.setns_net(fd)
        finally:
            os.close(fd)
        with rtnl.Rtnl() as sock:
            self._kernel_call(sock, plan.config_requests(node_plan), node_plan)
        for key, value in node_plan.sysctls.items():
            try:
                sysctl.write(key, value)
            except sysctl.SysctlKeyError as exc:
                # Validation refuses such keys; this is the last line for a model built in code.
                raise UsageError(
                    f"node {node_plan.name}: {exc}",
                    f"nslab writes only files under {sysctl.ROOT} (at {node_plan.node.at('sysctls')})",
                ) from None
            except FileNotFoundError:
                raise KernelError(
                    f"node {node_plan.name}: sysctl {key} does not exist",
                    f"check the name (at {node_plan.node.at('sysctls')});"
                    " per-interface keys need the interface to exist",
                ) from None
            except OSError as exc:
                raise KernelError(
                    f"node {node_plan.name}: cannot set {key}={value}: {exc.strerror}"
                ) from None

    def _kernel_call(self, sock: rtnl.Rtnl, requests: list[rtnl.Request], node_plan: plan.NodePlan) -> None:
        try:
            sock.run(requests)
        except rtnl.NetlinkError as exc:
            raise KernelError(
                f"node {node_plan.name}: {exc.strerror}",
                f"the kernel refused this part of the scenario at {node_plan.node.loc};"
                " nothing was left behind",
            ) from None

    def _firewall(self, bplan: plan.BuildPlan, journal: Journal) -> None:
        jobs = [
            (p, p.node.firewall.tables()) for p in bplan.nodes if p.node.firewall and p.node.firewall.tables()
        ]
        if not jobs:
            return
        iptables.binary()
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
            futures = {
                pool.submit(iptables.restore, p.netns, firewall.render_restore(tables).text): (
                    p,
                    tables,
                )
                for p, tables in jobs
            }
            for future in concurrent.futures.as_completed(futures):
                node_plan, tables = futures[future]
                code, stderr, failed = future.result()
                if code != 0:
                    raise KernelError(
                        f"node {node_plan.name}: iptables-restore rejected the firewall: {stderr}",
                        self._firewall_hint(node_plan, tables, failed),
                    )
                journal.record("rules", node=node_plan.name, netns=node_plan.netns)

    def _firewall_hint(self, node_plan: plan.NodePlan, tables: dict[str, str], failed: int | None) -> str:
        fw = node_plan.node.firewall
        assert fw is not None
        if failed is not None:
            origin = firewall.render_restore(tables).origin.get(failed)
            if origin is not None:
                table, offset = origin
                loc = fw.at(table)
                return f"the rule at {loc.file}:{loc.line + offset}:{loc.col} is not valid iptables syntax"
        return f"check the firewall rules of {node_plan.name} at {fw.loc}"
