from __future__ import annotations

import click

from nslab.cli.common import LAB_OPTION


@click.command("hint")
@LAB_OPTION
@click.option("--again", is_flag=True, help="Show the hints you already took, without taking a new one.")
def hint_command(lab: str | None, again: bool) -> None:
    """Show the next hint for the lab you are working on, from gentle to specific.

    Each hint you take is recorded in your progress (see 'nslab list'), so try the
    tools first: 'ip addr', 'ip route', 'ping', 'ss -tlnp', 'tcpdump -ni IFACE'.

    \b
    Example:
      nslab hint
      nslab hint --again     # read the hints you already took
    """
    from nslab.cli.common import resolve_lab
    from nslab.grading.cache import running_scenario
    from nslab.labs import progress

    meta, scenario = running_scenario(resolve_lab(lab))
    hints = scenario.active_hints()
    if not hints:
        click.echo(f"{scenario.name} has no hints; 'nslab check' says what each failing check saw")
        return
    if again:
        found = progress.entry(scenario.name)
        taken = int(found.get("hints_used", 0)) + int(found.get("hints_after_solve", 0))
        if not taken:
            click.echo("you have not taken a hint yet; 'nslab hint' shows the first")
        for index in range(min(taken, len(hints))):
            click.echo(_format(index, hints))
        return
    index = progress.take_hint(scenario.name, len(hints), meta.created)
    click.echo(_format(index, hints))
    if index == len(hints) - 1:
        click.echo("\nthat was the last hint; 'nslab solution' shows the reference fix")


def _format(index: int, hints: tuple[str, ...]) -> str:
    body = "\n".join("  " + line if line else "" for line in hints[index].rstrip().splitlines())
    return f"hint {index + 1} of {len(hints)}:\n{body}"
