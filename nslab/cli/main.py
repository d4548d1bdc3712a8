"""Entry point. Subcommands are imported lazily so `nslab --help` stays fast."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    sys.stderr.write("interrupted\n")
    raise SystemExit(130)


# Ctrl-C during the imports below (click, then a verb's modules: tens of ms) would print a
# KeyboardInterrupt traceback. The `nslab` console script imports this module first, so the
# handler goes in before anything heavy; main() puts Python's own handler back, and from then
# on Ctrl-C is a KeyboardInterrupt that rolls a build back. Only for the console script
# (`python -m nslab` does the same in nslab/__main__.py): a program importing the library
# keeps its own Ctrl-C.
if os.path.basename(sys.argv[0]) == "nslab" and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_while_starting)

import importlib  # noqa: E402

import click  # noqa: E402

from nslab import __version__  # noqa: E402

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module, one-line help shown by `nslab --help`)
    "list": ("nslab.cli.cmd_list", "List the scenarios you can run, in course order."),
    "show": ("nslab.cli.cmd_show", "Show a scenario's briefing, topology and objectives."),
    "graph": ("nslab.cli.cmd_graph", "Print a scenario's topology as Mermaid or Graphviz DOT."),
    "validate": ("nslab.cli.cmd_validate", "Check scenario files for errors (no root needed)."),
    "up": ("nslab.cli.cmd_up", "Build a lab from a scenario."),
    "status": ("nslab.cli.cmd_status", "Show the labs that are up and their health."),
    "shell": ("nslab.cli.cmd_exec", "Open a shell inside a lab node."),
    "exec": ("nslab.cli.cmd_exec", "Run one command inside a lab node."),
    "service": ("nslab.cli.cmd_service", "List, start, stop or restart a lab's services; read their logs."),
    "capture": ("nslab.cli.cmd_capture", "Capture packets on lab interfaces into one pcapng file."),
    "walk": ("nslab.cli.cmd_walk", "Follow one probe across the lab: where it died, and why."),
    "check": ("nslab.cli.cmd_check", "Grade the lab with live probes."),
    "hint": ("nslab.cli.cmd_hint", "Show the next hint."),
    "solution": ("nslab.cli.cmd_solution", "Show (or apply) the reference solution."),
    "reset": ("nslab.cli.cmd_reset", "Rebuild the lab in its broken starting state."),
    "selftest": ("nslab.cli.cmd_selftest", "Prove scenarios: healthy passes, broken fails, solution fixes."),
    "down": ("nslab.cli.cmd_down", "Tear a lab down."),
    "cleanup": ("nslab.cli.cmd_cleanup", "Remove every nslab lab, found by ownership marker."),
    "doctor": ("nslab.cli.cmd_doctor", "Check this machine can run labs; say how to fix what is missing."),
    "schema": ("nslab.cli.cmd_schema", "Print the JSON Schema of the scenario format."),
}

# Verbs that never read a scenario: they skip registering the check, fault and service kinds.
NO_SCENARIO = frozenset({"list", "status", "down", "cleanup", "doctor", "capture", "walk"})

EXIT_CODES = """\b
Exit codes:
  0  success
  1  checks failed (check, selftest) or a lab node is unhealthy (status)
  2  invalid input: scenario errors, bad flags, unknown names
  3  lab state: already up, not up
  4  environment: not root, missing tool or kernel feature
  5  a kernel operation failed (the build was rolled back) or teardown left something
  70 internal error (a bug: please report it with --debug output)
  130 interrupted"""


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        if name not in NO_SCENARIO and not ctx.resilient_parsing:
            from nslab import plugins

            plugins.load()
        module = importlib.import_module(COMMANDS[name][0])
        command: click.Command = getattr(module, f"{name}_command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nslab")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """nslab: break-fix networking labs on Linux network namespaces.

    \b
    Example:
      sudo nslab up ws2-cannot-open-share   # build a broken lab
      sudo nslab shell ws2                  # debug it with ip, ping, ss, tcpdump...
      sudo nslab check                      # grade your fix with live traffic
      sudo nslab down                       # remove every trace of it
    """
    ctx.obj = {"debug": debug}
    if debug:
        # Only then: `logging` costs a quarter of `nslab --help`. Without --debug the library's
        # warnings still reach stderr through logging's last-resort handler.
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> None:
    # Started: Ctrl-C is a KeyboardInterrupt again (caught below; a build rolls back on it).
    # Ours or nslab/__main__.py's twin, recognised by name.
    handler = signal.getsignal(signal.SIGINT)
    if getattr(handler, "__name__", "") == _interrupted_while_starting.__name__:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        code = cli.main(args=argv, prog_name="nslab", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        # Imported only here: `nslab --help` and every successful run skip nslab.errors.
        from nslab.errors import NslabError

        if isinstance(exc, NslabError):
            click.echo(exc.render(), err=True)
            sys.exit(exc.exit_code)
        if debug:
            raise
        if isinstance(exc, OSError) and exc.errno in (28, 122):  # ENOSPC, EDQUOT: not a bug
            click.echo(f"error: no space left on device: {exc.filename or exc.strerror}", err=True)
            click.echo("    hint: free some space (df -h), then try again", err=True)
            sys.exit(5)
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "    hint: run again with --debug for the traceback",
            err=True,
        )
        sys.exit(70)


if __name__ == "__main__":
    main()
