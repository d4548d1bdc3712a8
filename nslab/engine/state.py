"""Where a running lab keeps its state: /run/nslab/<lab>/ (tmpfs: gone at reboot, like the lab).

Layout: journal.jsonl (every object, recorded before it is created), meta.json (how the
lab was built), scenario.yaml (a private copy of the source, so grading never reads a
file the learner can edit in place), logs/ and services/.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from typing import Any

from nslab.errors import LabStateError

STATE_ROOT = os.environ.get("NSLAB_STATE_DIR", "/run/nslab")
ETC_NETNS = "/etc/netns"


def lab_dir(lab: str) -> str:
    return os.path.join(STATE_ROOT, lab)


def labs() -> list[str]:
    try:
        return sorted(d for d in os.listdir(STATE_ROOT) if os.path.isdir(os.path.join(STATE_ROOT, d)))
    except FileNotFoundError:
        return []


@dataclass
class Meta:
    lab: str
    scenario: str
    source: str
    build: str
    healthy: bool
    seed: str | None
    params: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    complete: bool = False


def claim(lab: str) -> str:
    """Create the lab's state directory; it existing means the lab is up (or half-built)."""
    os.makedirs(STATE_ROOT, mode=0o755, exist_ok=True)
    path = lab_dir(lab)
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        raise LabStateError(
            f"lab {lab!r} is already up (or a build of it was interrupted)",
            f"run 'nslab down {lab}' first, or 'nslab up ... --replace', or pick another --prefix",
        ) from None
    os.mkdir(os.path.join(path, "logs"))
    return path


def write_meta(meta: Meta) -> None:
    _write_json(os.path.join(lab_dir(meta.lab), "meta.json"), asdict(meta))


def read_meta(lab: str) -> Meta | None:
    try:
        with open(os.path.join(lab_dir(lab), "meta.json")) as handle:
            data = json.load(handle)
        return Meta(**data)
    except (OSError, ValueError, TypeError):
        return None


def require_meta(lab: str) -> Meta:
    meta = read_meta(lab)
    if meta is None:
        running = ", ".join(labs()) or "none"
        raise LabStateError(
            f"lab {lab!r} is not up", f"labs up now: {running}; start one with 'nslab up NAME'"
        )
    return meta


def _write_json(path: str, data: Any) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def remove_lab_dir(lab: str) -> None:
    shutil.rmtree(lab_dir(lab), ignore_errors=True)


def etc_dir(netns: str) -> str:
    return os.path.join(ETC_NETNS, netns)
