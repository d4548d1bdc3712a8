from __future__ import annotations

import click


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(as_json: bool) -> None:
    """List the scenarios, grouped by course section, with your progress.

    \b
    Example:
      nslab list
    """
    from nslab import plugins
    from nslab.scenario import catalog

    entries = catalog.entries(before_full_load=plugins.load)
    progress = _progress()
    if as_json:
        from nslab.cli.common import echo_json

        echo_json(
            [
                {
                    "name": e.name,
                    "title": e.title,
                    "section": e.section,
                    "level": e.level,
                    "minutes": e.minutes,
                    "path": str(e.path),
                    "error": e.error,
                    "progress": progress.get(e.name),
                }
                for e in entries
            ]
        )
        return
    if not entries:
        click.echo("no scenarios found (set NSLAB_SCENARIOS to a directory of .yaml files)")
        return
    current = None
    for e in entries:
        if e.error:
            click.echo(f"  {e.name:<28} INVALID: {e.error.splitlines()[0]}")
            continue
        if e.section != current:
            current = e.section
            click.echo(f"\nSection {e.section or '-'}")
        mark = _mark(progress.get(e.name))
        click.echo(f"  {mark} {e.name:<26} {e.level:<12} {e.minutes:>3} min  {e.title}")


def _progress() -> dict[str, dict[str, object]]:
    import importlib

    try:
        module = importlib.import_module("nslab.labs.progress")
    except ImportError:
        return {}
    loaded: dict[str, dict[str, object]] = module.load_all()
    return loaded


def _mark(entry: dict[str, object] | None) -> str:
    if not entry:
        return " "
    return "✔" if entry.get("solved") else "…"
