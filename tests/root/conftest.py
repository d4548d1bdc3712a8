"""Root tests: every test gets a unique lab prefix and must leave nothing behind.

The leftover check counts only what carries the test's own prefix (tests/leaks.py), so other
work on the machine (another developer's tests, another job's labs) never fails a test.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator

import pytest

from tests.leaks import TAG, Snapshot, assert_no_leaks, base36

_counter = itertools.count()


@pytest.fixture
def prefix() -> str:
    """A lab name no other test (or parallel run) uses: the whole pid (two runs alive at once
    never share it), a counter, and a closing letter, so no test's prefix is the start of
    another's (t1-1z is not the start of t1-12z) and the leak check sees only its own."""
    return f"{TAG or 't'}{base36(os.getpid())}-{next(_counter)}z"


@pytest.fixture(autouse=True)
def no_leaks(prefix: str) -> Iterator[None]:
    if os.geteuid() != 0:
        yield
        return
    before = Snapshot.take(prefix)
    yield
    try:
        assert_no_leaks(before)
    finally:
        _remove_leftovers(Snapshot.take(prefix).leaks_since(before))


def _remove_leftovers(leaks: dict[str, list[object]]) -> None:
    """After reporting a leak, remove it, so one failing test does not poison the next ones
    (or the machine): labs by their journal or marker, placeholders left by a kill."""
    from nslab.engine import teardown
    from nslab.engine.naming import parse_marker
    from nslab.kernel import netns

    for lab in leaks.get("state", []):
        teardown.down(str(lab).removeprefix(".owners/"))
    names = [str(n) for n in leaks.get("netns", []) if netns.exists(str(n))]
    for name, alias in teardown.read_markers(names).items():
        owner = parse_marker(alias or "")
        if owner is not None:
            teardown.down(owner[0])
        elif netns.is_placeholder(name):
            with contextlib.suppress(OSError):
                os.unlink(netns.path_of(name))
