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

    print_teardown(reports)
