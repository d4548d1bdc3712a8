from __future__ import annotations

import click

from nslab.cli.common import LAB_OPTION, need_root


@click.command("solution")
@LAB_OPTION
@click.option("--apply", "apply_it", is_flag=True, help="Run the fix inside the lab's nodes, then grade.")
def solution_command(lab: str | None, apply_it: bool) -> None:
    """Show the scenario's reference fix: the commands, and the node each runs in.

    With --apply, run them in the lab and grade it (exit 0 if everything passes). Seeing or
    applying the solution is noted in your progress.

    \b
    Example:
      nslab solution
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
    if not meta.healthy:
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
    for step in solution.apply(lab_name, scenario):
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
