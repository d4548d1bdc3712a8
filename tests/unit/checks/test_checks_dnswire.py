"""nslab's DNS codec against dnspython as the independent oracle, and fuzzed for robustness."""

from __future__ import annotations

import contextlib

import dns.message
import dns.rcode
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nslab.checks.probes import dnswire


def test_our_query_is_what_dnspython_reads() -> None:
    ident, wire = dnswire.query("www.Lab.test", "AAAA", ident=0x1234)
    parsed = dns.message.from_wire(wire)
    assert ident == parsed.id == 0x1234
    assert parsed.question[0].to_text() == "www.Lab.test. IN AAAA"
    assert parsed.flags & dns.flags.RD


def _answer(rcode: dns.rcode.Rcode = dns.rcode.NOERROR, **records: list[tuple[str, str, str]]) -> bytes:
    query = dns.message.make_query("www.lab.test", "A")
    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    for name, rtype, value in records.get("rr", []):
        reply.answer.append(dns.rrset.from_text(name, 300, "IN", rtype, value))
    return reply.to_wire()  # dnspython compresses names


@pytest.mark.parametrize(
    ("rtype", "value", "text"),
    [
        ("A", "10.0.2.10", "10.0.2.10"),
        ("AAAA", "fd00:0:0::10", "fd00::10"),
        ("CNAME", "web.lab.test.", "web.lab.test."),
        ("NS", "ns1.lab.test.", "ns1.lab.test."),
        ("MX", "10 mail.lab.test.", "10 mail.lab.test."),
        ("TXT", '"v=spf1 -all" "second"', '"v=spf1 -all" "second"'),
        (
            "SOA",
            "ns1.lab.test. admin.lab.test. 7 3600 600 86400 60",
            "ns1.lab.test. admin.lab.test. 7 3600 600 86400 60",
        ),
        ("PTR", "www.lab.test.", "www.lab.test."),
    ],
)
def test_record_text_matches_dig(rtype: str, value: str, text: str) -> None:
    message = dnswire.decode(_answer(rr=[("www.lab.test.", rtype, value)]))
    assert message.rcode == "NOERROR" and message.question == ("www.lab.test.", 1)
    (record,) = message.answers
    assert (record.name, record.type, record.ttl, record.text) == (
        "www.lab.test.",
        dnswire.TYPES[rtype],
        300,
        text,
    )


def test_cname_chain_and_rcodes() -> None:
    wire = _answer(rr=[("www.lab.test.", "CNAME", "web.lab.test."), ("web.lab.test.", "A", "10.0.2.10")])
    message = dnswire.decode(wire)
    assert [(r.name, r.text) for r in message.answers] == [
        ("www.lab.test.", "web.lab.test."),
        ("web.lab.test.", "10.0.2.10"),
    ]
    assert dnswire.decode(_answer(dns.rcode.NXDOMAIN)).rcode == "NXDOMAIN"
    assert dnswire.decode(_answer(dns.rcode.SERVFAIL)).rcode == "SERVFAIL"


def test_a_compression_loop_is_an_error_not_a_hang() -> None:
    wire = bytes(12) + b"\xc0\x0c"  # a name that points at itself
    wire = wire[:5] + b"\x01" + wire[6:]  # qdcount = 1
    with pytest.raises(dnswire.WireError):
        dnswire.decode(wire + b"\0\x01\0\x01")


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_garbage_never_raises_anything_but_wire_error(data: bytes) -> None:
    with contextlib.suppress(dnswire.WireError):
        dnswire.decode(data)
