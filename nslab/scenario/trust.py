"""What a scenario makes nslab do as root, declared, and the --allow-exec gate.

A scenario file is code: `sudo nslab up` runs an exec service's command, `solution --apply`
runs the reference fix, the build writes sysctls and files. The scenarios shipped in the
package are trusted; any other file that brings its own commands is refused until the user
has read them and passes --allow-exec. Sysctls and files are listed but not gated: the
schema already confines them (net.* of the lab's own namespaces, files in its state dir).

Only commands a verb really runs gate it: `up` and `reset` start services, `solution
--apply` runs the fix, `selftest` does both. So `up` never prints the reference solution to
a learner (it would give the answer away).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nslab.errors import Loc, UsageError
from nslab.scenario import model as m
from nslab.scenario.catalog import shipped_dir

SERVICES = "services"  # commands run by up/reset (exec services, node setup scripts)
SOLUTION = "solution"  # commands run by solution --apply and selftest


@dataclass(frozen=True)
class RootAction:
    """One thing nslab does as root because the scenario says so."""

    what: str  # "command", "sysctl", "firewall", "file"
    node: str  # "*" for the whole lab
    text: str
    loc: Loc
    source: str = ""  # for a command: SERVICES or SOLUTION; the service name in `text`'s label

    def describe(self) -> str:
        if self.node == "*":  # a lab-wide item: no one node, no one line
            return self.text
        return f"[{self.node}] {self.text}  ({self.loc})"


def commands(scenario: m.Scenario, sources: tuple[str, ...] = (SERVICES, SOLUTION)) -> list[RootAction]:
    """Shell commands the scenario runs as root inside its nodes, in file order."""
    out: list[RootAction] = []
    if SERVICES in sources:
        for svc in scenario.services:
            command = svc.params.get("command")
            if isinstance(command, str):
                label = f"service {svc.name} ({svc.kind}): {_one_line(command)}"
                out.append(RootAction("command", svc.node, label, svc.at("command"), SERVICES))
        for node in scenario.nodes.values():
            if node.setup:
                label = f"setup: {_one_line(node.setup)}"
                out.append(RootAction("command", node.name, label, node.at("setup"), SERVICES))
    if SOLUTION in sources:
        for step in scenario.solution:
            text = f"solution: {_one_line(step.run)}"
            out.append(RootAction("command", step.node, text, step.at("run"), SOLUTION))
    return out


def root_actions(scenario: m.Scenario, sources: tuple[str, ...] = (SERVICES, SOLUTION)) -> list[RootAction]:
    """Everything the scenario makes nslab do as root: commands, sysctls, firewall rules, files."""
    out = commands(scenario, sources)
    for node in scenario.nodes.values():
        for key, value in node.sysctls.items():
            out.append(RootAction("sysctl", node.name, f"{key} = {value}", node.at(f"sysctls.{key}")))
        rules = list(node.firewall.tables()) if node.firewall else []
        if node.firewall and rules:
            text = "iptables-restore into the node's tables: " + ", ".join(rules)
            out.append(RootAction("firewall", node.name, text, node.at("firewall")))
    etc = [n.name for n in scenario.nodes.values() if n.kind != "switch"]
    if etc:
        text = f"hosts and resolv.conf of {', '.join(etc)} in /run/nslab/<lab>/etc (linked from /etc/netns)"
        out.append(RootAction("file", "*", text, scenario.loc))
    if scenario.services:
        names = ", ".join(svc.name for svc in scenario.services)
        text = f"settings of services {names} in /run/nslab/<lab>/services"
        out.append(RootAction("file", "*", text, scenario.loc))
    return out


def describe(actions: list[RootAction]) -> list[str]:
    """The 'runs as root:' section, grouped by kind (empty when there is nothing to say)."""
    if not actions:
        return []
    titles = {
        "command": "commands",
        "sysctl": "sysctls (net.* of the node's own namespace)",
        "firewall": "firewall rules",
        "file": "files written (only in the lab's state directory)",
    }
    lines = ["runs as root:"]
    for what, title in titles.items():
        group = [a for a in actions if a.what == what]
        if group:
            lines.append(f"  {title}:")
            lines += [f"    {a.describe()}" for a in group]
    return lines


def is_shipped(path: str | Path, text: str | None = None) -> bool:
    """True for a file of the package's own scenarios/ directory (symlinks resolved), and, when
    `text` is given, only if that file still holds exactly `text` (a running lab's copy)."""
    try:
        real = Path(path).resolve()
    except OSError:
        return False
    if real.parent != shipped_dir() or not real.is_file():
        return False
    return text is None or real.read_text() == text


def gate(
    scenario: m.Scenario, path: str, text: str | None, allow_exec: bool, sources: tuple[str, ...]
) -> None:
    """Refuse (exit 2) a scenario from outside the package that runs commands in this verb,
    unless the user said --allow-exec. Called before anything is built or run."""
    if allow_exec or is_shipped(path, text):
        return
    found = commands(scenario, sources)
    if not found:
        return
    listing = "\n".join(f"    {a.describe()}" for a in found)
    raise UsageError(
        f"{path} is not a shipped scenario and runs {len(found)} command(s) as root:\n{listing}",
        "read them; if you trust them, run again with --allow-exec",
    )


def _one_line(command: str) -> str:
    lines = [line.strip() for line in command.strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else ""
    return " ; ".join(lines)
