"""`repeat`: every round must meet the expectation; the report names the round that missed."""

from __future__ import annotations

from collections.abc import Iterator

from nslab.checks.context import ProbeContext
from nslab.checks.observation import Observation
from nslab.grading.runner import _observe
from nslab.scenario import model as m


def scripted(outcomes: list[str]) -> tuple[list[int], object]:
    calls: list[int] = []
    it: Iterator[str] = iter(outcomes)

    def probe(ctx: ProbeContext, check: m.Check) -> Observation:
        calls.append(1)
        outcome = next(it)
        return Observation(outcome, f"{outcome} from 10.0.0.{len(calls)}", {"n": len(calls)})

    return calls, probe


def check(repeat: int) -> m.Check:
    return m.Check(
        name="lb",
        kind="tcp",
        node="c",
        repeat=repeat,
        params={"to": "10.0.0.1", "port": 80, "expect": "open"},
    )


def test_all_rounds_pass() -> None:
    calls, probe = scripted(["open"] * 4)
    obs = _observe("lab", "lab-c", check(4), probe, {})  # type: ignore[arg-type]
    assert len(calls) == 4 and obs.outcome == "open" and obs.detail.endswith("(4 times in a row)")


def test_stops_at_the_first_miss_and_names_it() -> None:
    calls, probe = scripted(["open", "open", "refused", "open"])
    obs = _observe("lab", "lab-c", check(4), probe, {})  # type: ignore[arg-type]
    assert len(calls) == 3 and obs.outcome == "refused"
    assert obs.detail == "try 3 of 4: refused from 10.0.0.3" and obs.evidence["round"] == 3


def test_repeat_one_is_untouched() -> None:
    _, probe = scripted(["open"])
    obs = _observe("lab", "lab-c", check(1), probe, {})  # type: ignore[arg-type]
    assert obs == Observation("open", "open from 10.0.0.1", {"n": 1})
