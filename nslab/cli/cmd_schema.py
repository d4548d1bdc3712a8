"""`nslab schema`: the scenario format as JSON Schema, generated from nslab.scenario.spec."""

from __future__ import annotations

import click


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the scenario format (for editor completion).

    docs/scenario.schema.json holds this output. Editors with the YAML language
    server pick it up from a first line such as
    "# yaml-language-server: $schema=../docs/scenario.schema.json".

    \b
    Example:
      nslab schema > docs/scenario.schema.json
    """
    from nslab.cli.common import echo_json
    from nslab.scenario.spec import json_schema

    echo_json(json_schema())
