"""The web faults (tls-wrong-name, page-moved), without root: the exact model change, what the
server then answers, and the validation errors, each at the value at fault."""

from __future__ import annotations

import pytest

from nslab.faults.apply import apply_faults
from nslab.faults.edit import update_service
from nslab.scenario import loader
from nslab.scenario import model as m
from nslab.services.http import Site
from tests.unit.faults.faultbed import FaultBed, service

BASE = """\
metadata: {name: t, title: t}
nodes:
  client:
    interfaces:
      eth0: {addresses: [10.0.1.10/24]}
  web:
    interfaces:
      eth0: {addresses: [10.0.1.80/24]}
links:
  - [client:eth0, web:eth0]
services:
  - name: shop
    kind: https
    node: web
    names: [www.shop.test, shop.test]
    pages: {/: "<h1>shop</h1>\\n", /health: "ok\\n"}
    sizes: {/big: 4096}
  - {name: plain, kind: http, node: web, port: 8080, pages: {/about: "about\\n"}}
  - {name: bare, kind: https, node: web, port: 8443}
  - {name: app, kind: tcp, node: web, port: 9000}
"""
_BED = FaultBed(BASE)
broken, errors, one_error = _BED.broken, _BED.errors, _BED.one_error


# --- tls-wrong-name -----------------------------------------------------------------------------


def test_tls_wrong_name_replaces_the_names_and_nothing_else() -> None:
    healthy, out = broken("{kind: tls-wrong-name, service: shop, names: [shop.test, staging.shop.test]}")
    params = {**service(healthy, "shop").params, "names": ("shop.test", "staging.shop.test")}
    assert out == update_service(healthy, "shop", params=params)


def test_tls_wrong_name_follows_a_seed() -> None:
    text = BASE.replace(
        "metadata: {name: t, title: t}\n", "metadata: {name: t, title: t}\nparams:\n  f: {choices: [a, b]}\n"
    )
    text += "faults:\n  - {kind: tls-wrong-name, service: shop, names: [old.shop.test], when: {f: b}}\n"
    a = apply_faults(loader.load_text(text, "t.yaml", overrides={"f": "a"}))
    b = apply_faults(loader.load_text(text, "t.yaml", overrides={"f": "b"}))
    assert service(a, "shop").params["names"] == ("www.shop.test", "shop.test")
    assert service(b, "shop").params["names"] == ("old.shop.test",)


@pytest.mark.parametrize(
    ("fault", "at", "parts"),
    [
        (
            "{kind: tls-wrong-name, service: shp, names: [x.test]}",
            "shp",
            ["'shp' is not a service", "did you mean 'shop'?"],
        ),
        (
            "{kind: tls-wrong-name, service: plain, names: [x.test]}",
            "plain",
            ["'plain' is a http service", "tls-wrong-name needs https"],
        ),
        (
            "{kind: tls-wrong-name, service: bare, names: [x.test]}",
            "bare",
            ["declares no names", "names: [www.shop.test]"],
        ),
        (
            "{kind: tls-wrong-name, service: shop, names: [SHOP.test, www.shop.test, x.test]}",
            "[SHOP",
            ["still be valid for every name it has: www.shop.test, shop.test"],
        ),
        (
            "{kind: tls-wrong-name, service: shop, names: ['bad name!']}",
            "['bad",
            ["'bad name!' is neither a host name nor an IP address"],
        ),
    ],
)
def test_tls_wrong_name_errors(fault: str, at: str, parts: list[str]) -> None:
    one_error(fault, at, *parts)


def test_tls_wrong_name_needs_at_least_one_name() -> None:
    found = errors("{kind: tls-wrong-name, service: shop, names: []}")
    assert len(found) == 1 and "names" in found[0], found


# --- page-moved ----------------------------------------------------------------------------------


def test_page_moved_renames_the_path_in_place() -> None:
    healthy, out = broken("{kind: page-moved, service: shop, to: /shop/}")
    before = service(healthy, "shop").params
    pages = {"/shop/": before["pages"]["/"], "/health": before["pages"]["/health"]}
    assert out == update_service(healthy, "shop", params={**before, "pages": pages})
    assert list(service(out, "shop").params["pages"]) == ["/shop/", "/health"]  # order kept


def test_page_moved_moves_a_generated_payload_too() -> None:
    healthy, out = broken("{kind: page-moved, service: shop, path: /big, to: /old/big}")
    before = service(healthy, "shop").params
    assert out == update_service(healthy, "shop", params={**before, "sizes": {"/old/big": 4096}})


def _site(scenario: m.Scenario, name: str) -> Site:
    svc = service(scenario, name)
    return Site({"params": dict(svc.params), "kind": svc.kind, "name": svc.name, "node": svc.node})


def test_after_page_moved_the_root_answers_the_placeholder_and_the_old_path_404s() -> None:
    healthy, out = broken("{kind: page-moved, service: shop, to: /shop/}")
    _, _, body = _site(out, "shop").find("/")  # type: ignore[misc]
    placeholder = b"".join(body())
    assert placeholder == b"nslab https service shop on web\n" and b"<h1>shop" not in placeholder
    _, _, moved = _site(out, "shop").find("/shop/")  # type: ignore[misc]
    assert b"".join(moved()) == b"<h1>shop</h1>\n"
    _, out2 = broken("{kind: page-moved, service: plain, path: /about, to: /old-about}")
    assert _site(out2, "plain").find("/about") is None  # 404
    assert _site(healthy, "plain").find("/about") is not None


@pytest.mark.parametrize(
    ("fault", "at", "parts"),
    [
        (
            "{kind: page-moved, service: app, to: /x}",
            "app",
            ["'app' is a tcp service", "page-moved needs http or https"],
        ),
        (
            "{kind: page-moved, service: shop, path: /helth, to: /x}",
            "/helth",
            ["has no page '/helth'", "did you mean '/health'?"],
        ),
        (
            "{kind: page-moved, service: bare, path: /x, to: /y}",
            "/x",
            ["has no page '/x'", "declares no pages or sizes"],
        ),
        ("{kind: page-moved, service: shop, to: /}", "/}", ["would stay where it is"]),
        ("{kind: page-moved, service: shop, to: /big}", "/big", ["already has a page at '/big'"]),
        ("{kind: page-moved, service: shop, to: shop}", "shop}", ["a URL path starting with /"]),
    ],
)
def test_page_moved_errors(fault: str, at: str, parts: list[str]) -> None:
    one_error(fault, at, *parts)
