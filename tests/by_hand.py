"""What a learner does to nslab's state by hand, done the way the learner would do it."""

from __future__ import annotations

import os
import subprocess


def _mounted_under(directory: str) -> list[str]:
    prefix = directory.rstrip("/") + "/"
    with open("/proc/self/mountinfo") as handle:
        points = [line.split()[4] for line in handle]
    return [p for p in points if p.startswith(prefix)]


def remove_state(lab_dir: str, unmount: bool = False) -> None:
    """`sudo rm -rf /run/nslab/LAB`: every file goes, and rm stops with EBUSY at the nodes'
    mount points (each node's tmpfs, and its overlays and UTS bind once a shell used it),
    which stay mounted in an otherwise empty tree. `unmount`: the learner who read those
    errors runs `umount -R` on the nodes first, and rm -rf then leaves nothing at all."""
    mounted = _mounted_under(lab_dir)
    if unmount:
        tops = sorted({os.path.join(lab_dir, *p[len(lab_dir) + 1 :].split("/")[:2]) for p in mounted})
        for top in tops:
            subprocess.run(["umount", "-R", top], check=True)
        subprocess.run(["rm", "-rf", lab_dir], check=True)
        assert not os.path.lexists(lab_dir)
        return
    done = subprocess.run(["rm", "-rf", lab_dir], capture_output=True, text=True)
    if mounted:
        assert done.returncode != 0 and "Device or resource busy" in done.stderr, done
        assert _mounted_under(lab_dir), "the node mounts should outlive rm -rf"
    assert not os.path.exists(os.path.join(lab_dir, "owner")), "rm -rf left the owner marker"
