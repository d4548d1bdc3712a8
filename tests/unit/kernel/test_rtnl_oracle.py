"""pyroute2 is the oracle for our rtnetlink encoder (nslab/kernel/rtnl.py), without root.

For every scenario we ship or test (every variant, healthy and broken), the build plan's
requests are rebuilt here from the plan's intent (interfaces, addresses, neighbours, routes)
with pyroute2's own message classes, constants and NLA maps, encoded by pyroute2, and
compared byte for byte with what nslab would write to the kernel. pyroute2 also decodes our
bytes, and the decoded values must be the plan's intent (the address and prefix of each
RTM_NEWADDR, the destination and gateway of each RTM_NEWROUTE, ...).

The expected messages follow the plan's documented batch order (pass 1: lo, then veths;
pass 2: bridges, vxlans, ports join masters, addresses, links up, neighbours, routes, links
down), and the sequence numbers are those `Rtnl.run` gives a fresh socket (1, 2, ...).
pyroute2 is imported once here and never by nslab itself (kernel-gotchas 18).
"""

from __future__ import annotations

import difflib
import ipaddress
import pprint
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.rtnl import (
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWNEIGH,
    RTM_NEWROUTE,
    rt_proto,
    rt_scope,
    rt_type,
)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import IFF_UP, ifinfmsg
from pyroute2.netlink.rtnl.ndmsg import NUD_PERMANENT, ndmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from nslab.engine import plan
from nslab.faults.apply import apply_faults
from nslab.grading import phases
from nslab.kernel import rtnl
from nslab.scenario import loader
from nslab.scenario import model as m

RTNH_F_ONLINK = 4  # linux/rtnetlink.h: the gateway is on the link even without a subnet there
REPO = Path(__file__).resolve().parents[3]
SCENARIO_FILES = sorted([*REPO.glob("scenarios/*.yaml"), *REPO.glob("tests/scenarios/*.yaml")])
# 44 files gave 4787 requests when this test was written; far fewer means we compare nothing.
MIN_REQUESTS = 4000
MIN_FILES = 40
FIRST_INDEX = 2
FAKE_FD_BASE = 1000  # pass 1 sends a real namespace fd per veth; any number encodes the same
RT_TABLE_MAIN = 254  # rt_tables(5): "main"
CREATE = NLM_F_CREATE | NLM_F_EXCL

CLASSES: dict[int, type[Any]] = {
    RTM_NEWLINK: ifinfmsg,
    RTM_NEWADDR: ifaddrmsg,
    RTM_NEWROUTE: rtmsg,
    RTM_NEWNEIGH: ndmsg,
}

# A path into a decoded pyroute2 message (fields and NLA names, nested) and the value the
# plan meant it to have.
Intent = list[tuple[tuple[str, ...], Any]]


@dataclass
class Expected:
    """One request as pyroute2 would encode it, plus what pyroute2 must read back from ours."""

    cls: type[Any]
    mtype: int
    flags: int
    fields: dict[str, Any]
    attrs: list[tuple[str, Any]]
    intent: Intent = field(default_factory=list)

    def encode(self, seq: int) -> bytes:
        msg = self.cls()
        msg["header"]["type"] = self.mtype
        msg["header"]["flags"] = self.flags | NLM_F_REQUEST | NLM_F_ACK
        msg["header"]["sequence_number"] = seq
        msg["header"]["pid"] = 0
        for key, value in self.fields.items():
            msg[key] = value
        msg["attrs"] = self.attrs
        msg.encode()
        return bytes(msg.data)


# -- the plan's intent, in pyroute2's terms -------------------------------------------------


def _link_attrs(iface: plan.IfacePlan) -> list[tuple[str, Any]]:
    attrs: list[tuple[str, Any]] = [("IFLA_IFNAME", iface.name)]
    if iface.mtu:
        attrs.append(("IFLA_MTU", iface.mtu))
    if iface.mac:
        attrs.append(("IFLA_ADDRESS", iface.mac))
    return attrs


