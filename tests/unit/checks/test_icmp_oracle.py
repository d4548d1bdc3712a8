"""scapy is the oracle for our ICMP tables and parsing, without root.

- nslab/kernel/icmptypes.py (the iptables ICMP names) against scapy's icmptypes/icmpcodes,
  which carry the same iptables names.
- icmp.describe() (what a learner reads) against scapy's names of every code of every error
  type the probes listen for, IPv4 and IPv6.
- icmp.parse() on ICMP errors that scapy builds (every type/code we name, both families),
  quoting our echo request; and icmp.echo_request() against scapy's encoding and checksum.
- errqueue: the kernel's own port-unreachable on loopback, as IP_RECVERR queues it.

scapy is imported here only (inet/inet6, not scapy.all): nslab's probes use plain sockets.
"""

from __future__ import annotations

import errno
import re
import select
import socket
import time
from typing import Any

import pytest
from scapy.layers.inet import ICMP, IP, icmpcodes, icmptypes
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6PacketTooBig,
    ICMPv6ParamProblem,
    ICMPv6TimeExceeded,
    IPv6,
    icmp6types,
)
from scapy.packet import Raw

from nslab.checks.probes import errqueue, icmp
from nslab.kernel.icmptypes import ICMP_TYPES

ME, ROUTER, TARGET = "10.1.0.2", "10.9.0.1", "192.0.2.7"
ME6, ROUTER6, TARGET6 = "fd00:1::2", "fd00:9::1", "2001:db8::7"
IDENT, SEQ = 0xBEEF, 513
PAYLOAD = bytes(range(24))

# iptables (and so nslab) accepts a few names scapy does not use for a whole type.
IPTABLES_ALIASES = {"destination-unreachable": 3, "pong": 0, "ping": 8, "ttl-exceeded": 11}
# Error types whose codes describe() reads out one by one (others: by type only).
V6_CODE_CLASSES: dict[int, Any] = {1: ICMPv6DestUnreach, 3: ICMPv6TimeExceeded, 4: ICMPv6ParamProblem}
# describe() names v6 parameter problems (and v4's) by type, like ping does.
BY_TYPE = {(4, 12), (6, 2), (6, 4)}
# Words that scapy's names carry but that say nothing about which error it is.
FILLER = {"ttl", "zero", "during", "with", "destination", "dest", "encountered", "the"}


def _words(text: str) -> set[str]:
    return set(re.split(r"[\s\-/()]+", text.lower())) - {""}


def _code_name(version: int, icmp_type: int, code: int) -> str | None:
    if version == 4:
        return icmpcodes.get(icmp_type, {}).get(code)
    cls = V6_CODE_CLASSES.get(icmp_type)
    if cls is None:
        return None
    names: dict[int, str] = cls().get_field("code").i2s
    return names.get(code)


def _type_name(version: int, icmp_type: int) -> str:
    return str((icmptypes if version == 4 else icmp6types)[icmp_type])


# -- tables ------------------------------------------------------------------------------


def test_iptables_names_are_scapys_names() -> None:
    """Each name with a code is scapy's name for that type/code; each type name is scapy's
    (or one of iptables' documented aliases)."""
    for name, spec in ICMP_TYPES.items():
        if spec == "any":
            continue
        if "/" in spec:
            t, c = (int(x) for x in spec.split("/"))
            assert icmpcodes[t][c] == name, (name, spec)
        elif name in IPTABLES_ALIASES:
            assert IPTABLES_ALIASES[name] == int(spec), (name, spec)
            assert int(spec) in icmptypes
        else:
            assert icmptypes[int(spec)] == name, (name, spec, icmptypes[int(spec)])


def test_every_code_scapy_names_for_our_types_is_in_the_table() -> None:
    """No code iptables/scapy can name is missing for the types our table covers."""
    ours = {spec for spec in ICMP_TYPES.values()}
    for t, codes in icmpcodes.items():
        if str(t) not in ours:
            continue
        for c, name in codes.items():
            assert ICMP_TYPES.get(name) == f"{t}/{c}", (t, c, name)


