"""nslab benchmark suite: one run builds and tears down the same labs every way, interleaved.

    sudo python3 bench/run.py            # the full suite (~2-5 minutes)
    sudo python3 bench/run.py --quick    # N=10 and 50, 2 repetitions, no 1000-host lab

Prints per-way medians, ratios to the raw-netlink floor and the target verdicts, and writes
bench/results/<timestamp>.json, bench/results/latest.json and bench/results/latest.md.
Every namespace it names starts with "be", and every one is removed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import probe
import quiet
import report
import ways
from topo import NETNS_DIR, Star, nslab_yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
SCENARIO = os.path.join(ROOT, "scenarios", "host-router-host.yaml")
SCENARIO_LAB = "be-hrh"
BIG_PREFIX = "be-k"


GAUGE: quiet.RtnlGauge | None = None  # set in main()


def settle(n: int) -> None:
    """Let the kernel finish freeing the namespaces just deleted (it does so asynchronously,
    holding the global rtnl lock) so that the next timed build does not pay for it."""
    if GAUGE is not None:
        GAUGE.wait()
    else:
        time.sleep(0.05 + n * 0.002)


def log(text: str) -> None:
    print(text, flush=True)


def star_rounds(
    all_ways: list[ways.Way | ways.MininetWay], sizes: list[int], reps: dict[int, int], failures: list[str]
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for n in sizes:
        per_n = results.setdefault(str(n), {})
        for rep in range(reps[n]):
            # A new order every repetition (seeded: the same in every run), so that no way always
            # runs first, or right after the same other way.
            order = list(all_ways)
            random.Random(n * 1000 + rep).shuffle(order)
            for way in order:
                entry = per_n.setdefault(way.key, {"samples": [], "failures": 0})
                try:
                    sample = way.once(n)
                except ways.Failed as exc:
                    entry["failures"] += 1
                    failures.append(f"N={n} {way.key}: {exc}")
                    log(f"  N={n:<4} {way.key:<10} FAILED: {exc}")
                    settle(n)
                    continue
                entry["samples"].append(
                    {"build": sample.build, "teardown": sample.teardown, "probe": sample.probe} | sample.extra
                )
                log(
                    f"  N={n:<4} rep {rep + 1}/{reps[n]} {way.key:<10} build {sample.build * 1000:8.1f} ms"
                    f"   teardown {sample.teardown * 1000:7.1f} ms   ping {sample.probe * 1000:5.2f} ms"
                )
                settle(n)
    return results


def timed(argv: list[str], **kwargs: Any) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=ways.ENV, **kwargs)
    return time.perf_counter() - started, done


def scenario_source(workdir: str) -> tuple[str, str]:
    """The scenario file to run, and a note. If the shipped file declares no checks, `nslab
    check` would grade nothing; we then run a copy with three typical checks appended, all
    with a 0.5 s timeout, one of which (a ping to an unassigned address) waits all of it."""
    from nslab import plugins
    from nslab.errors import NslabError
    from nslab.scenario import loader

    plugins.load()  # the loader alone validates against the registered kinds

    scenario = loader.load(SCENARIO)
    if scenario.active_checks():
        return SCENARIO, f"as shipped ({len(scenario.active_checks())} checks)"
    hosts = [n for n in scenario.nodes.values() if n.kind == "host"]
    source, target = hosts[0].name, hosts[-1]
    iface = target.addresses()[0][1]
    used = {a.ip for node in scenario.nodes.values() for _, a in node.addresses()}
    nobody = next(ip for ip in iface.network.hosts() if ip not in used and int(ip) % 256 >= 99)
    checks = [
        f"{{name: be-reach, kind: ping, from: {source}, to: {iface.ip}, timeout: 0.5}}",
        f"{{name: be-refused, kind: tcp, from: {source}, to: {iface.ip}, port: 9, expect: refused,"
        " role: guard, timeout: 0.5}",
        f"{{name: be-nobody, kind: ping, from: {source}, to: {nobody}, expect: unreachable, timeout: 0.5}}",
    ]
    with open(SCENARIO) as handle:
        text = handle.read()
    path = os.path.join(workdir, os.path.basename(SCENARIO))
    with open(path, "w") as handle:
        handle.write(text.rstrip("\n") + "\nchecks:\n" + "".join(f"  - {c}\n" for c in checks))
    try:
        loader.load(path)
    except NslabError as exc:
        return SCENARIO, f"as shipped (no checks; the bench's checks were rejected: {exc})"
    return path, "the shipped file declares no checks: run with 3 bench checks appended (timeout 0.5 s each)"


def scenario_rounds(reps: int, workdir: str, failures: list[str]) -> dict[str, Any]:
    """Whole-process `nslab up`, `nslab check` (if it exists) and `nslab down`, twice per
    repetition when the scenario has faults: as a learner gets it (broken: proven live by
    `nslab check` finding the fault, exit 1) and with --healthy (proven by a ping across it
    and by `nslab check` passing, exit 0)."""
    from nslab.labs import lifecycle as lab
    from nslab.scenario import loader

    path, note = scenario_source(workdir)
    scenario = loader.load(path)
    names = [f"{SCENARIO_LAB}-{node}" for node in scenario.nodes]
    hosts = [n for n in scenario.nodes.values() if n.kind == "host"]
    source, target = hosts[0], hosts[-1]
    target_ip = str(target.addresses()[0][1].ip)
    checks = scenario.active_checks()
    modes = ["broken", "healthy"] if scenario.active_faults() else ["healthy"]
    out: dict[str, Any] = {
        "name": scenario.name,
        "file": os.path.relpath(SCENARIO, ROOT),
        "checks_note": note,
        "nodes": len(scenario.nodes),
        "probe": f"ping {source.name} -> {target.name} ({target_ip})",
        "modes": modes,
        "checks": len(checks),
        # Checks run at once; a passing check waits at most its timeout, a failing one retries
        # until its `within` window closes, its last attempt running up to its timeout
        # (nslab/grading/runner.py budgets timeout + within the same way).
        "check_limit": max((c.timeout for c in checks), default=0.0) + 0.150,
        "check_limit_broken": max((c.timeout + c.within for c in checks), default=0.0) + 0.150,
    }
    for mode in modes:
        out[mode] = {"up": [], "check": [], "check_rc": [], "down": [], "ping": []}
    out["python"] = []  # interpreter start, measured alongside: how loaded the machine was
    if not os.path.exists(os.path.join(ROOT, "nslab", "cli", "cmd_check.py")):
        out["check_skipped"] = "skipped: not available (nslab/cli/cmd_check.py does not exist yet)"

    def gone() -> bool:
        return not any(os.path.exists(os.path.join(NETNS_DIR, name)) for name in names)

    def cycle(mode: str) -> str:
        up_argv = [ways.NSLAB, "up", path, "--prefix", SCENARIO_LAB] + (
            ["--healthy"] if mode == "healthy" else []
        )
        up, done = timed(up_argv)
        if done.returncode != 0:
            raise ways.Failed(f"nslab up exited {done.returncode}: {done.stderr.strip()[-300:]}")
        if gone():
            raise ways.Failed("nslab up succeeded but its namespaces are missing")
        rtt = None
        if mode == "healthy":
            try:
                rtt = probe.ping(os.path.join(NETNS_DIR, f"{SCENARIO_LAB}-{source.name}"), target_ip)
            except OSError as exc:
                raise ways.Failed(f"probe {out['probe']} failed: {exc}") from None
        check = None
        if "check_skipped" not in out:
            check, done = timed([ways.NSLAB, "check", "--lab", SCENARIO_LAB])
            expected = 0 if mode == "healthy" else 1
            if done.returncode != expected:
                raise ways.Failed(
                    f"nslab check on the {mode} build exited {done.returncode}, expected {expected}: "
                    + (done.stderr.strip() or done.stdout.strip())[-300:]
                )
        down, done = timed([ways.NSLAB, "down", SCENARIO_LAB])
        if done.returncode != 0:
            raise ways.Failed(f"nslab down exited {done.returncode}: {done.stderr.strip()[-300:]}")
        if not gone():
            raise ways.Failed("nslab down left namespaces behind")
        data = out[mode]
        data["up"].append(up)
        data["down"].append(down)
        if rtt is not None:
            data["ping"].append(rtt)
        if check is not None:
            data["check"].append(check)
        return (
            f"{mode}: up {up * 1000:.0f} ms, "
            + (f"check {check * 1000:.0f} ms, " if check is not None else "")
            + f"down {down * 1000:.0f} ms"
        )

    for rep in range(reps):
        out["python"].append(timed([sys.executable, "-c", "pass"])[0])
        parts = []
        for mode in modes:
            try:
                if not gone():
                    lab.down_one(SCENARIO_LAB)
                parts.append(cycle(mode))
            except ways.Failed as exc:
                failures.append(f"{scenario.name} ({mode}): {exc}")
                parts.append(f"{mode} FAILED: {exc}")
            finally:
                if not gone():
                    lab.down_one(SCENARIO_LAB)
            settle(len(names))
        log(f"  {scenario.name} rep {rep + 1}/{reps}: " + "; ".join(parts))
    return out


def help_rounds(reps: int) -> dict[str, Any]:
    """Cold starts; also `nslab --help` without cached bytecode, as it runs on a machine with
    PYTHONDONTWRITEBYTECODE=1 and an editable install (for information, not a target)."""
    out: dict[str, Any] = {"python": [], "nslab_help": [], "nslab_help_nopyc": []}
    no_pyc = {k: v for k, v in ways.ENV.items() if k != "PYTHONPYCACHEPREFIX"} | {
        "PYTHONDONTWRITEBYTECODE": "1"
    }
    for _ in range(reps):
        t, done = timed([sys.executable, "-c", "pass"])
        out["python"].append(t)
        t, done = timed([ways.NSLAB, "--help"])
        if done.returncode == 0:
            out["nslab_help"].append(t)
        started = time.perf_counter()
        done = subprocess.run([ways.NSLAB, "--help"], capture_output=True, text=True, env=no_pyc)
        if done.returncode == 0:
            out["nslab_help_nopyc"].append(time.perf_counter() - started)
    return out


def big_lab(n: int, workdir: str) -> dict[str, Any]:
    """`nslab up` and `nslab down` of an n-host star, each process limited to 1024 open files."""
    from nslab.labs import lifecycle as lab

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    star = Star(n, BIG_PREFIX)
    path = os.path.join(workdir, f"star{n}.yaml")
    with open(path, "w") as handle:
        handle.write(nslab_yaml(n, f"be-star-{n}"))
    out: dict[str, Any] = {"n": n, "ok": False, "ulimit_n": 1024}
    try:
        up, done = timed([ways.NSLAB, "up", path, "--prefix", BIG_PREFIX], preexec_fn=limit)
        out["up"] = up
        if done.returncode != 0:
            out["error"] = f"nslab up exited {done.returncode}: {done.stderr.strip()[-300:]}"
            return out
        out["ping"] = probe.ping(os.path.join(NETNS_DIR, star.host_ns(n)), star.host_ip(1))
        down, done = timed([ways.NSLAB, "down", BIG_PREFIX], preexec_fn=limit)
        out["down"] = down
        if done.returncode != 0:
            out["error"] = f"nslab down exited {done.returncode}: {done.stderr.strip()[-300:]}"
            return out
        if star.leftovers():
            out["error"] = f"nslab down left {len(star.leftovers())} namespaces"
            return out
        out["ok"] = True
    except OSError as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if star.leftovers():
            lab.down_one(BIG_PREFIX)
            ways.unname(star)
    settle(n)
    # The floor at the same size, for scale (one build, not a target).
    try:
        sample = ways.Way("floor", "", "be-flk", ways.floor.build, ways.floor.teardown).once(n)
        out["floor_build"], out["floor_teardown"] = sample.build, sample.teardown
    except ways.Failed as exc:
        out["floor_error"] = str(exc)
    settle(n)
    return out


def update_readme(table: str) -> None:
    """Put the latest table into bench/README.md, between its two markers."""
    path = os.path.join(HERE, "README.md")
    with open(path) as handle:
        text = handle.read()
    start, end = "<!-- latest:start -->\n", "<!-- latest:end -->"
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as handle:
        handle.write(head + start + table + end + tail)


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "interpreter": sys.executable,
        "nslab": ways.NSLAB,
        "load_at_start": load,
        "summary": f"{os.cpu_count()} CPUs, kernel {platform.release()}, Python {platform.python_version()}, "
        f"load average {load[0]:.2f} at start",
    }


def main() -> int:
    global GAUGE
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="N=10 and 50, 2 repetitions, no 1000-host lab")
    parser.add_argument("--sizes", default="10,50,200", help="star sizes (default 10,50,200)")
    parser.add_argument("--reps", default="5,5,3", help="repetitions per size (default 5,5,3)")
    parser.add_argument("--scenario-reps", type=int, default=9)
    parser.add_argument("--help-reps", type=int, default=10)
    parser.add_argument("--big", type=int, default=1000, help="hosts in the ulimit lab (0: skip)")
    parser.add_argument("--no-mininet", action="store_true", help="skip Mininet even if installed")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/run.py needs root (it builds network namespaces)", file=sys.stderr)
        return 4
    if not os.access(ways.NSLAB, os.X_OK):
        print(f"no nslab console script at {ways.NSLAB}: install nslab into this python", file=sys.stderr)
        return 4
    sizes = [int(x) for x in args.sizes.split(",")]
    rep_list = [int(x) for x in args.reps.split(",")]
    if args.quick:
        sizes, rep_list, args.big, args.scenario_reps, args.help_reps = [10, 50], [2, 2], 0, 3, 5
    reps = {n: rep_list[min(i, len(rep_list) - 1)] for i, n in enumerate(sizes)}
    mininet_skipped = "disabled with --no-mininet" if args.no_mininet else ways.mininet_available()
    if mininet_skipped:
        log(f"Mininet skipped: {mininet_skipped}")

    started = time.monotonic()
    stamp = datetime.datetime.now().astimezone()
    workdir = tempfile.mkdtemp(prefix="be-bench-")
    GAUGE = quiet.RtnlGauge()
    ways.ENV["PYTHONPYCACHEPREFIX"] = os.path.join(workdir, "pycache")
    failures: list[str] = []
    all_ways = ways.all_ways(workdir, mininet=not mininet_skipped)
    results: dict[str, Any] = {
        "date": stamp.isoformat(timespec="seconds"),
        "machine": machine(),
        "config": {
            "command": " ".join(["python3", "bench/run.py", *sys.argv[1:]]),
            "sizes": sizes,
            "reps": {str(n): r for n, r in reps.items()},
            "scenario_reps": args.scenario_reps,
            "help_reps": args.help_reps,
            "big": args.big,
            "warmup": "one untimed N=10 round of every way first",
            "settle": "after each teardown, wait for 100 ms without a long rtnl hold (bench/quiet.py)",
            "bytecode": "whole-process runs cache .pyc under PYTHONPYCACHEPREFIX (a temp dir)",
        },
        "order": [w.key for w in all_ways],
        "labels": {w.key: w.label for w in all_ways},
        "mininet_skipped": mininet_skipped,
        "failures": failures,
    }
    try:
        log("warm-up (not counted): N=10 once per way")
        star_rounds(all_ways, [10], {10: 1}, [])
        log(f"star topologies: sizes {sizes}, repetitions {reps}")
        results["star"] = star_rounds(all_ways, sizes, reps, failures)
        log(f"typical scenario: {os.path.relpath(SCENARIO, ROOT)}, {args.scenario_reps} repetitions")
        results["scenario"] = scenario_rounds(args.scenario_reps, workdir, failures)
        log(f"cold start: {args.help_reps} runs of `nslab --help` and of `python -c pass`")
        results["help"] = help_rounds(args.help_reps)
        if args.big:
            log(f"{args.big}-host lab at ulimit -n 1024")
            results["big"] = big_lab(args.big, workdir)
            log(f"  {results['big']}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        GAUGE.close()
    results["seconds"] = time.monotonic() - started
    results["machine"]["load_at_end"] = os.getloadavg()
    verdicts = report.targets(results)
    results["targets"] = [t.as_dict() for t in verdicts]
    text = report.markdown(results, verdicts)

    os.makedirs(RESULTS, exist_ok=True)
    name = stamp.strftime("%Y%m%d-%H%M%S")
    for path in (os.path.join(RESULTS, f"{name}.json"), os.path.join(RESULTS, "latest.json")):
        with open(path, "w") as handle:
            json.dump(results, handle, indent=1)
    with open(os.path.join(RESULTS, "latest.md"), "w") as handle:
        handle.write(text)
    defaults = parser.parse_args([])
    full = not args.quick and (args.sizes, args.reps, args.big) == (
        defaults.sizes,
        defaults.reps,
        defaults.big,
    )
    if full and not failures:
        update_readme(text)
    log("")
    log(text)
    log(f"total {results['seconds']:.0f} s; results in bench/results/{name}.json and bench/results/latest.md")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
