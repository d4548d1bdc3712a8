from __future__ import annotations

import click


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the scenario format (for editor completion).

    \b
    Example:
      nslab schema > docs/scenario.schema.json
    """
    from nslab.cli.common import echo_json
    from nslab.spec import json_schema

    echo_json(json_schema())
