from __future__ import annotations

import click


@click.command("graph")
@click.argument("scenario", metavar="NAME|FILE")
@click.option(
    "--format", "fmt", type=click.Choice(["mermaid", "dot", "text"]), default="mermaid", show_default=True
)
def graph_command(scenario: str, fmt: str) -> None:
    """Print a scenario's topology as Mermaid, Graphviz DOT or text (no root needed).

    \b
    Example:
      nslab graph two-hosts --format dot | dot -Tpng > topo.png
    """
    from nslab.scenario import catalog, loader, topology

    loaded = loader.load(str(catalog.resolve(scenario)))
    render = {"mermaid": topology.mermaid, "dot": topology.dot, "text": topology.ascii_drawing}[fmt]
    click.echo(render(loaded), nl=False)
