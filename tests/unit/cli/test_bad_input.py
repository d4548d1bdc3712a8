"""Bad input that used to end in "internal error" (exit 70): each gets a clear message and
the exit code of the README's table (issue #11). Scenario files with such problems are golden
cases (tests/golden/yaml-huge-*.yaml, file-not-utf8.yaml); this covers flags, the state
directory, settings files, file sizes and Ctrl-C at start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nslab.errors import LabStateError, ScenarioError
from nslab.scenario import catalog

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="the verb checks for root before it reads its input")
BINARY = b"metadata:\n  name: x\n  title: caf\xe9\x00\xff\n"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "nslab", *args], capture_output=True, text=True, env=full, timeout=60
    )


def assert_clean(done: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, (word, done.stderr)


# --- --param values: the scenario reader (safe, bounded), errors name the flag -------------


def test_param_unclosed_bracket_is_exit_2_naming_the_flag() -> None:
    assert_clean(run("up", "two-hosts", "--param", "x=[1,2"), 2, "--param x:", "never closed")


def test_param_python_tag_is_refused_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    done = run("up", "two-hosts", "--param", f"x=!!python/object/apply:os.system ['touch {marker}']")
    assert_clean(done, 2, "--param x:", "unsupported YAML tag !!python/object/apply:os.system")
    assert not marker.exists()


def test_param_with_thousands_of_digits_is_exit_2() -> None:
    assert_clean(run("up", "two-hosts", "--param", "x=" + "9" * 5000), 2, "--param x:", "too large")


def test_param_values_keep_yaml_typing() -> None:
    from nslab.cli.common import parse_params

    got = parse_params(("port=8080", "name=web", "list=[1, two]", "empty=", "quoted='8080'"))
    assert got == {"port": 8080, "name": "web", "list": [1, "two"], "empty": "", "quoted": "8080"}


# --- flags ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-1", "0"])
def test_check_watch_interval_must_be_a_sane_number(value: str) -> None:
    assert_clean(run("check", "--watch", "--interval", value), 2, "'--interval'")


@pytest.mark.parametrize(
    "args",
    [
        ("up", "two-hosts", "--prefix", ""),
        ("check", "--lab", ""),
        ("hint", "--lab", " "),
        ("service", "list", "--lab", ""),
        ("cleanup", "--prefix", ""),
        ("selftest", "--prefix", "", "two-hosts"),
    ],
)
def test_empty_names_are_refused_not_ignored(args: tuple[str, ...]) -> None:
    assert_clean(run(*args), 2, "is empty")


# --- scenario files: binary, huge, not regular ---------------------------------------------


def test_binary_scenario_at_show_and_in_process_up_path(tmp_path: Path) -> None:
    from nslab.labs.lifecycle import load_for_build

    path = tmp_path / "bin.yaml"
    path.write_bytes(BINARY)
    assert_clean(run("show", str(path)), 2, f"{path}:3:13: error: byte 0xe9 is not UTF-8 text")
    with pytest.raises(ScenarioError) as caught:
        load_for_build(str(path))  # what `nslab up` and selftest's builds load with
    assert str(caught.value.diagnostics[0].loc) == f"{path}:3:13"


@needs_root
def test_binary_scenario_at_up_and_selftest(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(BINARY)
    for verb in ("up", "selftest"):
        assert_clean(run(verb, str(path)), 2, f"{path}:3:13", "not UTF-8")


def test_a_50_mb_file_is_refused_by_size_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nslab.scenario import yamlsrc

    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    reads: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        reads.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(yamlsrc.os, "read", counting_read)
    text, problems = yamlsrc.read_file(str(path))
    assert text is None and "larger than 2048 KiB (51200 KiB)" in problems[0].message
    assert reads == [], "the file was read before being refused"
    monkeypatch.undo()
    assert_clean(run("validate", str(path)), 2, "larger than")


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    assert_clean(run("validate", str(fifo)), 2, "not a regular file")


# --- the lab's state directory: missing or binary scenario copy -> exit 3 ------------------


def _fake_lab(state_dir: Path, lab: str, copy: bytes | None) -> None:
    directory = state_dir / lab
    (directory / "logs").mkdir(parents=True)
    source = catalog.resolve("api-refused-from-outside")
    meta = {
        "lab": lab,
        "scenario": "api-refused-from-outside",
        "source": str(source),
        "build": "b1",
        "healthy": False,
        "seed": None,
        "params": {},
        "created": 1.0,
        "complete": True,
    }
    (directory / "meta.json").write_text(json.dumps(meta))
    (directory / "owner").write_text(json.dumps({"lab": lab, "build": "b1", "pid": 1}))
    if copy is not None:
        (directory / "scenario.yaml").write_bytes(copy)
    for path in (state_dir, directory, *directory.rglob("*")):
        path.chmod(0o700 if path.is_dir() else 0o600)  # as nslab makes them: trusted state


@pytest.mark.parametrize(
    "copy", [None, BINARY, b"metadata: {name: x}\n"], ids=["missing", "binary", "invalid"]
)
def test_damaged_scenario_copy_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, copy: bytes | None
) -> None:
    from nslab import plugins
    from nslab.engine import state
    from nslab.grading.cache import running_scenario
    from nslab.labs import lifecycle

    plugins.load()
    monkeypatch.setattr(state, "STATE_ROOT", str(tmp_path))
    _fake_lab(tmp_path, "hfdamaged", copy)
    for load in (lifecycle.load_running, running_scenario):
        with pytest.raises(LabStateError) as caught:
            load("hfdamaged")
        assert "the lab's state is damaged; nslab down hfdamaged and up again" in caught.value.message
        assert caught.value.exit_code == 3


@needs_root
@pytest.mark.parametrize("copy", [None, BINARY], ids=["missing", "binary"])
@pytest.mark.parametrize(
    "verb",
    [
        ("check",),
        ("hint",),
        ("solution",),
        ("reset",),
        ("service", "list"),
        ("service", "restart", "inventory"),
    ],
)
def test_damaged_scenario_copy_at_every_verb(
    tmp_path: Path, copy: bytes | None, verb: tuple[str, ...]
) -> None:
    _fake_lab(tmp_path, "hfdamaged", copy)
    done = run(*verb, "--lab", "hfdamaged", env={"NSLAB_STATE_DIR": str(tmp_path), "NSLAB_LAB": ""})
    assert_clean(done, 3, "the lab's state is damaged; nslab down hfdamaged and up again")


# --- a learner's service settings file saved as binary -> exit 2 with file:line:col --------


def test_binary_service_settings_file_gives_its_position(tmp_path: Path) -> None:
    from nslab import plugins
    from nslab.scenario import loader
    from nslab.services import editable

    plugins.load()
    scenario = loader.load(str(catalog.resolve("api-refused-from-outside")))
    service = scenario.services[0]
    path = Path(editable.path_of(str(tmp_path), service.name))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"# settings\nport: 80\nbind: 10.0.0.\xff\n")
    with pytest.raises(ScenarioError) as caught:
        editable.effective(str(tmp_path), scenario, service)
    assert caught.value.exit_code == 2
    assert caught.value.diagnostics[0].render().startswith(f"{path}:3:14: error: byte 0xff is not UTF-8")
    path.unlink()  # no file: the scenario's own settings
    assert editable.effective(str(tmp_path), scenario, service) is service


# --- Ctrl-C while the interpreter is still importing ---------------------------------------

INTERRUPT_DURING_IMPORT = """
import importlib.abc, os, runpy, signal, sys

