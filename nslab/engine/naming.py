"""Names and ownership markers of everything nslab creates."""

from __future__ import annotations

import os
import re

from nslab.errors import UsageError

LAB_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MARKER_PREFIX = "nslab:"


def check_lab_name(name: str) -> str:
    if not LAB_NAME.fullmatch(name):
        raise UsageError(
            f"{name!r} is not a valid lab name or prefix",
            "use up to 32 lowercase letters, digits and '-', starting with a letter or digit",
        )
    return name


def netns_name(lab: str, node: str) -> str:
    return f"{lab}-{node}"


def new_build_id() -> str:
    import secrets  # only builds need it; naming is on every command's import path

    return f"{os.getpid():x}{secrets.token_hex(3)}"


def marker(lab: str, node: str, build: str) -> str:
    """Written as the ifalias of lo in each lab namespace: how `cleanup` recognises ours."""
    return f"{MARKER_PREFIX}{lab}:{node}:{build}"


def parse_marker(alias: str) -> tuple[str, str, str] | None:
    if not alias.startswith(MARKER_PREFIX):
        return None
    parts = alias[len(MARKER_PREFIX) :].split(":")
    if len(parts) != 3 or not LAB_NAME.fullmatch(parts[0]):
        return None
    return parts[0], parts[1], parts[2]
