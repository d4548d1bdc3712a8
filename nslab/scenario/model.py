"""The frozen scenario model: what a lab is, independent of YAML and of the kernel."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from nslab.errors import NOWHERE, Loc

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NodeKind = Literal["host", "router", "switch"]
IfaceKind = Literal["veth", "bridge", "vxlan"]
RouteType = Literal["unicast", "blackhole", "unreachable", "prohibit"]
Role = Literal["goal", "guard"]
# always: a failing check always says what it expected; symptom: until the lab is solved it
# says only what a learner could see for themselves; after-solve: until then, only "not yet".
Reveal = Literal["always", "symptom", "after-solve"]

SWITCH_BRIDGE = "br0"


@dataclass(frozen=True, kw_only=True)
class Located:
    """Base for model objects: remembers where in the file each field came from."""

    loc: Loc = field(default=NOWHERE, compare=False, repr=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, repr=False)

    def at(self, key: str) -> Loc:
        return self.locs.get(key, self.loc)


@dataclass(frozen=True, kw_only=True)
class CommandCard(Located):
    """One line of a lab's command card: a command as the course types it, and the same
    command with this lab's own names and addresses, run in `node`."""

    course: str
    here: str
    node: str
    exit: int = 0  # what `here` exits with in a healthy build (`nc -vz` to a closed port: 1)


@dataclass(frozen=True, kw_only=True)
class Metadata(Located):
    name: str
    title: str
    level: str = "beginner"
    section: str = ""
    questions: tuple[int, ...] = ()
    topics: tuple[str, ...] = ()
    minutes: int = 15
    briefing: str = ""
    # Old names that still find this scenario (`nslab up OLD` works; `nslab list` shows only name).
    aliases: tuple[str, ...] = ()
    # How much a failing check tells before the lab is solved, unless the check says otherwise.
    reveal: Reveal = "symptom"
    commands: tuple[CommandCard, ...] = ()
    hosts: str = "nodes"  # "nodes": every node's /etc/hosts names the lab's nodes; "none": not


@dataclass(frozen=True, kw_only=True)
class Vxlan(Located):
    vni: int
    remote: IPAddress
    local: IPAddress | None = None
    dev: str | None = None
    port: int = 4789


@dataclass(frozen=True, kw_only=True)
class Interface(Located):
    name: str
    kind: IfaceKind = "veth"
    addresses: tuple[IPInterface, ...] = ()
    mtu: int | None = None
    up: bool = True
    mac: str | None = None
    master: str | None = None
    vxlan: Vxlan | None = None


@dataclass(frozen=True, kw_only=True)
class Route(Located):
    to: IPNetwork
    via: IPAddress | None = None
    dev: str | None = None
    metric: int | None = None
    type: RouteType = "unicast"
    src: IPAddress | None = None
    onlink: bool = False  # the gateway is on dev's link even without a subnet there
    mtu: int | None = None  # route metric: path MTU for this destination
    advmss: int | None = None  # route metric: the MSS advertised to peers reached by this route

    @property
    def is_default(self) -> bool:
        return self.to.prefixlen == 0


@dataclass(frozen=True, kw_only=True)
class Neighbor(Located):
    ip: IPAddress
    mac: str
    dev: str


@dataclass(frozen=True, kw_only=True)
class Resolv(Located):
    nameservers: tuple[IPAddress, ...] = ()
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Firewall(Located):
    """iptables-restore lines per table; nslab adds the *table/COMMIT framing and ownership comments."""

    filter: str = ""
    nat: str = ""
    mangle: str = ""
    raw: str = ""

    def tables(self) -> dict[str, str]:
        out = {"filter": self.filter, "nat": self.nat, "mangle": self.mangle, "raw": self.raw}
        return {name: text for name, text in out.items() if text.strip()}


@dataclass(frozen=True, kw_only=True)
class Node(Located):
    name: str
    kind: NodeKind = "host"
    interfaces: Mapping[str, Interface] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    sysctls: Mapping[str, str] = field(default_factory=dict)
    neighbors: tuple[Neighbor, ...] = ()
    hosts: Mapping[str, tuple[IPAddress, ...]] = field(default_factory=dict)
    resolv: Resolv | None = None
    firewall: Firewall | None = None
    setup: str = ""  # a shell script run once in the node after the build (nslab.labs.setup)

    def addresses(self) -> list[tuple[str, IPInterface]]:
        return [(i.name, a) for i in self.interfaces.values() for a in i.addresses]


@dataclass(frozen=True, kw_only=True)
class Endpoint(Located):
    node: str
    iface: str

    def __str__(self) -> str:
        return f"{self.node}:{self.iface}"


@dataclass(frozen=True, kw_only=True)
class Link(Located):
    a: Endpoint
    b: Endpoint
    mtu: int | None = None


@dataclass(frozen=True, kw_only=True)
class Service(Located):
    name: str
    kind: str
    node: str
    autostart: bool = True  # false: declared but left stopped (`nslab service start` starts it)
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Fault(Located):
    kind: str
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    description: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Check(Located):
    name: str
    kind: str
    node: str
    role: Role = "goal"
    timeout: float = 1.0
    within: float = 0.0
    points: int = 1
    repeat: int = 1
    description: str = ""
    reveal: Reveal | None = None  # None: the scenario's metadata.reveal
    symptom: str = ""  # what a learner sees while this check fails (else a text per kind)
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SolutionStep(Located):
    node: str
    run: str
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Hint(Located):
    """One hint; `when` keeps it to the variants it is about (like a solution step)."""

    text: str
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Param(Located):
    name: str
    choices: tuple[Any, ...] = ()
    default: Any = None
    doc: str = ""


@dataclass(frozen=True, kw_only=True)
class Scenario(Located):
    path: str
    metadata: Metadata
    nodes: Mapping[str, Node]
    links: tuple[Link, ...] = ()
    params: Mapping[str, Param] = field(default_factory=dict)
    chosen: Mapping[str, Any] = field(default_factory=dict)
    services: tuple[Service, ...] = ()
    faults: tuple[Fault, ...] = ()
    checks: tuple[Check, ...] = ()
    hints: tuple[Hint, ...] = ()
    solution: tuple[SolutionStep, ...] = ()
    explanation: str = ""

    @property
    def name(self) -> str:
        return self.metadata.name

    def active_faults(self) -> tuple[Fault, ...]:
        return tuple(f for f in self.faults if matches(f.when, self.chosen))

    def active_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if matches(c.when, self.chosen))

    def active_solution(self) -> tuple[SolutionStep, ...]:
        return tuple(s for s in self.solution if matches(s.when, self.chosen))

    def active_hints(self) -> tuple[str, ...]:
        """The hints for the chosen parameter values, in file order."""
        return tuple(h.text for h in self.hints if matches(h.when, self.chosen))


def matches(when: Mapping[str, tuple[Any, ...]], chosen: Mapping[str, Any]) -> bool:
    """A `when` condition holds if every named parameter took one of the listed values."""
    return all(chosen.get(name) in values for name, values in when.items())
