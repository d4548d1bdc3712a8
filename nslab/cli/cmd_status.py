from __future__ import annotations

import click

from nslab.cli.common import echo_json, need_root


@click.command("status")
@click.argument("lab_name", required=False, metavar="[LAB]")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_command(lab_name: str | None, as_json: bool) -> None:
    """Show the labs that are up: nodes, services (alive or dead) and anything broken.

    Exits 1 if a lab has lost a namespace or a service, 0 otherwise.

    \b
    Example:
      sudo nslab status
      sudo nslab status --json
    """
    from nslab.cli.common import resolve_lab
    from nslab.engine import status

    need_root("nslab status")
    labs = [status.lab_status(resolve_lab(lab_name))] if lab_name else status.all_labs()
    solved = {lab.lab: _solved(lab.lab, lab.scenario, lab.healthy_build) for lab in labs}
    if as_json:
        echo_json({"labs": [{**lab.to_json(), "solved": solved[lab.lab]} for lab in labs]})
    else:
        if not labs:
            click.echo("no lab is up (start one with 'nslab up NAME'; 'nslab list' shows the scenarios)")
        for lab in labs:
            mode = "healthy build" if lab.healthy_build else "broken build"
            health = "ok" if lab.ok else "DEGRADED"
            mode += ", solved" if solved[lab.lab] else ""
            click.echo(f"{lab.lab}: scenario {lab.scenario} ({mode}), up {lab.age_seconds:.0f} s, {health}")
            for node in lab.nodes:
                click.echo(
                    f"  node {node.name:<12} {node.netns:<28} {'present' if node.present else 'MISSING'}"
                )
            for svc in lab.services:
                alive = "alive" if svc.alive else "DEAD"
                click.echo(f"  service {svc.name:<9} on {svc.node:<12} pid {svc.pid:<8} {alive}")
            for problem in lab.problems:
                click.echo(f"  problem: {problem}")
    if any(not lab.ok for lab in labs):
        raise SystemExit(1)


def _solved(lab: str, scenario: str, healthy: bool) -> bool:
    """This lab passed a check run, or the learner solved its scenario before."""
    if healthy:
        return False
    from nslab.grading.live import is_solved
    from nslab.labs import progress

    return is_solved(lab) or bool(progress.entry(scenario).get("solved"))
