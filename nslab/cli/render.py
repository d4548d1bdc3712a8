"""Text rendering shared by several commands."""

from __future__ import annotations

import click

from nslab.engine.teardown import TeardownReport


def print_teardown(reports: list[TeardownReport], quiet_if_empty: bool = True) -> None:
    """Print what teardown did; exit 5 if anything was left behind."""
    problems = 0
    if not reports and not quiet_if_empty:
        click.echo("nothing to clean up: no nslab labs found")
    for report in reports:
        parts = [f"{report.namespaces} namespace{'s' if report.namespaces != 1 else ''}"]
        if report.processes:
            parts.append(f"{len(report.processes)} process{'es' if len(report.processes) != 1 else ''}")
        if report.etc_dirs:
            parts.append(f"{report.etc_dirs} /etc/netns entr{'ies' if report.etc_dirs != 1 else 'y'}")
        click.echo(f"lab {report.lab} is down: removed {', '.join(parts)}")
        for stray in report.strays:
            click.echo(
                f"  stopped process {stray.pid} ({stray.command}) that was still running inside the lab"
            )
        for name in report.skipped:
            click.echo(f"  left {name} alone: it does not carry this lab's ownership marker")
        for problem in report.problems:
            problems += 1
            click.echo(f"  could not remove: {problem}", err=True)
    if problems:
        raise SystemExit(5)
