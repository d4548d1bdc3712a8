"""dns: an authoritative server over UDP and TCP, answering from nslab.services.dnszone.

Each query is logged (who asked what, and the answer code), so a learner can read in
`nslab service logs NAME` which server a resolver really asked.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from nslab.services import net
from nslab.services.dnszone import Authority, udp_limit, wire_reply
from nslab.services.logs import say

TCP_IDLE = 10.0


def _log(name: str, peer: str, proto: str, query: dns.message.Message, response: dns.message.Message) -> None:
    question = query.question[0] if query.question else None
    asked = f"{question.name} {dns.rdatatype.to_text(question.rdtype)}" if question is not None else "?"
    kind = dns.rcode.to_text(response.rcode())
    if response.rcode() == 0 and not response.answer and response.authority:
        # Authoritative and empty is "no data" (an SOA in authority); otherwise a referral.
        kind = "NODATA" if response.flags & dns.flags.AA else "referral"
    say(f"{name}: {peer} {proto} {asked} -> {kind} ({len(response.answer)} answers)")


def _udp_loop(name: str, authority: Authority, endpoint: net.UdpEndpoint) -> None:
    while True:
        data, sender, reply_from = endpoint.receive()
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            continue  # not DNS: drop it, as servers do
        response = authority.respond(query)
        _log(name, sender[0], "udp", query, response)
        try:
            endpoint.send(wire_reply(response, udp_limit(query)), sender, reply_from)
        except OSError as exc:
            say(f"{name}: cannot answer {sender[0]}: {exc.strerror}")


def _tcp_connection(name: str, authority: Authority, conn: socket.socket, peer: str) -> None:
    with conn:
        conn.settimeout(TCP_IDLE)
        try:
            while header := _read(conn, 2):
                data = _read(conn, struct.unpack("!H", header)[0])
                if data is None:
                    return
                query = dns.message.from_wire(data)
                response = authority.respond(query)
                _log(name, peer, "tcp", query, response)
                wire = response.to_wire()
                conn.sendall(struct.pack("!H", len(wire)) + wire)
        except (OSError, dns.exception.DNSException):
            return


def _read(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve(config: dict[str, Any], ready: Callable[[], None]) -> None:
    params = config["params"]
    name = str(config["name"])
    bind, port = str(params.get("bind") or "0.0.0.0"), int(params.get("port") or 53)
    authority = Authority(params["zones"])
    endpoint = net.UdpEndpoint(bind, port)
    listener = net.listen_tcp(bind, port)
    zones = ", ".join(str(z.origin) for z in authority.zones)
    say(f"{name}: authoritative for {zones}; listening on {net.describe(bind, port, 'udp+tcp')}")
    threading.Thread(target=_udp_loop, args=(name, authority, endpoint), daemon=True).start()
    ready()
    while True:
        conn, peer = listener.accept()
        threading.Thread(target=_tcp_connection, args=(name, authority, conn, peer[0]), daemon=True).start()
