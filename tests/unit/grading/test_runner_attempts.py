"""Which failing attempt a check with a retry window reports."""

from __future__ import annotations

from nslab.checks.observation import ERROR, Observation
from nslab.grading.runner import most_informative

UNREACHABLE = Observation("unreachable", "Destination Net Unreachable from r1 (10.0.1.1)", {"icmp": "3/0"})
SILENCE = Observation("timeout", "no reply within 1.0 s (dropped silently)")


def test_an_icmp_error_beats_later_silence() -> None:
    got = most_informative([UNREACHABLE, UNREACHABLE, SILENCE, SILENCE, SILENCE])
    assert got.outcome == "unreachable"
    assert got.detail.startswith(UNREACHABLE.detail)
    assert "[5 attempts: 3 timeout, 2 unreachable]" in got.detail
    assert got.evidence["attempts"] == {"unreachable": 2, "timeout": 3} and got.evidence["icmp"] == "3/0"


def test_the_latest_of_equally_informative_attempts_wins() -> None:
    refused = Observation("refused", "refused (RST from 10.0.2.10)")
    assert most_informative([UNREACHABLE, refused, SILENCE]).outcome == "refused"


def test_all_alike_is_reported_as_it_is() -> None:
    assert most_informative([SILENCE, SILENCE]) == SILENCE


def test_silence_beats_a_probe_error() -> None:
    broken = Observation(ERROR, "namespace gone")
    assert most_informative([broken, SILENCE]).outcome == "timeout"
