"""A small declarative schema for located YAML trees.

Why not pydantic or jsonschema: importing either costs 80+ ms, a large share of the 300 ms
budget for a whole `nslab up`, and neither knows YAML positions. This module checks a
located tree against a declared shape, collects every problem with file:line:col and a
did-you-mean, builds frozen model objects, and exports the same shape as JSON Schema.

Message style, kept the same everywhere: "<path>: <what is wrong>", where <path> names the
value the way a reader would walk to it (nodes.r1.interfaces.eth0.mtu), and an optional
hint that says what to write instead.

Imports only the located YAML tree (nslab.scenario.yamlsrc), nslab.errors and the sysctl key
grammar of nslab.kernel.sysctl (one grammar for validation and for the write).
"""

from __future__ import annotations

from nslab.scenario.schema.base import (
    INVALID,
    Ctx,
    ScalarType,
    TooLarge,
    Type,
    describe,
    did_you_mean,
    join_path,
    with_doc,
)
from nslab.scenario.schema.composite import Builder, Custom, Either, Field, ListOf, MapOf, Struct, Tagged
from nslab.scenario.schema.scalars import (
    Any_,
    Bool,
    Enum,
    Int,
    IPAddr,
    IPIface,
    IPNet,
    Mac,
    Num,
    Ref,
    Str,
    Text,
)
from nslab.scenario.schema.text import Line, SysctlKey

__all__ = [
    "INVALID",
    "Any_",
    "Bool",
    "Builder",
    "Ctx",
    "Custom",
    "Either",
    "Enum",
    "Field",
    "IPAddr",
    "IPIface",
    "IPNet",
    "Int",
    "Line",
    "ListOf",
    "Mac",
    "MapOf",
    "Num",
    "Ref",
    "ScalarType",
    "Str",
    "Struct",
    "SysctlKey",
    "Tagged",
    "Text",
    "TooLarge",
    "Type",
    "describe",
    "did_you_mean",
    "join_path",
    "with_doc",
]
