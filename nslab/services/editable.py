"""Each service's settings as a file the learner can edit, then `nslab service restart`.

A fault such as a listener bound to 127.0.0.1 or a wrong DNS record lives in the service's
settings, as it would in a real server's config file. At build time each service gets
/run/nslab/<lab>/services/<name>.yaml holding its kind's fields; (re)starting a service
reads that file back, validated like the scenario (file:line:col, did-you-mean), so the
learner fixes the cause where a real admin would. Grading never reads it: checks probe the
running server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from nslab.engine import statefiles
from nslab.errors import ScenarioError
from nslab.scenario import model as m

HEADER = """\
# Settings of service {name} ({kind}) on node {node}, lab {lab}.
# Edit them, then apply with:  sudo nslab service restart {name}
# The fields are those of a '{kind}' service in the scenario format (docs/services.md).
"""


def _dumper() -> type:
    """A safe YAML dumper that writes text of several lines as a `|` block, as a person would
    (an exec service's script stays readable and editable, not one escaped line). PyYAML
    cannot keep trailing spaces in a block, so such text stays quoted."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        lines = value.splitlines()
        block = "\n" in value and all(line == line.rstrip() for line in lines)
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if block else None)

    Dumper.add_representer(str, text)
    return Dumper


def jsonable(value: Any) -> Any:
    """Settings as plain YAML/JSON values (addresses and networks become text)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def path_of(directory: str, name: str) -> str:
    return os.path.join(directory, "services", f"{name}.yaml")


def write_initial(lab: str, directory: str, service: m.Service) -> str:
    """Write the settings file once; a learner's edits survive restarts and `nslab check`."""
    import yaml

    path = path_of(directory, service.name)
    if os.path.exists(path):
        return path
    statefiles.make_dirs(os.path.dirname(path))
    params = {k: v for k, v in jsonable(dict(service.params)).items() if v is not None}
    text = HEADER.format(name=service.name, kind=service.kind, node=service.node, lab=lab)
    text += yaml.dump(params, Dumper=_dumper(), sort_keys=False, default_flow_style=False, allow_unicode=True)
    statefiles.write_atomic(path, text)  # 0600: the settings may hold the fault
    return path


def effective(directory: str, scenario: m.Scenario, service: m.Service) -> m.Service:
    """The service as its settings file now says (the scenario's version if there is none)."""
    from nslab.scenario.yamlsrc import read_file

    path = path_of(directory, service.name)
    # The scenario reader: a learner's editor that saved Latin-1 or binary gives file:line:col
    # (exit 2); a huge file is refused by size before it is read.
    with contextlib.suppress(FileNotFoundError):
        statefiles.verify_file(path)  # root starts a server from it: it must be ours
    text, problems = read_file(path, missing_ok=True)
    if problems:
        raise ScenarioError(problems)
    if text is None:
        return service
    return _parse(text, path, scenario, service)


def _parse(text: str, path: str, scenario: m.Scenario, service: m.Service) -> m.Service:
    from nslab.scenario.schema import INVALID, Ctx, Struct, TooLarge
    from nslab.scenario.yamlsrc import YMap, parse_text
    from nslab.services.kinds import SERVICES

    spec = SERVICES.get(service.kind)
    root, problems = parse_text(text, path)
    if root is None:
        raise ScenarioError(problems)
    if not isinstance(root, YMap):
        from nslab.errors import Diagnostic

        raise ScenarioError([Diagnostic(root.loc, f"the settings of a {service.kind} service are a mapping")])
    ctx = Ctx()
    shape = Struct(f"{service.kind} service settings", dict(spec.fields), lambda values, loc, locs: values)
    try:
        params: Any = shape.check(root, ctx, "")
    except TooLarge:
        params = INVALID
    if ctx.diagnostics or params is INVALID:
        raise ScenarioError(ctx.diagnostics)
    # Structure only: the scenario's meaning rules (e.g. "a delegation's glue must reach a
    # server holding the child zone") would reject the very misconfigurations a lab builds
    # and give the answer away; the server itself reports what it cannot do (a bind error).
    return dataclasses.replace(service, params=params)
