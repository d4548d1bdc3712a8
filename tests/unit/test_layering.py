"""Imports flow one way down the pipeline, and no modules import each other in a circle.

Every import counts, including the lazy ones inside functions and those only for type
checkers: a lazy import that runs upward is still a dependency running the wrong way.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "nslab"

# Higher layers may import lower ones, never the other way. Equal ranks are siblings that
# must not import each other. A package's own modules may import each other (no cycles).
LAYERS: dict[str, int] = {
    "errors": 0,
    "kernel": 1,
    "scenario": 2,
    "engine": 3,
    "services": 4,
    "checks": 4,
    "packets": 4,
    "faults": 5,
    "plugins": 6,
    "labs": 7,
    "grading": 8,
    "cli": 9,
    "__main__": 10,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            candidates = [f"{module}.{alias.name}" for alias in node.names] + [module]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for target in candidates:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target != "nslab":
                yield target, node.lineno
                break


def _graph() -> dict[str, dict[str, int]]:
    modules = _modules()
    known = set(modules)
    return {name: dict(_imports(name, path, known)) for name, path in modules.items()}


def _layer(module: str) -> tuple[str, int]:
    top = module.split(".")[1] if "." in module else ""
    if top not in LAYERS:
        raise AssertionError(f"{module} is in no layer: add its package to LAYERS in {__file__}")
    return top, LAYERS[top]


def test_every_package_has_a_layer_and_says_what_it_owns() -> None:
    for name, path in _modules().items():
        if name == "nslab":
            continue
        _layer(name)
        if path.name == "__init__.py":
            doc = ast.get_docstring(ast.parse(path.read_text()))
            assert doc and "import" in doc.lower(), f"{path}: say what it owns and may import"


def test_long_modules_say_why() -> None:
    """Small modules with one job: past about 400 lines, the docstring must say why."""
    unexplained = []
    for path in _modules().values():
        text = path.read_text()
        doc = ast.get_docstring(ast.parse(text)) or ""
        if text.count("\n") > 420 and "Long on purpose" not in doc:
            unexplained.append(f"{path}: {text.count(chr(10))} lines")
    assert not unexplained, "long modules without a reason at the top:\n" + "\n".join(unexplained)


def test_imports_only_flow_down_the_pipeline() -> None:
    wrong = []
    for module, targets in _graph().items():
        if module == "nslab":
            continue
        top, rank = _layer(module)
        for target, line in targets.items():
            target_top, target_rank = _layer(target)
            if target_top != top and target_rank >= rank:
                wrong.append(f"{module.replace('.', '/')}.py:{line}: imports {target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in graph.get(module, {}):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_a_wrong_way_import(tmp_path: Path) -> None:
    """The rule above is only as good as the import parser: prove it finds an upward import."""
    sample = tmp_path / "nslab" / "scenario" / "x.py"
    sample.parent.mkdir(parents=True)
    sample.write_text("def f():\n    from nslab.grading import judge\n")
    found = list(_imports("nslab.scenario.x", sample, {"nslab.grading", "nslab.grading.judge"}))
    assert found == [("nslab.grading.judge", 2)]
