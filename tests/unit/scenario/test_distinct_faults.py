"""No two shipped labs break the same thing the same way: each teaches its own fault."""

from __future__ import annotations

from pathlib import Path

from nslab import plugins
from nslab.scenario.loader import load

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


def _signature(path: Path) -> frozenset[tuple[str, str]]:
    """Kind and settings of every fault in every variant, ignoring which node or interface."""
    scenario = load(str(path))
    out = set()
    for fault in scenario.faults:
        settings = {k: v for k, v in fault.params.items() if k not in ("node", "iface")}
        out.add((fault.kind, repr(sorted(settings.items()))))
    return frozenset(out)


def test_no_two_labs_share_one_fault() -> None:
    plugins.load()
    seen: dict[frozenset[tuple[str, str]], str] = {}
    clashes = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        signature = _signature(path)
        if signature in seen:
            clashes.append(f"{seen[signature]} and {path.stem}: {sorted(signature)}")
        seen.setdefault(signature, path.stem)
    assert clashes == []
