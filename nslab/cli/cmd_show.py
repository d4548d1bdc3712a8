from __future__ import annotations

import click

# Check kinds that read a node's configuration rather than send traffic.
STATE_KINDS = frozenset({"route", "address", "link", "sysctl", "iptables", "listening", "sockets"})


@click.command("show")
@click.argument("scenario", metavar="NAME|FILE")
def show_command(scenario: str) -> None:
    """Show a scenario: the incident briefing, a drawing of the topology and what to achieve.

    Objectives say what must work, never what is broken.

    \b
    Example:
      nslab show ws2-cannot-open-share
    """
    from nslab.scenario import catalog, loader, topology

    loaded = loader.load(str(catalog.resolve(scenario)))
    md = loaded.metadata
    section = f"section {md.section}, " if md.section else ""
    click.echo(f"{md.title}  ({md.name}: {section}{md.level}, about {md.minutes} min)\n")
    if md.briefing:
        from nslab.cli import prose

        prose.echo(md.briefing)
        click.echo()
    if md.commands:
        # `here` runs in the node's shell (`nslab shell NODE`): it may hold `&` or `;`.
        click.echo("The course's commands, in this lab (run `here` in `nslab shell NODE`):")
        for card in md.commands:
            click.echo(f"  course: {card.course}")
            click.echo(f"    here: [{card.node}] {card.here}")
        click.echo()
    click.echo("Topology:")
    click.echo("\n".join("  " + line for line in topology.ascii_drawing(loaded).splitlines()))
    # Objectives of the default variant only (a seed may switch checks with when:). Goals
    # that read kernel state ("eth0 is up", "a default route exists") would name the fault,
    # so only what must work end to end is shown; the rest is counted.
    goals = [c for c in loaded.active_checks() if c.role == "goal"]
    visible = [c for c in goals if c.kind not in STATE_KINDS]
    if goals:
        click.echo("\nObjectives:")
        for chk in visible:
            click.echo(f"  - {chk.description or chk.name}")
        hidden = len(goals) - len(visible)
        if hidden:
            more = f"{hidden} more check{'s' if hidden > 1 else ''}"
            click.echo(f"  - and {more} of the nodes' state, revealed by 'nslab check'")
    # Guards are counted, not described: their descriptions say what must not be touched,
    # which points at what is broken ("the mapping is wrong, not the app").
    guards = [c for c in loaded.active_checks() if c.role == "guard"]
    if guards:
        many = "s" if len(guards) > 1 else ""
        click.echo(
            f"\nAnd {len(guards)} guard check{many}: what works now (or is blocked on purpose) must stay"
            " so; the briefing names the constraints."
        )
    # What it does as root, without the reference solution (it would give the answer away).
    from nslab.scenario import trust

    root = trust.describe(trust.root_actions(loaded, (trust.SERVICES,)))
    steps = len(loaded.solution)
    if steps:
        root = root or ["runs as root:"]
        root.append(f"  a reference solution of {steps} command(s), run only by 'nslab solution --apply'")
    if root:
        click.echo("\n" + "\n".join(root))
    path = catalog.resolve(scenario)
    if trust.is_shipped(path):
        click.echo(f"\nStart it with: sudo nslab up {md.name}")
    else:
        extra = " --allow-exec" if trust.commands(loaded) else ""
        click.echo(f"\nStart it with: sudo nslab up {path}{extra}")
