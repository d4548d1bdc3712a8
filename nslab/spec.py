"""The scenario format v1, declared once: validation, model building and JSON Schema all come from here."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from nslab import model as m
from nslab.errors import Loc
from nslab.kinds import KindSpec, Registry
from nslab.schema import (
    INVALID,
    Any_,
    Bool,
    Ctx,
    Custom,
    Either,
    Enum,
    Field,
    Int,
    IPAddr,
    IPIface,
    IPNet,
    ListOf,
    Mac,
    MapOf,
    Num,
    Str,
    Struct,
    Tagged,
    Text,
)
from nslab.yamlsrc import YNode

NAME = Str(
    r"[a-z][a-z0-9-]{0,23}",
    "a name of lowercase letters, digits and '-' (at most 24, starting with a letter)",
)
IFNAME = Str(r"[A-Za-z][A-Za-z0-9_.-]*", "an interface name (letters, digits, '_', '.', '-')", max_len=15)
CHECK_NAME = Str(r"[a-z0-9][a-z0-9_.-]{0,62}", "a check name of lowercase letters, digits, '-', '_' or '.'")
PARAM_NAME = Str(r"[a-z_][a-z0-9_]{0,31}", "a parameter name of lowercase letters, digits and '_'")
SYSCTL = Str(
    r"net\.[a-z0-9_.\-/]+", "a network sysctl such as net.ipv4.ip_forward (only net.* is per-namespace)"
)
HOSTNAME = Str(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?", "a host or domain name")


def _build(cls: type) -> Any:
    def build(values: dict[str, Any], loc: Loc, locs: Mapping[str, Loc]) -> Any:
        return cls(**values, loc=loc, locs=locs)

    return build


def _network_or_default(value: str, node: YNode, ctx: Ctx, path: str) -> Any:
    if value == "default":
        return ipaddress.ip_network("0.0.0.0/0")
    return IPNet().check(node, ctx, path)


def _endpoint(value: str, node: YNode, ctx: Ctx, path: str) -> Any:
    node_name, sep, iface = value.partition(":")
    if not node_name:
        return ctx.error(node.loc, f"{path}: {value!r} is not NODE:INTERFACE", "write it like client:eth0")
    return m.Endpoint(node=node_name, iface=iface if sep else "", loc=node.loc, locs={})


def _sysctl_value(value: Any, node: YNode, ctx: Ctx, path: str) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _when(value: Mapping[str, Any], node: YNode, ctx: Ctx, path: str) -> Any:
    return {k: (tuple(v) if isinstance(v, tuple) else (v,)) for k, v in value.items()}


ENDPOINT = Custom(Str(r"[^\s]+", "NODE:INTERFACE"), _endpoint, "NODE:INTERFACE, like client:eth0")
WHEN = Custom(
    MapOf(PARAM_NAME, Either(scalar=Any_(), seq=ListOf(Any_(), min_len=1))),
    _when,
    "a mapping of parameter name to value(s)",
)

METADATA = Struct(
    "metadata",
    {
        "name": Field(NAME, required=True, doc="Short name; `nslab up NAME` and namespace names use it."),
        "title": Field(Str(), required=True, doc="One line shown in `nslab list`."),
        "level": Field(Enum("beginner", "intermediate", "advanced"), default="beginner"),
        "section": Field(Str(), default="", doc="Course section this lab belongs to, e.g. '4'."),
        "questions": Field(ListOf(Int(1, 99)), default=(), doc="Interview questions the lab covers."),
        "topics": Field(ListOf(Str()), default=()),
        "minutes": Field(Int(1, 600), default=15, doc="Estimated minutes to solve."),
        "briefing": Field(Text(), default="", doc="Markdown shown by `nslab show`: the incident report."),
    },
    _build(m.Metadata),
)

VXLAN = Struct(
    "vxlan",
    {
        "vni": Field(Int(1, 16777215), required=True, doc="VXLAN network identifier."),
        "remote": Field(IPAddr(), required=True, doc="Underlay address of the other end."),
        "local": Field(IPAddr(), doc="Underlay source address (one of this node's addresses)."),
        "dev": Field(IFNAME, doc="Underlay interface."),
        "port": Field(Int(1, 65535), default=4789, doc="UDP destination port."),
    },
    _build(m.Vxlan),
)

INTERFACE = Struct(
    "interface",
    {
        "kind": Field(Enum("veth", "bridge", "vxlan"), default="veth", doc="veth (linked), bridge or vxlan."),
        "addresses": Field(ListOf(IPIface()), default=(), doc="Addresses with prefix length."),
        "mtu": Field(Int(68, 65535), doc="MTU; the kernel default (1500) when absent."),
        "up": Field(Bool(), default=True),
        "mac": Field(Mac(), doc="Fixed MAC address; random when absent."),
        "master": Field(IFNAME, doc="Bridge interface of the same node this one is a port of."),
        "vxlan": Field(VXLAN, doc="Settings for kind: vxlan."),
    },
    _build(m.Interface),
)

ROUTE = Struct(
    "route",
    {
        "to": Field(Custom(Str(), _network_or_default, "a network or 'default'"), required=True),
        "via": Field(IPAddr(), doc="Gateway; must be on an attached subnet."),
        "dev": Field(IFNAME),
        "metric": Field(Int(0, 2**32 - 1)),
        "type": Field(Enum("unicast", "blackhole", "unreachable", "prohibit"), default="unicast"),
        "src": Field(IPAddr(), doc="Preferred source address."),
    },
    _build(m.Route),
)

NEIGHBOR = Struct(
    "neighbor",
    {
        "ip": Field(IPAddr(), required=True),
        "mac": Field(Mac(), required=True),
        "dev": Field(IFNAME, required=True),
    },
    _build(m.Neighbor),
)

RESOLV = Struct(
    "resolv",
    {
        "nameservers": Field(ListOf(IPAddr(), min_len=1, max_len=3), default=()),
        "search": Field(ListOf(HOSTNAME), default=()),
        "options": Field(ListOf(Str()), default=()),
    },
    _build(m.Resolv),
)

FIREWALL = Struct(
    "firewall",
    {
        table: Field(
            Text(), default="", doc=f"iptables-restore lines for the {table} table (-A, -I, -N, -P)."
        )
        for table in ("filter", "nat", "mangle", "raw")
    },
    _build(m.Firewall),
    doc="Rules per table, in iptables-restore syntax without the *table and COMMIT lines.",
)


def _hosts(value: Mapping[str, Any], node: YNode, ctx: Ctx, path: str) -> Any:
    return {name: (v if isinstance(v, tuple) else (v,)) for name, v in value.items()}


NODE = Struct(
    "node",
    {
        "name": Field(NAME, required=True),
        "kind": Field(
            Enum("host", "router", "switch"), default="host", doc="router: forwarding on; switch: a bridge."
        ),
        "interfaces": Field(MapOf(IFNAME, INTERFACE, key_field="name"), default={}),
        "routes": Field(ListOf(ROUTE), default=()),
        "sysctls": Field(MapOf(SYSCTL, Custom(Any_(), _sysctl_value)), default={}),
        "neighbors": Field(ListOf(NEIGHBOR), default=(), doc="Static ARP/neighbour entries."),
        "hosts": Field(
            Custom(MapOf(HOSTNAME, Either(scalar=IPAddr(), seq=ListOf(IPAddr(), min_len=1))), _hosts),
            default={},
            doc="Extra /etc/hosts entries: name -> address(es).",
        ),
        "resolv": Field(RESOLV, doc="This node's /etc/resolv.conf."),
        "firewall": Field(FIREWALL),
    },
    _build(m.Node),
)


def _link_from_list(value: tuple[Any, ...], node: YNode, ctx: Ctx, path: str) -> Any:
    if len(value) != 2:
        return ctx.error(node.loc, f"{path}: a link joins exactly two endpoints, got {len(value)}")
    return m.Link(a=value[0], b=value[1], loc=node.loc, locs={"a": value[0].loc, "b": value[1].loc})


LINK = Either(
    seq=Custom(ListOf(ENDPOINT), _link_from_list, "[NODE:IFACE, NODE:IFACE]"),
    mapping=Struct(
        "link",
        {
            "a": Field(ENDPOINT, required=True),
            "b": Field(ENDPOINT, required=True),
            "mtu": Field(Int(68, 65535), doc="MTU for both ends."),
        },
        _build(m.Link),
    ),
)

PARAM = Struct(
    "param",
    {
        "name": Field(PARAM_NAME, required=True),
        "choices": Field(ListOf(Any_(), min_len=1), default=(), doc="The seed picks one."),
        "default": Field(Any_(), doc="Value when no choices are given."),
        "doc": Field(Str(), default=""),
    },
    _build(m.Param),
)

SOLUTION_STEP = Struct(
    "solution step",
    {
        "node": Field(NAME, required=True),
        "run": Field(Str(), required=True, doc="Shell command run inside the node."),
    },
    _build(m.SolutionStep),
)


def _kind_struct(
    spec: KindSpec, common: dict[str, Field], cls: type, what: str, reserved: tuple[str, ...]
) -> Struct:
    """One Struct per kind: the common keys plus the kind's own, which land in `params`."""
    fields = {**common, **spec.fields}
    own = set(spec.fields)

    def build(values: dict[str, Any], loc: Loc, locs: Mapping[str, Loc]) -> Any:
        base = {k: v for k, v in values.items() if k not in own}
        params = {k: v for k, v in values.items() if k in own}
        return cls(**base, params=params, loc=loc, locs=locs)

    return Struct(f"{what} {spec.name}", {"kind": Field(Str()), **fields}, build, doc=spec.doc)


