"""nslab.scenario.schema, type by type: what each accepts, and the exact words of each refusal."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from nslab.errors import Loc
from nslab.scenario import spec
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
    ListOf,
    Mac,
    MapOf,
    Num,
    Ref,
    Str,
    Struct,
    Tagged,
    Text,
    Type,
    did_you_mean,
    join_path,
)
from nslab.scenario.yamlsrc import YMap, parse_text


def run(kind: Type, text: str) -> tuple[Any, list[str]]:
    """Check the YAML value `text` (written after 'v: ') against `kind`."""
    root, problems = parse_text(f"v: {text}\n", "t.yaml")
    assert isinstance(root, YMap) and not problems, problems
    node = root.get("v")
    assert node is not None
    ctx = Ctx()
    value = kind.check(node, ctx, "v")
    return value, [d.message + (f" | {d.hint}" if d.hint else "") for d in ctx.diagnostics]


def ok(kind: Type, text: str) -> Any:
    value, found = run(kind, text)
    assert found == [] and value is not INVALID, found
    return value


def refused(kind: Type, text: str) -> str:
    value, found = run(kind, text)
    assert value is INVALID and len(found) == 1, found
    return found[0]


# --- helpers ---------------------------------------------------------------------------------


def test_did_you_mean_prefers_a_case_match_then_a_close_spelling() -> None:
    assert did_you_mean("Router", ["host", "router"]) == "did you mean 'router'?"
    assert did_you_mean("swich", ["host", "router", "switch"]) == "did you mean 'switch'?"
    assert did_you_mean("zzz", ["host", "router"]) is None


def test_did_you_mean_stays_quiet_when_nothing_is_close() -> None:
    # Half the letters in common is not a typo: the caller's list of names helps more.
    assert did_you_mean("srv", ["client", "server"]) is None
    # Another number is another thing, not a misspelling of it...
    assert did_you_mean("eth1", ["eth0"]) is None
    assert did_you_mean("r2", ["r1", "h2"]) is None
    # ...but the same number written differently, and one-letter slips, still get a suggestion.
    assert did_you_mean("eth00", ["eth0"]) == "did you mean 'eth0'?"
    assert did_you_mean("eht0", ["eth0", "eth1"]) == "did you mean 'eth0'?"
    assert did_you_mean("form", ["from", "name"]) == "did you mean 'from'?"
    assert did_you_mean("lba", ["lab", "."]) == "did you mean 'lab'?"
    assert did_you_mean("yy", ["x", "y"]) == "did you mean 'y'?"
    assert did_you_mean("ab", ["xy"]) is None


def test_join_path_quotes_keys_that_are_not_plain_words() -> None:
    assert join_path("", "nodes") == "nodes"
    assert join_path("nodes", "r1") == "nodes.r1"
    assert join_path("links", 2) == "links[2]"
    assert join_path("nodes.r1.sysctls", "net.ipv4.ip_forward") == "nodes.r1.sysctls['net.ipv4.ip_forward']"


# --- scalars ---------------------------------------------------------------------------------


def test_str() -> None:
    assert ok(Str(), "hello world") == "hello world"
    assert (
        refused(Str(), "42") == 'v: expected a string, got the number 42 | quote it to make it a string: "42"'
    )
    assert (
        refused(Str(), "no")
        == 'v: expected a string, got the boolean no | quote it to make it a string: "no"'
    )
    assert refused(Str(), "''") == "v: must not be empty"
    assert refused(Str(), "") == (
        "v: expected a string, got an empty value"
        " | write a value after the ':' (or remove the key to use the default)"
    )
    assert refused(Str(), "[a]") == "v: expected a string, got a list"
    assert refused(Str(), "1:30") == (
        "v: expected a string, got the number 1:30"
        ' | YAML 1.1 reads 1:30 as a base-60 number; quote it: "1:30"'
    )


def test_str_pattern_and_length() -> None:
    name = Str(r"[a-z]+", "a lowercase word", max_len=5, too_long="because")
    assert ok(name, "abc") == "abc"
    assert refused(name, "ABC") == "v: 'ABC' is not a lowercase word"
    assert refused(name, "abcdefg") == "v: 'abcdefg' is 7 characters, at most 5 allowed | because"
    assert (
        refused(name, "'${x}'")
        == "v: '${x}' is not a lowercase word | parameters are substituted in values, not in keys"
    )


def test_text_may_be_empty() -> None:
    assert ok(Text(), "''") == ""


def test_int() -> None:
    assert ok(Int(1, 10), "7") == 7
    assert ok(Int(), "1_000") == 1000
    assert refused(Int(1, 10), "11") == "v: 11 is out of range; it must be between 1 and 10"
    assert refused(Int(1), "0") == "v: 0 is out of range; it must be at least 1"
    assert refused(Int(None, 5), "9") == "v: 9 is out of range; it must be at most 5"
    assert refused(Int(), '"5"') == "v: expected an integer, got the string '5' | remove the quotes"
    assert (
        refused(Int(), "5.0")
        == "v: expected an integer, got the number 5.0 | write it without the decimal point: 5"
    )
    assert refused(Int(), "true") == "v: expected an integer, got the boolean true"
    assert refused(Int(), "01500") == (
        "v: 01500 has a leading zero, which YAML reads as the octal number 832"
        " | write 1500 (or quote the value if you meant text)"
    )
    assert refused(Int(), "1:30") == "v: YAML 1.1 reads 1:30 as the base-60 number 90 | write a plain number"


def test_num() -> None:
    assert ok(Num(0, 10, unit="seconds"), "2") == 2.0
    assert ok(Num(0, 10), "0.5") == 0.5
    assert refused(Num(0, 10, unit="seconds"), "2s") == (
        "v: expected a number of seconds, got the string '2s'"
        " | write the number of seconds without a unit, e.g. 1.5"
    )
    assert refused(Num(0.05, 10), "0.01") == "v: 0.01 is out of range; it must be between 0.05 and 10"


def test_bool() -> None:
    assert ok(Bool(), "yes") is True
    assert ok(Bool(), "false") is False
    assert refused(Bool(), '"yes"') == "v: expected true or false, got the string 'yes' | remove the quotes"
    assert refused(Bool(), "1") == "v: expected true or false, got the number 1"


def test_enum_lists_its_values() -> None:
    kind = Enum("host", "router", "switch")
    assert ok(kind, "router") == "router"
    assert refused(kind, "swich") == "v: 'swich' is not one of: host, router, switch | did you mean 'switch'?"
    assert (
        refused(kind, "Router") == "v: 'Router' is not one of: host, router, switch | did you mean 'router'?"
    )
    assert refused(kind, "tap") == "v: 'tap' is not one of: host, router, switch"
    assert refused(Enum(4, 6), '"4"') == "v: '4' is not one of: 4, 6 | remove the quotes"


def test_any_takes_scalars_only() -> None:
    assert ok(Any_(), "3") == 3
    assert ok(Any_(), "x") == "x"
    assert refused(Any_(), "{a: 1}") == "v: expected a plain value (string, number or boolean), got a mapping"


def test_ip_address() -> None:
    assert ok(IPAddr(), "10.0.0.1") == ipaddress.ip_address("10.0.0.1")
    assert ok(IPAddr(), "'2001:db8::1'") == ipaddress.ip_address("2001:db8::1")
    assert (
        refused(IPAddr(), "10.0.0.1/24")
        == "v: '10.0.0.1/24' is not an IP address | drop the prefix length here"
    )
    assert refused(IPAddr(4), "'::1'") == "v: '::1' is not an IPv4 address"
    assert refused(IPAddr(), "10.0.0.256") == (
        "v: '10.0.0.256' is not an IP address | Octet 256 (> 255) not permitted in '10.0.0.256'"
    )


def test_interface_address() -> None:
    assert ok(IPIface(), "10.0.0.1/24") == ipaddress.ip_interface("10.0.0.1/24")
    assert ok(IPIface(), "10.0.0.0/31") == ipaddress.ip_interface("10.0.0.0/31")  # /31: both are hosts
    assert refused(IPIface(), "10.0.0.1") == (
        "v: '10.0.0.1' has no prefix length | write it as 10.0.0.1/24 (or whatever the subnet is)"
    )
    assert refused(IPIface(), "10.0.0.0/24") == (
        "v: 10.0.0.0/24 is the network address of 10.0.0.0/24, not a host address"
        " | pick a host address between 10.0.0.1 and 10.0.0.254"
    )
    assert refused(IPIface(), "10.0.0.255/24").startswith("v: 10.0.0.255/24 is the broadcast address")
    assert (
        refused(IPIface(), "239.1.1.1/24") == "v: 239.1.1.1 is a multicast address, not an interface address"
    )
    assert (
        refused(IPIface(), "0.0.0.0/8") == "v: 0.0.0.0 is the unspecified address, not an interface address"
    )
    assert refused(IPIface(), "10.0.0.1/33") == (
        "v: '10.0.0.1/33' is not an address with a prefix length, like 10.0.1.10/24"
        " | '33' is not a valid netmask"
    )


def test_network() -> None:
    assert ok(IPNet(), "10.0.2.0/24") == ipaddress.ip_network("10.0.2.0/24")
    assert refused(IPNet(), "10.0.2.9/24") == (
        "v: 10.0.2.9/24 has host bits set; a network is meant here | the network is 10.0.2.0/24; write that"
    )
    assert refused(IPNet(), "nope").startswith("v: 'nope' is not a network like 10.0.2.0/24")


def test_mac() -> None:
    assert ok(Mac(), '"02:00:00:00:00:01"') == "02:00:00:00:00:01"
    assert ok(Mac(), '"ff:ff:ff:ff:ff:ff"') == "ff:ff:ff:ff:ff:ff"  # a neighbour entry may use any MAC
    assert (
        refused(Mac(), '"02:00:00:00:01"')
        == "v: '02:00:00:00:01' is not a MAC address like 02:00:00:00:00:01"
    )
    assert refused(Mac(unicast=True), '"03:00:00:00:00:01"').startswith(
        "v: 03:00:00:00:00:01 is a multicast MAC"
    )
    assert (
        refused(Mac(unicast=True), '"00:00:00:00:00:00"')
        == "v: 00:00:00:00:00:00 is not a usable MAC address"
    )


# --- containers ------------------------------------------------------------------------------


def test_list() -> None:
    assert ok(ListOf(Int()), "[1, 2]") == (1, 2)
    assert ok(ListOf(Int()), "") == ()  # an empty key is an empty list
    assert refused(ListOf(Int()), "3") == (
        "v: expected a list, got the number 3 | write it as a YAML list ('- item' lines or [a, b])"
    )
    assert refused(ListOf(Int(), min_len=1), "[]") == "v: needs at least one item; it is empty"
    assert refused(ListOf(Int(), min_len=2), "[1]") == "v: needs at least 2 items; it has 1"
    assert refused(ListOf(Int(), max_len=2, too_many="why"), "[1, 2, 3]") == (
        "v: at most 2 items allowed; this is item 3 | why"
    )
    _, found = run(ListOf(Int(), unique=True), "[1, 2, 1]")
    assert found == ["v[2]: 1 is listed twice (first at line 1) | remove the repeated item"]


def test_a_list_keeps_going_after_a_bad_item() -> None:
    value, found = run(ListOf(Int()), "[1, x, 3, y]")
    assert value is INVALID and [f.split(":")[0] for f in found] == ["v[1]", "v[3]"]
    value, found = run(ListOf(Int(), partial=True), "[1, x, 3]")
    assert value == (1, 3) and len(found) == 1


def test_a_repeated_alias_in_a_list_is_reported_once() -> None:
    root, _ = parse_text("a: &a [x]\nv: [*a, *a, *a]\n", "t.yaml")
    assert isinstance(root, YMap)
    ctx = Ctx()
    node = root.get("v")
    assert node is not None
    ListOf(Str()).check(node, ctx, "v")
    assert [d.message for d in ctx.diagnostics] == ["v[0]: expected a string, got a list"]


def test_map() -> None:
    kind = MapOf(Str(r"[a-z]+", "a word"), Int())
    assert ok(kind, "{a: 1, b: 2}") == {"a": 1, "b": 2}
    assert ok(kind, "") == {}
    assert (
        refused(kind, "[1]")
        == "v: expected a mapping, got a list | write it as 'name: value' lines under this key"
    )
    assert refused(MapOf(Str(), Int(), min_len=1), "{}") == "v: needs at least one entry; it is empty"
    value, found = run(kind, "{a: 1, B: 2, c: x}")
    assert value is INVALID and found == [
        "v.B: 'B' is not a word",
        "v.c: expected an integer, got the string 'x'",
    ]
    value, _ = run(MapOf(Str(), Int(), partial=True), "{a: 1, c: x}")
    assert value == {"a": 1}


def _point() -> Struct:
    return Struct(
        "point",
        {
            "name": Field(Str(), required=True, doc="The point's name."),
            "x": Field(Int(), required=True, doc="Across."),
            "y": Field(Int(), default=0),
            "tags": Field(ListOf(Str()), default=()),
            "meta": Field(MapOf(Str(), Str()), default={}),
        },
        lambda values, loc, locs: (values, dict(locs)),
    )


def test_struct_builds_with_defaults_and_locations() -> None:
    (values, locs) = ok(_point(), "{name: p, x: 1, tags: [a, b], meta: {k: v}}")
    assert values == {"name": "p", "x": 1, "y": 0, "tags": ("a", "b"), "meta": {"k": "v"}}
    assert locs["x"] == Loc("t.yaml", 1, 17)
    assert locs["tags[1]"] == Loc("t.yaml", 1, 30)
    assert locs["meta.k"] == Loc("t.yaml", 1, 41)


def test_struct_key_errors() -> None:
    value, found = run(_point(), "{name: p, z: 1, yy: 2}")
    assert value is INVALID
    assert found == [
        "v: unknown key 'z' | allowed keys: name, x, y, tags, meta",
        "v: unknown key 'yy' | did you mean 'y'?",
        "v: missing required key 'x' | x: Across.",
    ]
    named = Struct("check kind ping", {"to": Field(Str())}, lambda v, loc, locs: v, mention=True)
    assert refused(named, "{too: 1}") == "v: unknown key 'too' for check kind ping | did you mean 'to'?"


def test_struct_key_given_by_the_map_key_is_not_repeated_inside() -> None:
    kind = MapOf(Str(), _point(), key_field="name")
    assert ok(kind, "{p: {x: 1}}")["p"][0]["name"] == "p"
    _, found = run(kind, "{p: {name: q, x: 1}}")
    assert found == ["v.p: 'name' is given by the key above (here 'p'); remove this line"]


def test_struct_extensions_allow_x_keys_only() -> None:
    kind = Struct("top", {"a": Field(Int())}, lambda v, loc, locs: v, extensions=True)
    assert ok(kind, "{a: 1, x-anchor: [any, thing]}") == {"a": 1}
    assert refused(kind, "{b: 1}") == (
        "v: unknown key 'b' | allowed keys: a (keys starting with x- are ignored: a place for YAML anchors)"
    )


def _shapes() -> Tagged:
    square = Struct(
        "shape kind square",
        {"kind": Field(Str()), "side": Field(Int(), required=True)},
        lambda v, loc, locs: v,
    )
    circle = Struct(
        "shape kind circle",
        {"kind": Field(Str()), "radius": Field(Int(), required=True)},
        lambda v, loc, locs: v,
    )
    return Tagged("kind", {"square": square, "circle": circle}, what="shape kind")


def test_tagged() -> None:
    assert ok(_shapes(), "{kind: square, side: 2}") == {"kind": "square", "side": 2}
    assert (
        refused(_shapes(), "{kind: sqare, side: 2}")
        == "v.kind: unknown shape kind 'sqare' | did you mean 'square'?"
    )
    assert (
        refused(_shapes(), "{kind: hexagon}")
        == "v.kind: unknown shape kind 'hexagon' | known shape kinds: circle, square"
    )
    assert (
        refused(_shapes(), "{side: 2}")
        == "v: missing required key 'kind' | known shape kinds: circle, square"
    )
    assert refused(_shapes(), "{kind: 7}") == (
        "v.kind: expected a shape kind name, got the number 7 | known shape kinds: circle, square"
    )
    assert refused(_shapes(), "[square]") == "v: expected a mapping with a 'kind' key, got a list"


def test_either_and_custom() -> None:
    kind = Either(scalar=Custom(Int(), lambda v, n, c, p: v * 2), seq=ListOf(Int()))
    assert ok(kind, "4") == 8
    assert ok(kind, "[1]") == (1,)
    assert refused(kind, "{a: 1}") == "v: expected an integer, or a list, got a mapping"


def test_ref_is_a_string_with_a_known_target() -> None:
    assert ok(Ref("node"), "r1") == "r1"
    assert Ref("interface", of="from").of == "from"
    with pytest.raises(ValueError):
        Ref("router")


def test_scenario_struct_is_built_once_per_set_of_kinds() -> None:
    assert spec.scenario_struct() is spec.scenario_struct()


def test_no_kind_field_shadows_a_common_key() -> None:
    """A kind field named like a common key (a check's `name`, a fault's `when`) can never be
    set: the common key takes its place. The owner of the kind must rename the field."""
    from nslab.checks.kinds import CHECKS
    from nslab.faults.kinds import FAULTS
    from nslab.services.kinds import SERVICES

    clashes = [
        f"{registry.what} kind {kind.name}: {key}"
        for registry, common in (
            (CHECKS, spec.CHECK_COMMON),
            (SERVICES, spec.SERVICE_COMMON),
            (FAULTS, spec.FAULT_COMMON),
        )
        for kind in registry.all()
        for key in kind.fields
        if key in common or key == "kind"
    ]
    assert clashes == []


# --- JSON Schema export ----------------------------------------------------------------------


def test_scalar_json_schemas() -> None:
    assert Str(r"[a-z]+", max_len=5, doc="d").json_schema() == {
        "type": "string",
        "pattern": "^(?:[a-z]+)$",
        "maxLength": 5,
        "minLength": 1,
        "description": "d",
    }
    assert Int(1, 10).json_schema() == {"type": "integer", "minimum": 1, "maximum": 10}
    assert Num(0).json_schema() == {"type": "number", "minimum": 0}
    assert Bool().json_schema() == {"type": "boolean"}
    assert Enum("a", "b").json_schema() == {"enum": ["a", "b"]}
    assert IPAddr(4).json_schema()["format"] == "ipv4"
    assert Any_().json_schema() == {"type": ["string", "integer", "number", "boolean"]}


def test_container_json_schemas() -> None:
    assert ListOf(Int(), min_len=1, max_len=3, unique=True).json_schema() == {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 1,
        "maxItems": 3,
        "uniqueItems": True,
    }
    point = _point().json_schema()
    assert point["additionalProperties"] is False and point["required"] == ["name", "x"]
    assert point["properties"]["x"]["description"] == "Across."
    keyed = MapOf(Str(r"[a-z]+"), _point(), key_field="name").json_schema()
    assert "name" not in keyed["additionalProperties"]["properties"]
    assert keyed["additionalProperties"]["required"] == ["x"]
    assert keyed["propertyNames"] == {"pattern": "^(?:[a-z]+)$"}


def test_tagged_json_schema_selects_the_shape_by_kind() -> None:
    out = _shapes().json_schema()
    assert out["required"] == ["kind"]
    assert out["properties"]["kind"]["enum"] == ["circle", "square"]
    [square] = [b for b in out["allOf"] if b["if"]["properties"]["kind"] == {"const": "square"}]
    assert square["then"]["required"] == ["side"] and square["then"]["additionalProperties"] is False


def test_scenario_json_schema_accepts_parameter_references_in_typed_values() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = spec.json_schema()
    assert schema["$schema"].endswith("2020-12/schema") and "param" in schema["$defs"]
    doc: dict[str, Any] = {
        "metadata": {"name": "x", "title": "t"},
        "params": {"mtu": {"choices": [1400, 1500]}},
        "nodes": {"a": {"interfaces": {"eth0": {"mtu": "${mtu}", "addresses": ["10.0.0.1/24"]}}}},
    }
    jsonschema.Draft202012Validator(schema).validate(doc)
    doc["nodes"]["a"]["interfaces"]["eth0"]["mtu"] = "big"
    assert not jsonschema.Draft202012Validator(schema).is_valid(doc)
