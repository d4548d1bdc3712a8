"""The sysctl key grammar and the write path's confinement to /proc/sys/net (no root needed:
every refusal here happens before any file is opened)."""

from __future__ import annotations

import os
import tempfile

import pytest

from nslab.kernel import sysctl

GOOD = [
    "net.ipv4.ip_forward",
    "net.ipv4.conf.eth0.rp_filter",
    "net.ipv4.conf.eth0/100.rp_filter",
    "net.ipv6.conf.all.disable_ipv6",
    "net.ipv4.conf.Br-0_x.forwarding",
    "net.core.somaxconn",
]
BAD = [
    "net.//.//.//.tmp.x",
    "net././etc",
    "net.ipv4..ip_forward",
    "net.ipv4.ip_forward.",
    "net.",
    "net",
    "kernel.panic",
    "net.ipv4.conf./eth0.rp_filter",
    "net.ipv4.conf.eth0/.rp_filter",
    "net.ipv4.conf.eth0//1.rp_filter",
    "net.ipv4.conf.a/b/c/d/e/f/g/h/i.rp_filter",
    "net.ipv4.conf.eth 0.rp_filter",
    "net.ipv4.conf.eth0:1.rp_filter",
    "net.ipv4.ip_forward\n",
    "net.ipv4.\x00x",
]


@pytest.mark.parametrize("key", GOOD)
def test_good_keys_map_under_proc_sys_net(key: str) -> None:
    assert sysctl.key_problem(key) is None
    assert sysctl.path_of(key).startswith("/proc/sys/net/")
    assert "/../" not in sysctl.path_of(key) and "/./" not in sysctl.path_of(key)


def test_slash_stands_for_a_dot_in_an_interface_name() -> None:
    assert sysctl.path_of("net.ipv4.conf.eth0/100.rp_filter") == "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"


@pytest.mark.parametrize("key", BAD)
def test_bad_keys_are_refused_before_any_open(key: str) -> None:
    assert sysctl.key_problem(key)
    with pytest.raises(sysctl.SysctlKeyError):
        sysctl.path_of(key)
    with pytest.raises(sysctl.SysctlKeyError):
        sysctl.read(key)


def test_the_escape_writes_nothing() -> None:
    """The reported escape: net.//.//.//.tmp.<x> was /proc/sys/net/../../../tmp/<x>."""
    with tempfile.TemporaryDirectory(prefix="nslab-sysctl-") as tmp:
        target = os.path.join(tmp, "target")
        key = "net.//.//.//" + tmp.replace("/", ".") + ".target"
        with pytest.raises(sysctl.SysctlKeyError):
            sysctl.write(key, "owned")
        assert not os.path.lexists(target)


@pytest.mark.parametrize("value", ["1\n", "1\nkernel.panic=1", "0\x00", "\r1", "1\x7f"])
def test_values_with_control_characters_are_refused(value: str) -> None:
    assert sysctl.value_problem(value)
    with pytest.raises(sysctl.SysctlKeyError):
        sysctl.write("net.ipv4.ip_forward", value)


def test_plain_values_pass() -> None:
    assert sysctl.value_problem("1") is None
    assert sysctl.value_problem("1 0") is None
    assert sysctl.value_problem("4096 87380 6291456") is None


def test_read_of_a_real_key_works_without_following_links() -> None:
    # /proc/sys/net of this (unprivileged or not) process is readable: the read path works.
    assert sysctl.read("net.ipv4.ip_forward") in {"0", "1"}
