"""The arp probe's frames, built and parsed without a kernel."""

from __future__ import annotations

import ipaddress
import struct

from nslab.checks.probes.arp import answerer, request

MAC = bytes.fromhex("020000070011")
ME = ipaddress.IPv4Address("10.7.0.11")
GW = ipaddress.IPv4Address("10.7.0.1")


def reply(sender_mac: bytes, sender: ipaddress.IPv4Address, op: int = 2) -> bytes:
    eth = MAC + sender_mac + struct.pack("!H", 0x0806)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sender_mac + sender.packed + MAC + ME.packed
    return eth + arp + b"\0" * 18  # padded to the Ethernet minimum, as on the wire


def test_request_is_a_42_byte_broadcast_who_has() -> None:
    frame = request(MAC, ME, GW)
    assert len(frame) == 42
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == MAC and frame[12:14] == b"\x08\x06"
    assert frame[14:22] == bytes.fromhex("0001080006040001")  # Ethernet/IPv4, request
    assert frame[22:28] == MAC and frame[28:32] == ME.packed
    assert frame[32:38] == b"\0" * 6 and frame[38:42] == GW.packed


def test_only_replies_claiming_the_address_count() -> None:
    other = bytes.fromhex("020000070066")
    assert answerer(reply(other, GW), GW) == "02:00:00:07:00:66"
    assert answerer(reply(other, ipaddress.IPv4Address("10.7.0.2")), GW) is None  # another address
    assert answerer(reply(other, GW, op=1), GW) is None  # a request, not an answer
    assert answerer(request(MAC, ME, GW), GW) is None
    assert answerer(reply(other, GW)[:30], GW) is None  # truncated
