"""State checks: read the node's live kernel state (never the scenario file) and report it.

route/address/link come from rtnetlink, sysctl from /proc/sys (which follows the thread),
listening from /proc/thread-self/net, and iptables from `iptables -S` run inside the node
(the one probe that forks: nftables' netlink encoding is not worth reimplementing).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nslab.checks.context import ProbeContext
from nslab.checks.observation import Observation, error
from nslab.checks.probes import kstate, rules, sockets
from nslab.kernel import netns, rtnl, sysctl
from nslab.scenario import model as m

IFF_LOWER_UP = 0x10000  # the link has carrier (its peer is up)


def _names(sock: rtnl.Rtnl) -> dict[int, str]:
    return {link.index: link.name for link in sock.links()}


def route(ctx: ProbeContext, check: m.Check) -> Observation:
    text = str(check.params["to"])
    to = ipaddress.ip_network("0.0.0.0/0" if text == "default" else text, strict=False)
    via = str(check.params["via"]) if check.params.get("via") else None
    with rtnl.Rtnl() as sock:
        table = kstate.routes(sock, _names(sock))
    same = [r for r in table if r.to == to]
    evidence: dict[str, Any] = {"routes": [str(r) for r in table]}
    shown = "default" if to.prefixlen == 0 else str(to)
    if via is not None:
        exact = [r for r in same if r.via == via]
        if exact:
            return Observation("present", f"route {exact[0]}", evidence)
        if same:
            gateways = ", ".join(r.via or f"no gateway ({r.type})" for r in same)
            return Observation(
                "absent", f"{ctx.node}'s route to {shown} goes via {gateways}, not {via}", evidence
            )
    elif same:
        return Observation("present", f"route {same[0]}", evidence)
    listing = "; ".join(str(r) for r in table if r.to.version == to.version) or "none"
    what = "default route" if to.prefixlen == 0 else f"route to {shown}"
    return Observation("absent", f"{ctx.node} has no {what} (its routes: {listing})", evidence)


Iface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def _matches(have: Iface, wanted: str) -> bool:
    """10.0.1.10/24 matches that address with that prefix only; 10.0.1.10 matches any prefix."""
    if "/" in wanted:
        return have == ipaddress.ip_interface(wanted)
    return have.ip == ipaddress.ip_address(wanted)


def address(ctx: ProbeContext, check: m.Check) -> Observation:
    iface = str(check.params["iface"])
    with rtnl.Rtnl() as sock:
        names = _names(sock)
        found = kstate.addresses(sock, names)
    if iface not in names.values():
        return Observation(
            "absent", f"{ctx.node} has no interface {iface}", {"interfaces": sorted(names.values())}
        )
    mine = [a.address for a in found if a.iface == iface]
    evidence: dict[str, Any] = {"addresses": [str(a) for a in mine]}
    if check.params.get("only") is not None:
        return _only(iface, mine, [str(w) for w in check.params["only"]], evidence)
    wanted = str(check.params["address"])
    hits = [a for a in mine if _matches(a, wanted)]
    if hits:
        return Observation("present", f"{iface} has {hits[0]}", evidence)
    ip = ipaddress.ip_interface(wanted).ip
    same_ip = [a for a in mine if a.ip == ip]
    if same_ip:
        return Observation("absent", f"{iface} has {same_ip[0]}, not {wanted}", evidence)
    has = ", ".join(str(a) for a in mine if not a.ip.is_link_local) or "no address"
    return Observation("absent", f"{iface} has {has}; no {wanted}", evidence)


def _only(iface: str, mine: list[Iface], wanted: list[str], evidence: dict[str, Any]) -> Observation:
    """The interface carries every listed address and nothing else; IPv6 link-local addresses
    (which every IPv6 interface makes for itself) do not count."""
    counted = [a for a in mine if not (a.version == 6 and a.ip.is_link_local)]
    missing = [w for w in wanted if not any(_matches(a, w) for a in counted)]
    extra = [a for a in counted if not any(_matches(a, w) for w in wanted)]
    has = ", ".join(str(a) for a in counted) or "no address"
    if not missing and not extra:
        return Observation("present", f"{iface} has exactly {has}", evidence)
    problems = []
    if extra:
        problems.append("also " + ", ".join(str(a) for a in extra))
    if missing:
        problems.append("no " + ", ".join(missing))
    return Observation("absent", f"{iface} has {has}: {'; '.join(problems)}", evidence)


def link(ctx: ProbeContext, check: m.Check) -> Observation:
    name = str(check.params["iface"])
    with rtnl.Rtnl() as sock:
        found = {item.name: item for item in sock.links()}
    item = found.get(name)
    if item is None:
        return Observation("missing", f"{ctx.node} has no interface {name}", {"interfaces": sorted(found)})
    carrier = bool(item.flags & IFF_LOWER_UP)  # operstate lags about a second behind a fix
    evidence = {"up": item.up, "mtu": item.mtu, "carrier": carrier, "operstate": item.operstate}
    if not item.up:
        state = "administratively down"
    elif not carrier:
        state = "up but without carrier (its peer is down)"
    else:
        state = "up"
    return Observation("up" if item.up else "down", f"{name} is {state}, MTU {item.mtu}", evidence)


def sysctl_value(ctx: ProbeContext, check: m.Check) -> Observation:
    key = str(check.params["key"])
    try:
        value = sysctl.read(key)
    except sysctl.SysctlKeyError as exc:
        return error(str(exc))
    except FileNotFoundError:
        return error(f"no sysctl {key} in {ctx.node} (is the interface name right?)")
    return Observation("value", f"{key} = {value}", {"value": value})


def iptables(ctx: ProbeContext, check: m.Check) -> Observation:
    table = str(check.params.get("table") or "filter")
    chain = str(check.params["chain"])
    fragment = str(check.params.get("match") or "")
    wanted_policy = check.params.get("policy")
    import shutil
    import subprocess

    exe = shutil.which("iptables")
    if exe is None:
        return error("iptables is not installed (apt-get install iptables)")
    # A child forked from this thread inherits the thread's (the node's) namespace.
    done = subprocess.run(
        [exe, "-w", "5", "-t", table, "-S", chain],
        capture_output=True,
        text=True,
        timeout=max(1.0, ctx.remaining() + 1.0),
        check=False,
    )
    if done.returncode != 0:
        if "No chain" in done.stderr or "does not exist" in done.stderr:
            return Observation("absent", f"{ctx.node} has no chain {chain} in table {table}", {"rules": []})
        return error(f"iptables -t {table} -S {chain} failed: {done.stderr.strip()[:120]}")
    found, policy = rules.chain_rules(done.stdout, chain)
    hits = [r for r in found if rules.matches(r, fragment)] if fragment else []
    evidence: dict[str, Any] = {"rules": found, "policy": policy, "matched": hits}
    if wanted_policy and policy != wanted_policy:
        return Observation(
            "absent", f"{table} {chain} has policy {policy or 'none'}, not {wanted_policy}", evidence
        )
    if not fragment:
        return Observation("present", f"{table} {chain} has policy {policy}", evidence)
    if hits:
        return Observation("present", f"rule in {table} {chain}: {rules.without_marker(hits[0])}", evidence)
    policy_text = f", policy {policy}" if policy else ""
    return Observation(
        "absent",
        f"no rule in {table} {chain} matches '{fragment}' ({len(found)} rules{policy_text})",
        evidence,
    )


def listening(ctx: ProbeContext, check: m.Check) -> Observation:
    port = int(check.params["port"])
    proto = str(check.params.get("proto") or "tcp")
    wanted = str(check.params["address"]) if check.params.get("address") else None
    everything = sockets.listeners(proto)
    on_port = [s for s in everything if s.port == port]
    if wanted is not None:
        wildcard = "::" if ":" in wanted else "0.0.0.0"
        on_port = [s for s in on_port if s.address in (wanted, wildcard, "::")]
    evidence: dict[str, Any] = {"listening": sorted({f"{s.address}:{s.port}/{s.proto}" for s in everything})}
    if on_port:
        named = sockets.with_owners(on_port, netns.path_of(ctx.netns))
        evidence["owners"] = sorted({o for s in named for o in s.owners})
        return Observation("present", "listening on " + ", ".join(str(s) for s in named), evidence)
    ports = sorted({s.port for s in everything})
    others = ", ".join(str(p) for p in ports[:12]) or "nothing"
    where = f" on {wanted}" if wanted else ""
    return Observation(
        "absent", f"nothing listens on {proto} port {port}{where} ({proto} ports open: {others})", evidence
    )
