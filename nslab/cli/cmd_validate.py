"""`nslab validate`: every problem of a scenario at once, each shown on its source line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from nslab.errors import Diagnostic
    from nslab.scenario.model import Scenario


@dataclass
class Result:
    """What validating one FILE|NAME argument found."""

    name: str
    scenario: Scenario | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the source, for excerpts
    failure: str | None = None  # a problem before any diagnostics (unknown name)

    @property
    def ok(self) -> bool:
        return self.scenario is not None and not self.diagnostics and self.failure is None


def validate_one(item: str, seed: str | None = None) -> Result:
    """Resolve a file or scenario name and check it (with every parameter choice, unless seeded)."""
    from nslab.errors import NslabError
    from nslab.scenario import catalog, loader
    from nslab.scenario.yamlsrc import read_file

    try:
        path = str(catalog.resolve(item))
    except NslabError as exc:
        return Result(item, failure=f"{item}: {exc.render()}")
    text, problems = read_file(path)
    if text is None:
        return Result(path, None, problems)
    scenario, diagnostics = loader.check_text(text, path, seed)
    return Result(path, scenario, diagnostics, text.splitlines())


def render_text(result: Result) -> str:
    """The stderr text for a failed result: each error with its line and a caret, then a count."""
    if result.failure is not None:
        return result.failure
    out = [render_diagnostic(d, result.lines) for d in result.diagnostics]
    count = len(result.diagnostics)
    out.append(f"{result.name}: {count} error{'s' if count != 1 else ''}")
    return "\n".join(out)


def render_diagnostic(diag: Diagnostic, lines: list[str]) -> str:
    out = [f"{diag.loc}: error: {diag.message}"]
    if 1 <= diag.loc.line <= len(lines) and not lines[diag.loc.line - 1].lstrip().startswith("#"):
        out += excerpt(lines[diag.loc.line - 1], diag.loc.line, diag.loc.col)
    if diag.hint:
        out.append(f"    hint: {diag.hint}")
    return "\n".join(out)


EXCERPT_WIDTH = 160


def excerpt(line: str, number: int, col: int) -> list[str]:
    """The source line and a caret under the offending value, like a compiler shows it."""
    shown = line.replace("\t", " ").rstrip()
    start = min(max(col - 1, 0), len(shown))
    width = 1 if line[start : start + 1] == "\t" else _token_width(shown, start)
    if len(shown) > EXCERPT_WIDTH:  # a huge line (a 5000-digit number): show a window of it
        left = max(start - 20, 0)
        right = min(left + EXCERPT_WIDTH, len(shown))
        shown = ("..." if left else "") + shown[left:right] + ("..." if right < len(shown) else "")
        start = start - left + (3 if left else 0)
        width = max(min(width, len(shown) - start - (3 if right < len(line) else 0)), 1)
    gutter = " " * (4 + len(str(number)))
    return [f"    {number} | {shown}", f"{gutter} | {' ' * start}{'^' * width}"]


def _token_width(line: str, start: int) -> int:
    """How far the value at `start` reaches: a quoted string, a bracket, or a plain scalar up
    to a flow separator or comment (an iptables line: up to the next space)."""
    if start >= len(line):
        return 1
    first = line[start]
    if first in "\"'":
        end = line.find(first, start + 1)
        return (end if end > 0 else len(line) - 1) - start + 1
    if first in "[{":
        return 1
    rule_line = line.lstrip().startswith("-") and line.lstrip()[1:2].isalpha()
    end = start
    while end < len(line):
        ch = line[end]
        if ch in ",]}" or (ch == " " and (rule_line or line[end + 1 : end + 2] == "#")):
            break
        if ch == ":" and line[end + 1 : end + 2] in (" ", ""):
            break
        end += 1
    return max(len(line[start:end].rstrip()), 1)


def as_json(result: Result) -> dict[str, Any]:
    errors = [
        {
            "file": d.loc.file,
            "line": d.loc.line,
            "column": d.loc.col,
            "message": d.message,
            "hint": d.hint,
        }
        for d in result.diagnostics
    ]
    if result.failure is not None:
        errors.append({"file": result.name, "line": 0, "column": 0, "message": result.failure, "hint": None})
    out: dict[str, Any] = {"file": result.name, "ok": result.ok, "errors": errors}
    if result.scenario is not None:
        from nslab.scenario import trust

        out["shipped"] = trust.is_shipped(result.name)
        out["runs_as_root"] = [
            {"what": a.what, "node": a.node, "text": a.text, "at": str(a.loc)}
            for a in trust.root_actions(result.scenario)
        ]
    return out


def _root_lines(path: str, scenario: Scenario) -> list[str]:
    """The author's view of the trust model: everything the scenario does as root."""
    from nslab.scenario import trust

    lines = trust.describe(trust.root_actions(scenario))
    if lines and trust.commands(scenario) and not trust.is_shipped(path):
        lines.append("  (not shipped with nslab: up, reset, selftest and solution --apply run its")
        lines.append("   commands only with --allow-exec)")
    return lines


@click.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE|NAME...")
@click.option("--seed", help="Check only the variant this seed picks (default: every parameter choice).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per file on stdout, for editors and CI.",
)
def validate_command(files: tuple[str, ...], seed: str | None, quiet: bool, fmt: str) -> None:
    """Check scenario files for errors without building anything (no root needed).

    Every error is reported at once with file:line:col, the offending line and a
    suggested fix. Without --seed, each choice of each parameter is checked too.
    Exit code 2 when any file has an error.

    \b
    Example:
      nslab validate scenarios/*.yaml
      nslab validate --format json my-lab.yaml
    """
    results = [validate_one(item, seed) for item in files]
    if fmt == "json":
        import json

        click.echo(json.dumps([as_json(r) for r in results], indent=2))
    else:
        for result in results:
            if not result.ok:
                click.echo(render_text(result), err=True)
            elif not quiet and result.scenario is not None:
                s = result.scenario
                nodes = f"{len(s.nodes)} node" + ("" if len(s.nodes) == 1 else "s")
                checks = f"{len(s.checks)} check" + ("" if len(s.checks) == 1 else "s")
                click.echo(f"{result.name}: ok ({s.name}: {nodes}, {checks})")
                click.echo("\n".join("  " + line for line in _root_lines(result.name, s)))
    if not all(r.ok for r in results):
        raise SystemExit(2)
