from __future__ import annotations

import click

from nslab.cli.common import need_root, not_empty


@click.command("cleanup")
@click.option(
    "--prefix",
    "only",
    default="",
    metavar="P",
    callback=not_empty,
    help="Only labs whose name starts with P.",
)
def cleanup_command(only: str) -> None:
    """Remove every nslab lab on this machine, even without its state files.

    Finds nslab's namespaces by the ownership marker each one carries and removes only
    those; namespaces and processes of other tools are never touched.

    \b
    Example:
      sudo nslab cleanup
    """
    from nslab.errors import LabStateError
    from nslab.labs import lifecycle as lab

    need_root("nslab cleanup")
    from nslab.cli.render import print_teardown

    reports = lab.down(None, everything=True, only=only)
    busy = [r for r in reports if r.busy]
    try:
        print_teardown([r for r in reports if not r.busy], quiet_if_empty=bool(busy))
    finally:
        # Labs another command is changing were left alone: say so, exit 3 (lab state).
        if busy:
            raise LabStateError(
                "; ".join(f"left lab {r.lab} alone: {r.busy}" for r in busy),
                "run 'nslab cleanup' again once it has finished",
            )
