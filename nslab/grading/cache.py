"""The scenario a running lab was built from, loaded once and then kept beside the lab.

Loading means parsing YAML and validating the whole scenario (yaml, schema, spec, semantic,
faults): ~100 ms of imports and work on every `nslab check`, more than the probes of a lab
that already works. The first load pickles the resulting model into the lab's state
directory (root-owned, removed with the lab); later runs unpickle it in a few ms.

The cache is used only if it was made from this very build of the lab (build id, the private
scenario copy's size and mtime) with the same model classes (mtimes of nslab/model.py and
nslab/errors.py); anything else, or any error reading it, falls back to loading the scenario.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from typing import Any

from nslab.engine import state
from nslab.scenario import model as m

CACHE = "grading-cache.pickle"


def _code_stamp() -> tuple[int, ...]:
    """The model classes the pickle refers to. Other code changing does not matter: the cache
    holds the scenario as this lab was built (faults applied by the code of that day)."""
    from nslab import errors

    return tuple(os.stat(module.__file__ or "").st_mtime_ns for module in (m, errors))


def _key(lab: str, meta: state.Meta) -> tuple[Any, ...]:
    copy = os.stat(os.path.join(state.lab_dir(lab), "scenario.yaml"))
    return (
        meta.build,
        meta.healthy,
        meta.seed,
        sorted(meta.params.items()),
        copy.st_size,
        copy.st_mtime_ns,
        _code_stamp(),
    )


def running_scenario(lab: str) -> tuple[state.Meta, m.Scenario]:
    """Like nslab.labs.lifecycle.load_running(lab), served from the cache when it is current."""
    meta = state.require_meta(lab)
    path = os.path.join(state.lab_dir(lab), CACHE)
    try:
        key = _key(lab, meta)
    except OSError:
        key = None
    if key is not None:
        try:
            with open(path, "rb") as handle:
                stored_key, scenario = pickle.load(handle)
            if stored_key == key and isinstance(scenario, m.Scenario):
                return meta, scenario
        except (
            OSError,
            pickle.UnpicklingError,
            EOFError,
            AttributeError,
            ImportError,
            TypeError,
            ValueError,
        ):
            pass
    from nslab.labs.lifecycle import load_running

    meta, scenario = load_running(lab)
    if key is not None:
        _store(path, key, scenario)
    return meta, scenario


def _store(path: str, key: tuple[Any, ...], scenario: m.Scenario) -> None:
    """Best effort: a learner without write access to the lab directory simply gets no cache."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as handle:
            pickle.dump((key, scenario), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
