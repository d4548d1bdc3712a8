"""The build journal: one JSON line per object, appended BEFORE the object is created.

If `nslab up` dies at any instant (even kill -9), everything it may have made is named in
the journal, so `nslab down` can remove it. Entries: netns, etc (an /etc/netns dir),
proc (pid + start time), rules (a node's firewall was loaded: status notices a flush),
and done (the build finished).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from nslab.engine import statefiles

JOURNAL = "journal.jsonl"


class Journal:
    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, JOURNAL)
        self.fd = statefiles.open_new(self.path, statefiles.PRIVATE, append=True)

    def record(self, op: str, **data: Any) -> None:
        line = json.dumps({"op": op, **data}, separators=(",", ":")) + "\n"
        os.write(self.fd, line.encode())

    def record_many(self, op: str, items: list[dict[str, Any]]) -> None:
        if items:
            text = "".join(json.dumps({"op": op, **d}, separators=(",", ":")) + "\n" for d in items)
            os.write(self.fd, text.encode())

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class Entries:
    netns: list[dict[str, Any]] = field(default_factory=list)
    etc: list[str] = field(default_factory=list)
    procs: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    inodes: dict[str, int] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    corrupt_lines: int = 0


def read(directory: str) -> Entries:
    """Read a journal, tolerating a torn last line (a kill mid-write) or garbage. A journal
    another user could have written raises UntrustedState: root kills the pids it names."""
    entries = Entries()
    try:
        raw_lines = statefiles.read_bytes(os.path.join(directory, JOURNAL)).splitlines()
    except OSError:
        return entries
    for raw in raw_lines:
        try:
            item = json.loads(raw)
            op = item["op"]
        except (ValueError, KeyError, TypeError):
            entries.corrupt_lines += 1
            continue
        if op == "netns" and isinstance(item.get("name"), str):
            entries.netns.append(item)
        elif op == "etc" and isinstance(item.get("path"), str):
            entries.etc.append(item["path"])
        elif op == "proc" and isinstance(item.get("pid"), int):
            entries.procs.append(item)
        elif op == "named" and isinstance(item.get("namespaces"), list):
            for pair in item["namespaces"]:
                if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int):
                    entries.inodes[str(pair[0])] = pair[1]
        elif op == "rules" and isinstance(item.get("netns"), str):
            entries.rules.append(item)
        elif op == "lab":
            entries.header = item
        elif op == "done":
            entries.done = True
        else:
            entries.corrupt_lines += 1
    return entries
