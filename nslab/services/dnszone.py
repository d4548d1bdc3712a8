"""Authoritative answers from the zones a scenario declares (dnspython messages, no sockets).

What it does, the way real authoritative servers do it: the most specific zone held answers;
below a delegation it sends a referral (NS in authority, glue in additional, no AA bit); it
follows CNAMEs inside the zones it holds; it tells NODATA (the name exists, with SOA) from
NXDOMAIN; it refuses names outside its zones and never recurses. No wildcards, no DNSSEC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.TXT import TXT

from nslab.services import names

IN = dns.rdataclass.IN
MAX_CNAME_CHAIN = 8
NEGATIVE_TTL = 60  # SOA minimum of a zone whose SOA nslab makes up: keep lab retries quick


@dataclass
class Zone:
    origin: dns.name.Name
    rrsets: dict[tuple[dns.name.Name, int], dns.rrset.RRset] = field(default_factory=dict)
    existing: set[dns.name.Name] = field(default_factory=set)  # owners and empty non-terminals
    cuts: set[dns.name.Name] = field(default_factory=set)  # delegation points below the apex

    def add(self, owner: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata) -> None:
        key = (owner, rdata.rdtype)
        rrset = self.rrsets.get(key)
        if rrset is None:
            rrset = self.rrsets[key] = dns.rrset.RRset(owner, IN, rdata.rdtype)
        rrset.add(rdata, ttl)  # an RRset has one TTL: the smallest given wins (RFC 2181)
        name = owner
        while name != self.origin and name.is_subdomain(self.origin):
            self.existing.add(name)
            name = name.parent()
        self.existing.add(self.origin)
        if rdata.rdtype == dns.rdatatype.NS and owner != self.origin:
            self.cuts.add(owner)

    def get(self, owner: dns.name.Name, rdtype: int) -> dns.rrset.RRset | None:
        return self.rrsets.get((owner, rdtype))

    def at(self, owner: dns.name.Name) -> list[dns.rrset.RRset]:
        return [r for (name, _), r in self.rrsets.items() if name == owner]

    def cut_above(self, qname: dns.name.Name) -> dns.name.Name | None:
        """The delegation closest to the apex on the way down to qname, if any."""
        best = None
        for cut in self.cuts:
            if qname.is_subdomain(cut) and (best is None or best.is_subdomain(cut)):
                best = cut
        return best

    @property
    def soa(self) -> dns.rrset.RRset:
        found = self.get(self.origin, dns.rdatatype.SOA)
        assert found is not None  # build_zone always adds one
        return found


def make_rdata(rtype: str, value: str, origin: dns.name.Name) -> dns.rdata.Rdata:
    if rtype == "TXT":
        # Taken literally (no zone-file quoting), split into the 255-byte strings TXT holds.
        data = value.encode()
        parts = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
        return TXT(IN, dns.rdatatype.TXT, parts)
    return dns.rdata.from_text(IN, rtype, value, origin=origin, relativize=False)


def build_zone(zone_text: str, records: Iterable[Mapping[str, Any]]) -> Zone:
    origin = dns.name.from_text(names.zone_name(zone_text))
    zone = Zone(origin)
    for record in records:
        owner = dns.name.from_text(names.absolute(str(record["name"]), zone_text))
        rdata = make_rdata(str(record["type"]), str(record["value"]), origin)
        zone.add(owner, int(record.get("ttl", 300)), rdata)
    if zone.get(origin, dns.rdatatype.SOA) is None:
        ns = zone.get(origin, dns.rdatatype.NS)
        primary = ns[0].target if ns else origin
        rname = dns.name.Name(("hostmaster", *origin.labels))
        soa = f"{primary} {rname} 1 3600 600 86400 {NEGATIVE_TTL}"
        zone.add(origin, NEGATIVE_TTL, dns.rdata.from_text(IN, "SOA", soa))
    return zone


class Authority:
    """Every zone one server holds; answers one query at a time (thread-safe: read only)."""

    def __init__(self, zones: Mapping[str, Any]) -> None:
        built = [build_zone(name, (value or {}).get("records") or ()) for name, value in zones.items()]
        # Most specific first: a server holding both com. and example.com. answers from the latter.
        self.zones = sorted(built, key=lambda z: len(z.origin.labels), reverse=True)

    def zone_for(self, qname: dns.name.Name) -> Zone | None:
        return next((z for z in self.zones if qname.is_subdomain(z.origin)), None)

    def respond(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        zone = self.zone_for(question.name)
        if (
            question.rdclass != IN
            or zone is None
            or question.rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
        ):
            response.set_rcode(dns.rcode.REFUSED)
            return response
        self._answer(response, zone, question.name, question.rdtype, first=True)
        return response

    def _answer(
        self, response: dns.message.Message, zone: Zone, qname: dns.name.Name, qtype: int, first: bool
    ) -> None:
        for _ in range(MAX_CNAME_CHAIN):
            cut = zone.cut_above(qname)
            if cut is not None and not (qtype == dns.rdatatype.DS and cut == qname):
                self._referral(response, zone, cut)
                return
            if first:
                response.flags |= dns.flags.AA
                first = False
            found = zone.get(qname, qtype)
            if found is not None:
                response.answer.append(found)
                self._additional(response, zone, found)
                return
            if qtype == dns.rdatatype.ANY and qname in zone.existing and zone.at(qname):
                response.answer.extend(zone.at(qname))
                return
            cname = zone.get(qname, dns.rdatatype.CNAME)
            if cname is None:
                self._negative(response, zone, qname)
                return
            response.answer.append(cname)
            qname = cname[0].target
            next_zone = self.zone_for(qname)
            if next_zone is None:
                return  # the target lives elsewhere: the resolver follows it
            zone = next_zone

    def _referral(self, response: dns.message.Message, zone: Zone, cut: dns.name.Name) -> None:
        ns = zone.get(cut, dns.rdatatype.NS)
        assert ns is not None
        response.authority.append(ns)
        self._additional(response, zone, ns)

    def _additional(self, response: dns.message.Message, zone: Zone, rrset: dns.rrset.RRset) -> None:
        """Addresses of the name servers (glue) and mail hosts named in rrset."""
        if rrset.rdtype not in (dns.rdatatype.NS, dns.rdatatype.MX):
            return
        for rdata in rrset:
            target = rdata.target if rrset.rdtype == dns.rdatatype.NS else rdata.exchange
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                found = zone.get(target, rdtype)
                if found is not None and found not in response.additional:
                    response.additional.append(found)

    def _negative(self, response: dns.message.Message, zone: Zone, qname: dns.name.Name) -> None:
        if qname not in zone.existing:
            response.set_rcode(dns.rcode.NXDOMAIN)
        soa = zone.soa
        minimum = soa[0].minimum
        negative = dns.rrset.RRset(zone.origin, IN, dns.rdatatype.SOA)
        negative.add(soa[0], min(soa.ttl, minimum))  # RFC 2308: negative answers live this long
        response.authority.append(negative)


def wire_reply(response: dns.message.Message, limit: int) -> bytes:
    """Encode for UDP within `limit` bytes, or as an empty truncated reply (TC: retry over TCP)."""
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        response.answer, response.authority, response.additional = [], [], []
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit)


def udp_limit(query: dns.message.Message) -> int:
    if query.edns < 0:
        return 512
    return max(512, min(int(query.payload), 4096))
