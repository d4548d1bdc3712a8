"""Where a running lab keeps its state: /run/nslab/<lab>/ (tmpfs: gone at reboot, like the lab).

Layout: journal.jsonl (every object, recorded before it is created), meta.json (how the
lab was built), scenario.yaml (a private copy of the source, so grading never reads a
file the learner can edit in place), logs/ and services/.

Modes never come from the caller's umask (see nslab.engine.statefiles): /run/nslab is 0755
(anyone may list the labs that are up), each lab's directory 0700 and its files 0600, and
every read refuses a state file or directory that another user could have written.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from typing import Any

from nslab.engine import statefiles
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
    statefiles.make_dirs(STATE_ROOT, statefiles.SHARED_DIR)
    path = lab_dir(lab)
    try:
        statefiles.make_dir(path, statefiles.PRIVATE_DIR)
    except FileExistsError:
        raise LabStateError(
            f"lab {lab!r} is already up (or a build of it was interrupted)",
            f"run 'nslab down {lab}' first, or 'nslab up ... --replace', or pick another --prefix",
        ) from None
    statefiles.make_dir(os.path.join(path, "logs"), statefiles.PRIVATE_DIR)
    return path


def write_meta(meta: Meta) -> None:
    _write_json(os.path.join(lab_dir(meta.lab), "meta.json"), asdict(meta))


def read_meta(lab: str) -> Meta | None:
    try:
        check_dir(lab)
        data = json.loads(statefiles.read_bytes(os.path.join(lab_dir(lab), "meta.json")))
        return Meta(**data)
    except (OSError, ValueError, TypeError):
        return None


def check_dir(lab: str) -> None:
    """Raise UntrustedState (exit 4) unless /run/nslab and the lab's directory are ours and
    writable only by us; OSError (e.g. not found) passes through."""
    statefiles.verify_dir(STATE_ROOT)
    statefiles.verify_dir(lab_dir(lab))


def require_meta(lab: str) -> Meta:
    meta = read_meta(lab)
    if meta is None:
        running = ", ".join(labs()) or "none"
        raise LabStateError(
            f"lab {lab!r} is not up", f"labs up now: {running}; start one with 'nslab up NAME'"
        )
    return meta


def _write_json(path: str, data: Any) -> None:
    statefiles.write_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def remove_lab_dir(lab: str) -> None:
    shutil.rmtree(lab_dir(lab), ignore_errors=True)


def etc_dir(netns: str) -> str:
    return os.path.join(ETC_NETNS, netns)
