"""The authoritative answer logic with real dnspython messages (no sockets, no root)."""

from __future__ import annotations

from collections.abc import Sequence

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from nslab.services.dnszone import Authority, udp_limit, wire_reply

ZONES = {
    "example.test": {
        "records": [
            {"name": "@", "type": "NS", "value": "ns1", "ttl": 300},
            {"name": "ns1", "type": "A", "value": "198.51.100.30", "ttl": 300},
            {"name": "www", "type": "A", "value": "198.51.100.80", "ttl": 42},
            {"name": "www", "type": "A", "value": "198.51.100.81", "ttl": 50},
            {"name": "web", "type": "CNAME", "value": "www", "ttl": 300},
            {"name": "away", "type": "CNAME", "value": "www.elsewhere.test.", "ttl": 300},
            {"name": "a.b", "type": "A", "value": "198.51.100.82", "ttl": 300},
            {"name": "@", "type": "TXT", "value": 'say "hi" ' + "x" * 300, "ttl": 300},
            {"name": "@", "type": "MX", "value": "10 mail", "ttl": 300},
            {"name": "mail", "type": "A", "value": "198.51.100.25", "ttl": 300},
            {"name": "sub", "type": "NS", "value": "ns.sub", "ttl": 300},
            {"name": "ns.sub", "type": "A", "value": "198.51.100.40", "ttl": 300},
        ]
    },
    "deeper.example.test.": {"records": [{"name": "@", "type": "A", "value": "192.0.2.7", "ttl": 9}]},
}


def ask(name: str, rdtype: str = "A", **kwargs: object) -> dns.message.Message:
    return Authority(ZONES).respond(dns.message.make_query(name, rdtype, **kwargs))  # type: ignore[arg-type]


def texts(section: Sequence[dns.rrset.RRset]) -> list[str]:
    return sorted(line for rrset in section for line in rrset.to_text().splitlines())


def test_answer_is_authoritative_with_the_smallest_ttl_of_the_rrset() -> None:
    reply = ask("www.example.test")
    assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
    assert texts(reply.answer) == [
        "www.example.test. 42 IN A 198.51.100.80",
        "www.example.test. 42 IN A 198.51.100.81",
    ]
    assert not reply.flags & dns.flags.RA


def test_cname_is_followed_inside_the_zone_but_not_outside() -> None:
    assert texts(ask("web.example.test").answer) == [
        "web.example.test. 300 IN CNAME www.example.test.",
        "www.example.test. 42 IN A 198.51.100.80",
        "www.example.test. 42 IN A 198.51.100.81",
    ]
    assert texts(ask("away.example.test").answer) == ["away.example.test. 300 IN CNAME www.elsewhere.test."]


def test_delegation_gives_a_referral_with_glue_and_no_aa() -> None:
    reply = ask("host.sub.example.test")
    assert reply.rcode() == dns.rcode.NOERROR and not reply.answer
    assert not reply.flags & dns.flags.AA
    assert texts(reply.authority) == ["sub.example.test. 300 IN NS ns.sub.example.test."]
    assert texts(reply.additional) == ["ns.sub.example.test. 300 IN A 198.51.100.40"]


def test_nodata_nxdomain_and_empty_non_terminal() -> None:
    nodata = ask("www.example.test", "TXT")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert [r.rdtype for r in nodata.authority] == [dns.rdatatype.SOA]
    assert nodata.authority[0].ttl == 60  # made-up SOA: negative answers are kept one minute
    assert ask("nope.example.test").rcode() == dns.rcode.NXDOMAIN
    assert ask("b.example.test").rcode() == dns.rcode.NOERROR  # exists only as a parent of a.b


def test_most_specific_zone_answers_and_outsiders_are_refused() -> None:
    assert texts(ask("deeper.example.test").answer) == ["deeper.example.test. 9 IN A 192.0.2.7"]
    assert ask("example.org").rcode() == dns.rcode.REFUSED
    assert ask("example.test", "AXFR").rcode() == dns.rcode.REFUSED


def test_mx_and_ns_answers_carry_addresses_and_txt_is_literal() -> None:
    mx = ask("example.test", "MX")
    assert texts(mx.additional) == ["mail.example.test. 300 IN A 198.51.100.25"]
    txt = ask("example.test", "TXT").answer[0][0]
    assert b"".join(txt.strings) == b'say "hi" ' + b"x" * 300


def test_big_udp_reply_is_truncated_for_a_classic_client() -> None:
    records = [{"name": "@", "type": "TXT", "value": f"{i}" + "y" * 200} for i in range(10)]
    big = Authority({"big.test": {"records": records}})
    query = dns.message.make_query("big.test", "TXT")
    wire = wire_reply(big.respond(query), udp_limit(query))
    assert len(wire) <= 512 and dns.message.from_wire(wire).flags & dns.flags.TC
    edns_query = dns.message.make_query("big.test", "TXT", use_edns=0, payload=4096)
    whole = dns.message.from_wire(wire_reply(big.respond(edns_query), udp_limit(edns_query)))
    assert not whole.flags & dns.flags.TC and len(whole.answer[0]) == 10
