"""What one probe saw. Probes (kernel side) produce these; the grader (pure) judges them.

`outcome` is one short word from the kind's vocabulary (tcp: open, refused, timeout,
unreachable; ping: reachable, timeout, unreachable, too-big...), `detail` is one line a
learner can act on, and `evidence` holds the raw facts (addresses, ICMP type/code, bytes,
hops) for JSON and JUnit reports. Keeping probes and judgement apart lets the grader be
tested without root.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Outcomes every kind may produce besides its own vocabulary.
ERROR = "error"  # the probe could not run (namespace gone, tool missing, lab CA absent...)
UNRESOLVED = "unresolved"  # a host name did not resolve inside the node


@dataclass(frozen=True)
class Observation:
    outcome: str
    detail: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


def error(detail: str, **evidence: Any) -> Observation:
    return Observation(ERROR, detail, evidence)