def _tagged(registry: Registry, common: dict[str, Field], cls: type, what: str) -> Tagged:
    variants = {spec.name: _kind_struct(spec, common, cls, what, tuple(common)) for spec in registry.all()}
    return Tagged("kind", variants, what=f"{what} kind")


CHECK_COMMON = {
    "name": Field(CHECK_NAME, required=True, doc="Unique name shown in reports."),
    "role": Field(
        Enum("goal", "guard"), default="goal", doc="goal: must be fixed; guard: must keep its result."
    ),
    "from": Field(NAME, required=True, doc="Node the probe runs in (or whose state is read)."),
    "timeout": Field(Num(0.05, 60), default=1.0, doc="Seconds one attempt may take."),
    "within": Field(Num(0, 300), default=0.0, doc="Retry window in seconds, for convergence."),
    "points": Field(Int(0, 100), default=1),
    "description": Field(Str(), default=""),
    "when": Field(WHEN, default={}, doc="Only for these parameter values."),
}

SERVICE_COMMON = {
    "name": Field(NAME, required=True),
    "node": Field(NAME, required=True),
    "autostart": Field(Bool(), default=True, doc="false: declared but left stopped until started by hand."),
}

FAULT_COMMON = {
    "description": Field(Str(), default=""),
    "when": Field(WHEN, default={}),
}


