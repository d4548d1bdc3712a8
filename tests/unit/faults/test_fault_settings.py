"""service-edit, without root: the exact model change, the settings file it produces (a
readable `|` block), and the validation errors, each at the value at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from nslab.faults.edit import service_params
from nslab.services import editable
from tests.unit.faults.faultbed import FaultBed, service

BASE = """\
metadata: {name: t, title: t}
nodes:
  a:
    interfaces:
      eth0: {addresses: [10.0.1.10/24]}
  b:
    interfaces:
      eth0: {addresses: [10.0.1.20/24]}
links:
  - [a:eth0, b:eth0]
services:
  - name: api
    kind: exec
    node: b
    port: 8080
    command: |
      exec python3 - <<'END'
      try:
          serve()
      finally:
          conn.close()
      END
  - {name: web, kind: tcp, node: b, port: 80, banner: hello}
"""
_BED = FaultBed(BASE)
broken, errors, one_error = _BED.broken, _BED.errors, _BED.one_error


EDIT = '{kind: service-edit, service: api, replace: "finally:", with: "except OSError:"}'


def test_the_edit_replaces_the_text_once_and_nothing_else() -> None:
    healthy, out = broken(EDIT)
    command = str(service(healthy, "api").params["command"]).replace("finally:", "except OSError:")
    assert out == service_params(healthy, "api", command=command)


def test_any_text_setting_can_be_edited() -> None:
    _, out = broken("{kind: service-edit, service: web, field: banner, replace: hello, with: goodbye}")
    assert service(out, "web").params["banner"] == "goodbye"


def test_the_settings_file_keeps_code_readable_and_reads_back(tmp_path: Path) -> None:
    _, out = broken(EDIT)
    api = service(out, "api")
    path = editable.write_initial("t", str(tmp_path), api)
    text = Path(path).read_text()
    assert "command: |\n  exec python3 - <<'END'\n  try:\n      serve()\n  except OSError:\n" in text, text
    assert editable.effective(str(tmp_path), out, api).params == api.params


@pytest.mark.parametrize(
    ("fault", "at", "parts"),
    [
        ("{kind: service-edit, service: apj, replace: a, with: b}", "apj", ("not a service", "api")),
        (
            "{kind: service-edit, service: api, field: comand, replace: a, with: b}",
            "comand",
            ("not a text setting", "did you mean 'command'?"),
        ),
        (
            "{kind: service-edit, service: api, replace: conn.open(), with: b}",
            "conn.open()",
            ("occurs 0 times", "copy the text exactly"),
        ),
        ("{kind: service-edit, service: api, replace: END, with: EOF}", "END", ("occurs 2 times", "unique")),
        (
            '{kind: service-edit, service: api, replace: "finally:", with: "finally:"}',
            '"finally:"}',
            ("nothing would change",),
        ),
    ],
)
def test_validation_errors(fault: str, at: str, parts: tuple[str, ...]) -> None:
    one_error(fault, at, *parts)
