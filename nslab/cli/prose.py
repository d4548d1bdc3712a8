"""Scenario prose (briefings, explanations) for a terminal.

Authors write light Markdown: paragraphs wrapped at any width, `**bold**` lead-ins, `code`,
list items and indented blocks (drawings, commands). A terminal shows the markers raw and
wraps long lines mid-word, so paragraphs are re-flowed to the terminal's width, bold becomes
real bold on a terminal (plain text otherwise), and anything indented is kept as written.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap

import click

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITEM = re.compile(r"(\s*(?:[-*]|\d+[.)])\s+)")
MAX_WIDTH = 100


def render(text: str, color: bool | None = None, width: int | None = None) -> str:
    """`text` re-flowed for a terminal `width` columns wide (the terminal's, at most 100)."""
    width = width or min(MAX_WIDTH, shutil.get_terminal_size((80, 24)).columns)
    out: list[str] = []
    for block in _blocks(text.strip("\n")):
        if not block:
            out.append("")
        elif block[0].startswith((" ", "\t")):
            out.extend(line.rstrip() for line in block)  # drawings, commands: as written
        else:
            out.extend(_flow(block, width))
    return "\n".join(_bold(line, color) for line in out)


def _blocks(text: str) -> list[list[str]]:
    """Paragraphs (a blank line between), list items starting their own block."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        indented = line.startswith((" ", "\t"))
        starts_item = bool(_ITEM.match(line)) and not indented
        switches = bool(current) and current[0].startswith((" ", "\t")) != indented
        if not line.strip() or starts_item or switches:
            if current:
                blocks.append(current)
            current = []
            if not line.strip():
                blocks.append([])
                continue
        current.append(line)
    if current:
        blocks.append(current)
    return blocks


def _flow(block: list[str], width: int) -> list[str]:
    words = " ".join(line.strip() for line in block)
    item = _ITEM.match(block[0])
    indent = " " * len(item.group(1)) if item else ""
    return textwrap.wrap(
        words, width=width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    ) or [""]


def _bold(line: str, color: bool | None) -> str:
    return _BOLD.sub(lambda m: click.style(m.group(1), bold=True) if color else m.group(1), line)


def echo(text: str) -> None:
    """Print scenario prose, styled only when stdout is a terminal."""
    click.echo(render(text, color=sys.stdout.isatty()))