def _link_intent(iface: plan.IfacePlan, *prefix: str) -> Intent:
    intent: Intent = [((*prefix, "index"), iface.index), ((*prefix, "IFLA_IFNAME"), iface.name)]
    if iface.mtu:
        intent.append(((*prefix, "IFLA_MTU"), iface.mtu))
    if iface.mac:
        intent.append(((*prefix, "IFLA_ADDRESS"), iface.mac.lower()))
    return intent


def _new_link(iface: plan.IfacePlan, kind: str, data: dict[str, Any]) -> Expected:
    linkinfo = {"attrs": [("IFLA_INFO_KIND", kind), ("IFLA_INFO_DATA", data)]}
    intent = [*_link_intent(iface), (("IFLA_LINKINFO", "IFLA_INFO_KIND"), kind)]
    return Expected(
        ifinfmsg,
        RTM_NEWLINK,
        CREATE,
        {"family": 0, "index": iface.index, "flags": 0, "change": 0},
        [*_link_attrs(iface), ("IFLA_LINKINFO", linkinfo)],
        intent,
    )


def _set_link(
    index: int, up: bool | None = None, master: int | None = None, alias: str | None = None
) -> Expected:
    attrs: list[tuple[str, Any]] = []
    intent: Intent = [(("index",), index)]
    if master is not None:
        attrs.append(("IFLA_MASTER", master))
        intent.append((("IFLA_MASTER",), master))
    if alias is not None:
        attrs.append(("IFLA_IFALIAS", alias))
        intent.append((("IFLA_IFALIAS",), alias))
    flags = IFF_UP if up else 0
    change = IFF_UP if up is not None else 0
    intent += [(("flags",), flags), (("change",), change)]
    return Expected(
        ifinfmsg,
        RTM_NEWLINK,
        0,
        {"family": 0, "index": index, "flags": flags, "change": change},
        attrs,
        intent,
    )


def _veth(veth: plan.VethPlan, fd: int) -> Expected:
    here, there = veth.here_iface, veth.there_iface
    peer = {
        "family": 0,
        "index": there.index,
        "flags": 0,
        "change": 0,
        "attrs": [*_link_attrs(there), ("IFLA_NET_NS_FD", fd)],
    }
    expected = _new_link(here, "veth", {"attrs": [("VETH_INFO_PEER", peer)]})
    peer_path = ("IFLA_LINKINFO", "IFLA_INFO_DATA", "VETH_INFO_PEER")
    expected.intent += [*_link_intent(there, *peer_path), ((*peer_path, "IFLA_NET_NS_FD"), fd)]
    return expected


def _bridge(iface: plan.IfacePlan) -> Expected:
    # STP off and no forward delay: ports forward as soon as they are up.
    data = {"attrs": [("IFLA_BR_STP_STATE", 0), ("IFLA_BR_FORWARD_DELAY", 0)]}
    expected = _new_link(iface, "bridge", data)
    expected.intent.append((("IFLA_LINKINFO", "IFLA_INFO_DATA", "IFLA_BR_STP_STATE"), 0))
    return expected


def _vxlan(iface: plan.IfacePlan, vx: m.Vxlan, dev: int | None) -> Expected:
    data: list[tuple[str, Any]] = [("IFLA_VXLAN_ID", vx.vni), ("IFLA_VXLAN_PORT", vx.port)]
    data.append(("IFLA_VXLAN_GROUP" if vx.remote.version == 4 else "IFLA_VXLAN_GROUP6", str(vx.remote)))
    if vx.local is not None:
        data.append(("IFLA_VXLAN_LOCAL" if vx.local.version == 4 else "IFLA_VXLAN_LOCAL6", str(vx.local)))
    if dev:
        data.append(("IFLA_VXLAN_LINK", dev))
    expected = _new_link(iface, "vxlan", {"attrs": data})
    expected.intent += [(("IFLA_LINKINFO", "IFLA_INFO_DATA", name), value) for name, value in data]
    return expected


