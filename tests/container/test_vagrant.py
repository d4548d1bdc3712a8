"""The learner VM, checked without a VM: the Vagrantfile parses, evaluates from any working
directory, hands the VM what scripts/install.sh needs, and Vagrant itself accepts it.

Booting the VM needs VirtualBox or another hypervisor (no nested virtualisation here); the
provisioning script runs for real in a Debian container in test_podman.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.container.vagrant_config import REPO, VAGRANTFILE, evaluate, ruby

STAGING = "/tmp/nslab-src"
needs_ruby = pytest.mark.skipif(
    ruby() is None, reason="ruby is not installed (CI installs it: scripts/install-ci-extras.sh)"
)


@needs_ruby
def test_vagrantfile_syntax() -> None:
    done = subprocess.run(["ruby", "-c", str(VAGRANTFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Syntax OK" in done.stdout


@needs_ruby
def test_vagrantfile_uploads_what_install_needs(tmp_path: Path) -> None:
    # Evaluated from another directory: Vagrant resolves a file provisioner's relative source
    # against the directory `vagrant` runs in, so every path must be absolute.
    config = evaluate(cwd=tmp_path)
    assert config.box == "debian/bookworm64"
    uploaded = {u.source.relative_to(REPO).as_posix(): u.destination for u in config.uploads}
    for needed in ("pyproject.toml", "README.md", "nslab", "scenarios", "scripts"):
        assert uploaded.get(needed) == f"{STAGING}/{needed}", f"{needed} is not given to the VM"
    assert all(u.source.exists() for u in config.uploads)
    assert not [p for p in uploaded if p.startswith(".")], "hidden entries (.git, .venv) must stay out"

    shell = config.shell
    assert Path(shell.kwargs["path"]) == REPO / "vagrant" / "provision.sh"
    assert shell.kwargs["args"] == [STAGING]
    default_share = [c for c in config.named("config.vm.synced_folder") if c.args[:2] == (".", "/vagrant")]
    assert default_share and default_share[0].kwargs.get("disabled") is True


@needs_ruby
def test_vagrantfile_reads_box_and_size_from_environment(tmp_path: Path) -> None:
    env = dict(os.environ, NSLAB_BOX="bento/debian-12", NSLAB_MEMORY="3072", NSLAB_CPUS="4")
    config = evaluate(cwd=tmp_path, env=env)
    assert config.box == "bento/debian-12"
    memory = config.named("config.vm.provider.memory=")
    assert memory and all(c.args == (3072,) for c in memory)
    assert all(c.args == (4,) for c in config.named("config.vm.provider.cpus="))
    vmx = {c.args[0]: c.args[1] for c in config.named("config.vm.provider.vmx.[]=")}
    assert vmx == {"memsize": "3072", "numvcpus": "4"}


@pytest.mark.skipif(
    shutil.which("vagrant") is None,
    reason="vagrant is not installed (scripts/install-ci-extras.sh installs it where packaged)",
)
def test_vagrant_validate(tmp_path: Path) -> None:
    # Vagrant's state and home go to tmp_path: nothing is written into the checkout or ~.
    env = dict(
        os.environ,
        VAGRANT_CWD=str(VAGRANTFILE.parent),
        VAGRANT_DOTFILE_PATH=str(tmp_path / "dotfile"),
        VAGRANT_HOME=str(tmp_path / "home"),
        VAGRANT_CHECKPOINT_DISABLE="1",
    )
    # No hypervisor here, so provider blocks are left out of the validation.
    done = subprocess.run(
        ["vagrant", "validate", "--ignore-provider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "validated successfully" in done.stdout


def test_provisioning_installs_through_the_shared_install_script() -> None:
    """System packages are listed once, in scripts/install-deps.sh: the VM installs through it."""
    script = (REPO / "vagrant" / "provision.sh").read_text()
    assert 'bash "$target/scripts/install.sh"' in script
    assert "apt-get" not in script and "pip install" not in script
    assert "nslab doctor" in script