def test_probe_constants_name_the_right_messages() -> None:
    assert icmptypes[icmp.ECHO_REQUEST[4]] == "echo-request"
    assert icmptypes[icmp.ECHO_REPLY[4]] == "echo-reply"
    assert icmp6types[icmp.ECHO_REQUEST[6]] == "Echo Request"
    assert icmp6types[icmp.ECHO_REPLY[6]] == "Echo Reply"
    assert {icmptypes[t] for t in icmp.ERROR_TYPES[4]} == {
        "dest-unreach",
        "time-exceeded",
        "parameter-problem",
    }
    assert {icmp6types[t] for t in icmp.ERROR_TYPES[6]} == {
        "Destination unreachable",
        "Packet too big",
        "Time exceeded",
        "Parameter problem",
    }
    t, c = icmp.TOO_BIG[4]
    assert icmpcodes[t][c] == "fragmentation-needed"
    assert icmp6types[icmp.TOO_BIG[6][0]] == "Packet too big"
    assert icmptypes[icmp.TIME_EXCEEDED[4]] == "time-exceeded"
    assert icmp6types[icmp.TIME_EXCEEDED[6]] == "Time exceeded"


def _error_cases() -> list[tuple[int, int, int]]:
    """Every code scapy names for every error type the probes listen for."""
    cases = []
    for t in icmp.ERROR_TYPES[4]:
        cases += [(4, t, c) for c in icmpcodes.get(t, {0: None})]
    for t in icmp.ERROR_TYPES[6]:
        cls = V6_CODE_CLASSES.get(t)
        cases += [(6, t, c) for c in (cls().get_field("code").i2s if cls else {0: None})]
    return cases


@pytest.mark.parametrize("version, icmp_type, code", _error_cases())
def test_describe_says_what_scapy_says(version: int, icmp_type: int, code: int) -> None:
    """Our words for an error carry the meaning of scapy's name for it (same distinctive words)."""
    ours = icmp.describe(version, icmp_type, code)
    reference = (
        _type_name(version, icmp_type)
        if (version, icmp_type) in BY_TYPE
        else _code_name(version, icmp_type, code) or _type_name(version, icmp_type)
    )
    missing = _words(reference) - FILLER - _words(ours)
    assert not missing, f"describe({version}, {icmp_type}, {code}) = {ours!r}; scapy: {reference!r}"


# -- parsing ---------------------------------------------------------------------------------


def _v4_error(icmp_type: int, code: int, quote: bytes | None = None, **fields: Any) -> bytes:
    inner = bytes(IP(src=ME, dst=TARGET, ttl=1) / ICMP(type=8, id=IDENT, seq=SEQ) / Raw(PAYLOAD))
    outer = IP(src=ROUTER, dst=ME) / ICMP(type=icmp_type, code=code, **fields) / Raw(quote or inner)
    return bytes(outer)  # a raw IPv4 socket hands us the IP header too


def _v6_error(layer: Any, quote: bytes | None = None) -> bytes:
    inner = bytes(IPv6(src=ME6, dst=TARGET6, hlim=1) / ICMPv6EchoRequest(id=IDENT, seq=SEQ, data=PAYLOAD))
    outer = IPv6(src=ROUTER6, dst=ME6) / layer / Raw(quote or inner)
    return bytes(outer)[40:]  # a raw IPv6 socket hands us the ICMPv6 message only


V4_ERRORS = [(t, c) for t in icmp.ERROR_TYPES[4] for c in icmpcodes.get(t, {0: None})]
V6_ERRORS = [(1, c) for c in range(7)] + [(3, 0), (3, 1)] + [(4, c) for c in range(4)]


@pytest.mark.parametrize("icmp_type, code", V4_ERRORS)
def test_parse_v4_errors_built_by_scapy(icmp_type: int, code: int) -> None:
    mtu = 1400 if (icmp_type, code) == (3, 4) else 0
    fields = {"nexthopmtu": mtu} if mtu else {}
    got = icmp.parse(4, _v4_error(icmp_type, code, **fields), ROUTER, IDENT)
    assert got == icmp.Reply(SEQ, ROUTER, icmp_type, code, False, mtu)
    # RFC 792's minimum quote: the IP header and the first 8 bytes of our echo request.
    short = bytes(IP(src=ME, dst=TARGET) / ICMP(type=8, id=IDENT, seq=SEQ) / Raw(PAYLOAD))[:28]
    assert icmp.parse(4, _v4_error(icmp_type, code, short, **fields), ROUTER, IDENT) == got
    # another probe's error is not ours
    assert icmp.parse(4, _v4_error(icmp_type, code, **fields), ROUTER, IDENT ^ 1) is None


@pytest.mark.parametrize("icmp_type, code", V6_ERRORS)
def test_parse_v6_errors_built_by_scapy(icmp_type: int, code: int) -> None:
    layer = {1: ICMPv6DestUnreach, 3: ICMPv6TimeExceeded, 4: ICMPv6ParamProblem}[icmp_type](code=code)
    got = icmp.parse(6, _v6_error(layer), ROUTER6, IDENT)
    assert got == icmp.Reply(SEQ, ROUTER6, icmp_type, code, False, 0)
    assert icmp.parse(6, _v6_error(layer), ROUTER6, IDENT ^ 1) is None