def _address(iface: plan.IfacePlan, address: m.IPInterface) -> Expected:
    ip = str(address.ip)
    attrs: list[tuple[str, Any]] = [("IFA_LOCAL", ip), ("IFA_ADDRESS", ip)]
    if address.version == 4 and address.network.prefixlen < 31:
        attrs.append(("IFA_BROADCAST", str(address.network.broadcast_address)))
    family = 2 if address.version == 4 else 10
    fields = {
        "family": family,
        "prefixlen": address.network.prefixlen,
        "flags": 0,
        "scope": 0,
        "index": iface.index,
    }
    intent: Intent = [((key,), value) for key, value in fields.items()]
    intent += [((name,), value) for name, value in attrs]
    return Expected(ifaddrmsg, RTM_NEWADDR, CREATE, fields, attrs, intent)


def _neighbour(port: plan.IfacePlan, neighbor: m.Neighbor) -> Expected:
    family = 2 if neighbor.ip.version == 4 else 10
    fields = {"family": family, "ifindex": port.index, "state": NUD_PERMANENT, "flags": 0, "ndm_type": 0}
    attrs = [("NDA_DST", str(neighbor.ip)), ("NDA_LLADDR", neighbor.mac.lower())]
    intent: Intent = [((key,), value) for key, value in fields.items()]
    intent += [((name,), value) for name, value in attrs]
    return Expected(ndmsg, RTM_NEWNEIGH, NLM_F_CREATE, fields, attrs, intent)


def _route(route: m.Route, oif: int | None) -> Expected:
    to = route.to
    unicast = route.type == "unicast"
    scope = rt_scope["link"] if (unicast and route.via is None and oif) else rt_scope["universe"]
    fields = {
        "family": 2 if to.version == 4 else 10,
        "dst_len": to.prefixlen,
        "src_len": 0,
        "tos": 0,
        "table": RT_TABLE_MAIN,
        "proto": rt_proto["static"],
        "scope": scope,
        "type": rt_type[route.type],
        "flags": RTNH_F_ONLINK if route.onlink else 0,
    }
    attrs: list[tuple[str, Any]] = []
    if to.prefixlen:
        attrs.append(("RTA_DST", str(to.network_address)))
    if route.via is not None:
        attrs.append(("RTA_GATEWAY", str(route.via)))
    if oif:
        attrs.append(("RTA_OIF", oif))
    if route.metric is not None:
        attrs.append(("RTA_PRIORITY", route.metric))
    if route.src is not None:
        attrs.append(("RTA_PREFSRC", str(route.src)))
    metrics = [("RTAX_MTU", route.mtu)] if route.mtu is not None else []
    metrics += [("RTAX_ADVMSS", route.advmss)] if route.advmss is not None else []
    if metrics:
        attrs.append(("RTA_METRICS", {"attrs": metrics}))
    intent: Intent = [((key,), value) for key, value in fields.items()]
    intent += [((name,), value) for name, value in attrs if name != "RTA_METRICS"]
    intent += [(("RTA_METRICS", name), value) for name, value in metrics]
    return Expected(rtmsg, RTM_NEWROUTE, CREATE, fields, attrs, intent)


def expected_pass1(node: plan.NodePlan) -> list[Expected]:
    """lo up with the ownership marker as its alias, then this namespace's veths."""
    out = [_set_link(plan.LO_INDEX, up=True, alias=node.marker)]
    out += [_veth(veth, FAKE_FD_BASE + i) for i, veth in enumerate(node.veths)]
    return out


