"""`nslab service` without a lab: help, root checks, unknown labs (no root needed)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nslab.cli.cmd_service import service_command
from nslab.cli.main import main


@pytest.mark.parametrize("sub", ["list", "start", "stop", "restart", "logs"])
def test_every_subcommand_has_help_with_an_example(sub: str) -> None:
    result = CliRunner().invoke(service_command, [sub, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "--lab" in result.output


@pytest.mark.parametrize("sub", ["start", "stop", "restart"])
def test_changing_a_service_needs_root(sub: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The message path only: the euid is faked (no kernel behaviour is claimed here)."""
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(SystemExit) as exit_info:
        main(["service", sub, "web"])
    assert exit_info.value.code == 4


def test_an_unknown_lab_is_a_lab_state_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("nslab.engine.state.STATE_ROOT", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        main(["service", "logs", "web", "--lab", "nolab"])
    assert exit_info.value.code == 3
    assert "lab 'nolab' is not up" in capsys.readouterr().err
