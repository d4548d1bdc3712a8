"""A learner's install is a wheel, not the checkout: it must carry the shipped scenarios, and
scripts/install.sh must refuse a checkout that someone other than root can change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_the_wheel_ships_the_scenarios(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy: building leaves build/ and *.egg-info behind
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("nslab", "scenarios"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("nslab-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    new_site = Path(
        subprocess.run(
            [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies come from this interpreter's site-packages (a plain path: its .pth
    # files, such as an editable nslab, are not processed from there).
    (new_site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    shutil.rmtree(source)  # nothing may still come from a checkout
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NSLAB_SCENARIOS")}
    nslab = venv / "bin" / "nslab"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(nslab), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import nslab; print(nslab.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert where.startswith(str(new_site)) and not where.startswith(str(REPO))
    listed = run("list")
    assert listed.returncode == 0, listed.stderr
    shipped = {p.stem for p in (REPO / "scenarios").glob("*.yaml")}
    assert len(shipped) > 10 and all(name in listed.stdout for name in shipped)
    valid = run("validate", "first-link")
    assert valid.returncode == 0, valid.stderr
    assert str(new_site / "scenarios" / "first-link.yaml") in valid.stdout + valid.stderr


def _check(checkout: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "check-checkout.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand files to another user")
def test_install_refuses_a_checkout_a_learner_can_change(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    checkout = tmp_path / "nslab"
    (checkout / "scripts").mkdir(parents=True)
    for name in ("check-checkout.sh", "install.sh"):
        shutil.copy(REPO / "scripts" / name, checkout / "scripts" / name)
    (checkout / "pyproject.toml").write_text("")
    for p in [checkout, checkout / "scripts", *(checkout / "scripts").iterdir(), checkout / "pyproject.toml"]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    ok = _check(checkout)
    assert ok.returncode == 0, ok.stderr

    os.chown(checkout / "pyproject.toml", 65534, 65534)
    refused = _check(checkout)
    assert refused.returncode == 4 and "pyproject.toml is not root's alone" in refused.stderr
    # install.sh itself stops there, before installing anything.
    whole = subprocess.run(
        ["bash", str(checkout / "scripts" / "install.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert whole.returncode == 4 and "refusing to install" in whole.stderr and "--dev" in whole.stderr
    os.chown(checkout / "pyproject.toml", 0, 0)

    os.chmod(checkout / "scripts", 0o775)
    refused = _check(checkout)
    assert refused.returncode == 4 and "nslab/scripts is not root's alone" in refused.stderr
    os.chmod(checkout / "scripts", 0o755)

    os.chmod(tmp_path, 0o777)  # anyone may rename the checkout away and put another there
    refused = _check(checkout)
    assert refused.returncode == 4 and "writable by group or other (mode 777)" in refused.stderr
    os.chmod(tmp_path, 0o755)

    os.chown(tmp_path, 65534, 65534)  # the learner owns a directory above the checkout
    refused = _check(checkout)
    assert refused.returncode == 4 and f"{tmp_path} is owned by uid 65534" in refused.stderr
    os.chown(tmp_path, 0, 0)
    assert _check(checkout).returncode == 0
