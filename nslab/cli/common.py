"""Helpers shared by the CLI commands: root check, name resolution, output."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from nslab.engine import state
from nslab.errors import EnvironmentProblem, LabStateError

CAP_SYS_ADMIN = 21


def _has_sys_admin() -> bool:
    """Root in an unprivileged container lacks CAP_SYS_ADMIN: no unshare, setns or mount."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_SYS_ADMIN & 1)
    except OSError:
        pass
    return True  # cannot tell: let the kernel say


def need_root(what: str) -> None:
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            f"{what} needs root (network namespaces are a privileged kernel feature)",
            "run it with sudo",
        )
    if not _has_sys_admin():
        raise EnvironmentProblem(
            f"{what} runs as root but without CAP_SYS_ADMIN, so it cannot create network namespaces",
            "in a container, run it with --privileged (docker/podman run --privileged ...)",
        )


def resolve_lab(lab: str | None) -> str:
    """The named lab, else $NSLAB_LAB (set inside `nslab shell` and solution steps), else the
    only lab that is up."""
    running = state.labs()
    lab = lab or os.environ.get("NSLAB_LAB") or None
    if lab:
        if lab not in running:
            hint = (
                f"labs up now: {', '.join(running)}"
                if running
                else "no lab is up; start one with 'nslab up NAME'"
            )
            raise LabStateError(f"lab {lab!r} is not up", hint)
        return lab
    if len(running) == 1:
        return running[0]
    if not running:
        raise LabStateError("no lab is up", "start one with 'nslab up NAME' (see 'nslab list')")
    raise LabStateError(f"{len(running)} labs are up: {', '.join(running)}", "name one with --lab LAB")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def not_empty(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """An empty --lab or --prefix typed on the command line is an error, not "unset": `--lab ''`
    must not quietly pick whichever lab is up, nor `cleanup --prefix ''` every lab."""
    source = ctx.get_parameter_source(param.name or "")
    given = source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")
    if given and isinstance(value, str) and not value.strip():
        raise click.BadParameter("is empty; give a name, or leave the option out")
    return value


def parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """--param key=value, with YAML-style typing of the value (8080 is an int).

    The value goes through the scenario's own YAML reader: safe (a !!python tag is refused,
    never constructed), bounded (a 5000-digit number is refused) and every problem is a
    usage error naming the flag (exit 2)."""
    from nslab.errors import UsageError
    from nslab.scenario.yamlsrc import parse_value

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {pair!r} is not KEY=VALUE", "e.g. --param port=8080")
        if not key.strip():
            raise UsageError(f"--param {pair!r}: the parameter name is empty", "e.g. --param port=8080")
        parsed, problem = parse_value(value, f"--param {key}")
        if problem is not None:
            raise UsageError(
                f"--param {key}: {problem.message} (at column {problem.loc.col} of the value)",
                problem.hint or "quote a value meant as text: --param 'key=\"text\"'",
            )
        out[key] = parsed
    return out


LAB_OPTION = click.option(
    "--lab", "lab", metavar="LAB", callback=not_empty, help="Which lab (needed only when several are up)."
)
ALLOW_EXEC_OPTION = click.option(
    "--allow-exec",
    is_flag=True,
    help="Run the commands of a scenario that is not shipped with nslab (as root: read them first).",
)
