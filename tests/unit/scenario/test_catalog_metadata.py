"""`nslab list` reads only each file's metadata block: it must say what a full load says."""

from __future__ import annotations

from pathlib import Path

import pytest

from nslab.scenario import catalog, loader

REPO = Path(__file__).resolve().parents[3]
FILES = sorted((REPO / "scenarios").glob("*.yaml")) + sorted((REPO / "tests" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_metadata_block_says_what_the_whole_file_says(path: Path) -> None:
    full = loader.load(str(path)).metadata
    quick = catalog._quick_metadata(path)
    assert quick == (full.name, full.title, full.section, full.level, full.minutes)


def test_a_file_whose_metadata_is_odd_is_loaded_in_full_and_its_error_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "odd.yaml").write_text("metadata: {name: odd, title: 5, minutes: lots}\nnodes: {}\n")
    (tmp_path / "fine.yaml").write_text(
        "# a comment first\nmetadata:\n  name: fine\n  title: A fine lab\n  section: '3'\n\n"
        "  level: advanced\nnodes:\n  a: {}\n"
    )
    monkeypatch.setenv("NSLAB_SCENARIOS", str(tmp_path))
    found = {e.name: e for e in catalog.entries() if e.path.parent == tmp_path}
    assert found["odd"].error and "title" in found["odd"].error
    assert (found["fine"].title, found["fine"].section, found["fine"].level) == (
        "A fine lab",
        "3",
        "advanced",
    )
    assert found["fine"].error is None


def test_nslab_list_reports_an_odd_file_from_a_fresh_process(tmp_path: Path) -> None:
    """The CLI registers the kinds only when a file needs a full load: it still must."""
    import os
    import subprocess
    import sys

    (tmp_path / "odd.yaml").write_text("metadata: {name: odd, title: 5}\nnodes: {}\n")
    done = subprocess.run(
        [sys.executable, "-m", "nslab", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "NSLAB_SCENARIOS": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "odd" in done.stdout and "INVALID" in done.stdout and "internal error" not in done.stderr
