"""DNS names as scenarios write them, made absolute the one way both the validator and the
server agree on: "@" is the zone itself, a final dot means absolute, anything else is
relative to the zone. Plain strings only, so `nslab validate` never imports dnspython."""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"(?!-)[A-Za-z0-9_*-]{1,63}(?<!-)")


def zone_name(text: str) -> str:
    """A zone as written ("example.com", "example.com." or ".") in canonical form."""
    text = text.strip().lower()
    if text in ("", ".", "@"):
        return "."
    return text if text.endswith(".") else text + "."


def absolute(name: str, zone: str) -> str:
    """An owner name or record target made absolute, lower case, with the final dot."""
    zone = zone_name(zone)
    name = name.strip().lower()
    if name in ("@", ""):
        return zone
    if name.endswith("."):
        return name
    return f"{name}.{zone}" if zone != "." else f"{name}."


def is_valid(name: str) -> bool:
    """True for a syntactically valid absolute name (labels of 1-63 characters, 255 in all)."""
    if name == ".":
        return True
    if not name.endswith(".") or len(name) > 255:
        return False
    return all(_LABEL.fullmatch(label) for label in name[:-1].split("."))


def is_under(name: str, zone: str) -> bool:
    """True if the absolute `name` is the zone itself or below it."""
    zone = zone_name(zone)
    return zone == "." or name == zone or name.endswith("." + zone)


def parent_of(name: str) -> str:
    if name == ".":
        return "."
    rest = name.split(".", 1)[1]
    return rest or "."


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
