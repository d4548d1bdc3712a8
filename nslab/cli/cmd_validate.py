from __future__ import annotations

import click

from nslab.errors import ScenarioError


@click.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE|NAME...")
@click.option("--seed", help="Validate with the parameter choices this seed makes.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
def validate_command(files: tuple[str, ...], seed: str | None, quiet: bool) -> None:
    """Check scenario files for errors without building anything (no root needed).

    Every error is reported at once with file:line:col and a suggested fix.

    \b
    Example:
      nslab validate scenarios/*.yaml
    """
    from nslab import catalog, loader

    failed = 0
    for item in files:
        try:
            path = catalog.resolve(item)
            scenario = loader.load(str(path), seed=seed)
        except ScenarioError as exc:
            failed += 1
            click.echo(exc.render(), err=True)
            continue
        except Exception as exc:
            from nslab.errors import NslabError

            if not isinstance(exc, NslabError):
                raise
            failed += 1
            click.echo(f"{item}: {exc.render()}", err=True)
            continue
        if not quiet:
            click.echo(
                f"{path}: ok ({scenario.name}: {len(scenario.nodes)} nodes, {len(scenario.checks)} checks)"
            )
    if failed:
        raise SystemExit(2)
