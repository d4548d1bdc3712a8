"""An iptables check names a rule, a policy, or both."""

from __future__ import annotations

import pytest

from nslab.errors import ScenarioError
from nslab.scenario import loader

BASE = """\
metadata: {name: t, title: t}
nodes:
  r1: {kind: router}
checks:
  - {name: c, kind: iptables, from: r1, chain: FORWARD, role: guard, description: d%s}
"""


def test_a_check_with_neither_match_nor_policy_is_refused() -> None:
    with pytest.raises(ScenarioError) as err:
        loader.load_text(BASE % "", "s.yaml")
    assert any("needs 'match' (a rule), 'policy', or both" in d.message for d in err.value.diagnostics)


@pytest.mark.parametrize(
    "extra", [", policy: DROP", ", match: '-j DROP'", ", match: '-j DROP', policy: ACCEPT"]
)
def test_either_or_both_are_accepted(extra: str) -> None:
    assert loader.load_text(BASE % extra, "s.yaml").checks[0].kind == "iptables"
