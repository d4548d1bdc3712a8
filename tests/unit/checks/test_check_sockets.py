"""The sockets check without root: reading /proc/net/tcp rows, choosing the sockets to count,
judging the count against its bounds, and the validation of its fields."""

from __future__ import annotations

import pytest

from nslab.checks.observation import ERROR, Observation
from nslab.checks.probes import sockstate
from nslab.errors import ScenarioError
from nslab.grading.judge import judge, subject
from nslab.scenario import loader
from nslab.scenario import model as m

# /proc/net/tcp: a listener on 0.0.0.0:8080, two connections to it in CLOSE-WAIT (state 08),
# one in TIME-WAIT (06, no inode: no process holds it) and the client side of one, FIN-WAIT-2.
TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4101 1 0
   1: 1401000A:1F90 0A01000A:B0A2 08 00000000:00000001 00:00000000 00000000     0        0 4102 1 0
   2: 1401000A:1F90 0A01000A:B0A4 08 00000000:00000000 00:00000000 00000000     0        0 4103 1 0
   3: 1401000A:1F90 0A01000A:B0A6 06 00000000:00000000 03:00001720 00000000     0        0 0 3 0
   4: 0100007F:C350 0100007F:1F90 05 00000000:00000000 00:00000000 00000000     0        0 4104 1 0
"""
# /proc/net/tcp6: [2001:db8::20]:443 <- [2001:db8::10]:40000 in CLOSE-WAIT
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: B80D0120000000000000000020000000:01BB B80D0120000000000000000010000000:9C40 08 00000000:00000000 00:00000000 00000000     0        0 5101 1 0
"""  # noqa: E501


def test_rows_are_read_with_addresses_ports_states_and_inodes() -> None:
    rows = sockstate.parse_table(TCP)
    assert [(r.state, r.local_port, r.peer_port, r.inode) for r in rows] == [
        (0x0A, 8080, 0, 4101),
        (0x08, 8080, 45218, 4102),
        (0x08, 8080, 45220, 4103),
        (0x06, 8080, 45222, 0),
        (0x05, 50000, 8080, 4104),
    ]
    assert str(rows[1]) == "10.0.1.20:8080 <- 10.0.1.10:45218"
    [six] = sockstate.parse_table(TCP6)
    assert str(six) == "[2001:db8::20]:443 <- [2001:db8::10]:40000"
    assert six.state == sockstate.STATES["close-wait"]


def test_sockets_are_chosen_by_state_and_by_local_or_peer_port() -> None:
    rows = sockstate.parse_table(TCP)
    close_wait = sockstate.STATES["close-wait"]
    assert len(sockstate.select_sockets(rows, close_wait, 8080, None)) == 2
    assert sockstate.select_sockets(rows, close_wait, 9090, None) == []
    assert len(sockstate.select_sockets(rows, sockstate.STATES["time-wait"], 8080, None)) == 1
    # the client's side of a connection to 8080 has 8080 as its peer port, not its local one
    fin_wait = sockstate.STATES["fin-wait-2"]
    assert sockstate.select_sockets(rows, fin_wait, 8080, None) == []
    assert len(sockstate.select_sockets(rows, fin_wait, None, 8080)) == 1


def test_the_state_names_are_those_ss_takes() -> None:
    from nslab.checks.kinds import TCP_STATES

    assert set(TCP_STATES.values) == set(sockstate.STATES)


@pytest.mark.parametrize(
    ("count", "low", "high", "inside"),
    [(0, None, 0, True), (3, None, 3, True), (4, None, 3, False), (1, 1, None, True), (0, 1, None, False)],
)
def test_bounds(count: int, low: int | None, high: int | None, inside: bool) -> None:
    assert sockstate.within(count, low, high) is inside


def check(line: str) -> m.Check:
    text = (
        "metadata: {name: t, title: t}\n"
        "nodes:\n  a:\n    interfaces:\n      eth0: {addresses: [10.0.1.20/24]}\n"
        "  b:\n    interfaces:\n      eth0: {addresses: [10.0.1.10/24]}\n"
        "links:\n  - [a:eth0, b:eth0]\n"
        f"checks:\n  - {line}\n"
    )
    return loader.load_text(text, "t.yaml").checks[0]


