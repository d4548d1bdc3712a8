"""Service kinds: what each declares. Server implementations live in nslab.services.*."""

from __future__ import annotations

from nslab.kinds import KindSpec, Registry
from nslab.schema import Enum, Field, Int, IPAddr, ListOf, MapOf, Str, Struct, Text

SERVICES = Registry("service")

PORT = Int(1, 65535)
BIND = Field(IPAddr(), doc="Address to listen on; 0.0.0.0 (every address) when absent.")
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
        "value": Field(Str(), required=True),
        "ttl": Field(Int(0, 2**31 - 1), default=300),
    },
    lambda values, loc, locs: values,
)
ZONE = Struct(
    "dns zone",
    {"records": Field(ListOf(RECORD), default=())},
    lambda values, loc, locs: values,
)

SERVICES.add(
    KindSpec(
        "tcp",
        "A TCP listener that echoes or sends a fixed banner.",
        {
            "port": Field(PORT, required=True),
            "bind": BIND,
            "mode": Field(Enum("banner", "echo"), default="banner"),
            "banner": Field(Str(), default="hello from nslab"),
        },
        impl="nslab.services.tcp:serve",
    )
)
SERVICES.add(
    KindSpec(
        "udp",
        "A UDP echo server.",
        {"port": Field(PORT, required=True), "bind": BIND},
        impl="nslab.services.udp:serve",
    )
)
_HTTP = {
    "port": Field(PORT),
    "bind": BIND,
    "pages": Field(MapOf(PATH, Text()), default={}, doc="Static pages: path -> body."),
    "sizes": Field(MapOf(PATH, Int(0, 1 << 30)), default={}, doc="Generated payloads: path -> bytes."),
}
SERVICES.add(
    KindSpec("http", "An HTTP server (port 80 by default).", dict(_HTTP), impl="nslab.services.http:serve")
)
SERVICES.add(
    KindSpec(
        "https",
        "An HTTPS server with a certificate from the lab CA (port 443 by default).",
        {**_HTTP, "names": Field(ListOf(Str()), default=(), doc="Names the certificate is valid for.")},
        impl="nslab.services.http:serve",
    )
)
SERVICES.add(
    KindSpec(
        "dns",
        "An authoritative DNS server for the zones given.",
        {"port": Field(PORT, default=53), "bind": BIND, "zones": Field(MapOf(Str(), ZONE), required=True)},
        impl="nslab.services.dns:serve",
    )
)
SERVICES.add(
    KindSpec(
        "resolver",
        "A recursive resolver that starts from the lab's own root servers.",
        {
            "port": Field(PORT, default=53),
            "bind": BIND,
            "roots": Field(
                ListOf(IPAddr(), min_len=1), required=True, doc="Addresses of the lab's root servers."
            ),
        },
        impl="nslab.services.resolver:serve",
    )
)
SERVICES.add(
    KindSpec(
        "leaky",
        "Accepts connections and never closes them: CLOSE_WAIT piles up.",
        {"port": Field(PORT, required=True), "bind": BIND},
        impl="nslab.services.leaky:serve",
    )
)
SERVICES.add(
    KindSpec(
        "exec",
        "Any command, run in the node and supervised like the others.",
        {"command": Field(Str(), required=True, doc="Shell command line.")},
        impl="nslab.services.execsvc:serve",
    )
)
