"""CLI basics without root: help for every command, exit codes for bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from nslab.cli.main import COMMANDS, LazyGroup, cli


@pytest.mark.parametrize("name", sorted(LazyGroup().list_commands(None)))  # type: ignore[arg-type]
def test_every_command_has_help_with_an_example(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output


def test_all_declared_commands_exist_or_are_pending() -> None:
    assert {
        "up",
        "down",
        "status",
        "validate",
        "doctor",
        "cleanup",
        "list",
        "show",
        "graph",
        "exec",
        "shell",
    } <= set(COMMANDS)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nslab", *args], capture_output=True, text=True)


def test_validate_bad_file_exits_2_with_positions(tmp_path: object) -> None:
    path = f"{tmp_path}/bad.yaml"
    with open(path, "w") as handle:
        handle.write("metadata: {name: x, title: y}\nnodes:\n  a: {kind: swich}\n")
    done = run("validate", path)
    assert done.returncode == 2
    assert f"{path}:3:13: error: nodes.a.kind: 'swich' is not one of: host, router, switch" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_scenario_name_suggests() -> None:
    done = run("show", "two-host")
    assert done.returncode == 2 and "did you mean 'two-hosts'" in done.stderr


def test_validate_shipped_scenarios() -> None:
    done = run("validate", "two-hosts", "host-router-host")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "verb", [["up", "two-hosts"], ["down"], ["status"], ["cleanup"], ["exec", "h1", "true"]]
)
def test_commands_that_need_root_say_so(verb: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The message path only: the euid is faked (no kernel behaviour is claimed here)."""
    from nslab.cli.main import main

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(SystemExit) as exit_info:
        main(verb)
    assert exit_info.value.code == 4