class Interrupt(importlib.abc.MetaPathFinder):
    # Ctrl-C lands while click is being imported (the slow part of start-up).
    def find_spec(self, name, path, target=None):
        if name == "click":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Interrupt())
if sys.argv[1] == "module":          # python -m nslab
    sys.argv = ["nslab", "--help"]
    runpy.run_module("nslab", run_name="__main__", alter_sys=True)
else:                                # the console script: from nslab.cli.main import main
    sys.argv = ["/usr/local/bin/nslab", "--help"]
    from nslab.cli.main import main
    sys.exit(main())
"""


@pytest.mark.parametrize("entry", ["module", "script"])
def test_ctrl_c_during_start_up_says_interrupted(entry: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPT_DURING_IMPORT, entry], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == "interrupted\n"


def test_after_start_up_ctrl_c_is_a_keyboard_interrupt_again() -> None:
    """A build rolls back on KeyboardInterrupt: main() must restore Python's handler."""
    code = (
        "import signal, sys; sys.argv = ['nslab', 'schema']; import nslab.cli.main as m;"
        "assert signal.getsignal(signal.SIGINT) is m._interrupted_while_starting;"
        "m.cli.main = lambda **k: print(signal.getsignal(signal.SIGINT) is signal.default_int_handler);"
        "m.main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout == "True\n", done.stderr


@needs_root
def test_selftest_param_must_be_a_declared_choice() -> None:
    rules = str(Path(__file__).resolve().parents[2] / "scenarios" / "fault-rules.yaml")
    assert_clean(
        run("selftest", rules, "--param", "edit=move"), 2, "--param edit='move' is not one of its choices"
    )
    assert_clean(
        run("selftest", rules, "--param", "edti=delete"), 2, "no parameter 'edti'", "did you mean 'edit'?"
    )
