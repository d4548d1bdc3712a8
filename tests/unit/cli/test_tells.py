"""Small things that tell a learner the labs are not the real thing: wrong counts, examples that
name files that do not exist, a list in the wrong order, "1 links"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nslab.cli.main import LazyGroup, cli
from nslab.labs.lifecycle import counted
from nslab.scenario import catalog

ROOT = Path(__file__).resolve().parents[3]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
TENS = {"twenty": 20, "thirty": 30, "forty": 40}


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    tens, _, unit = text.lower().partition("-")
    return TENS[tens] + (WORDS.index(unit) if unit else 0)


def test_the_readme_counts_the_labs_that_ship() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"\b(\d+|[A-Z][a-z]+-[a-z]+|[A-Z][a-z]+ty) labs follow the course", readme)
    assert match, "README no longer says how many labs follow the course"
    shipped = [p for p in (ROOT / "scenarios").iterdir() if p.suffix in catalog.SUFFIXES]
    assert _number(match.group(1)) == len(shipped)


@pytest.mark.parametrize("name", sorted(LazyGroup().list_commands(None)))  # type: ignore[arg-type]
def test_help_examples_name_scenarios_that_exist(name: str) -> None:
    text = CliRunner().invoke(cli, [name, "--help"]).output
    for path in re.findall(r"scenarios/[\w.-]+\.ya?ml", text):
        assert (ROOT / path).is_file(), f"nslab {name} --help names {path}, which does not exist"


def test_list_is_in_course_order_then_by_difficulty() -> None:
    entries = catalog.entries()
    keys = [(catalog._section_key(e.section), catalog.LEVELS[e.level]) for e in entries]
    assert keys == sorted(keys)
    # the order is not simply alphabetical inside a section: a beginner lab comes first
    section4 = [e for e in entries if e.section.strip() == "4"]
    assert section4[0].level == "beginner" and section4[-1].level != "beginner"


def test_counts_read_as_sentences() -> None:
    assert counted(1, "link") == "1 link"
    assert counted(0, "service") == "0 services"
    assert counted(3, "node") == "3 nodes"


def test_install_deps_brings_every_tool_doctor_checks() -> None:
    """The course's tools (conntrack, strace among them) are installed, not just named."""
    from nslab.engine.doctor import TOOLS

    script = (ROOT / "scripts" / "install-deps.sh").read_text()
    listed = set(re.search(r"PACKAGES=\(([^)]*)\)", script).group(1).split())  # type: ignore[union-attr]
    assert {"conntrack", "strace"} <= set(TOOLS)
    assert {package for package, _ in TOOLS.values()} <= listed
