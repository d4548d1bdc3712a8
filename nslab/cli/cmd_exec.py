from __future__ import annotations

import os
import shutil
from typing import NoReturn

import click

from nslab.cli.common import LAB_OPTION, need_root, resolve_lab


def _netns_for(lab: str, node: str) -> str:
    from nslab.engine import state
    from nslab.engine.journal import read
    from nslab.errors import LabStateError, UsageError
    from nslab.kernel import netns
    from nslab.scenario.schema import did_you_mean

    nodes = {e.get("node"): e["name"] for e in read(state.lab_dir(lab)).netns}
    if node not in nodes:
        known = sorted(n for n in nodes if n)
        raise UsageError(
            f"lab {lab} has no node {node!r}", did_you_mean(node, known) or "nodes: " + ", ".join(known)
        )
    name = str(nodes[node])
    if not netns.exists(name):
        raise LabStateError(
            f"node {node} of lab {lab} is gone: its namespace {name} was deleted",
            f"rebuild the lab with 'nslab reset' (or 'nslab down {lab}' and 'nslab up' again)",
        )
    return name


def _enter(lab: str, node: str) -> str:
    """Resolve the node and move this process into it: its network and UTS namespaces and a
    private mount namespace with its own /etc, /run, /var, /root, /home and /tmp on the
    node's tmpfs, over a read-only host tree (docs/design.md, "A node's own view")."""
    from nslab.engine import etcfiles
    from nslab.errors import KernelError

    ns = _netns_for(lab, node)
    try:
        etcfiles.enter_node_view(lab, ns, node)
    except OSError as exc:
        raise KernelError(
            f"cannot enter node {node} of lab {lab}: {exc.strerror or exc}",
            "nslab needs Linux 5.12+ (mount_setattr) and overlayfs; 'nslab doctor' checks both",
        ) from None
    return ns


@click.command("exec", context_settings={"ignore_unknown_options": True})
@LAB_OPTION
@click.argument("node")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(lab: str | None, node: str, command: tuple[str, ...]) -> None:
    """Run one command inside a lab node (with its /etc/hosts and resolv.conf).

    \b
    Example:
      sudo nslab exec client -- ip route
      sudo nslab exec client -- ping -c1 10.0.2.10
    """
    need_root("nslab exec")
    lab_name = resolve_lab(lab)
    args = list(command[1:] if command and command[0] == "--" else command)
    env = _node_env(lab_name, node)
    _enter(lab_name, node)
    _exec(args, env)


def _node_env(lab: str, node: str) -> dict[str, str]:
    """The caller's environment, plus the lab and node (nslab inside knows its lab) and the
    node's tools (`sudo`) first on PATH."""
    from nslab.engine.etcfiles import node_path

    return dict(os.environ, NSLAB_LAB=lab, NSLAB_NODE=node, PATH=node_path(os.environ.get("PATH")))


def _exec(args: list[str], env: dict[str, str]) -> NoReturn:
    from nslab.errors import UsageError

    try:
        os.execvpe(args[0], args, env)
    except FileNotFoundError:
        raise UsageError(f"{args[0]}: command not found in the node", "check the spelling") from None
    except PermissionError:
        raise UsageError(f"{args[0]}: permission denied", "is it an executable file?") from None


@click.command("shell")
@LAB_OPTION
@click.argument("node")
def shell_command(lab: str | None, node: str) -> None:
    """Open an interactive shell inside a lab node; the prompt shows lab:node.

    Exit the shell (Ctrl-D) to come back to your machine.

    \b
    Example:
      sudo nslab shell client
    """

    need_root("nslab shell")
    lab_name = resolve_lab(lab)
    prompt = f"[{lab_name}:{node}] \\w\\$ "
    bash = shutil.which("bash")
    env = _node_env(lab_name, node)
    if bash is None:
        env["PS1"] = f"[{lab_name}:{node}] $ "
        _enter(lab_name, node)
        _exec(["sh", "-i"], env)
    _enter(lab_name, node)
    # Written inside the node, into its own /run: nslab's state directory is hidden there.
    rcfile = "/run/nslab-node/bashrc"
    os.makedirs(os.path.dirname(rcfile), mode=0o755, exist_ok=True)
    fd = os.open(rcfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            "[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc\n"
            "[ -f ~/.bashrc ] && . ~/.bashrc\n"
            f"PS1='{prompt}'\n"
            f"echo 'nslab: you are inside node {node} of lab {lab_name}; exit or Ctrl-D to leave'\n"
        )
    _exec([bash, "--rcfile", rcfile, "-i"], env)
