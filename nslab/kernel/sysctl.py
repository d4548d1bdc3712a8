"""Network sysctls of the calling thread's namespace (/proc/sys/net follows the thread)."""

from __future__ import annotations


def path_of(key: str) -> str:
    # sysctl notation: '.' separates levels and '/' stands for a literal '.' (e.g. eth0/100)
    return "/proc/sys/" + key.replace(".", "\0").replace("/", ".").replace("\0", "/")


def write(key: str, value: str) -> None:
    with open(path_of(key), "w") as handle:
        handle.write(value)


def read(key: str) -> str:
    with open(path_of(key)) as handle:
        return handle.read().strip()