def expected_pass2(node: plan.NodePlan) -> list[Expected]:
    ifaces = node.ifaces
    out = [_bridge(i) for i in ifaces.values() if i.kind == "bridge"]
    for iface in ifaces.values():
        if iface.kind == "vxlan" and iface.vxlan is not None:
            dev = iface.vxlan.dev
            out.append(_vxlan(iface, iface.vxlan, ifaces[dev].index if dev and dev in ifaces else None))
    out += [_set_link(i.index, master=ifaces[i.master].index) for i in ifaces.values() if i.master]
    out += [_address(i, a) for i in ifaces.values() for a in i.addresses]
    out += [_set_link(i.index, up=True) for i in ifaces.values()]
    out += [_neighbour(ifaces[n.dev], n) for n in node.node.neighbors]
    out += [_route(r, ifaces[r.dev].index if r.dev else None) for r in node.node.routes]
    out += [_set_link(i.index, up=False) for i in ifaces.values() if not i.up]
    return out


# -- comparing -------------------------------------------------------------------------------


def decode(data: bytes) -> Any:
    mtype = struct.unpack_from("=H", data, 4)[0]
    msg = CLASSES[mtype](data)
    msg.decode()
    return msg


def _tree(data: bytes) -> list[str]:
    """A message as pyroute2 reads it: header, fields and the NLA tree, one item a line."""
    try:
        msg = decode(data)
    except Exception as exc:  # a diff must still print when one side does not decode
        return [f"<pyroute2 cannot decode: {exc!r}>", data.hex()]
    return pprint.pformat(_plain(msg), width=100, sort_dicts=False).splitlines()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _plain(v) for k, v in value.items() if k not in ("__align", "value") or v not in ((), None)
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _lookup(msg: Any, path: tuple[str, ...]) -> Any:
    node = msg
    for key in path:
        if node is None:
            return None
        node = node[key] if key in node else node.get_attr(key)
    return node


def compare(where: str, ours: bytes, expected: Expected, seq: int) -> list[str]:
    """Problems with one request: bytes that differ (with both NLA trees), or a decoded value
    that is not what the plan meant."""
    problems: list[str] = []
    theirs = expected.encode(seq)
    if ours != theirs:
        first = next(
            (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b),
            min(len(ours), len(theirs)),
        )
        diff = difflib.unified_diff(_tree(theirs), _tree(ours), "pyroute2", "nslab", lineterm="")
        problems.append(
            f"{where}: bytes differ at offset {first} (nslab {len(ours)} bytes, pyroute2 {len(theirs)})\n"
            + "\n".join(diff)
            + f"\n  nslab:    {ours.hex()}\n  pyroute2: {theirs.hex()}"
        )
    decoded = decode(ours)
    header = decoded["header"]
    for key, value in (("type", expected.mtype), ("sequence_number", seq), ("length", len(ours))):
        if header[key] != value:
            problems.append(f"{where}: header {key} is {header[key]}, meant {value}")
    for path, value in expected.intent:
        got = _lookup(decoded, path)
        if got != value:
            problems.append(f"{where}: pyroute2 reads {'/'.join(path)} = {got!r}, the plan meant {value!r}")
    return problems


def compare_batch(
    where: str, ours: list[rtnl.Request], expected: list[Expected], fds: bool = False
) -> tuple[int, list[str]]:
    """One socket's batch: same count, and each request (seq 1, 2, ...) identical."""
    if len(ours) != len(expected):
        whats = [r.what for r in ours]
        return 0, [
            f"{where}: nslab sends {len(ours)} requests, the plan's intent is {len(expected)}: {whats}"
        ]
    problems: list[str] = []
    for seq, (request, exp) in enumerate(zip(ours, expected, strict=True), start=1):
        problems += compare(f"{where} #{seq} ({request.what})", request.encode(seq), exp, seq)
    return len(ours), problems


def compare_plan(where: str, scenario: m.Scenario) -> tuple[int, list[str]]:
    bplan = plan.make(scenario, "lab", "b1", FIRST_INDEX)
    count, problems = 0, []
    for node in bplan.nodes:
        pass1 = plan.lo_requests(node)
        pass1 += [plan.veth_request(veth, FAKE_FD_BASE + i) for i, veth in enumerate(node.veths)]
        for label, ours, exp in (
            ("pass 1", pass1, expected_pass1(node)),
            ("pass 2", plan.config_requests(node), expected_pass2(node)),
        ):
            n, found = compare_batch(f"{where} node {node.name} {label}", ours, exp)
            count += n
            problems += found
    return count, problems


