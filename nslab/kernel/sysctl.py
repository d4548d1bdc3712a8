"""Network sysctls of the calling thread's namespace (/proc/sys/net follows the thread).

A sysctl key comes from a scenario file, which nslab runs as root, so the key is confined
twice: by a strict grammar (checked here and, with file:line:col, by the scenario layer) and
by resolving the path and opening it without following a last-component link, never
creating or truncating anything. In sysctl notation '.' separates levels and '/' stands for
a literal '.' inside one level (an interface name like eth0.100 is written eth0/100), so
without the grammar `net.//.//.tmp.x` would be /proc/sys/net/../../tmp/x.
"""

from __future__ import annotations

import os
import re

ROOT = "/proc/sys/net"
# A level: letters, digits, '_' and '-'; a '/' (a '.' in an interface name) only between
# such runs, so no level is empty, '.' or '..'.
_PART = r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*"
KEY_PATTERN = rf"net(?:\.{_PART})+"  # the same grammar, for the JSON Schema
_PART_RE = re.compile(_PART)
IFNAMSIZ = 15  # the longest interface name, so the longest level that holds a '.'
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SysctlKeyError(ValueError):
    """A key or value that would leave /proc/sys/net or change the file's meaning."""


def key_problem(key: str) -> str | None:
    """Why `key` is not a safe network sysctl key, or None when it is."""
    if not key.startswith("net."):
        return "only net.* sysctls are per namespace; others would change the host"
    for part in key.split(".")[1:]:
        if not part:
            return "it has an empty level ('..' or a trailing '.')"
        if not _PART_RE.fullmatch(part):
            if part.strip("/") == "":
                return f"level {part!r} would climb out of /proc/sys/net ('/' stands for '.')"
            return (
                f"level {part!r} may hold only letters, digits, '_', '-' and a '/' between them"
                " (for a '.' in an interface name)"
            )
        if "/" in part and len(part) > IFNAMSIZ:
            return f"level {part!r} is an interface name longer than {IFNAMSIZ} characters"
    return None


def value_problem(value: str) -> str | None:
    """Why `value` cannot be written as one sysctl value (a control character), or None."""
    bad = _CONTROL.search(value)
    if bad:
        return f"it holds the control character {bad.group()!r} (at {bad.start()})"
    return None


def path_of(key: str) -> str:
    """The file of `key`, refused unless it is a safe key that resolves under /proc/sys/net."""
    problem = key_problem(key)
    if problem:
        raise SysctlKeyError(f"sysctl {key!r}: {problem}")
    path = "/proc/sys/" + key.replace(".", "\0").replace("/", ".").replace("\0", "/")
    # Belt and braces: nothing under /proc/sys/net is a link, so the real path must stay there.
    real = os.path.realpath(path)
    if not real.startswith(ROOT + "/"):
        raise SysctlKeyError(f"sysctl {key!r} resolves to {real}, outside {ROOT}")
    return path


def write(key: str, value: str) -> None:
    """Write an existing sysctl file: no O_CREAT, no O_TRUNC, no final symlink."""
    problem = value_problem(value)
    if problem:
        raise SysctlKeyError(f"sysctl {key} value {value!r}: {problem}")
    fd = os.open(path_of(key), os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def read(key: str) -> str:
    fd = os.open(path_of(key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(65536)
    finally:
        os.close(fd)
    return data.decode(errors="replace").strip()
