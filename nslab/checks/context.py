"""What a probe needs to know besides its check: which lab and node, and its time budget.

A probe runs in a thread that has already entered the node's network namespace, so the
sockets it creates live there. Files a learner tool would see through `ip netns exec`
(/etc/netns/<ns>/hosts, resolv.conf) are found here, not through the host's /etc.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from nslab.engine import state


@dataclass(frozen=True)
class ProbeContext:
    lab: str
    node: str
    netns: str
    timeout: float
    deadline: float  # time.monotonic() value by which this attempt must be over
    owners: Mapping[str, str] = field(default_factory=dict)  # address -> node, to name hops

    @classmethod
    def start(
        cls, lab: str, node: str, netns: str, timeout: float, owners: Mapping[str, str] | None = None
    ) -> ProbeContext:
        return cls(lab, node, netns, timeout, time.monotonic() + timeout, owners or {})

    def label(self, address: str) -> str:
        """'r1 (10.0.1.1)' when the address belongs to a lab node, else the address."""
        owner = self.owners.get(address)
        return f"{owner} ({address})" if owner else address

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def etc_file(self, name: str) -> str:
        """The file `ip netns exec` shows as /etc/<name> inside this node."""
        return self.own_etc_file(name) or os.path.join("/etc", name)

    def own_etc_file(self, name: str) -> str | None:
        """The node's own copy of /etc/<name> (from the scenario), if it has one."""
        own = os.path.join(state.etc_dir(self.netns), name)
        return own if os.path.exists(own) else None

    def lab_ca(self) -> str:
        return os.path.join(state.lab_dir(self.lab), "ca", "ca.crt")
