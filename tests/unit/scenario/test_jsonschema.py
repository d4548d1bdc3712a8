"""docs/scenario.schema.json: current with the spec, valid JSON Schema, and in agreement with
nslab's own validator on every shipped scenario, every golden case and every doc example.

After a change to the spec (or to a kind registry), regenerate it:

    python3 -m nslab schema > docs/scenario.schema.json
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from nslab.cli.main import cli
from nslab.scenario import loader, spec
from nslab.scenario.schema import Struct

jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "docs" / "scenario.schema.json"
FORMAT_DOC = REPO / "docs" / "scenario-format.md"
SCENARIOS = sorted([*REPO.glob("scenarios/*.yaml"), *REPO.glob("tests/scenarios/*.yaml")])
GOLDEN = REPO / "tests" / "golden"
STRUCTURAL = sorted(p for p in GOLDEN.glob("*.yaml") if p.read_bytes().startswith(b"# jsonschema: invalid"))


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(SHIPPED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_shipped_schema_is_what_nslab_schema_prints() -> None:
    printed = CliRunner().invoke(cli, ["schema"])
    assert printed.exit_code == 0, printed.output
    if os.environ.get("NSLAB_UPDATE_GOLDEN") == "1":
        SHIPPED.write_text(printed.output)
    assert printed.output == SHIPPED.read_text(), (
        "docs/scenario.schema.json is stale: run 'python3 -m nslab schema > docs/scenario.schema.json'"
    )
    assert json.loads(printed.output) == spec.json_schema()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_passes_both_validators(path: Path, validator: Any) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_yaml(path))
    ]
    assert errors == []
    _, found = loader.check_file(str(path))
    assert found == [], "\n".join(d.render() for d in found)


def test_there_are_structural_golden_cases() -> None:
    assert len(STRUCTURAL) >= 8


@pytest.mark.parametrize("path", STRUCTURAL, ids=lambda p: p.stem)
def test_structural_golden_cases_fail_the_json_schema_too(path: Path, validator: Any) -> None:
    """The JSON Schema must not be looser than nslab on shape: what nslab refuses for its
    shape (types, keys, ranges, patterns), an editor must flag as well."""
    assert not validator.is_valid(_yaml(path))


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _examples() -> list[tuple[int, str]]:
    """The ```yaml blocks of the format doc that are whole scenarios (start with metadata:)."""
    text = FORMAT_DOC.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"```yaml\n(.*?)```", text, re.S):
        body = match.group(1)
        if re.match(r"(#[^\n]*\n)*metadata:", body):
            blocks.append((text[: match.start()].count("\n") + 2, body))
    return blocks


def test_the_format_doc_has_complete_examples() -> None:
    assert len(_examples()) >= 2


@pytest.mark.parametrize(("line", "body"), _examples(), ids=lambda x: str(x) if isinstance(x, int) else "")
def test_every_complete_example_in_the_doc_is_valid(line: int, body: str, validator: Any) -> None:
    _, found = loader.check_text(body, f"docs/scenario-format.md@{line}")
    assert found == [], "\n".join(d.render() for d in found)
    assert list(validator.iter_errors(yaml.safe_load(body))) == []


def test_the_format_doc_names_every_key_of_the_common_format() -> None:
    """Each key the spec declares (outside the kind registries) is explained in the doc."""
    text = FORMAT_DOC.read_text(encoding="utf-8")
    structs = [
        spec.scenario_struct(),
        spec.METADATA,
        spec.COMMAND_CARD,
        spec.NODE,
        spec.INTERFACE,
        spec.VXLAN,
        spec.ROUTE,
        spec.NEIGHBOR,
        spec.RESOLV,
        spec.FIREWALL,
        spec.PARAM,
        spec.SOLUTION_STEP,
    ]
    assert isinstance(spec.LINK.mapping, Struct)
    structs.append(spec.LINK.mapping)
    keys = {key for struct in structs for key in struct.fields}
    keys |= set(spec.CHECK_COMMON) | set(spec.SERVICE_COMMON) | set(spec.FAULT_COMMON)
    missing = sorted(key for key in keys if f"`{key}`" not in text)
    assert missing == []
