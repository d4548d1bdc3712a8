"""`nslab check --explain`: the walk that explains a failing reachability check.

A ping, path, tcp, udp or http(s) check names a sender, a destination and a protocol: exactly what
a walk needs. Other kinds (dns, route, sysctl...) read state rather than send one packet,
so they have no walk.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from nslab.errors import NslabError
from nslab.packets.walk import Probe, Walk, walk
from nslab.scenario import model as m

WALKABLE = frozenset({"ping", "path", "tcp", "udp", "http", "https"})


def probe_for(check: m.Check) -> tuple[str, Probe] | None:
    """(destination, probe) that repeats the check's packet, or None for other kinds."""
    params = check.params
    if check.kind in ("ping", "path"):
        return str(params["to"]), Probe("icmp", size=int(params.get("size") or 0))
    if check.kind in ("tcp", "udp"):
        return str(params["to"]), Probe("tcp" if check.kind == "tcp" else "udp", int(params["port"]))
    if check.kind in ("http", "https"):
        url = urlsplit(str(params["url"]))
        port = url.port or (443 if check.kind == "https" else 80)
        return str(params.get("resolve") or url.hostname or ""), Probe("tcp", port)
    return None


def explain(lab: str, check: m.Check) -> Walk | str | None:
    """The walk for a failing check; a sentence when it cannot be walked (a name that is not
    a node, a node gone); None for kinds that send no single packet."""
    found = probe_for(check)
    if found is None:
        return None
    destination, probe = found
    try:
        return walk(lab, check.node, destination, probe)
    except NslabError as exc:
        return f"no walk: {exc.message}"