# What the shipped corpus does not say (yet) but the encoder can: route metrics, preferred
# sources, reject route types, device routes, /31 and /32, an IPv6 underlay for VXLAN.
CORNERS = """
metadata: {name: oracle-corners, title: Encoder corners}
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.7.0.0/31, "fd00:7::1/64"], mac: "02:AA:00:00:07:01", mtu: 9000}
      eth1: {addresses: [192.0.2.9/32, "2001:db8:9::1/128"]}
      vx6:
        kind: vxlan
        mtu: 1400
        vxlan: {vni: 16777215, remote: "fd00:7::2", local: "fd00:7::1", dev: eth0, port: 8472}
      vx4: {kind: vxlan, vxlan: {vni: 1, remote: 10.7.0.1}}
    routes:
      - {to: 0.0.0.0/0, via: 10.7.0.1, metric: 100, src: 10.7.0.0}
      - {to: "::/0", via: "fd00:7::2", dev: eth0, metric: 1024}
      - {to: 198.51.100.0/24, dev: eth0}
      - {to: 203.0.113.0/24, type: unreachable}
      - {to: 203.0.113.128/25, type: prohibit, metric: 5}
      - {to: "2001:db8:dead::/48", type: blackhole}
    neighbors:
      - {ip: "fd00:7::2", mac: "02:aa:00:00:07:02", dev: eth0}
  b:
    interfaces:
      eth0: {addresses: [10.7.0.1/31, "fd00:7::2/64"], mtu: 9000}
      eth1: {addresses: [192.0.2.10/32]}
      vx6:
        kind: vxlan
        vxlan: {vni: 16777215, remote: "fd00:7::1", local: "fd00:7::2", dev: eth0, port: 8472}
      vx4: {kind: vxlan, vxlan: {vni: 1, remote: 10.7.0.0}}
links:
  - [a:eth0, b:eth0]
  - [a:eth1, b:eth1]
"""


def every_build() -> list[tuple[str, m.Scenario]]:
    """Every scenario file x every variant x (healthy, broken), and the corners above."""
    builds = [("oracle-corners (inline)", loader.load_text(CORNERS, "oracle-corners.yaml"))]
    for path in SCENARIO_FILES:
        rel = path.relative_to(REPO)
        for params in phases.variants(loader.load(str(path))):
            scenario = loader.load(str(path), overrides=params)
            label = f"{rel} {params}" if params else str(rel)
            builds.append((f"{label} healthy", scenario))
            builds.append((f"{label} broken", apply_faults(scenario)))
    return builds


def _report(problems: list[str], limit: int = 5) -> str:
    shown = "\n\n".join(problems[:limit])
    more = f"\n\n... and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} problem(s):\n{shown}{more}"


# -- tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builds() -> list[tuple[str, m.Scenario]]:
    return every_build()


def test_every_planned_request_is_byte_identical_to_pyroute2(builds: list[tuple[str, m.Scenario]]) -> None:
    assert len(SCENARIO_FILES) >= MIN_FILES, SCENARIO_FILES
    total, problems, kinds = 0, [], set()
    for where, scenario in builds:
        count, found = compare_plan(where, scenario)
        total += count
        problems += found
        bplan = plan.make(scenario, "lab", "b1", FIRST_INDEX)
        kinds |= {r.kind for node in bplan.nodes for r in plan.config_requests(node)}
    print(f"rtnetlink oracle: {total} requests compared with pyroute2")
    assert not problems, _report(problems)
    assert total >= MIN_REQUESTS, f"only {total} requests compared"
    # The scenarios exercise every message type we encode.
    assert kinds >= {RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE, RTM_NEWNEIGH}