def test_parse_packet_too_big_reads_the_mtu() -> None:
    got = icmp.parse(6, _v6_error(ICMPv6PacketTooBig(mtu=1280)), ROUTER6, IDENT)
    assert got == icmp.Reply(SEQ, ROUTER6, 2, 0, False, 1280)


def test_parse_echo_replies_built_by_scapy() -> None:
    v4 = bytes(IP(src=TARGET, dst=ME) / ICMP(type=0, id=IDENT, seq=SEQ) / Raw(PAYLOAD))
    assert icmp.parse(4, v4, TARGET, IDENT) == icmp.Reply(SEQ, TARGET, 0, 0, True)
    v6 = bytes(IPv6(src=TARGET6, dst=ME6) / ICMPv6EchoReply(id=IDENT, seq=SEQ, data=PAYLOAD))[40:]
    assert icmp.parse(6, v6, TARGET6, IDENT) == icmp.Reply(SEQ, TARGET6, 129, 0, True)
    assert icmp.parse(4, v4, TARGET, IDENT + 1) is None


def test_parse_ignores_what_is_not_about_our_echo() -> None:
    # an error quoting a UDP datagram, not our echo request
    udp = bytes(IP(src=ME, dst=TARGET, proto=17) / Raw(b"\x04\x00\x00\x35\x00\x10\x00\x00"))
    assert icmp.parse(4, _v4_error(3, 3, udp), ROUTER, IDENT) is None
    # a redirect quoting our echo: not an error type the probes listen for
    assert icmp.parse(4, _v4_error(5, 1, gw="10.1.0.9"), ROUTER, IDENT) is None
    # an error quoting someone's echo REPLY
    reply = bytes(IP(src=ME, dst=TARGET) / ICMP(type=0, id=IDENT, seq=SEQ))
    assert icmp.parse(4, _v4_error(11, 0, reply), ROUTER, IDENT) is None
    # truncated quotes
    assert icmp.parse(4, _v4_error(11, 0)[:40], ROUTER, IDENT) is None
    assert icmp.parse(6, _v6_error(ICMPv6TimeExceeded())[:50], ROUTER6, IDENT) is None


def test_echo_request_is_encoded_as_scapy_encodes_it() -> None:
    """Same bytes, so our IPv4 checksum is right; IPv6 leaves the checksum to the kernel."""
    v4 = bytes(ICMP(type=8, id=IDENT, seq=SEQ) / Raw(bytes(i & 0xFF for i in range(56))))
    assert icmp.echo_request(4, IDENT, SEQ, 56) == v4
    odd = bytes(ICMP(type=8, id=IDENT, seq=SEQ) / Raw(bytes(range(7))))
    assert icmp.echo_request(4, IDENT, SEQ, 7) == odd
    v6 = bytes(ICMPv6EchoRequest(id=IDENT, seq=SEQ, data=bytes(range(56)), cksum=0))
    assert icmp.echo_request(6, IDENT, SEQ, 56) == v6


# -- the error queue, with the kernel's own ICMP --------------------------------------------


def _closed_udp_port(family: int, host: str) -> int:
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("version, host", [(4, "127.0.0.1"), (6, "::1")])
def test_errqueue_reads_the_kernels_port_unreachable(version: int, host: str) -> None:
    """A UDP datagram to a closed loopback port: the kernel answers with ICMP port unreachable,
    IP_RECVERR queues it, and we read scapy's type/code for it, from loopback."""
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((host, 0))
    except OSError:
        pytest.skip(f"no {host} here")
    with sock:
        errqueue.enable(sock, version)
        sock.connect((host, _closed_udp_port(family, host)))
        sock.send(b"x")
        found: list[errqueue.QueuedError] = []
        until = time.monotonic() + 2
        while not found and time.monotonic() < until:
            select.select([], [], [sock], 0.1)
            found = errqueue.drain(sock)
    assert len(found) == 1, found
    queued = found[0]
    assert (queued.errno, queued.icmp, queued.offender) == (errno.ECONNREFUSED, True, host)
    if version == 4:
        assert icmpcodes[queued.type][queued.code] == "port-unreachable"
    else:
        assert _code_name(6, queued.type, queued.code) == "Port unreachable"
    assert icmp.describe(version, queued.type, queued.code) == "port unreachable"
