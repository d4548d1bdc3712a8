"""Scenario prose as a terminal shows it."""

from __future__ import annotations

from nslab.cli.prose import render

TEXT = """\
**What was wrong.** The server had lost its route back to the sales network, so every
reply left through the wrong door and was discarded at the edge.

    laptop (192.168.50.10/24) ---- cable ---- nas (192.168.50.20/24)

- first item that is long enough to need wrapping when the terminal is narrow, as here
- second
"""


def test_paragraphs_reflow_to_the_width_and_lose_the_markers() -> None:
    lines = render(TEXT, color=False, width=40).splitlines()
    assert lines[0].startswith("What was wrong. The server")
    assert all(len(line) <= 40 for line in lines if not line.startswith("    "))
    assert "**" not in "\n".join(lines)


def test_indented_blocks_stay_as_written() -> None:
    assert "    laptop (192.168.50.10/24) ---- cable ---- nas (192.168.50.20/24)" in render(TEXT, width=30)


def test_list_items_wrap_under_their_text() -> None:
    lines = render(TEXT, color=False, width=40).splitlines()
    first = lines.index(next(line for line in lines if line.startswith("- first")))
    assert lines[first + 1].startswith("  ") and not lines[first + 1].startswith("  -")
    assert "- second" in lines


def test_bold_is_real_bold_on_a_terminal() -> None:
    assert "\x1b[1mWhat was wrong.\x1b[0m" in render(TEXT, color=True, width=80)
