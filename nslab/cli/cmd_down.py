from __future__ import annotations

import click

from nslab.cli.common import need_root


@click.command("down")
@click.argument("lab_name", required=False, metavar="[LAB]")
@click.option("--all", "everything", is_flag=True, help="Every lab, including ones found only by marker.")
def down_command(lab_name: str | None, everything: bool) -> None:
    """Tear a lab down: stop its processes, delete its namespaces and files.

    Safe to run twice. Exits non-zero if anything could not be removed.

    \b
    Example:
      sudo nslab down
      sudo nslab down alice
      sudo nslab down --all
    """
    from nslab.labs import lifecycle as lab

    need_root("nslab down")
    reports = lab.down(lab_name, everything)
    from nslab.cli.render import print_teardown
    from nslab.errors import LabStateError

    busy = [r for r in reports if r.busy]
    try:
        print_teardown([r for r in reports if not r.busy])
    finally:
        if busy:  # --all left labs alone that another command is changing
            raise LabStateError(
                "; ".join(f"left lab {r.lab} alone: {r.busy}" for r in busy),
                "run 'nslab down --all' again once it has finished",
            )
