"""`nslab doctor` and the install script agree on the tools labs need, and a missing one is
named with the package that provides it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nslab.engine import doctor

REPO = Path(__file__).resolve().parents[3]


def installed_packages() -> set[str]:
    """The PACKAGES array of scripts/install-deps.sh."""
    text = (REPO / "scripts" / "install-deps.sh").read_text()
    match = re.search(r"^PACKAGES=\((.*?)\)", text, re.S | re.M)
    assert match, "install-deps.sh has no PACKAGES=( ... )"
    return set(match.group(1).split())


def test_install_deps_installs_every_package_the_doctor_asks_for() -> None:
    asked = {package for package, _ in doctor.TOOLS.values()}
    assert asked - installed_packages() == set()


def test_the_tools_the_issue_names_are_required() -> None:
    for tool in ("ip", "iptables", "nft", "tcpdump", "conntrack"):
        assert doctor.TOOLS[tool][1], tool


def path_without(tool: str, tmp_path: Path) -> str:
    """A PATH holding every other tool the doctor looks for (symlinks to the real ones)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for other in doctor.TOOLS:
        found = shutil.which(other) or next(
            (f"{d}/{other}" for d in doctor.SBIN if os.access(f"{d}/{other}", os.X_OK)), None
        )
        if other != tool and found:
            (bin_dir / other).symlink_to(found)
    return str(bin_dir)


def absent_tool() -> str:
    """A required tool that PATH alone finds here (not in sbin, where the doctor also looks),
    so a PATH without it makes it really absent for the doctor."""
    for tool, (_, required) in doctor.TOOLS.items():
        found = shutil.which(tool)
        if required and found and not any(os.path.exists(f"{d}/{tool}") for d in doctor.SBIN):
            return tool
    pytest.skip("every required tool lives in sbin here")


def doctor_json(path: str) -> tuple[int, dict[str, dict[str, object]]]:
    done = subprocess.run(
        [sys.executable, "-m", "nslab", "doctor", "--json"],
        env=dict(os.environ, PATH=path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, {f["name"]: f for f in json.loads(done.stdout)}


def test_a_missing_tool_fails_and_names_its_package(tmp_path: Path) -> None:
    tool = absent_tool()
    code, findings = doctor_json(path_without(tool, tmp_path))
    finding = findings[f"tool {tool}"]
    assert finding["ok"] is False and finding["required"] is True
    assert finding["detail"] == "not found"
    assert finding["fix"] == f"apt-get install {doctor.TOOLS[tool][0]}"
    assert code == 4
    # ... and it is the reason (without root, being root is the other one).
    failing = {name for name, f in findings.items() if f["required"] and not f["ok"]}
    assert failing - {"root"} == {f"tool {tool}"}


def test_text_output_says_how_to_install_it(tmp_path: Path) -> None:
    tool = absent_tool()
    done = subprocess.run(
        [sys.executable, "-m", "nslab", "doctor"],
        env=dict(os.environ, PATH=path_without(tool, tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4
    lines = done.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("FAIL") and f"tool {tool} " in line)
    assert lines[at + 1].strip() == f"fix: apt-get install {doctor.TOOLS[tool][0]}"
