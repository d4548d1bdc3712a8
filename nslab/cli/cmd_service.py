from __future__ import annotations

import os
import sys
import time

import click

from nslab.cli.common import LAB_OPTION, echo_json, need_root, resolve_lab


@click.group("service")
def service_command() -> None:
    """List, start, stop and restart a lab's services, and read their logs.

    A service that died (or that the scenario left stopped) comes back with
    'start'; 'nslab status' shows each one alive or dead.

    \b
    Example:
      sudo nslab service list
      sudo nslab service start web
      sudo nslab service restart resolver --lab alice
      sudo nslab service logs web -n 20
      sudo nslab service config web      # its settings file: edit, then restart
    """


@service_command.command("list")
@LAB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(lab: str | None, as_json: bool) -> None:
    """Show the lab's services: kind, node, what they listen on, running or not.

    \b
    Example:
      sudo nslab service list
    """
    from nslab.labs import service_control as control

    rows = control.listing(resolve_lab(lab))
    if as_json:
        echo_json({"services": [row.to_json() for row in rows]})
        return
    if not rows:
        click.echo("this lab declares no services")
    for row in rows:
        if row.alive:
            where = f"running, pid {row.pid}"
        elif row.pid is None:
            where = "not started" + ("" if row.autostart else " (autostart: false)")
        else:
            where = f"DEAD (was pid {row.pid})"
        listens = ", ".join(row.listens) or "-"
        click.echo(f"{row.name:<12} {row.kind:<8} on {row.node:<12} {listens:<28} {where}")


@service_command.command("start")
@LAB_OPTION
@click.argument("name")
def start_command(lab: str | None, name: str) -> None:
    """Start a service that is not running; returns once it listens.

    \b
    Example:
      sudo nslab service start web
    """
    from nslab.labs import service_control as control

    need_root("nslab service start")
    row = control.start(resolve_lab(lab), name)
    _notes(row.notes)
    click.echo(f"started {row.name} on {row.node} (pid {row.pid}){_listening(row.listens)}")


@service_command.command("stop")
@LAB_OPTION
@click.argument("name")
def stop_command(lab: str | None, name: str) -> None:
    """Stop a service and everything it started (no error if it is not running).

    \b
    Example:
      sudo nslab service stop web
    """
    from nslab.labs import service_control as control

    need_root("nslab service stop")
    row = control.stop(resolve_lab(lab), name)
    if row.stopped:
        click.echo(f"stopped {row.name} on {row.node} (pid {', '.join(str(s.pid) for s in row.stopped)})")
    else:
        click.echo(f"{row.name} was not running")


@service_command.command("restart")
@LAB_OPTION
@click.argument("name")
def restart_command(lab: str | None, name: str) -> None:
    """Stop a service if it runs, then start it again.

    \b
    Example:
      sudo nslab service restart resolver
    """
    from nslab.labs import service_control as control

    need_root("nslab service restart")
    row = control.restart(resolve_lab(lab), name)
    _notes(row.notes)
    click.echo(f"restarted {row.name} on {row.node} (pid {row.pid}){_listening(row.listens)}")


@service_command.command("config")
@LAB_OPTION
@click.argument("name")
@click.option("--path", "path_only", is_flag=True, help="Print only the file's path (for scripts).")
def config_command(lab: str | None, name: str, path_only: bool) -> None:
    """Show a service's settings file. Edit it, then 'nslab service restart NAME'.

    The file holds the service's settings as the scenario format writes them (port,
    bind address, DNS zones and records...). Restarting validates it and reports any
    mistake with file:line:col.

    \b
    Example:
      sudo nslab service config web
      sudo nano "$(sudo nslab service config web --path)" && sudo nslab service restart web
    """
    from nslab.engine import state
    from nslab.errors import UsageError
    from nslab.labs import service_control as control
    from nslab.services import editable

    lab_name = resolve_lab(lab)
    control.find(control.scenario_of(lab_name), name)
    path = editable.path_of(state.lab_dir(lab_name), name)
    if not os.path.exists(path):
        raise UsageError(f"service {name} has no settings file yet", "it is written when the lab is built")
    if path_only:
        click.echo(path)
        return
    click.echo(f"# {path}")
    with open(path) as handle:
        click.echo(handle.read(), nl=False)


@service_command.command("logs")
@LAB_OPTION
@click.argument("name")
@click.option("-n", "--lines", default=50, show_default=True, help="How many of the last lines (0: all).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
def logs_command(lab: str | None, name: str, lines: int, follow: bool) -> None:
    """Print a service's log: its start, what it listens on, each request or query, errors.

    \b
    Example:
      sudo nslab service logs web
      sudo nslab service logs rootdns -f
    """
    from nslab.engine import state
    from nslab.labs import service_control as control
    from nslab.services import supervisor

    lab_name = resolve_lab(lab)
    text = control.log_tail(lab_name, name, lines)
    if text:
        click.echo(text)
    if follow:
        _follow(supervisor.log_path(state.lab_dir(lab_name), name))


def _follow(path: str) -> None:
    """Print what is appended to path until Ctrl-C (or until the lab goes away)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            while os.path.exists(path):
                chunk = handle.read()
                if chunk:
                    sys.stdout.write(chunk.decode(errors="replace"))
                    sys.stdout.flush()
                else:
                    time.sleep(0.2)
    except FileNotFoundError:
        return
    except KeyboardInterrupt:
        return


def _notes(notes: list[str]) -> None:
    """What a start had to do first (a leftover it stopped), on stderr like other warnings."""
    for note in notes:
        click.echo(note, err=True)


def _listening(listens: list[str]) -> str:
    return f": listening on {', '.join(listens)}" if listens else ""