def seen(count: int) -> Observation:
    return Observation("count", f"{count} sockets in CLOSE-WAIT on local port 8080", {"count": count})


@pytest.mark.parametrize(
    ("line", "count", "passed", "expected"),
    [
        ("{name: c, kind: sockets, from: a, port: 8080, max: 3}", 3, True, "at most 3 in CLOSE-WAIT"),
        ("{name: c, kind: sockets, from: a, port: 8080, max: 3}", 4, False, "at most 3 in CLOSE-WAIT"),
        ("{name: c, kind: sockets, from: a, port: 8080, max: 0}", 0, True, "at most 0 in CLOSE-WAIT"),
        (
            "{name: c, kind: sockets, from: a, port: 8080, state: time-wait, min: 1}",
            0,
            False,
            "at least 1 in TIME-WAIT",
        ),
        (
            "{name: c, kind: sockets, from: a, port: 8080, min: 2, max: 5}",
            5,
            True,
            "2 to 5 sockets in CLOSE-WAIT",
        ),
        (
            "{name: c, kind: sockets, from: a, port: 8080, min: 2, max: 2}",
            1,
            False,
            "exactly 2 in CLOSE-WAIT",
        ),
    ],
)
def test_the_count_is_judged_against_its_bounds(line: str, count: int, passed: bool, expected: str) -> None:
    verdict = judge(check(line), seen(count))
    assert (verdict.passed, verdict.expected) == (passed, expected)
    assert verdict.explanation.startswith("sockets a tcp port 8080 ")
    assert (f"; expected {expected}" in verdict.explanation) is not passed


def test_a_probe_error_never_passes() -> None:
    line = "{name: c, kind: sockets, from: a, port: 8080, max: 100}"
    assert not judge(check(line), Observation(ERROR, "namespace gone")).passed


def test_subject_names_both_ports_and_the_state() -> None:
    line = "{name: c, kind: sockets, from: b, peer_port: 443, state: syn-sent, max: 0}"
    assert subject(check(line)) == "sockets b tcp peer port 443 SYN-SENT"


def test_defaults() -> None:
    params = check("{name: c, kind: sockets, from: a, port: 8080, max: 1}").params
    assert (params["state"], params["connect"], params.get("address")) == ("close-wait", 0, None)


def errors(line: str) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        check(line)
    return [d.message for d in err.value.diagnostics]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("{name: c, kind: sockets, from: a, max: 1}", "names no port"),
        ("{name: c, kind: sockets, from: a, port: 8080}", "sets no bound"),
        ("{name: c, kind: sockets, from: a, port: 8080, min: 3, max: 1}", "could never pass"),
        ("{name: c, kind: sockets, from: a, port: 8080, max: 1, address: 127.0.0.1}", "only by test clients"),
        ("{name: c, kind: sockets, from: a, port: 8080, max: 1, send: hi}", "only by test clients"),
        ("{name: c, kind: sockets, from: a, peer_port: 80, max: 1, connect: 2}", "port:, which is missing"),
        (
            "{name: c, kind: sockets, from: a, port: 8080, max: 1, connect: 2, address: 10.0.1.10}",
            "not an address of node 'a'",
        ),
        ("{name: c, kind: sockets, from: a, port: 8080, max: 1, state: closed}", "closed"),
        ("{name: c, kind: sockets, from: a, port: 8080, max: 1, connect: 201}", "201"),
    ],
)
def test_validation(line: str, words: str) -> None:
    found = errors(line)
    assert len(found) == 1 and words in found[0], found


def test_test_clients_may_use_the_node_s_own_address_or_loopback() -> None:
    for address in ("10.0.1.20", "127.0.0.1", "::1"):
        line = f"{{name: c, kind: sockets, from: a, port: 8080, max: 1, connect: 2, address: '{address}'}}"
        assert str(check(line).params["address"]) == address
