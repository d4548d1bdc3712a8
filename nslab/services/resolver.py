"""resolver: Debian's unbound, run in the foreground with a configuration nslab writes.

It recurses from the lab's own root servers (a root hints file made from `roots`), never
from the real internet's, and validates nothing (the lab's zones are unsigned). Caching is
real, so TTLs count down as they would, but failures are forgotten within a minute so that
a learner's fix shows up quickly.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Callable
from typing import Any

from nslab.engine import statefiles
from nslab.services import child, names
from nslab.services.logs import Failed


def root_hints(roots: list[str]) -> str:
    lines = []
    for i, root in enumerate(roots, 1):
        kind = "AAAA" if ipaddress.ip_address(root).version == 6 else "A"
        lines.append(f".\t3600000\tNS\troot-{i}.nslab.\n")
        lines.append(f"root-{i}.nslab.\t3600000\t{kind}\t{root}\n")
    return "".join(lines)


def has_global_ipv6() -> bool:
    """Whether this namespace has an IPv6 address beyond link-local and loopback."""
    try:
        with open("/proc/net/if_inet6") as handle:
            return any(line.split()[3] == "00" for line in handle if len(line.split()) > 3)
    except OSError:
        return False


# Special-use names unbound answers by itself unless told not to; labs use them a lot.
SPECIAL_ZONES = ("test.", "invalid.", "onion.", "home.arpa.", "local.")


def unbound_conf(bind: str, port: int, hints: str, directory: str, ipv6: bool, zones: list[str]) -> str:
    wildcard = ipaddress.ip_address(bind).is_unspecified
    listen = "    interface-automatic: yes\n" if wildcard else f"    interface: {bind}\n"
    unblock = sorted({*SPECIAL_ZONES, *(names.zone_name(z) for z in zones)} - {"."})
    local_zones = "".join(f'    local-zone: "{z}" nodefault\n' for z in unblock)
    return f"""\
# written by nslab; unbound runs in the foreground, supervised, as root inside the lab node
server:
    verbosity: 1
{listen}    port: {port}
    do-ip4: yes
    do-ip6: {"yes" if ipv6 or ipaddress.ip_address(bind).version == 6 else "no"}
    access-control: 0.0.0.0/0 allow
    access-control: ::/0 allow
    root-hints: "{hints}"
    module-config: "iterator"
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{directory}"
    pidfile: ""
    logfile: ""
    use-syslog: no
    log-time-ascii: yes
    log-queries: yes
    # Ask each server for the full name, so a tcpdump in the lab shows the classic walk.
    qname-minimisation: no
    do-not-query-localhost: no
    harden-referral-path: no
    # Reach the lab's servers even for names unbound would otherwise answer itself.
    unblock-lan-zones: yes
    insecure-lan-zones: yes
{local_zones}    # Retry servers that timed out and forget failures soon: the learner's fix must show.
    infra-keep-probing: yes
    infra-host-ttl: 60
    cache-max-negative-ttl: 60
    # A small footprint: one thread, small caches.
    num-threads: 1
    so-reuseport: no
    outgoing-range: 64
    num-queries-per-thread: 32
    msg-cache-size: 1m
    rrset-cache-size: 2m
    neg-cache-size: 256k
remote-control:
    control-enable: no
"""


def serve(config: dict[str, Any], ready: Callable[[], None]) -> None:
    params = config["params"]
    binary = shutil.which("unbound") or ("/usr/sbin/unbound" if os.path.exists("/usr/sbin/unbound") else None)
    if binary is None:
        raise Failed(
            "the resolver kind needs unbound: apt-get install unbound (its system service can stay off)"
        )
    bind, port = str(params.get("bind") or "0.0.0.0"), int(params.get("port") or 53)
    directory = os.path.join(str(config["state_dir"]), "services", str(config["name"]))
    statefiles.make_dirs(directory)
    hints = os.path.join(directory, "root.hints")
    statefiles.write_atomic(hints, root_hints([str(r) for r in params["roots"]]))
    conf = os.path.join(directory, "unbound.conf")
    zones = [str(z) for z in config.get("lab_zones") or ()]
    statefiles.write_atomic(conf, unbound_conf(bind, port, hints, directory, has_global_ipv6(), zones))
    child.run([binary, "-d", "-c", conf], str(config["name"]), ready, port, ("udp", "tcp"), every=True)
