"""What the Vagrantfile gives the VM, read by evaluating it with Ruby (no Vagrant needed)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VAGRANTFILE = REPO / "vagrant" / "Vagrantfile"
PROBE = Path(__file__).with_name("vagrantfile_probe.rb")


@dataclass(frozen=True)
class Call:
    """One setting or provisioner: `config.vm.box=` ("debian/bookworm64"), ..."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Upload:
    source: Path
    destination: str


@dataclass(frozen=True)
class VagrantConfig:
    calls: tuple[Call, ...]

    def named(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    @property
    def box(self) -> str:
        boxes = self.named("config.vm.box=")
        assert len(boxes) == 1, f"expected one config.vm.box, got {boxes}"
        return str(boxes[0].args[0])

    def provisioners(self, kind: str) -> list[Call]:
        return [c for c in self.named("config.vm.provision") if c.args[0] == kind]

    @property
    def uploads(self) -> list[Upload]:
        return [Upload(Path(c.kwargs["source"]), c.kwargs["destination"]) for c in self.provisioners("file")]

    @property
    def shell(self) -> Call:
        shells = self.provisioners("shell")
        assert len(shells) == 1, f"expected one shell provisioner, got {shells}"
        return shells[0]


def ruby() -> str | None:
    return shutil.which("ruby")


def evaluate(cwd: Path, env: dict[str, str] | None = None) -> VagrantConfig:
    """Run the Vagrantfile under a recording stand-in for Vagrant, from directory `cwd`."""
    exe = ruby()
    assert exe, "ruby is needed to evaluate the Vagrantfile"
    done = subprocess.run(
        [exe, str(PROBE), str(VAGRANTFILE)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"evaluating the Vagrantfile failed:\n{done.stderr}"
    return VagrantConfig(
        tuple(
            Call(c["call"], tuple(c["args"]), c["kwargs"])
            for c in json.loads(done.stdout)
            if c["args"] or c["kwargs"]
        )
    )
