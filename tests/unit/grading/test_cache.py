"""The grading cache: a faithful JSON round trip of every shipped scenario, and a forged
cache file that can never run code (the pickle it replaced could)."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import sys
from typing import Any

import pytest

from nslab import plugins
from nslab.faults.apply import apply_faults
from nslab.grading import cache
from nslab.scenario import catalog, loader

plugins.load()


def _same(a: Any, b: Any, where: str = "scenario") -> None:
    """Equal including the fields dataclass equality skips (loc, locs) and the exact types."""
    assert type(a) is type(b), where
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
        assert getattr(a, "loc", None) == getattr(b, "loc", None), where
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("name", sorted(catalog.scenario_files()))
def test_every_shipped_scenario_round_trips(name: str) -> None:
    path = catalog.scenario_files()[name]
    healthy = loader.load_text(path.read_text(), str(path))
    for scenario in (healthy, apply_faults(healthy)):
        text = json.dumps(cache.encode(scenario))
        back = cache.decode(json.loads(text), cache._model_classes())
        assert back == scenario
        _same(back, scenario)


def test_unknown_values_are_not_cached() -> None:
    with pytest.raises(cache.Unsupported):
        cache.encode({"x": object()})


@pytest.mark.parametrize(
    "forged",
    [
        {"dc": "os.system", "f": {}},
        {"dc": "Popen", "f": {"args": ["true"]}},
        {"dc": "__builtins__", "f": {}},
        {"ip": "eval", "v": "1"},
        {"t": [{"dc": "Scenario", "f": {"path": {"dc": "_Boom", "f": {}}}}]},
    ],
)
def test_forged_nodes_build_nothing(forged: dict[str, Any]) -> None:
    with pytest.raises((KeyError, ValueError, TypeError)):
        cache.decode(forged, cache._model_classes())


def test_a_malicious_pickle_in_the_cache_is_never_executed(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old cache format, forged to run code when unpickled, planted under both the old
    and the new cache name of a lab: loading the lab's scenario must ignore it, and no
    pickle module is loaded to read it."""
    from nslab.engine import state

    monkeypatch.setattr(state, "STATE_ROOT", str(tmp_path / "run"))
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.mkdir, (str(marker),))

    lab = tmp_path / "run" / "evil"
    lab.mkdir(parents=True, mode=0o700)
    os.chmod(tmp_path / "run", 0o755)
    source = catalog.scenario_files()["first-link"]
    (lab / "scenario.yaml").write_text(source.read_text())
    os.chmod(lab / "scenario.yaml", 0o600)
    meta = state.Meta(
        lab="evil", scenario="first-link", source=str(source), build="b1", healthy=True, seed=None
    )
    state.write_meta(meta)
    payload = pickle.dumps(Evil())
    for name in ("grading-cache.pickle", cache.CACHE):
        (lab / name).write_bytes(payload)
        os.chmod(lab / name, 0o600)
    pickle_loaded = "pickle" in sys.modules
    _meta, scenario = cache.running_scenario("evil")
    assert scenario.name == "first-link"
    assert not marker.exists()
    # The forged file was replaced by a real cache, which the next call uses.
    stored = json.loads((lab / cache.CACHE).read_text())
    assert stored["scenario"]["dc"] == "Scenario"
    _meta, again = cache.running_scenario("evil")
    assert again == scenario
    assert not marker.exists()
    if not pickle_loaded:
        assert "pickle" not in sys.modules