def test_every_link_kind_and_address_family_is_covered(builds: list[tuple[str, m.Scenario]]) -> None:
    """The corpus must keep exercising what the encoder can say, or the oracle proves less."""
    seen: set[str] = set()
    for _, scenario in builds:
        for node in plan.make(scenario, "lab", "b1", FIRST_INDEX).nodes:
            seen |= {f"link:{i.kind}" for i in node.ifaces.values()}
            seen |= {f"addr:v{a.version}" for i in node.ifaces.values() for a in i.addresses}
            seen |= {f"route:{r.type}" for r in node.node.routes}
            seen |= {"route:via" for r in node.node.routes if r.via is not None}
            seen |= {"route:metric" for r in node.node.routes if r.metric is not None}
            seen |= {"link:mtu" for i in node.ifaces.values() if i.mtu}
            seen |= {"link:mac" for i in node.ifaces.values() if i.mac}
            seen |= {"link:down" for i in node.ifaces.values() if not i.up}
            seen |= {f"neighbour:v{n.ip.version}" for n in node.node.neighbors}
            seen |= {"route:src" for r in node.node.routes if r.src is not None}
            seen |= {f"route:v{r.to.version}" for r in node.node.routes}
            seen |= {f"vxlan:v{i.vxlan.remote.version}" for i in node.ifaces.values() if i.vxlan}
    wanted = {"link:veth", "link:bridge", "link:vxlan", "addr:v4", "addr:v6", "route:unicast", "route:via"}
    wanted |= {"route:metric", "route:src", "route:v4", "route:v6", "link:mtu", "link:mac", "link:down"}
    wanted |= {f"route:{kind}" for kind in rtnl.ROUTE_TYPES}
    wanted |= {"neighbour:v4", "neighbour:v6", "vxlan:v4", "vxlan:v6"}
    assert wanted <= seen, sorted(wanted - seen)


Edit = Callable[[rtnl.Request], rtnl.Request]


@pytest.mark.parametrize(
    "edit, hint",
    [
        # a wrong prefix length in the fixed header
        (lambda r: rtnl.add_address(5, "e0", ipaddress.ip_interface("10.0.0.1/25")), "prefixlen"),
        # attributes in another order than pyroute2 (and the plan) put them
        (
            lambda r: rtnl.Request(
                r.kind, r.flags, r.body[:8] + r.body[16:24] + r.body[8:16] + r.body[24:], r.what
            ),
            "IFA_",
        ),
        # a missing create flag
        (lambda r: rtnl.Request(r.kind, 0, r.body, r.what), "flags"),
    ],
)
def test_the_oracle_catches_a_wrong_encoding(edit: Edit, hint: str) -> None:
    """A mismatch is reported, with both NLA trees to read."""
    iface = plan.IfacePlan("e0", 5, "veth")
    address = ipaddress.ip_interface("10.0.0.1/24")
    good = rtnl.add_address(5, "e0", address)
    assert compare("ok", good.encode(1), _address(iface, address), 1) == []
    problems = compare("bad", edit(good).encode(1), _address(iface, address), 1)
    assert problems and "bytes differ" in problems[0] and hint in problems[0], problems


def test_doctor_probe_requests_match_pyroute2() -> None:
    """`nslab doctor` sends its own link kinds (index 0: the kernel picks one)."""
    remote = ipaddress.ip_address("192.0.2.1")
    veth = plan.VethPlan("a", plan.IfacePlan("dr0", 0, "veth"), "b", plan.IfacePlan("dr1", 0, "veth"))
    vx = plan.IfacePlan("drvx", 0, "vxlan")
    cases = [
        (rtnl.veth("dr0", 0, "dr1", 0, 7), _veth(veth, 7)),
        (rtnl.bridge("drbr", 0), _bridge(plan.IfacePlan("drbr", 0, "bridge"))),
        (
            rtnl.vxlan("drvx", 0, 7, remote, None, None, 4789),
            _vxlan(vx, m.Vxlan(vni=7, remote=remote, local=None, dev=None, port=4789), None),
        ),
    ]
    count, problems = compare_batch("doctor", [c[0] for c in cases], [c[1] for c in cases])
    assert not problems, _report(problems)
    assert count == 3
