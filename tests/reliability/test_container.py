"""The root suite inside what a privileged container gives CI: fresh mount, network and pid
namespaces, a /run of its own (so its own /run/netns and /run/nslab) and its own /etc/netns.

The inner run is tests/root/engine/test_engine.py, tests/root/engine/test_crash.py and a third of this
suite's kill points. Propagation: unshare makes every mount private in the new mount
namespace, so nslab's own `mount --make-shared /run/netns` (what `ip netns add` does too)
only shares inside the container; the host must never see one of its namespaces, /etc/netns
entries or state directories, neither while it runs nor after, and the host's root network
namespace must be unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.reliability import harness as h
from tests.reliability.conftest import Figures, quick

INNER_TAG = "rectr"  # every name the inner run makes starts with it
INNER_TESTS = [
    "tests/root/engine/test_engine.py",
    "tests/root/engine/test_crash.py",
    "tests/reliability/test_crash_points.py",
]

SCRIPT = """
set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/netns /run/nslab
mount -t tmpfs -o mode=0755 tmpfs /etc/netns
ip link set lo up
[ -z "$(ls -A /run/netns)" ] && [ -z "$(ls -A /etc/netns)" ]
exec "$@"
"""


def _host_sightings() -> list[str]:
    seen = [f"/run/netns/{n}" for n in h._ls(h.NETNS_DIR) if n.startswith(INNER_TAG)]
    seen += [f"/etc/netns/{n}" for n in h._ls(h.ETC_NETNS) if n.startswith(INNER_TAG)]
    seen += [f"{h.STATE_ROOT}/{n}" for n in h._ls(h.STATE_ROOT) if n.startswith(INNER_TAG)]
    with open("/proc/self/mountinfo") as handle:
        seen += [line.split()[4] for line in handle if f"/run/netns/{INNER_TAG}" in line]
    return seen


@pytest.mark.skipif(quick(), reason="already inside the container run")
def test_root_suite_in_a_fresh_container(figures: Figures, tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    made_etc = not os.path.isdir(h.ETC_NETNS)
    if made_etc:
        os.mkdir(h.ETC_NETNS)  # a mount point for the container's own /etc/netns
    results = tmp_path / "inner-results.json"
    env = {
        **os.environ,
        "NSLAB_TEST_TAG": INNER_TAG,
        "NSLAB_RELIABILITY_QUICK": "1",
        "NSLAB_RELIABILITY_RESULTS": str(results),
    }
    env.pop("NSLAB_STATE_DIR", None)
    argv = [
        "unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--propagation", "private",
        "bash", "-c", SCRIPT, "inner",
        h.PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'inner'}",
        "-W", "ignore::DeprecationWarning", *INNER_TESTS,
    ]  # fmt: skip
    before = h.root_state()
    sightings: set[str] = set()
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, cwd=h.REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        while proc.poll() is None:
            sightings.update(_host_sightings())
            time.sleep(0.05)
        out = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if made_etc:
            with contextlib.suppress(OSError):
                os.rmdir(h.ETC_NETNS)
    seconds = time.monotonic() - started
    sightings.update(_host_sightings())
    diffs, notes = h.root_diff(before, h.root_state())
    summary = re.findall(r"^=*\s*(\d+ passed.*?)\s*=*$", out, re.M)
    part = figures.section("container")
    part.update(
        {
            "command": " ".join(argv[:8]) + " bash -c '<mount tmpfs on /run and /etc/netns>' pytest ...",
            "inner_tests": INNER_TESTS,
            "inner_result": summary[-1] if summary else out.strip().splitlines()[-1:],
            "inner_exit": proc.returncode,
            "seconds": round(seconds, 1),
            "host_sightings": sorted(sightings),
            "root_namespace_differences": diffs,
            "root_namespace_notes": notes,
            "leaks_found": len(sightings) + len(diffs),
        }
    )
    if results.exists():
        inner = json.loads(results.read_text())
        crash = inner.get("crash", {})
        part["inner_kill_points"] = {
            k: crash.get(k)
            for k in ("kill_points_tried", "kill_points_hit", "leaks_found", "leaks_unexplained")
        }
        part["leaks_found"] += int(crash.get("leaks_found", 0))
        part["leaks_unexplained"] = len(sightings) + len(diffs) + int(crash.get("leaks_unexplained", 0))
    failed = sorted(set(re.findall(r"^FAILED (\S+::\S+)", out, re.M)))
    if failed:
        # Not the container's doing if they fail on the host as well (tests out of date with
        # the scenarios, say): only failures that happen inside and not outside count here.
        outside = subprocess.run(
            [h.PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning",
             *failed],
            cwd=h.REPO, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        also_outside = set(re.findall(r"^FAILED (\S+::\S+)", outside.stdout, re.M))
        part["inner_failures_also_failing_outside"] = sorted(also_outside & set(failed))
        only_inside = sorted(set(failed) - also_outside)
        part["inner_failures_only_inside"] = only_inside
        assert not only_inside, out[-6000:]
    else:
        assert proc.returncode == 0, out[-6000:]
    assert not sightings, f"the host saw the container's objects: {sorted(sightings)}"
    assert not diffs, "\n".join(diffs)
