"""`nslab solution` asks before showing an unsolved lab's answer (issue 12). No root: the
question itself; the whole verb on a live lab is in tests/root/grading/test_reveal_cli.py."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from nslab.cli import cmd_solution
from nslab.errors import UsageError


@click.command()
@click.option("--yes", is_flag=True)
def asking(yes: bool) -> None:
    cmd_solution._confirm(yes)
    click.echo("SOLUTION")


def test_on_a_terminal_no_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setattr(cmd_solution, "_is_tty", lambda: True)
    done = runner.invoke(asking, [], input="\n")
    assert done.exit_code == 0
    assert "show the solution? it will be recorded [y/N]" in done.output
    assert "SOLUTION" not in done.output and "not shown" in done.output


def test_on_a_terminal_yes_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cmd_solution, "_is_tty", lambda: True)
    done = CliRunner().invoke(asking, [], input="y\n")
    assert done.exit_code == 0 and "SOLUTION" in done.output


def test_without_a_terminal_yes_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cmd_solution, "_is_tty", lambda: False)
    with pytest.raises(UsageError) as caught:
        cmd_solution._confirm(False)
    assert caught.value.exit_code == 2 and "--yes" in str(caught.value.hint)
    cmd_solution._confirm(True)  # --yes: no question, no error
