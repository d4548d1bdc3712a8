"""Service kinds: what each declares. Server implementations live in nslab.services.*.

Parameters land in `Service.params` as plain values (dicts, tuples, ipaddress objects), the
shape fault transformations edit. DNS records and zones are dicts that also remember their
position in the file (`.loc`), so validation errors point at the exact record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nslab.errors import Loc
from nslab.scenario.kinds import SERVICES as SERVICES
from nslab.scenario.kinds import KindSpec
from nslab.scenario.schema import Enum, Field, Int, IPAddr, Line, ListOf, MapOf, Str, Struct, Text
from nslab.services import refs


class LocatedDict(dict[str, Any]):
    """A plain dict (JSON-able, editable by faults) that knows where it was written."""

    loc: Loc | None = None


def _located(values: dict[str, Any], loc: Loc, locs: Mapping[str, Loc]) -> LocatedDict:
    out = LocatedDict(values)
    out.loc = loc
    return out


PORT = Int(1, 65535)
BIND = Field(
    IPAddr(),
    doc="Address to listen on: one of the node's, 127.0.0.1 (loopback only), or 0.0.0.0 "
    "(every IPv4 address, the default); '::' means every IPv4 and IPv6 address.",
)
PATH = Str(r"/\S*", "a URL path starting with /")

RECORD = Struct(
    "dns record",
    {
        "name": Field(
            Str(),
            required=True,
            doc="Owner name, relative to the zone or absolute with a final dot; @ is the zone.",
        ),
        "type": Field(Enum("A", "AAAA", "CNAME", "NS", "TXT", "MX", "SOA", "PTR"), required=True),
        "value": Field(
            Str(),
            required=True,
            doc="A/AAAA: an address; CNAME/NS/PTR: a name (relative or absolute); MX: 'PREF HOST'; "
            "SOA: 'MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM'; TXT: the text, taken literally.",
        ),
        "ttl": Field(Int(0, 2**31 - 1), default=300),
    },
    _located,
)
ZONE = Struct("dns zone", {"records": Field(ListOf(RECORD), default=())}, _located)

SERVICES.add(
    KindSpec(
        "tcp",
        "A TCP listener that sends a fixed banner (then closes) or echoes what it receives.",
        {
            "port": Field(PORT, required=True),
            "bind": BIND,
            "mode": Field(Enum("banner", "echo"), default="banner"),
            "banner": Field(Str(), default="hello from nslab", doc="Line sent in banner mode."),
        },
        impl="nslab.services.tcp:serve",
        semantic=refs.check_listener,
    )
)
SERVICES.add(
    KindSpec(
        "udp",
        "A UDP echo server: each datagram comes back to its sender.",
        {"port": Field(PORT, required=True), "bind": BIND},
        impl="nslab.services.udp:serve",
        semantic=refs.check_listener,
    )
)


def _http_fields(port: int) -> dict[str, Field]:
    return {
        "port": Field(PORT, default=port),
        "bind": BIND,
        "pages": Field(MapOf(PATH, Text()), default={}, doc="Static pages: path -> body."),
        "sizes": Field(
            MapOf(PATH, Int(0, 1 << 30)),
            default={},
            doc="Generated payloads: path -> size in bytes (e.g. /big: 1048576 for the MTU labs).",
        ),
        "echo_client": Field(
            PATH,
            doc="A path that answers with the client's address as the server saw it (one line):"
            " what a NAT lab checks. POST and PUT are accepted on every path and answered with"
            " the number of body bytes received.",
        ),
    }


SERVICES.add(
    KindSpec(
        "http",
        "An HTTP/1.1 server for static pages, generated payloads, the client's own address and"
        " uploads (port 80 by default).",
        _http_fields(80),
        impl="nslab.services.http:serve",
        semantic=refs.check_http,
    )
)
SERVICES.add(
    KindSpec(
        "https",
        "An HTTPS server whose certificate comes from the lab's own CA (port 443 by default).",
        {
            **_http_fields(443),
            "names": Field(
                ListOf(Line(r"[^,]+", "a host name or IP address (without commas)")),
                default=(),
                doc="Names (and IP addresses) the certificate is valid for; the node's name and "
                "addresses are always included.",
            ),
        },
        impl="nslab.services.http:serve",
        semantic=refs.check_https,
    )
)
SERVICES.add(
    KindSpec(
        "dns",
        "An authoritative DNS server (UDP and TCP) for the zones given, with delegations.",
        {
            "port": Field(PORT, default=53),
            "bind": BIND,
            "zones": Field(
                MapOf(Line(r'[^\s"\\]+', "a zone name without spaces, quotes or backslashes"), ZONE),
                required=True,
                doc="Zone name ('.', 'com', 'example.com') -> its records.",
            ),
        },
        impl="nslab.services.authdns:serve",
        semantic=refs.check_dns,
    )
)
SERVICES.add(
    KindSpec(
        "resolver",
        "A recursive resolver (unbound) that starts from the lab's own root servers.",
        {
            "port": Field(PORT, default=53),
            "bind": BIND,
            "roots": Field(
                ListOf(IPAddr(), min_len=1), required=True, doc="Addresses of the lab's root servers."
            ),
        },
        impl="nslab.services.resolver:serve",
        semantic=refs.check_resolver,
    )
)
SERVICES.add(
    KindSpec(
        "leaky",
        "Accepts connections and never closes them: CLOSE_WAIT piles up.",
        {
            "port": Field(PORT, required=True),
            "bind": BIND,
            "max_open": Field(
                Int(8, 1 << 20),
                doc="Cap on the process's open files: once the leak reaches it, accept() fails with "
                "'Too many open files' (EMFILE).",
            ),
        },
        impl="nslab.services.leaky:serve",
        semantic=refs.check_listener,
    )
)
SERVICES.add(
    KindSpec(
        "exec",
        "Any command, run in the node (like `nslab exec`) and supervised like the others.",
        {
            "command": Field(Str(), required=True, doc="Shell command line, run with /bin/sh -c."),
            "port": Field(PORT, doc="Wait until something listens on this port before calling it ready."),
        },
        impl="nslab.services.execsvc:serve",
    )
)
