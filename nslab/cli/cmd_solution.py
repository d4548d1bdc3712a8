from __future__ import annotations

import click

from nslab.cli.common import ALLOW_EXEC_OPTION, LAB_OPTION, need_root


@click.command("solution")
@LAB_OPTION
@click.option("--apply", "apply_it", is_flag=True, help="Run the fix inside the lab's nodes, then grade.")
@ALLOW_EXEC_OPTION
@click.option(
    "--yes", "-y", "yes", is_flag=True, help="Do not ask before showing the solution of an unsolved lab."
)
def solution_command(lab: str | None, apply_it: bool, allow_exec: bool, yes: bool) -> None:
    """Show the scenario's reference fix: the commands, and the node each runs in.

    With --apply, run them in the lab and grade it (exit 0 if everything passes). On a lab
    you have not solved yet it asks first (--yes skips the question; without a terminal,
    --yes is required), and seeing or applying the solution is noted in your progress.

    \b
    Example:
      nslab solution
      nslab solution --yes        # no question (scripts); still recorded
      sudo nslab solution --apply
    """
    from nslab.cli.common import resolve_lab
    from nslab.grading import solution
    from nslab.grading.cache import running_scenario
    from nslab.labs import progress

    if apply_it:
        need_root("nslab solution --apply")
    lab_name = resolve_lab(lab)
    meta, scenario = running_scenario(lab_name)
    if not scenario.active_solution():
        click.echo(f"{scenario.name} has no reference solution")
        if apply_it:
            raise SystemExit(1)
        return
    if not meta.healthy and not _solved(lab_name, scenario.name):
        _confirm(yes)
        progress.record_solution(scenario.name, apply_it, meta.created)
    if not apply_it:
        click.echo(f"reference solution for {scenario.name} ('nslab solution --apply' runs it):")
        for line in solution.describe(scenario):
            click.echo(f"  {line}")
        if scenario.explanation:
            from nslab.cli import prose

            click.echo("\nWhy:")
            prose.echo(scenario.explanation)
        return
    from nslab.engine import state

    solution.gate(lab_name, scenario, allow_exec)
    with state.lab_lock(lab_name, "nslab solution --apply"):  # no rebuild or teardown meanwhile
        steps = solution.apply(lab_name, scenario)
    for step in steps:
        click.echo(f"  [{step.node}] {step.run}" + (f"\n      {step.output}" if step.output else ""))
    from nslab.grading.live import check_scenario
    from nslab.grading.render import report_text

    report = check_scenario(lab_name, scenario, meta.healthy)
    if report.passed and not meta.healthy:
        from nslab.grading.live import mark_solved

        mark_solved(lab_name)
    click.echo(report_text(report))
    if not report.passed:
        raise SystemExit(1)


def _solved(lab: str, scenario: str) -> bool:
    """Solved by this learner before, or this very lab solved: the solution gives nothing away."""
    from nslab.grading.live import is_solved
    from nslab.labs import progress

    return bool(progress.entry(scenario).get("solved")) or is_solved(lab)


def _confirm(yes: bool) -> None:
    """Ask before giving the answer away; a script must say --yes (exit 2 otherwise)."""
    from nslab.errors import UsageError

    if yes:
        return
    if not _is_tty():
        raise UsageError(
            "this lab is not solved yet: showing its solution needs a yes",
            "run it in a terminal to be asked, or add --yes (seeing the solution is recorded)",
        )
    if not click.confirm("show the solution? it will be recorded", default=False):
        click.echo("not shown; 'nslab hint' gives the next hint instead")
        raise SystemExit(0)


def _is_tty() -> bool:
    import sys

    return sys.stdin.isatty()
