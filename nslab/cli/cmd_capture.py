from __future__ import annotations

import os
import sys
from typing import BinaryIO

import click

from nslab.cli.common import LAB_OPTION, need_root, resolve_lab


@click.command("capture")
@LAB_OPTION
@click.argument("targets", nargs=-1, metavar="NODE[:IFACE]...")
@click.option("--all", "everything", is_flag=True, help="Every interface of every node (lo only if named).")
@click.option(
    "-w", "--write", "output", required=True, metavar="FILE|-", help="Write pcapng to FILE, or - for stdout."
)
@click.option(
    "-f",
    "--filter",
    "expression",
    metavar="EXPR",
    help="Capture filter in tcpdump syntax ('icmp', 'tcp port 80').",
)
@click.option("-c", "--count", type=click.IntRange(1), help="Stop after this many packets.")
@click.option(
    "-d", "--duration", type=click.FloatRange(0, min_open=True), help="Stop after this many seconds."
)
def capture_command(
    lab: str | None,
    targets: tuple[str, ...],
    everything: bool,
    output: str,
    expression: str | None,
    count: int | None,
    duration: float | None,
) -> None:
    """Capture packets on several nodes and interfaces at once into one pcapng file.

    Each interface appears in the file as node:iface. Stops after --count packets,
    --duration seconds, Ctrl-C, or when the reader of stdout goes away (exit 0).

    \b
    Example:
      sudo nslab capture h1 h2:eth0 -w trace.pcapng
      sudo nslab capture --all -f icmp -c 20 -w trace.pcapng
      vagrant ssh -c 'sudo nslab capture --all -w -' | wireshark -k -i -
    """
    from nslab.packets.capture import Capture, open_writer, record
    from nslab.packets.targets import resolve

    need_root("nslab capture")
    lab_name = resolve_lab(lab)
    capture = Capture(resolve(lab_name, targets, everything), expression)
    to_stdout = output == "-"
    if to_stdout and sys.stdout.isatty():
        raise click.UsageError("pcapng is binary: pipe it (| wireshark -k -i -) or give -w FILE")
    capture.start()
    written = 0
    out: BinaryIO = sys.stdout.buffer if to_stdout else open(output, "wb")  # noqa: SIM115
    try:
        names = ", ".join(t.name for t in capture.targets)
        click.echo(f"capturing on {names} (Ctrl-C to stop)", err=True)
        writer = open_writer(capture, out)
        try:
            written = record(capture, writer, count, duration)
        except KeyboardInterrupt:
            written = writer.packets
        except BrokenPipeError:  # the reader (wireshark, head) went away: a normal end
            _silence_stdout()
            return
    finally:
        capture.stop()
        if not to_stdout:
            out.close()
    where = "stdout" if to_stdout else output
    click.echo(f"{written} packet{'s' if written != 1 else ''} written to {where}", err=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
