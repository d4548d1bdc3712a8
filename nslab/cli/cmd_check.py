from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING

import click

from nslab.cli.common import LAB_OPTION, need_root

if TYPE_CHECKING:
    from nslab.grading.live import Graded
    from nslab.packets.walk import Walk


@click.command("check")
@LAB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (schema: docs/grading.md).")
@click.option("--junit", "junit", metavar="FILE", help="Also write the report as JUnit XML to FILE.")
@click.option("--watch", is_flag=True, help="Grade again every few seconds until everything passes.")
@click.option(
    "--interval",
    type=click.FloatRange(0.5, 600),
    callback=lambda ctx, param, value: _a_number(value),
    default=3.0,
    show_default=True,
    help="Seconds between --watch runs.",
)
@click.option(
    "--pcap",
    "pcap",
    metavar="DIR",
    help="Capture every lab interface while checks run; write DIR/CHECK.pcapng for each failing check.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Follow one probe of each failing reachability check across the lab (nslab walk) and "
    "print where it died and why. For instructors and CI: it names the fault.",
)
@click.option(
    "--reveal",
    is_flag=True,
    help="Show every check's expected value and evidence even before the lab is solved"
    " (for instructors and CI; learners see what a failing check's symptom is).",
)
def check_command(
    lab: str | None,
    as_json: bool,
    junit: str | None,
    watch: bool,
    interval: float,
    pcap: str | None,
    explain: bool,
    reveal: bool,
) -> None:
    """Grade the lab with live traffic: every check runs at once from inside its node.

    Goal checks must pass once you have fixed the fault; guard checks must keep passing (a
    "fix" that flushes a firewall or opens every port breaks one). Each failure says in one
    line what the probe saw. Exits 0 only when every goal and every guard passes, else 1.

    Until the lab is solved, a failing check describes the symptom you could see for
    yourself, never the value it expects; once a run passes everything (or with --reveal)
    every check shows what it expected and what it saw.

    \b
    Example:
      sudo nslab check
      sudo nslab check --watch              # re-grade while you work in another terminal
      sudo nslab check --json --junit report.xml
      sudo nslab check --pcap traces/       # a capture of every failing check (CI artifact)
      sudo nslab check --explain            # where each failing probe died, and why
      sudo nslab check --reveal --json      # CI / instructors: expected values too
    """
    from nslab.cli.common import resolve_lab

    need_root("nslab check")
    lab_name = resolve_lab(lab)
    first = True
    while True:
        passed = _once(
            lab_name,
            as_json,
            junit,
            clear=watch and not as_json and sys.stdout.isatty(),
            first=first,
            pcap=pcap,
            explain=explain,
            reveal=reveal,
        )
        if passed or not watch:
            break
        first = False
        time.sleep(interval)
    if not passed:
        raise SystemExit(1)


def _a_number(value: float) -> float:
    """FloatRange lets NaN through (every comparison with it is false); sleep(nan) then fails."""
    if math.isnan(value):
        raise click.BadParameter("nan is not a number of seconds; e.g. --interval 5")
    return value


def _once(
    lab_name: str,
    as_json: bool,
    junit: str | None,
    clear: bool,
    first: bool,
    pcap: str | None,
    explain: bool = False,
    reveal: bool = False,
) -> bool:
    from nslab.grading.live import check_lab, is_solved, mark_solved
    from nslab.grading.render import report_json, report_text
    from nslab.grading.reveal import conceal

    graded = check_lab(lab_name) if pcap is None else _check_with_capture(lab_name, pcap)
    if graded.report.passed and not graded.meta.healthy:
        mark_solved(lab_name)
    revealed = reveal or graded.report.passed or is_solved(lab_name)
    report = conceal(graded.report, graded.scenario, revealed)
    if junit:
        from nslab.grading.render_junit import report_junit, write

        write(junit, report_junit([report]))
    # --watch rounds count as one attempt: record the first round and the one that solves it.
    entry = _record(graded) if not graded.meta.healthy and (first or report.passed) else None
    walks = _explain(lab_name, graded) if explain else {}
    if as_json:
        from nslab.cli.common import echo_json

        data = report_json(report)
        if explain:
            data["walks"] = {name: w if isinstance(w, str) else w.to_json() for name, w in walks.items()}
        echo_json(data)
        return report.passed
    if clear:
        click.clear()
    click.echo(f"lab {lab_name} ({report.scenario}{', healthy build' if report.healthy_build else ''})")
    click.echo(report_text(report))
    if walks:
        from nslab.packets.walk import render

        for name, found in walks.items():
            click.echo(f"\nwalk for {name}:")
            click.echo(found if isinstance(found, str) else render(found))
    if any(not r.revealed for r in report.results):
        click.echo("(failing checks say what you could see yourself; what they expect is shown once solved)")
    if report.passed and entry is not None:
        seconds = entry.get("seconds")
        if isinstance(seconds, int | float):
            took = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
            click.echo(f"solved in {took}, {entry.get('hints_used', 0)} hints used")
        if graded.scenario.explanation:
            from nslab.cli import prose

            click.echo("\nWhat was wrong:")
            prose.echo(graded.scenario.explanation)
    elif not report.passed and graded.scenario.active_hints():
        click.echo("stuck? 'nslab hint' shows the next hint")
    return report.passed


def _check_with_capture(lab_name: str, directory: str) -> Graded:
    """Capture on every interface of the lab while the checks run; then, per failing check,
    keep the packets of that check's time window. Checks run all at once, so a window also
    holds the traffic of the checks that ran beside it. Only this path imports the capture."""
    import os
    import re

    from nslab.grading.live import check_lab
    from nslab.packets.capture import POLL, Capture, drain, save
    from nslab.packets.targets import resolve

    capture = Capture(resolve(lab_name, (), everything=True))
    capture.start()
    try:
        graded = check_lab(lab_name)
        ended = time.time_ns()
        time.sleep(POLL)  # let the capture threads queue what the kernel already stamped
    finally:
        capture.stop()
    packets = drain(capture)
    report = graded.report
    checks_started = ended - int(report.seconds * 1e9)
    os.makedirs(directory, exist_ok=True)
    written = []
    for result in report.results:
        path = os.path.join(directory, re.sub(r"[^A-Za-z0-9_.-]", "_", result.name) + ".pcapng")
        if result.passed:
            if os.path.exists(path):  # from an earlier round of --watch: it passes now
                os.unlink(path)
            continue
        end = checks_started + int(result.seconds * 1e9) + 100_000_000  # late replies too
        count = save(capture, packets, path, checks_started - 50_000_000, end)
        written.append(f"{path} ({count} packets)")
    if written:
        click.echo("captures of failing checks: " + ", ".join(written), err=True)
    return graded


def _explain(lab_name: str, graded: Graded) -> dict[str, Walk | str]:
    """One walk per failing ping/tcp/udp/http check, run after grading (one at a time, so
    the walks' captures do not hold each other's packets). Only this path imports the walk."""
    from nslab.packets.explain import explain

    checks = {check.name: check for check in graded.scenario.active_checks()}
    walks: dict[str, Walk | str] = {}
    for result in graded.report.results:
        if not result.passed and result.name in checks:
            found = explain(lab_name, checks[result.name])
            if found is not None:
                walks[result.name] = found
    return walks


def _record(graded: Graded) -> dict[str, object]:
    from nslab.labs import progress

    report = graded.report
    return progress.record_check(
        report.scenario, graded.meta.created, report.passed, report.score, report.max_score
    )
