"""Root tests: every test gets a unique lab prefix and must leave nothing behind."""

from __future__ import annotations

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
    assert_no_leaks(before)


@pytest.fixture
def prefix() -> str:
    """A lab name no other test (or parallel run) uses."""
    return f"{TAG or 't'}{os.getpid() % 100000}-{next(_counter)}"