def _rename_from(cls: type) -> type:
    """Checks say `from:` in YAML (a Python keyword), the model calls it `node`."""

    def make(**values: Any) -> Any:
        values["node"] = values.pop("from")
        locs = dict(values.get("locs", {}))
        if "from" in locs:
            locs["node"] = locs["from"]
        values["locs"] = locs
        return cls(**values)

    return make  # type: ignore[return-value]


def scenario_struct() -> Struct:
    """Build the top-level shape (kind registries are filled by importing their modules)."""
    from nslab.checks.kinds import CHECKS
    from nslab.faults.kinds import FAULTS
    from nslab.services.kinds import SERVICES

    return Struct(
        "scenario",
        {
            "version": Field(Enum(1), default=1, doc="Format version."),
            "metadata": Field(METADATA, required=True),
            "params": Field(MapOf(PARAM_NAME, PARAM, key_field="name", partial=True), default={}),
            "nodes": Field(MapOf(NAME, NODE, key_field="name", partial=True), required=True),
            "links": Field(ListOf(LINK, partial=True), default=()),
            "services": Field(
                ListOf(_tagged(SERVICES, SERVICE_COMMON, m.Service, "service"), partial=True), default=()
            ),
            "faults": Field(
                ListOf(_tagged(FAULTS, FAULT_COMMON, m.Fault, "fault"), partial=True), default=()
            ),
            "checks": Field(
                ListOf(_tagged(CHECKS, CHECK_COMMON, _rename_from(m.Check), "check"), partial=True),
                default=(),
            ),
            "hints": Field(ListOf(Text()), default=(), doc="From gentle to specific."),
            "solution": Field(ListOf(SOLUTION_STEP), default=(), doc="The reference fix, as commands."),
            "explanation": Field(
                Text(), default="", doc="Shown once solved: what was wrong and how to find it."
            ),
        },
        lambda values, loc, locs: values,
        partial=True,
    )


def json_schema() -> dict[str, Any]:
    schema = scenario_struct().json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://nslab.dev/schema/scenario-v1.json",
        "title": "nslab scenario (format v1)",
        **schema,
    }


__all__ = ["INVALID", "json_schema", "scenario_struct"]
