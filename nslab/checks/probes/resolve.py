"""Turn a check's target name into an address the way a tool inside the node would.

getaddrinfo() would read the host's /etc/hosts and /etc/resolv.conf: `ip netns exec`
bind-mounts /etc/netns/<ns>/* over them, but that happens in a private mount namespace our
threads are not in. So: IP literal, else the node's hosts file, else its own nameservers
(never the host's: probes send traffic only inside the lab).
"""

from __future__ import annotations

import ipaddress

from nslab.checks.context import ProbeContext

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Unresolved(Exception):
    """The name did not resolve; the message says why, for the learner."""


def literal(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def from_hosts(path: str, name: str) -> IPAddress | None:
    wanted = name.rstrip(".").lower()
    found: list[IPAddress] = []
    try:
        with open(path) as handle:
            for line in handle:
                fields = line.split("#", 1)[0].split()
                if len(fields) >= 2 and wanted in (f.lower() for f in fields[1:]):
                    address = literal(fields[0])
                    if address is not None:
                        found.append(address)
    except OSError:
        return None
    found.sort(key=lambda a: a.version)  # IPv4 first, like most tools by default here
    return found[0] if found else None


def resolv_conf(path: str) -> tuple[list[IPAddress], list[str]]:
    servers: list[IPAddress] = []
    search: list[str] = []
    try:
        with open(path) as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "nameserver":
                    address = literal(fields[1])
                    if address is not None:
                        servers.append(address)
                elif fields and fields[0] in ("search", "domain"):
                    search = fields[1:]
    except OSError:
        pass
    return servers, search


def resolve(ctx: ProbeContext, name: str) -> IPAddress:
    address = literal(name)
    if address is not None:
        return address
    address = from_hosts(ctx.etc_file("hosts"), name)
    if address is not None:
        return address
    own_resolv = ctx.own_etc_file("resolv.conf")
    servers, search = resolv_conf(own_resolv) if own_resolv else ([], [])
    if not servers:
        raise Unresolved(
            f"{ctx.node} cannot resolve {name!r}: not in its /etc/hosts and it has no nameserver"
        )
    from nslab.checks.probes.dnsclient import Answer, ask

    candidates = [name] if "." in name.rstrip(".") else [f"{name}.{d}" for d in search] + [name]
    last = ""
    for candidate in candidates:
        for server in servers:
            got = ask(ctx, server, candidate, "A")
            if isinstance(got, Answer):
                if got.values:
                    return ipaddress.ip_address(got.values[0])
                last = f"{got.rcode} from {server}" if got.rcode != "NOERROR" else f"no A record at {server}"
                break  # a real answer: the next server would say the same
            last = got.detail
    raise Unresolved(f"{ctx.node} cannot resolve {name!r}: {last}")
