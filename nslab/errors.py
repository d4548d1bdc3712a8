"""One error hierarchy; each class maps to one documented exit code.

The CLI is the only place that turns these into text and exit codes; the library only raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Loc:
    """A position in a source file, 1-based like editors show it."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOWHERE = Loc("<none>", 0, 0)


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a scenario, with where it is and how to fix it."""

    loc: Loc
    message: str
    hint: str | None = field(default=None)

    def render(self) -> str:
        text = f"{self.loc}: error: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class NslabError(Exception):
    """Base of every error nslab reports to a user."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"error: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class ScenarioError(NslabError):
    """The scenario file (or a flag naming one) is wrong; nothing was built."""

    exit_code = 2

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.loc, d.message))
        count = len(self.diagnostics)
        super().__init__(f"{count} error{'s' if count != 1 else ''} in scenario")

    def render(self) -> str:
        lines = [d.render() for d in self.diagnostics]
        lines.append(self.message)
        return "\n".join(lines)


class UsageError(NslabError):
    """A command was called wrongly (unknown lab or scenario name, bad flag value)."""

    exit_code = 2


class LabStateError(NslabError):
    """The lab is not in the state the command needs (already up, not up, busy)."""

    exit_code = 3


class EnvironmentProblem(NslabError):
    """The machine lacks something nslab needs: root, a kernel feature, a tool."""

    exit_code = 4


class KernelError(NslabError):
    """A kernel operation failed; a build was rolled back or a teardown left objects."""

    exit_code = 5
