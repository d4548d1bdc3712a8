"""A full /run while `nslab up` writes the lab's state: exit 5 naming the filesystem, and the
build rolled back (no namespace, no /etc/netns entry, no state directory, lock file or
owner record).

Honest simulation: a 256 KiB tmpfs mounted as NSLAB_STATE_DIR inside a private mount
namespace (`unshare --mount --propagation private`), filled up, then opened again by a few
pages so that the failure lands at different points of `up` (the lock file, the owner
marker, the scenario copy, meta, the journal while namespaces are being made). Nothing of
it is visible to this machine: the mount namespace, and every namespace bound inside it,
ends with the script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)

SCRIPT = r"""
set -u
DIR=$1; PREFIX=$2; FREE=$3
mount -t tmpfs -o size=256k,mode=755 nslabtest "$DIR"
head -c 10M /dev/zero > "$DIR/fill" 2>/dev/null
truncate -s -$((FREE*4096)) "$DIR/fill"
NSLAB_STATE_DIR="$DIR" "$PYTHON" -m nslab up two-hosts --prefix "$PREFIX"
echo "rc=$?"
echo "netns=$(ls /run/netns | grep "^$PREFIX-" | tr '\n' ' ')"
echo "etc=$(ls /etc/netns 2>/dev/null | grep "^$PREFIX-" | tr '\n' ' ')"
echo "state=$(ls "$DIR" | grep -v '^fill$' | tr '\n' ' ')"
echo "lock=$(ls -A "$DIR/.locks" 2>/dev/null | tr '\n' ' ')"
echo "owners=$(ls -A "$DIR/.owners" 2>/dev/null | tr '\n' ' ')"
NSLAB_STATE_DIR="$DIR" "$PYTHON" -m nslab down "$PREFIX" >/dev/null 2>&1
echo "after=$(ls /run/netns | grep "^$PREFIX-" | tr '\n' ' ')"
"""


@pytest.mark.parametrize("free_pages", [0, 1, 2, 3, 4, 6])
def test_full_state_filesystem_is_exit_5_and_nothing_half_built(
    tmp_path: Path, prefix: str, free_pages: int
) -> None:
    mnt = tmp_path / "state"
    mnt.mkdir()
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "bash",
            "-c",
            SCRIPT,
            "enospc",
            str(mnt),
            prefix,
            str(free_pages),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHON": sys.executable},
    )
    out = dict(
        line.split("=", 1) for line in done.stdout.splitlines() if "=" in line and not line.startswith(" ")
    )
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    if out["rc"] == "0":  # enough room this time: a whole lab, which `down` removed
        assert out["after"].strip() == ""
        return
    assert out["rc"] == "5", done.stdout + done.stderr
    assert f"no space left on the filesystem at {mnt}" in done.stderr
    assert "the build was rolled back" in done.stderr
    assert out["netns"].strip() == "" and out["etc"].strip() == "" and out["state"].strip() == "", out
    # Beside the lab's directory: its lock file and its namespace owner record go too.
    assert out["lock"].strip() == "" and out["owners"].strip() == "", out
