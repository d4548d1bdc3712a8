from __future__ import annotations

import click

from nslab.cli.common import ALLOW_EXEC_OPTION, LAB_OPTION, need_root


@click.command("reset")
@LAB_OPTION
@ALLOW_EXEC_OPTION
def reset_command(lab: str | None, allow_exec: bool) -> None:
    """Rebuild the lab in its starting state: same scenario, seed and parameters, same fault.

    Useful when an experiment went too far. Your progress (hints taken, time) is kept.

    \b
    Example:
      sudo nslab reset
      sudo nslab reset --lab alice
    """
    from nslab.cli.common import resolve_lab
    from nslab.labs.reset import reset

    need_root("nslab reset")
    result = reset(resolve_lab(lab), allow_exec=allow_exec)
    start = (
        "healthy, as it was built" if result.healthy else "broken again, with the same fault as at the start"
    )
    click.echo(f"lab {result.lab} is back at its starting point: {start}; your changes are gone,")
    click.echo("your progress (hints, attempts, time) is kept.")
    click.echo(result.describe())
