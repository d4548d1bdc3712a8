"""The http probe's request bodies, without a network: exact sizes, a continuous pattern."""

from __future__ import annotations

import pytest

from nslab.checks.probes.http import CHUNK, UPLOAD_PATTERN, body_of


@pytest.mark.parametrize(
    "size", [0, 1, len(UPLOAD_PATTERN), CHUNK - 1, CHUNK, CHUNK + 1, 1_000_000, 3 * CHUNK + 7]
)
def test_generated_bodies_have_exactly_the_size_asked(size: int) -> None:
    length, pieces = body_of({"body_bytes": size})
    data = b"".join(pieces)
    assert length == size and len(data) == size
    assert all(len(p) <= CHUNK for p in body_of({"body_bytes": size})[1])
    repeated = UPLOAD_PATTERN * (size // len(UPLOAD_PATTERN) + 1)
    assert data == repeated[:size]  # no seam between pieces


def test_a_text_body_is_sent_as_utf8_and_no_body_is_empty() -> None:
    length, pieces = body_of({"body": "naïve=1"})
    assert (length, b"".join(pieces)) == (8, "naïve=1".encode())
    assert body_of({})[0] == 0
