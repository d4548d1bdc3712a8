"""The scenario a running lab was built from, loaded once and then kept beside the lab.

Loading means parsing YAML and validating the whole scenario (yaml, schema, spec, semantic,
faults) on every `nslab check`. The first load stores the resulting model in the lab's state
directory as tagged JSON; later runs decode it instead.

Why JSON and not pickle: root loads this file, and unpickling runs whatever code the file
names, so a cache another user could write would be a way to root. Decoding here can only
build plain values, ip addresses and the model's own dataclasses (a fixed list, by name), so
even a forged file cannot run code; it is also read only if it is a root-owned regular file
writable by root alone (nslab.engine.statefiles), else `check` stops with exit 4.

The cache is used only if it was made from this very build of the lab (build id, the private
scenario copy's size and mtime) with the same model classes (mtimes of nslab/scenario/model.py
and nslab/errors.py); anything else, or any error decoding it, falls back to loading the
scenario. A value the codec does not know is not cached at all.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
from typing import Any

from nslab.engine import state, statefiles
from nslab.errors import Loc
from nslab.scenario import model as m

CACHE = "grading-cache.json"
VERSION = 1

_IP_TYPES: dict[str, type[Any]] = {
    t.__name__: t
    for t in (
        ipaddress.IPv4Address,
        ipaddress.IPv6Address,
        ipaddress.IPv4Interface,
        ipaddress.IPv6Interface,
        ipaddress.IPv4Network,
        ipaddress.IPv6Network,
    )
}


def _model_classes() -> dict[str, type[Any]]:
    """Every dataclass of the model, by name: the only classes decoding may build."""
    return {
        name: value
        for name, value in vars(m).items()
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == m.__name__
    }


class Unsupported(TypeError):
    """A value the cache cannot represent: the scenario is simply not cached."""


def encode(value: Any) -> Any:
    """A JSON-able tree that decode() turns back into an equal value."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is list:
        return [encode(v) for v in value]
    if kind is tuple:
        return {"t": [encode(v) for v in value]}
    if kind is dict:
        return {"d": [[encode(k), encode(v)] for k, v in value.items()]}
    if kind is Loc:
        return {"loc": [value.file, value.line, value.col]}
    if kind.__name__ in _IP_TYPES and kind is _IP_TYPES[kind.__name__]:
        return {"ip": kind.__name__, "v": str(value)}
    if kind.__module__ == m.__name__ and dataclasses.is_dataclass(value):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"dc": kind.__name__, "f": fields}
    if kind.__name__ == "LocatedDict" and kind.__module__ == "nslab.services.kinds":
        loc = getattr(value, "loc", None)
        return {"ld": [[encode(k), encode(v)] for k, v in value.items()], "loc": encode(loc)}
    raise Unsupported(f"cannot cache a {kind.__module__}.{kind.__qualname__}")


def decode(tree: Any, classes: dict[str, type[Any]]) -> Any:
    """The inverse of encode; anything unexpected raises ValueError/TypeError/KeyError."""
    if tree is None or isinstance(tree, bool | int | float | str):
        return tree
    if isinstance(tree, list):
        return [decode(v, classes) for v in tree]
    if not isinstance(tree, dict) or len(tree) not in (1, 2):
        raise ValueError("not a cache node")
    if "t" in tree:
        return tuple(decode(v, classes) for v in tree["t"])
    if "d" in tree:
        return {decode(k, classes): decode(v, classes) for k, v in tree["d"]}
    if "loc" in tree and len(tree) == 1:
        file, line, col = tree["loc"]
        return Loc(str(file), int(line), int(col))
    if "ip" in tree:
        return _IP_TYPES[str(tree["ip"])](str(tree["v"]))
    if "dc" in tree:
        cls = classes[str(tree["dc"])]  # KeyError for anything but a model class
        fields = {str(k): decode(v, classes) for k, v in dict(tree["f"]).items()}
        return cls(**fields)
    if "ld" in tree:
        from nslab.services.kinds import LocatedDict

        out = LocatedDict({decode(k, classes): decode(v, classes) for k, v in tree["ld"]})
        loc = decode(tree["loc"], classes)
        if loc is not None and not isinstance(loc, Loc):
            raise TypeError("a LocatedDict's loc must be a Loc")
        out.loc = loc
        return out
    raise ValueError("unknown cache node")


def _code_stamp() -> list[int]:
    """The model classes the cache refers to. Other code changing does not matter: the cache
    holds the scenario as this lab was built (faults applied by the code of that day)."""
    from nslab import errors

    return [os.stat(module.__file__ or "").st_mtime_ns for module in (m, errors)]


def _key(lab: str, meta: state.Meta) -> list[Any]:
    copy = os.stat(os.path.join(state.lab_dir(lab), "scenario.yaml"))
    # Through a JSON round trip, so the stored key compares equal to a fresh one.
    key = [VERSION, meta.build, meta.healthy, meta.seed, sorted(meta.params.items())]
    key += [copy.st_size, copy.st_mtime_ns, _code_stamp()]
    loaded: list[Any] = json.loads(json.dumps(key))
    return loaded


def running_scenario(lab: str) -> tuple[state.Meta, m.Scenario]:
    """Like nslab.labs.lifecycle.load_running(lab), served from the cache when it is current."""
    meta = state.require_meta(lab)
    path = os.path.join(state.lab_dir(lab), CACHE)
    try:
        key: list[Any] | None = _key(lab, meta)
    except OSError:
        key = None
    if key is not None:
        try:
            stored = json.loads(statefiles.read_bytes(path))  # UntrustedState: exit 4
            if isinstance(stored, dict) and stored.get("key") == key:
                scenario = decode(stored["scenario"], _model_classes())
                if isinstance(scenario, m.Scenario):
                    return meta, scenario
        except (OSError, ValueError, TypeError, KeyError, RecursionError):
            pass
    from nslab.labs.lifecycle import load_running

    meta, scenario = load_running(lab)
    if key is not None:
        _store(path, key, scenario)
    return meta, scenario


def _store(path: str, key: list[Any], scenario: m.Scenario) -> None:
    """Best effort: a scenario the codec cannot hold, or an unwritable directory, is not cached."""
    try:
        text = json.dumps({"key": key, "scenario": encode(scenario)}, separators=(",", ":"))
        statefiles.write_atomic(path, text)
    except (OSError, Unsupported, ValueError, RecursionError):
        pass
