"""Bad input, generated: a clean error with file:line:col and exit 2, or a valid scenario.

Never a traceback, never a hang, never a kernel object. Most cases run in-process through
nslab.scenario.loader (about a millisecond each), including what `nslab up` does with a valid
scenario before it touches the kernel (faults, plan). A smaller number goes through the
CLI: `nslab validate`, and as root `nslab up`, after which nothing of the lab may exist
unless it was valid and built (then `nslab down` must remove it all).

Hypothesis runs derandomized (the same cases every run, so CI cannot flake);
NSLAB_FUZZ_SCALE=10 runs ten times as many, NSLAB_FUZZ_RANDOM=1 draws new ones.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability import harness as h
from tests.reliability.conftest import Figures, quick

SCALE = float(os.environ.get("NSLAB_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("NSLAB_FUZZ_RANDOM", "") not in ("", "0")
FILENAME = "fuzz.yaml"
SLOW = 5.0  # seconds: any single load slower than this is a failure (a bomb that went off)


def examples(n: int) -> Any:
    count = max(1, int(n * SCALE * (0.3 if quick() else 1)))
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _seeds() -> list[tuple[str, str]]:
    files = sorted(h.SHIPPED.glob("*.yaml")) + sorted(h.OURS.glob("*.yaml"))
    # The star is forty copies of one line: slow to mutate, and no new shapes.
    return [(p.name, p.read_text()) for p in files if p.name != "reliability-star.yaml"]


SEEDS = _seeds()
# Seeds `nslab up` may build: no `exec` services (a mutation could turn their command into
# anything) and nothing too large to build in a fraction of a second.
BUILDABLE = [(n, t) for n, t in SEEDS if "exec" not in t and len(t) < 20_000]

VOCAB = [
    "switch", "router", "host", "veth", "bridge", "vxlan", "tcp", "udp", "http", "dns",
    "default", "eth0", "eth1", "br0", "h1", "h2", "sw1", "r1", "client", "server", "lo",
    "10.0.1.1/24", "10.0.1.1", "10.0.1.0/24", "fe80::1/64", "::/0", "0.0.0.0/0", "300.1.1.1/24",
    "addresses", "interfaces", "links", "nodes", "kind", "port", "mtu", "up", "firewall",
    "filter", "nat", "routes", "via", "to", "sysctls", "net.ipv4.ip_forward", "metadata",
    "name", "title", "checks", "faults", "services", "params", "${port}", "${nope}",
    "-A INPUT -j DROP", "-A NOCHAIN -j DROP", "-P INPUT REJECT", "*filter", "COMMIT",
    "a:eth0", "sw1:", ":eth0", "h1:eth0:extra", "", " ", "~", "null", "yes", "no", "0x1f", "1e3",
]  # fmt: skip

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(VOCAB),
    st.from_regex(r"\d{1,3}(\.\d{1,3}){3}(/\d{1,3})?", fullmatch=True),
)
VALUES = st.recursive(
    SCALARS,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(st.sampled_from(VOCAB) | st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=10,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            out += _paths(value, (*prefix, index))
    return out


def _typo(word: str, draw: Any) -> str:
    if not word:
        return "x"
    i = draw(st.integers(0, len(word) - 1))
    how = draw(st.sampled_from(["drop", "double", "swap", "case"]))
    if how == "drop":
        return word[:i] + word[i + 1 :] or "x"
    if how == "double":
        return word[:i] + word[i] + word[i:]
    if how == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i].swapcase() + word[i + 1 :]


@st.composite
def structural(draw: Any) -> str:
    """A shipped scenario with one to three changes to its parsed tree."""
    _, text = draw(st.sampled_from(SEEDS))
    obj = yaml.safe_load(text)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(obj)))
        op = draw(st.sampled_from(["replace", "delete", "typo-key", "add-key", "duplicate", "retype"]))
        obj = _mutate(obj, path, op, draw)
    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, default_flow_style=None)


def _mutate(obj: Any, path: tuple[Any, ...], op: str, draw: Any) -> Any:
    obj = copy.deepcopy(obj)
    if not path:
        return draw(VALUES) if op == "replace" else obj
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if op == "replace":
        parent[last] = draw(VALUES)
    elif op == "delete":
        del parent[last]
    elif op == "typo-key" and isinstance(parent, dict):
        parent[_typo(str(last), draw)] = parent.pop(last)
    elif op == "add-key" and isinstance(parent, dict):
        parent[draw(st.sampled_from(VOCAB))] = draw(VALUES)
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif op == "retype":
        value = parent[last]
        parent[last] = [value] if not isinstance(value, list) else {"v": value}
    return obj


@st.composite
def textual(draw: Any) -> str:
    """A shipped scenario with one to three changes to its characters and lines."""
    _, text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        lines = text.splitlines(keepends=True) or [""]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(
            st.sampled_from(["delete", "duplicate", "indent", "dedent", "tab", "insert", "cut", "swap"])
        )
        if op == "delete":
            del lines[i]
        elif op == "duplicate":  # duplicate keys, duplicate list items
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = " " * draw(st.integers(1, 3)) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][draw(st.integers(1, 3)) :]
        elif op == "tab":
            lines[i] = "\t" + lines[i]
        elif op == "insert":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.text(max_size=6) | st.sampled_from(VOCAB)) + lines[i][at:]
        elif op == "cut":
            lines = lines[:i]
        elif op == "swap" and i + 1 < len(lines):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        text = "".join(lines)
    return text


def nested(depth: int, style: str, where: str) -> str:
    if style == "flow-list":
        body = "[" * depth + "]" * depth
    elif style == "flow-map":
        body = "{a: " * depth + "1" + "}" * depth
    elif style == "block-list":
        body = "\n" + "".join("  " * (i + 1) + "-\n" for i in range(depth - 1)) + "  " * depth + "- x"
    else:
        body = "\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth - 1)) + "  " * depth + "v: 1"
    if where == "top":
        return body.lstrip("\n") + "\n"
    return f"metadata: {{name: deep, title: d}}\nnodes:\n  h1: {{}}\n{where}: {body}\n"


def alias_bomb(width: int, depth: int, where: str) -> str:
    lines = [
        "metadata: {name: bomb, title: b}",
        "nodes:",
        "  h1: {}",
        "x0: &a0 [" + ", ".join(["lol"] * width) + "]",
    ]
    for i in range(1, depth + 1):
        lines.append(f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    target = f"*a{depth}"
    if where == "topics":
        lines[0] = f"metadata: {{name: bomb, title: b, topics: {target}}}"
    elif where == "links":
        lines.append(f"links: {target}")
    elif where == "node":
        lines[2] = f"  h1: {{interfaces: {{eth0: {{addresses: {target}}}}}}}"
    elif where == "merge":
        lines.append(f"checks: [{{<<: *a{depth}}}]")
    else:
        lines.append(f"unknown: {target}")
    return "\n".join(lines) + "\n"


# --- the property, in-process ----------------------------------------------------------


def _thread_netns() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def load_cleanly(text: str) -> str:
    """Load like `nslab up` does before any kernel work: 'valid' or 'rejected'. Anything else
    (another exception, a slow load, a thread that changed namespace) fails the test."""
    from nslab.engine import plan
    from nslab.errors import ScenarioError
    from nslab.faults.apply import apply_faults
    from nslab.scenario import loader

    before = _thread_netns()
    started = time.monotonic()
    try:
        scenario = loader.load_text(text, FILENAME)
        scenario = apply_faults(scenario)
        plan.make(scenario, "refuzz", "b0")
        outcome = "valid"
    except ScenarioError as exc:
        assert exc.diagnostics, "a ScenarioError without a single diagnostic"
        for diag in exc.diagnostics:
            assert diag.loc.file == FILENAME and diag.loc.line >= 1 and diag.loc.col >= 1, diag
            assert diag.message.strip(), diag
        rendered = exc.render()
        assert f"{FILENAME}:" in rendered and "error:" in rendered, rendered
        outcome = "rejected"
    elapsed = time.monotonic() - started
    assert elapsed < SLOW, f"loading took {elapsed:.1f} s"
    assert _thread_netns() == before, "loading a scenario changed the thread's network namespace"
    return outcome


def _count(figures: Figures, strategy: str, outcome: str) -> None:
    figures.count("fuzz", "in_process_cases")
    figures.count("fuzz", f"in_process_{outcome}")
    figures.count("fuzz", f"strategy_{strategy}")


@pytest.mark.noroot
@examples(250)
@given(text=structural())
def test_structural_mutations(text: str, figures: Figures) -> None:
    _count(figures, "structural", load_cleanly(text))


@pytest.mark.noroot
@examples(900)
@given(text=textual())
def test_textual_mutations(text: str, figures: Figures) -> None:
    _count(figures, "textual", load_cleanly(text))


@pytest.mark.noroot
@examples(300)
@given(
    data=st.binary(max_size=3000) | st.text(max_size=1500).map(lambda s: s.encode("utf-8", "surrogatepass"))
)
def test_random_bytes(data: bytes, figures: Figures, tmp_path_factory: pytest.TempPathFactory) -> None:
    from nslab.errors import ScenarioError
    from nslab.scenario import loader

    path = tmp_path_factory.mktemp("bytes", numbered=True) / FILENAME
    path.write_bytes(data)
    try:
        text = data.decode("utf-8")
        outcome = load_cleanly(text) if "\x00" not in text else None
    except UnicodeDecodeError:
        outcome = None
    if outcome is None:  # through the file reader: decoding and NUL errors
        with pytest.raises(ScenarioError) as err:
            loader.load(str(path))
        assert str(path) in err.value.render()
        outcome = "rejected"
    _count(figures, "bytes", outcome)


@pytest.mark.noroot
@examples(80)
@given(
    depth=st.integers(1, 20_000),
    style=st.sampled_from(["flow-list", "flow-map", "block-list", "block-map"]),
    where=st.sampled_from(["top", "links", "metadata", "nodes"]),
)
def test_deep_nesting(depth: int, style: str, where: str, figures: Figures) -> None:
    if style.startswith("block"):
        depth = min(depth, 1500)  # block nesting costs depth^2 bytes of indentation
    outcome = load_cleanly(nested(depth, style, where))
    if depth > 60:
        assert outcome == "rejected"
    _count(figures, "nesting", outcome)


@pytest.mark.noroot
@examples(60)
@given(
    width=st.integers(2, 12),
    depth=st.integers(1, 14),
    where=st.sampled_from(["topics", "links", "node", "merge", "unknown"]),
)
def test_alias_bombs(width: int, depth: int, where: str, figures: Figures) -> None:
    outcome = load_cleanly(alias_bomb(width, depth, where))
    if width**depth > 10**6:
        assert outcome == "rejected"
    _count(figures, "alias-bomb", outcome)


@pytest.mark.noroot
@pytest.mark.parametrize(
    "kind", ["padding-over", "padding-under", "one-long-scalar", "many-nodes", "many-links", "many-keys"]
)
def test_huge_files(kind: str, figures: Figures, tmp_path: Path) -> None:
    """Around the 2 MiB limit: refused with a message, or handled within the time bound."""
    from nslab.errors import ScenarioError
    from nslab.scenario import loader

    limit = 2 * 1024 * 1024
    base = "metadata: {name: huge, title: h}\nnodes:\n  h1: {}\n"
    if kind == "padding-over":
        text = base + "#" * (limit + 10) + "\n"
    elif kind == "padding-under":
        text = base + ("#" + "x" * 98 + "\n") * ((limit - len(base)) // 100 - 1)
    elif kind == "one-long-scalar":
        text = base + "explanation: " + "y" * (limit - len(base) - 40) + "\n"
    elif kind == "many-nodes":
        addresses = (f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}/8" for i in range(25_000))
        text = "metadata: {name: huge, title: h}\nnodes:\n" + "".join(
            f"  n{i}: {{interfaces: {{eth0: {{addresses: [{a}]}}}}}}\n" for i, a in enumerate(addresses)
        )
    elif kind == "many-links":
        text = base + "  h2: {}\nlinks:\n" + "  - [h1:eth0, h2:eth0]\n" * 80_000
    else:
        text = base + "".join(f"k{i}: {i}\n" for i in range(150_000))
    path = tmp_path / FILENAME
    path.write_text(text)
    started = time.monotonic()
    try:
        loader.load(str(path))
        outcome = "valid"
    except ScenarioError as exc:
        assert exc.diagnostics and str(path) in exc.render()
        outcome = "rejected"
    elapsed = time.monotonic() - started
    figures.append(
        "fuzz",
        "huge_files",
        {"kind": kind, "bytes": len(text), "outcome": outcome, "seconds": round(elapsed, 2)},
    )
    _count(figures, "huge", outcome)
    assert elapsed < 20, f"{kind}: {elapsed:.1f} s"
    if len(text.encode()) > limit:
        assert outcome == "rejected"


# --- the property, through the CLI -----------------------------------------------------

CLI_CASES = st.one_of(
    structural(),
    textual(),
    st.builds(nested, st.integers(40, 5000), st.sampled_from(["flow-list", "flow-map"]), st.just("links")),
    st.builds(alias_bomb, st.integers(5, 10), st.integers(6, 9), st.sampled_from(["links", "unknown"])),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


def _no_traceback(ran: h.Ran) -> None:
    assert "Traceback" not in ran.out + ran.err, ran
    assert ran.code != 70, ran  # an internal error: a bug


@pytest.mark.noroot
@examples(20)
@given(text=CLI_CASES)
def test_cli_validate(text: str, figures: Figures, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("cli", numbered=True) / FILENAME
    path.write_text(text, errors="surrogateescape")
    ran = h.nslab("validate", str(path), timeout=60)
    _no_traceback(ran)
    assert ran.code in (0, 2), ran
    if ran.code == 2:
        assert f"{path}:" in ran.err and "error" in ran.err, ran
    figures.count("fuzz", "cli_cases")
    figures.count("fuzz", f"cli_validate_exit_{ran.code}")


@examples(12)
@given(text=st.one_of(structural(), textual()).filter(lambda t: "exec" not in t))
def test_cli_up(text: str, figures: Figures, tmp_path_factory: pytest.TempPathFactory) -> None:
    """`nslab up` of a damaged scenario: exit 2 and nothing built, or (valid) a lab that
    `nslab down` removes completely, or (the kernel refused) exit 5 and nothing left."""
    path = tmp_path_factory.mktemp("up", numbered=True) / FILENAME
    path.write_text(text)
    lab = h.new_lab("f")
    ran = h.nslab("up", str(path), "--prefix", lab, timeout=120)
    _no_traceback(ran)
    try:
        assert ran.code in (0, 2, 4, 5), ran
        if ran.code != 0:
            left = h.wait_clean(lab)
            assert not left, (left, ran)
            if ran.code == 2:
                assert f"{path}:" in ran.err, ran
        else:
            down = h.nslab("down", lab)
            assert down.code == 0, down
            assert not h.wait_clean(lab), down
    finally:
        if h.leftovers(lab):
            h.nslab("down", lab)
    figures.count("fuzz", "cli_cases")
    figures.count("fuzz", f"cli_up_exit_{ran.code}")


@pytest.mark.noroot
def test_empty_mapping_is_a_clean_error(tmp_path: Path) -> None:
    """Found by this fuzzer (an internal error, exit 70, before the loader was fixed)."""
    path = tmp_path / FILENAME
    path.write_text("{}\n")
    ran = h.nslab("validate", str(path))
    assert ran.code == 2 and "metadata" in ran.err and "Traceback" not in ran.err, ran


@pytest.mark.noroot
def test_scenario_without_nodes_is_a_clean_error(tmp_path: Path) -> None:
    """Found by this fuzzer (an internal error, exit 70, before the loader was fixed)."""
    path = tmp_path / FILENAME
    path.write_text("metadata: {name: nonodes, title: t}\n")
    ran = h.nslab("validate", str(path))
    assert ran.code == 2 and "nodes" in ran.err and "Traceback" not in ran.err, ran


def test_fuzz_figures(figures: Figures) -> None:
    part = figures.section("fuzz")
    if not part:
        pytest.skip("no fuzzing ran")
    part["seed_scenarios"] = len(SEEDS)
    assert part.get("in_process_cases", 0) >= (300 if quick() else 1500)


# Every verb with hostile arguments (issue #11): never exit 70, never a traceback. The state
# directory is an empty one of the test's own, so no verb can see (let alone grade, reset or
# take down) a lab someone else has up; cleanup is only given prefixes no lab can have.
HUGE = "9" * 5000
HOSTILE: list[tuple[str, ...]] = [
    ("list", "--json", "extra"),
    ("show", ""), ("show", "/dev/zero"), ("show", "/"), ("show", "x" * 5000), ("show", "../../etc/passwd"),
    ("graph", "/dev/null"), ("graph", "two-hosts", "--format", "nope"),
    ("validate", "/dev/zero"), ("validate", "/proc/self/status"), ("validate", "\udcff.yaml"),
    ("up", ""), ("up", "/dev/zero"), ("up", "two-hosts", "--prefix", ""),
    ("up", "two-hosts", "--prefix", "../x"),
    ("up", "two-hosts", "--prefix", "x" * 300), ("up", "two-hosts", "--param", "x=[1,2"),
    ("up", "two-hosts", "--param", "=1"), ("up", "two-hosts", "--param", "x"),
    ("up", "two-hosts", "--param", f"x={HUGE}"), ("up", "two-hosts", "--param", "x=!!python/name:os.system"),
    ("up", "two-hosts", "--param", "x=*nope"), ("up", "two-hosts", "--param", "\udcff=1"),
    ("status", "../.."), ("status", "--json", "x" * 300),
    ("down", ""), ("down", "../../etc"), ("down", "x" * 300), ("down", "-"),
    ("cleanup", "--prefix", ""), ("cleanup", "--prefix", " "),
    ("check", "--lab", ""), ("check", "--watch", "--interval", "nan"), ("check", "--interval", "inf"),
    ("check", "--junit", ""), ("check", "--lab", "../x"),
    ("hint", "--lab", ""), ("hint", "--lab", "nope"), ("solution", "--lab", "x" * 300),
    ("reset", "--lab", ""), ("reset", "--lab", "../.."),
    ("service", "list", "--lab", ""), ("service", "logs", "x", "-n", "-5"), ("service", "restart", ""),
    ("exec", "--lab", "", "h1", "--", "true"), ("exec", "--lab", "nope", "", "--", "true"),
    ("shell", "--lab", "nope", "../h1"),
    ("selftest", ""), ("selftest", "/dev/zero"), ("selftest", "--prefix", "", "two-hosts"),
    ("selftest", "--prefix", "../x", "two-hosts"),
    ("doctor", "--json", "extra"), ("schema", "extra"), ("nope",), ("--debugx",),
]  # fmt: skip


@pytest.mark.noroot
@pytest.mark.parametrize("argv", HOSTILE, ids=lambda argv: " ".join(argv)[:40])
def test_every_verb_with_hostile_arguments(argv: tuple[str, ...], tmp_path: Path) -> None:
    import subprocess

    state_dir = tmp_path / "state"
    state_dir.mkdir()
    env = {**os.environ, "NSLAB_STATE_DIR": str(state_dir), "NSLAB_LAB": ""}
    done = subprocess.run(
        [h.PY, "-m", "nslab", *argv],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    ran = h.Ran(list(argv), done.returncode, done.stdout, done.stderr, 0.0)
    _no_traceback(ran)
    assert ran.code in (1, 2, 3, 4, 5), ran  # all of these are mistakes: never exit 0
    assert ran.err.strip(), ran  # and each says so
    assert list(state_dir.iterdir()) == [], ran  # nothing was built
