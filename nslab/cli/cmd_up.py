from __future__ import annotations

import signal
import sys
from typing import Any

import click

from nslab.cli.common import ALLOW_EXEC_OPTION, need_root, not_empty, parse_params


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _announce(lines: list[str]) -> None:
    """What a scenario from outside the package does as root, on stderr before the build."""
    if lines:
        click.echo("\n".join(lines), err=True)


@click.command("up")
@click.argument("scenario", metavar="NAME|FILE")
@click.option(
    "--prefix",
    callback=not_empty,
    help="Lab name and namespace prefix (default: the scenario's name); two prefixes run one scenario twice.",
)
@click.option("--replace", is_flag=True, help="Tear down a lab of the same name first.")
@click.option("--healthy", is_flag=True, help="Build without the scenario's faults (a working network).")
@click.option("--seed", help="Seed for the scenario's parameters (which fault, which ports...).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Force a parameter's value.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@ALLOW_EXEC_OPTION
def up_command(
    scenario: str,
    prefix: str | None,
    replace: bool,
    healthy: bool,
    seed: str | None,
    params: tuple[str, ...],
    as_json: bool,
    allow_exec: bool,
) -> None:
    """Build a lab from a scenario: namespaces, links, addresses, routes, firewall, services.

    The lab is either fully up or fully gone: a failure or Ctrl-C rolls back everything.

    \b
    Example:
      sudo nslab up ws2-cannot-open-share
      sudo nslab up scenarios/nat-masquerade.yaml --prefix alice --seed alice
    """
    from nslab.labs import lifecycle as lab

    overrides = parse_params(params)  # a bad flag is exit 2 whoever runs it
    need_root("nslab up")
    signal.signal(signal.SIGTERM, _sigterm)
    result = lab.up(
        scenario,
        prefix=prefix,
        replace=replace,
        healthy=healthy,
        seed=seed,
        params=overrides,
        allow_exec=allow_exec,
        announce=_announce,
    )
    if as_json:
        from nslab.cli.common import echo_json

        echo_json(result.summary())
        return
    click.echo(result.describe())
    sys.stdout.flush()
