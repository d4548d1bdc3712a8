"""The address check's matching rules, without a kernel: any-prefix and `only`."""

from __future__ import annotations

import ipaddress

import pytest

from nslab.checks.probes.state import _matches, _only


def ifaces(*texts: str) -> list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]:
    return [ipaddress.ip_interface(t) for t in texts]


@pytest.mark.parametrize(
    ("have", "wanted", "hit"),
    [
        ("10.0.1.10/24", "10.0.1.10/24", True),
        ("10.0.1.10/16", "10.0.1.10/24", False),
        ("10.0.1.10/16", "10.0.1.10", True),
        ("10.0.1.11/24", "10.0.1.10", False),
        ("2001:db8::1/64", "2001:db8:0::1", True),
    ],
)
def test_a_bare_address_matches_any_prefix_length(have: str, wanted: str, hit: bool) -> None:
    assert _matches(ipaddress.ip_interface(have), wanted) is hit


def test_only_ignores_ipv6_link_local_but_not_other_extras() -> None:
    mine = ifaces("10.0.1.10/24", "fe80::1/64")
    assert _only("eth0", mine, ["10.0.1.10/24"], {}).outcome == "present"
    extra = _only("eth0", [*mine, *ifaces("169.254.1.1/16")], ["10.0.1.10/24"], {})
    assert extra.outcome == "absent" and "also 169.254.1.1/16" in extra.detail


def test_only_names_what_is_missing_and_what_is_extra() -> None:
    seen = _only("eth0", ifaces("10.0.1.10/16"), ["10.0.1.10/24", "2001:db8::1"], {})
    assert seen.outcome == "absent"
    assert seen.detail == "eth0 has 10.0.1.10/16: also 10.0.1.10/16; no 10.0.1.10/24, 2001:db8::1"
    assert _only("eth0", [], ["10.0.1.10"], {}).detail == "eth0 has no address: no 10.0.1.10"
