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
    from nslab.labs import lifecycle as lab

    need_root("nslab cleanup")
    from nslab.cli.render import print_teardown

    print_teardown(lab.down(None, everything=True, only=only), quiet_if_empty=False)
