"""Finding scenarios: by file path, or by name in the scenario directories."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nslab.errors import ScenarioError, UsageError
from nslab.scenario.schema import did_you_mean

SUFFIXES = (".yaml", ".yml")
MAX_METADATA_BYTES = 64 * 1024  # a metadata block (briefing included) is far smaller
LEVELS = {"beginner": 0, "intermediate": 1, "advanced": 2}


def shipped_dir() -> Path:
    """The scenarios/ directory shipped beside the package: the only scenarios trusted to run
    their own commands as root without --allow-exec (see nslab.scenario.trust)."""
    return Path(__file__).resolve().parents[2] / "scenarios"


def scenario_dirs() -> list[Path]:
    """$NSLAB_SCENARIOS (':'-separated), then the scenarios/ shipped beside the package."""
    dirs = [Path(p) for p in os.environ.get("NSLAB_SCENARIOS", "").split(":") if p]
    dirs.append(shipped_dir())
    seen: list[Path] = []
    for d in dirs:
        if d.is_dir() and d not in seen:
            seen.append(d)
    return seen


def scenario_files() -> dict[str, Path]:
    """File stem -> path; earlier directories win."""
    found: dict[str, Path] = {}
    for directory in scenario_dirs():
        for path in sorted(directory.iterdir()):
            if path.suffix in SUFFIXES and path.stem not in found:
                found[path.stem] = path
    return found


def resolve(name_or_path: str) -> Path:
    """A path to an existing file, or the name of a shipped scenario."""
    candidate = Path(name_or_path)
    if candidate.suffix in SUFFIXES or os.sep in name_or_path:
        if candidate.is_file():
            return candidate
        if candidate.exists():  # a directory, FIFO or device: reading it would hang or fail
            raise UsageError(f"{name_or_path} is not a regular file", "name a scenario's .yaml file")
        raise UsageError(f"no scenario file {name_or_path}", "check the path, or run 'nslab list' for names")
    files = scenario_files()
    if name_or_path in files:
        return files[name_or_path]
    renamed = aliases(files).get(name_or_path)
    if renamed is not None:
        return files[renamed]
    hint = did_you_mean(name_or_path, tuple(files)) or "run 'nslab list' to see the scenarios"
    raise UsageError(f"no scenario named {name_or_path!r}", hint)


# `aliases: [old-name, ...]` under metadata, on one line. Read from the text, not by loading:
# resolving a name must not parse and validate every scenario on `nslab up`'s path.
_ALIASES = re.compile(r"^[ \t]+aliases:[ \t]*\[([^\]\n]*)\]", re.M)
_HEAD_BYTES = 4096  # metadata comes first; an alias line further down is not looked for


def aliases(files: dict[str, Path] | None = None) -> dict[str, str]:
    """Former name -> the file stem of the scenario that now carries it. A real file of that
    name wins (resolve looks there first); the first directory wins between two aliases."""
    found: dict[str, str] = {}
    for stem, path in (files if files is not None else scenario_files()).items():
        if not path.is_file():  # a FIFO named x.yaml must not hang the lookup
            continue
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                head = handle.read(_HEAD_BYTES)
        except OSError:
            continue
        match = _ALIASES.search(head)
        if match is None:
            continue
        for alias in match.group(1).split(","):
            alias = alias.strip().strip("'\"")
            if alias and alias not in found:
                found[alias] = stem
    return found


@dataclass
class Entry:
    path: Path
    name: str
    title: str
    section: str
    level: str
    minutes: int
    error: str | None = None


def entries(before_full_load: Callable[[], None] | None = None) -> list[Entry]:
    """Every scenario with its metadata, in course order: section number, then difficulty
    (beginner, intermediate, advanced), then name.

    Only each file's `metadata:` block is read: validating all the labs to print one line
    each made `nslab list` eight interpreter starts long. A file whose metadata cannot be
    read that way is loaded in full, so its first error is what the listing shows; any
    other error in a file waits for `nslab validate` (or `up`, which validates).
    `before_full_load` runs once before the first such load (the CLI registers the kinds
    there, which a listing of well-formed files never needs)."""
    out: list[Entry] = []
    for stem, path in scenario_files().items():
        md = _quick_metadata(path)
        if md is not None:
            out.append(Entry(path, *md))
            continue
        from nslab.scenario.loader import load

        if before_full_load is not None:
            before_full_load()
            before_full_load = None
        try:
            scenario = load(str(path))
        except ScenarioError as exc:
            out.append(Entry(path, stem, "", "", "", 0, error=exc.diagnostics[0].render()))
            continue
        full = scenario.metadata
        out.append(Entry(path, full.name, full.title, full.section, full.level, full.minutes))
    return sorted(out, key=lambda e: (_section_key(e.section), LEVELS.get(e.level, len(LEVELS)), e.name))


def _quick_metadata(path: Path) -> tuple[str, str, str, str, int] | None:
    """(name, title, section, level, minutes) from the file's top-level `metadata:` block
    alone, or None when that block is missing, odd or incomplete (then the caller loads the
    whole file and reports what is wrong)."""
    import yaml

    try:
        with open(path, "rb") as handle:
            head = handle.read(MAX_METADATA_BYTES)
        text = head.decode()
    except (OSError, UnicodeDecodeError):
        return None
    block: list[str] = []
    for line in text.splitlines():
        if block and line[:1] not in ("", " ", "\t", "#"):
            break  # the next top-level key
        if block or line.startswith("metadata:"):
            block.append(line)
    if not block:
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load("\n".join(block), Loader=loader)  # a safe loader: plain data only
    except yaml.YAMLError:
        return None
    md = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(md, dict):
        return None
    name, title = md.get("name"), md.get("title")
    section, level, minutes = md.get("section", ""), md.get("level", "beginner"), md.get("minutes", 15)
    if not (isinstance(name, str) and isinstance(title, str) and isinstance(level, str)):
        return None
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not isinstance(section, str):
        return None
    return name, title, section, level, minutes


def _section_key(section: str) -> tuple[int, str]:
    """Course order by the first section a lab serves ("8, 11" sorts with section 8)."""
    match = re.match(r"\s*(\d+)", section)
    return (int(match.group(1)), section) if match else (999, section)
