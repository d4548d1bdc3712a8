"""Root tests: every test gets a unique lab prefix and must leave nothing behind."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator

import pytest

from tests.leaks import TAG, Snapshot, assert_no_leaks

_counter = itertools.count()


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    if os.geteuid() != 0:
        yield
        return
    before = Snapshot.take()
    yield
    try:
        assert_no_leaks(before)
    finally:
        _remove_leftovers(Snapshot.take().leaks_since(before))


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


@pytest.fixture
def prefix() -> str:
    """A lab name no other test (or parallel run) uses."""
    return f"{TAG or 't'}{os.getpid() % 100000}-{next(_counter)}"
