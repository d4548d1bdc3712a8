"""The scenario format v1, declared once: validation, model building and JSON Schema all come from here.

docs/scenario-format.md explains every key declared here (a unit test checks that it names
them all), and docs/scenario.schema.json is `nslab schema` output (a unit test checks that
it is current).

Long on purpose: the whole format is declared here, top to bottom in the order the docs
explain it, so a reader and a reviewer see every key of a scenario in one place.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Any

from nslab.errors import Loc
from nslab.scenario import model as m
from nslab.scenario.kinds import KindSpec, Registry, registries
from nslab.scenario.schema import (
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
    Line,
    ListOf,
    Mac,
    MapOf,
    Num,
    Str,
    Struct,
    SysctlKey,
    Tagged,
    Text,
)
from nslab.scenario.schema.text import control_problem
from nslab.scenario.yamlsrc import YNode, YScalar


class _Name(Str):
    """A name of nslab's own (node, service, lab). Capital letters get one error per name,
    saying to lowercase it, rather than one per place that mentions the name: names become
    namespace names, file names and command arguments, where case-folding would surprise."""

    def convert(self, node: YScalar, ctx: Ctx, path: str) -> Any:
        value: str = node.value
        lower = value.lower()
        if lower != value and self.pattern is not None and self.pattern.fullmatch(lower):
            if value in ctx.once:
                return INVALID
            ctx.once.add(value)
            return ctx.error(
                node.loc,
                f"{path}: {value!r} has capital letters; nslab names are lowercase",
                f"write {lower!r} here and everywhere the scenario refers to it",
            )
        return super().convert(node, ctx, path)


NAME = _Name(
    r"[a-z][a-z0-9-]{0,23}",
    "a name of lowercase letters, digits and '-' (at most 24, starting with a letter)",
)
IFNAME = Str(
    r"[A-Za-z][A-Za-z0-9_.-]*",
    "an interface name (letters, digits, '_', '.', '-', starting with a letter)",
    max_len=15,
    too_long="Linux interface names hold at most 15 characters (IFNAMSIZ)",
)
CHECK_NAME = Str(r"[a-z0-9][a-z0-9_.-]{0,62}", "a check name of lowercase letters, digits, '-', '_' or '.'")
PARAM_NAME = Str(r"[a-z_][a-z0-9_]{0,31}", "a parameter name of lowercase letters, digits and '_'")
SYSCTL = SysctlKey()
HOSTNAME = Str(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?", "a host or domain name")
MTU = Int(68, 65535, doc="MTU in bytes; the kernel default (1500) when absent.")

# `to: default` is resolved once the gateway's IP version is known (see _build_route).
DEFAULT_ROUTE = "default"


def _build(cls: type) -> Any:
    def build(values: dict[str, Any], loc: Loc, locs: Mapping[str, Loc]) -> Any:
        return cls(**values, loc=loc, locs=locs)

    return build


def _network_or_default(value: str, node: YNode, ctx: Ctx, path: str) -> Any:
    if value == DEFAULT_ROUTE:
        return DEFAULT_ROUTE
    return IPNet().check(node, ctx, path)


def _build_route(values: dict[str, Any], loc: Loc, locs: Mapping[str, Loc]) -> m.Route:
    """`default` means ::/0 when the gateway (or source) is IPv6, 0.0.0.0/0 otherwise."""
    if values["to"] == DEFAULT_ROUTE:
        hint = values.get("via") or values.get("src")
        values["to"] = ipaddress.ip_network("::/0" if hint and hint.version == 6 else "0.0.0.0/0")
    return m.Route(**values, loc=loc, locs=locs)


def _endpoint(value: str, node: YNode, ctx: Ctx, path: str) -> Any:
    node_name, sep, iface = value.partition(":")
    if not node_name or ":" in iface:
        return ctx.error(node.loc, f"{path}: {value!r} is not NODE:INTERFACE", "write it like client:eth0")
    if sep and not iface:
        return ctx.error(
            node.loc,
            f"{path}: {value!r} names no interface after ':'",
            f"write {node_name}:eth0, or just {node_name} for a switch",
        )
    return m.Endpoint(node=node_name, iface=iface, loc=node.loc, locs={})


def _sysctl_value(value: Any, node: YNode, ctx: Ctx, path: str) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    problem = control_problem(text)
    if problem:
        return ctx.error(
            node.loc,
            f"{path}: {text!r} holds {problem}",
            "a sysctl value is one line, like 1 or '1 0' (nslab writes it into /proc/sys as root)",
        )
    return text


def _when(value: Mapping[str, Any], node: YNode, ctx: Ctx, path: str) -> Any:
    return {k: (tuple(v) if isinstance(v, tuple) else (v,)) for k, v in value.items()}


ENDPOINT = Custom(Str(r"[^\s]+", "NODE:INTERFACE"), _endpoint, "NODE:INTERFACE, like client:eth0")
WHEN = Custom(
    MapOf(PARAM_NAME, Either(scalar=Any_(), seq=ListOf(Any_(), min_len=1))),
    _when,
    "a mapping of parameter name to value(s)",
)

REVEAL = Enum("always", "symptom", "after-solve")
COMMAND_CARD = Struct(
    "command card line",
    {
        "course": Field(Str(), required=True, doc="The command as the course shows it."),
        "here": Field(Str(), required=True, doc="The same command with this lab's names and addresses."),
        "node": Field(NAME, required=True, doc="Node to run `here` in."),
        "exit": Field(Int(0, 255), default=0, doc="Exit code of `here` in a healthy build."),
    },
    _build(m.CommandCard),
    doc="One line of the card `nslab show` prints after the briefing.",
)

METADATA = Struct(
    "metadata",
    {
        "name": Field(NAME, required=True, doc="Short name; `nslab up NAME` and namespace names use it."),
        "title": Field(Str(), required=True, doc="One line shown by `nslab list`."),
        "level": Field(Enum("beginner", "intermediate", "advanced"), default="beginner", doc="Difficulty."),
        "section": Field(
            Str(), default="", doc='Course section the lab belongs to, as a string: "4" or "4.2".'
        ),
        "questions": Field(
            ListOf(Int(1, 10), unique=True),
            default=(),
            doc="Numbers (1-10) of the course's interview questions the lab covers.",
        ),
        "topics": Field(ListOf(Str(), unique=True), default=(), doc="Keywords, e.g. [routing, arp]."),
        "minutes": Field(Int(1, 600), default=15, doc="Estimated minutes to solve."),
        "briefing": Field(Text(), default="", doc="Markdown shown by `nslab show`: the incident report."),
        "aliases": Field(
            ListOf(NAME, unique=True),
            default=(),
            doc="Former names that still find this scenario (`nslab up OLD-NAME`); `nslab list` hides them.",
        ),
        "reveal": Field(
            REVEAL,
            default="symptom",
            doc="What a failing check says before the lab is solved, unless the check sets reveal:"
            " symptom (what a learner could see, never the expected value), after-solve (only"
            " that it fails) or always (the expected value).",
        ),
        "commands": Field(
            ListOf(COMMAND_CARD),
            default=(),
            doc="The course's commands mapped to this lab's names, shown after the briefing.",
        ),
        "hosts": Field(
            Enum("nodes", "none"),
            default="nodes",
            doc="nodes: every node's /etc/hosts names the lab's nodes; none: only its own hosts: entries.",
        ),
    },
    _build(m.Metadata),
    doc="What the lab is: shown by `nslab list` and `nslab show`.",
)

VXLAN = Struct(
    "vxlan",
    {
        "vni": Field(
            Int(1, 16777215), required=True, doc="VXLAN network identifier; both ends use the same."
        ),
        "remote": Field(
            IPAddr(), required=True, doc="Underlay address of the other end (a node of this lab)."
        ),
        "local": Field(IPAddr(), doc="Underlay source address (one of this node's addresses)."),
        "dev": Field(IFNAME, doc="Underlay interface of this node."),
        "port": Field(Int(1, 65535), default=4789, doc="UDP destination port; both ends use the same."),
    },
    _build(m.Vxlan),
    doc="Settings of a kind: vxlan interface.",
)

INTERFACE = Struct(
    "interface",
    {
        "kind": Field(
            Enum("veth", "bridge", "vxlan"),
            default="veth",
            doc="veth: one end of a link; bridge: a software switch inside the node; vxlan: a tunnel.",
        ),
        "addresses": Field(
            ListOf(IPIface(), unique=True),
            default=(),
            doc="Addresses with prefix length, e.g. [10.0.1.10/24].",
        ),
        "mtu": Field(MTU),
        "up": Field(Bool(), default=True, doc="false: the interface starts administratively down."),
        "mac": Field(Mac(unicast=True), doc="Fixed unicast MAC address (quoted); random when absent."),
        "master": Field(IFNAME, doc="A bridge interface of the same node that this one is a port of."),
        "vxlan": Field(VXLAN, doc="Settings for kind: vxlan."),
    },
    _build(m.Interface),
    doc="One network interface of a node; the key is its name (at most 15 characters).",
)

ROUTE = Struct(
    "route",
    {
        "to": Field(
            Custom(Str(), _network_or_default, "a network or 'default'"),
            required=True,
            doc="Destination network (no host bits), or 'default' (IPv6 when the gateway is).",
        ),
        "via": Field(IPAddr(), doc="Gateway; must be on a subnet attached to this node."),
        "dev": Field(IFNAME, doc="Outgoing interface."),
        "metric": Field(Int(0, 2**32 - 1), doc="Route priority; lower wins."),
        "type": Field(
            Enum("unicast", "blackhole", "unreachable", "prohibit"),
            default="unicast",
            doc="unicast forwards; blackhole drops silently; unreachable/prohibit drop with an ICMP error.",
        ),
        "src": Field(IPAddr(), doc="Preferred source address (one of this node's)."),
        "onlink": Field(
            Bool(),
            default=False,
            doc="The gateway is on dev's link even though no subnet of the node holds it (needs dev).",
        ),
        "mtu": Field(
            Int(68, 65535), doc="Path MTU for this destination (a route metric, as `ip route ... mtu`)."
        ),
        "advmss": Field(
            Int(1, 65535), doc="TCP MSS advertised to hosts reached by this route (a route metric)."
        ),
    },
    _build_route,
    doc="A static route in the node's main table.",
)

NEIGHBOR = Struct(
    "neighbor",
    {
        "ip": Field(IPAddr(), required=True, doc="The neighbour's address."),
        "mac": Field(Mac(), required=True, doc="Its MAC address (quoted)."),
        "dev": Field(IFNAME, required=True, doc="Interface it is reached on."),
    },
    _build(m.Neighbor),
    doc="A permanent ARP / neighbour entry.",
)

RESOLV = Struct(
    "resolv",
    {
        "nameservers": Field(
            ListOf(
                IPAddr(), min_len=1, max_len=3, unique=True, too_many="the resolver reads at most 3 (MAXNS)"
            ),
            default=(),
            doc="DNS servers, in order (at most 3).",
        ),
        "search": Field(ListOf(HOSTNAME, unique=True), default=(), doc="Search domains."),
        "options": Field(
            ListOf(Line(r"\S+", "one resolv.conf option, without spaces")),
            default=(),
            doc="resolv.conf options, e.g. [ndots:1, timeout:1].",
        ),
    },
    _build(m.Resolv),
    doc="The node's /etc/resolv.conf (mounted at /etc/netns/<namespace>/resolv.conf).",
)

FIREWALL = Struct(
    "firewall",
    {
        table: Field(
            Text(), default="", doc=f"iptables-restore lines for the {table} table (-N, -P, -A, -I)."
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
        "name": Field(NAME, required=True, doc="Given by the key under nodes:."),
        "kind": Field(
            Enum("host", "router", "switch"),
            default="host",
            doc="host; router (forwarding on); switch (a bridge whose ports are named by nslab).",
        ),
        "interfaces": Field(
            MapOf(IFNAME, INTERFACE, key_field="name", partial=True), default={}, doc="Interfaces by name."
        ),
        "routes": Field(ListOf(ROUTE, partial=True), default=(), doc="Static routes."),
        "sysctls": Field(
            MapOf(SYSCTL, Custom(Any_(), _sysctl_value), partial=True),
            default={},
            doc="net.* sysctls set in the node's namespace; true/false become 1/0.",
        ),
        "neighbors": Field(ListOf(NEIGHBOR, partial=True), default=(), doc="Static ARP/neighbour entries."),
        "hosts": Field(
            Custom(
                MapOf(HOSTNAME, Either(scalar=IPAddr(), seq=ListOf(IPAddr(), min_len=1)), partial=True),
                _hosts,
            ),
            default={},
            doc="Extra /etc/hosts entries: name -> address(es).",
        ),
        "resolv": Field(RESOLV, doc="This node's /etc/resolv.conf."),
        "firewall": Field(FIREWALL, doc="iptables rules per table."),
        "setup": Field(
            Text(),
            default="",
            doc="Shell script run once, as root, in the node after the build (sh -e); it must finish.",
        ),
    },
    _build(m.Node),
    doc="One network namespace.",
)


def _link_from_list(value: tuple[Any, ...], node: YNode, ctx: Ctx, path: str) -> Any:
    if len(value) != 2:
        return ctx.error(
            node.loc,
            f"{path}: a link joins exactly two endpoints, got {len(value)}",
            "to join more than two, link each one to a switch node",
        )
    return m.Link(a=value[0], b=value[1], loc=node.loc, locs={"a": value[0].loc, "b": value[1].loc})


LINK = Either(
    seq=Custom(ListOf(ENDPOINT), _link_from_list, "[NODE:IFACE, NODE:IFACE]"),
    mapping=Struct(
        "link",
        {
            "a": Field(ENDPOINT, required=True, doc="One end: NODE:IFACE (or just NODE for a switch)."),
            "b": Field(ENDPOINT, required=True, doc="The other end."),
            "mtu": Field(MTU, doc="MTU for both ends (unless an end sets its own)."),
        },
        _build(m.Link),
        doc="A veth cable between two nodes.",
    ),
    doc="A veth cable: [a:eth0, b:eth0], or {a: ..., b: ..., mtu: ...}. A switch end may omit the interface.",
)

PARAM = Struct(
    "param",
    {
        "name": Field(PARAM_NAME, required=True, doc="Given by the key under params:."),
        "choices": Field(
            ListOf(Any_(), min_len=1, unique=True),
            default=(),
            doc="Values a seed picks from (the first without a seed).",
        ),
        "default": Field(Any_(), doc="The value, for a parameter without choices."),
        "doc": Field(Str(), default="", doc="What the parameter varies."),
    },
    _build(m.Param),
    doc="A value a seed picks per learner; write ${name} anywhere in a value to use it.",
)

SOLUTION_STEP = Struct(
    "solution step",
    {
        "node": Field(NAME, required=True, doc="Node the command runs in."),
        "run": Field(Str(), required=True, doc="Shell command run inside the node."),
        "when": Field(WHEN, default={}, doc="Only for these parameter values (the fault they fix)."),
    },
    _build(m.SolutionStep),
    doc="One step of the reference fix.",
)


def _plain_hint(value: str, node: YNode, ctx: Ctx, path: str) -> Any:
    return m.Hint(text=value, loc=node.loc, locs={})


HINT = Either(
    scalar=Custom(Text(), _plain_hint, "a string"),
    mapping=Struct(
        "hint",
        {
            "text": Field(Text(), required=True, doc="The hint (markdown)."),
            "when": Field(WHEN, default={}, doc="Only for these parameter values (the fault it is about)."),
        },
        _build(m.Hint),
        doc="A hint shown only in some variants.",
    ),
    doc="A hint: text, or {text: ..., when: {...}} for a hint about one variant's fault.",
)


def _kind_struct(spec: KindSpec, common: dict[str, Field], cls: type, what: str) -> Struct:
    """One Struct per kind: the common keys plus the kind's own, which land in `params`.

    A kind field that reuses a common key's name is shadowed by the common key (the model
    needs the common one); tests/unit/test_schema.py reports such kinds to their owners.
    """
    own = {k: f for k, f in spec.fields.items() if k not in common}
    fields = {"kind": Field(Str(), doc=f"The {what} kind."), **common, **own}

    def build(values: dict[str, Any], loc: Loc, locs: Mapping[str, Loc]) -> Any:
        base = {k: v for k, v in values.items() if k not in own}
        params = {k: v for k, v in values.items() if k in own}
        return cls(**base, params=params, loc=loc, locs=locs)

    return Struct(f"{what} kind {spec.name}", fields, build, doc=spec.doc, mention=True)


def _tagged(registry: Registry, common: dict[str, Field], cls: type, what: str) -> Tagged:
    variants = {spec.name: _kind_struct(spec, common, cls, what) for spec in registry.all()}
    return Tagged("kind", variants, what=f"{what} kind")


CHECK_COMMON = {
    "name": Field(CHECK_NAME, required=True, doc="Unique name shown in reports."),
    "role": Field(
        Enum("goal", "guard"), default="goal", doc="goal: must be fixed; guard: must keep its result."
    ),
    "from": Field(NAME, required=True, doc="Node the probe runs in (or whose state is read)."),
    "timeout": Field(Num(0.05, 60, unit="seconds"), default=1.0, doc="Seconds one attempt may take."),
    "within": Field(
        Num(0, 300, unit="seconds"), default=0.0, doc="Retry window in seconds, for convergence."
    ),
    "points": Field(Int(0, 100), default=1, doc="Weight in the grade."),
    "repeat": Field(
        Int(1, 100),
        default=1,
        doc="Probe this many times in a row; every attempt must meet the expectation"
        " (e.g. each backend behind a load balancer).",
    ),
    "description": Field(Str(), default="", doc="What the check proves, in a learner's words."),
    "reveal": Field(REVEAL, doc="Overrides metadata.reveal for this check: always, symptom or after-solve."),
    "symptom": Field(
        Str(),
        default="",
        doc="What a learner sees while the check fails, shown before the lab is solved"
        " (a text per kind when absent). Never name the fault or the expected value.",
    ),
    "when": Field(WHEN, default={}, doc="Only for these parameter values."),
}

SERVICE_COMMON = {
    "name": Field(NAME, required=True, doc="Unique service name."),
    "node": Field(NAME, required=True, doc="Node the service runs in."),
    "autostart": Field(Bool(), default=True, doc="false: declared but left stopped until started by hand."),
}

FAULT_COMMON = {
    "description": Field(Str(), default="", doc="What the fault breaks (for instructors)."),
    "when": Field(WHEN, default={}, doc="Only for these parameter values."),
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
    """The top-level shape. Built once per set of registered kinds: building it costs more
    than checking a small scenario, and `nslab up` loads a scenario on its hot path."""
    # Keyed by the identity of every registered kind, so a kind added or replaced (tests do
    # that) gets a fresh shape.
    return _scenario_struct(tuple(id(kind) for registry in registries() for kind in registry.all()))


@functools.lru_cache(maxsize=4)
def _scenario_struct(kinds: tuple[int, ...]) -> Struct:
    services, faults, checks = registries()
    return Struct(
        "scenario",
        {
            "version": Field(Enum(1), default=1, doc="Format version; nslab reads version 1."),
            "metadata": Field(METADATA, required=True, doc="name, title and course data."),
            "params": Field(
                MapOf(PARAM_NAME, PARAM, key_field="name", partial=True),
                default={},
                doc="Per-learner variation: a seed picks each parameter's value.",
            ),
            "nodes": Field(
                MapOf(NAME, NODE, key_field="name", partial=True, min_len=1),
                required=True,
                doc="The network namespaces, by name.",
            ),
            "links": Field(ListOf(LINK, partial=True), default=(), doc="veth cables between nodes."),
            "services": Field(
                ListOf(_tagged(services, SERVICE_COMMON, m.Service, "service"), partial=True),
                default=(),
                doc="Servers run inside nodes (docs/services.md).",
            ),
            "faults": Field(
                ListOf(_tagged(faults, FAULT_COMMON, m.Fault, "fault"), partial=True),
                default=(),
                doc="What breaks the healthy lab (docs/faults.md).",
            ),
            "checks": Field(
                ListOf(_tagged(checks, CHECK_COMMON, _rename_from(m.Check), "check"), partial=True),
                default=(),
                doc="Live probes that grade the lab (docs/checks.md).",
            ),
            "hints": Field(
                ListOf(HINT),
                default=(),
                doc="From gentle to specific; a hint with when: only in some variants.",
            ),
            "solution": Field(ListOf(SOLUTION_STEP), default=(), doc="The reference fix, as commands."),
            "explanation": Field(
                Text(), default="", doc="Shown once solved: what was wrong and how to find it."
            ),
        },
        lambda values, loc, locs: values,
        partial=True,
        extensions=True,
        doc="An nslab scenario: a lab network, what breaks in it, and how the fix is graded.",
    )


PARAM_REF = {"type": "string", "pattern": r"\$\{[a-z_][a-z0-9_]*\}", "description": "A parameter, ${name}."}
_NEEDS_REF = ("pattern", "enum", "format", "minimum", "maximum")


def _allow_params(schema: Any, key: str = "") -> Any:
    """Values may be written as ${param} (substituted before validation), so every typed
    leaf also accepts a string holding a parameter reference."""
    if isinstance(schema, list):
        return [_allow_params(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if key == "propertyNames":
        return schema
    out = {k: _allow_params(v, k) for k, v in schema.items()}
    typed = out.get("type") in ("integer", "number", "boolean") or any(k in out for k in _NEEDS_REF)
    if typed and "properties" not in out and "items" not in out and "const" not in out:
        # description and default stay outside the anyOf, where editors look for them
        outer = {k: out.pop(k) for k in ("description", "default") if k in out}
        return {**outer, "anyOf": [out, {"$ref": "#/$defs/param"}]}
    return out


def json_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {"param": PARAM_REF}
    schema = _factor(_allow_params(scenario_struct().json_schema()), defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://nslab.dev/schema/scenario-v1.json",
        "title": "nslab scenario (format v1)",
        **schema,
        "$defs": dict(sorted(defs.items())),
    }


_MIN_FACTOR = 120  # characters of JSON: smaller repeated parts stay inline


def _factor(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Move parts that repeat (the common keys of every check kind, a node's shape...) to
    $defs, named after the key they first appear under, so the file stays readable."""
    while True:
        seen: dict[str, tuple[int, str, Any]] = {}
        _count(schema, "", seen)
        repeated = [(len(text), text, name, part) for text, (n, name, part) in seen.items() if n > 1]
        if not repeated:
            return schema
        _, text, name, part = max(repeated)
        base = name or "part"
        ref_name = (
            base
            if base not in defs
            else next(f"{base}-{i}" for i in range(2, 999) if f"{base}-{i}" not in defs)
        )
        defs[ref_name] = part
        schema = _replace_part(schema, text, {"$ref": f"#/$defs/{ref_name}"})
        for key in list(defs):
            if defs[key] is not part:
                defs[key] = _replace_part(defs[key], text, {"$ref": f"#/$defs/{ref_name}"})


def _count(node: Any, name: str, seen: dict[str, tuple[int, str, Any]]) -> None:
    import json

    if isinstance(node, list):
        for item in node:
            _count(item, name, seen)
    elif isinstance(node, dict):
        text = json.dumps(node, sort_keys=True)
        if len(text) >= _MIN_FACTOR:
            count, first, part = seen.get(text, (0, name, node))
            seen[text] = (count + 1, first, part)
        for key, value in node.items():
            _count(
                value, name if key in ("properties", "items", "anyOf", "allOf", "then", "if") else key, seen
            )


def _replace_part(node: Any, text: str, ref: dict[str, str]) -> Any:
    import json

    if isinstance(node, list):
        return [_replace_part(item, text, ref) for item in node]
    if isinstance(node, dict):
        if json.dumps(node, sort_keys=True) == text:
            return ref
        return {key: _replace_part(value, text, ref) for key, value in node.items()}
    return node


__all__ = ["INVALID", "json_schema", "scenario_struct"]
