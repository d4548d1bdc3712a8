"""TCP connect and UDP request/response that always say what they saw.

Shared by the tcp, udp, http and dns probes. A failure is a `Failure` value (outcome word,
one-line detail, evidence), never an exception: refused, timed out and unreachable are
results a check may well expect.
"""

from __future__ import annotations

import errno
import ipaddress
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from nslab.checks.context import ProbeContext
from nslab.checks.probes import errqueue, icmp

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Failure:
    outcome: str  # refused | timeout | unreachable
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)


def local_failure(err: int, node: str, target: str) -> Failure:
    """connect()/send() refused by the node's own kernel, before any packet left it."""
    name = errno.errorcode.get(err, str(err))
    evidence: dict[str, Any] = {"errno": name, "local": True}
    if err == errno.ENETUNREACH:
        return Failure("unreachable", f"{node} has no route to {target}", evidence)
    if err == errno.EHOSTUNREACH:
        return Failure(
            "unreachable",
            f"{node} cannot reach {target}: host unreachable (an 'unreachable' route?)",
            evidence,
        )
    if err == errno.EACCES:
        return Failure("unreachable", f"{node} has a 'prohibit' route covering {target}", evidence)
    if err == errno.EINVAL:
        return Failure("unreachable", f"{node} has a 'blackhole' route covering {target}", evidence)
    if err == errno.EPERM:
        return Failure(
            "unreachable", f"{node}'s own firewall (OUTPUT chain) blocks traffic to {target}", evidence
        )
    return Failure(
        "unreachable", f"{node} cannot send to {target}: {errno.errorcode.get(err, err)}", evidence
    )


def icmp_failure(
    ctx: ProbeContext, err: errqueue.QueuedError, version: int, target: str, proto: str
) -> Failure:
    words = icmp.describe(version, err.type, err.code)
    reason = icmp.why(version, err.type, err.code, err.offender, target, proto)
    evidence = {"icmp": {"from": err.offender, "type": err.type, "code": err.code, "text": words}}
    if proto == "udp" and err.offender == target and reason.startswith("nothing listens"):
        return Failure(
            "refused", f"refused: ICMP port unreachable from {ctx.label(target)} ({reason})", evidence
        )
    text = f"unreachable: {ctx.label(err.offender)} answered ICMP {words}" + (
        f" ({reason})" if reason else ""
    )
    return Failure("unreachable", text, evidence)


def _silence(ctx: ProbeContext, target: IPAddress, head: str, what: str, waited: float) -> Failure:
    """A timeout, explained by the node's own neighbour table when it can be."""
    from nslab.checks.probes.kstate import silence_reason

    evidence: dict[str, Any] = {"waited_s": round(waited, 3)}
    reason = silence_reason(ctx.node, target)
    if reason:
        evidence["arp"] = "no reply"
        return Failure("timeout", f"{head}: {reason}", evidence)
    if what:
        return Failure("timeout", f"{head} ({what}: dropped silently)", evidence)
    return Failure("timeout", f"{head} (request or reply dropped, or nothing answers)", evidence)


def family(address: IPAddress) -> int:
    return socket.AF_INET if address.version == 4 else socket.AF_INET6


def connect_tcp(ctx: ProbeContext, target: IPAddress, port: int) -> socket.socket | Failure:
    """A connected (blocking) socket, or why there is none. Never waits past the deadline."""
    until, node = ctx.deadline, ctx.node
    sock = socket.socket(family(target), socket.SOCK_STREAM)
    try:
        errqueue.enable(sock, target.version)
        sock.setblocking(False)
        started = time.monotonic()
        rc = sock.connect_ex((str(target), port))
        if rc not in (0, errno.EINPROGRESS):
            sock.close()
            return local_failure(rc, node, str(target))
        if rc == errno.EINPROGRESS:
            poller = select.poll()
            poller.register(sock, select.POLLOUT)
            left = max(0.0, until - time.monotonic())
            if not poller.poll(left * 1000):
                waited = time.monotonic() - started
                sock.close()
                return _silence(ctx, target, f"timed out after {waited:.1f} s", "no SYN-ACK, no RST", waited)
            rc = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if rc == 0:
            sock.setblocking(True)
            return sock
        queued = [e for e in errqueue.drain(sock) if e.icmp]
        sock.close()
        if queued:
            return icmp_failure(ctx, queued[-1], target.version, str(target), "tcp")
        if rc == errno.ECONNREFUSED:
            return Failure("refused", f"refused: RST from {target}", {"rst_from": str(target)})
        if rc == errno.ETIMEDOUT:
            return Failure("timeout", "timed out (no SYN-ACK, no RST: dropped silently)")
        if rc == errno.EHOSTUNREACH:
            return Failure(
                "unreachable",
                f"unreachable: {node} got no ARP/ND reply for the next hop toward {target}",
                {"errno": "EHOSTUNREACH"},
            )
        return local_failure(rc, node, str(target))
    except BaseException:
        sock.close()
        raise


@dataclass(frozen=True)
class Datagram:
    data: bytes
    source: str
    rtt: float


def udp_exchange(
    ctx: ProbeContext, target: IPAddress, port: int, payload: bytes, resend: bool = True
) -> Datagram | Failure:
    """Send a datagram (again half-way through the wait, as resolvers do) and wait for an answer."""
    until, node = ctx.deadline, ctx.node
    sock = socket.socket(family(target), socket.SOCK_DGRAM)
    try:
        errqueue.enable(sock, target.version)
        try:
            sock.connect((str(target), port))
        except OSError as exc:
            return local_failure(exc.errno or 0, node, str(target))
        started = time.monotonic()
        second = started + (until - started) / 2 if resend else until + 1
        sent_twice = False
        while True:
            try:
                sock.send(payload)
            except ConnectionRefusedError:
                pass  # an ICMP error from the first send, read below
            except OSError as exc:
                return local_failure(exc.errno or 0, node, str(target))
            while True:
                now = time.monotonic()
                wake = min(until, second) if not sent_twice else until
                ready, _, _ = select.select([sock], [], [], max(0.0, wake - now))
                if ready:
                    try:
                        data = sock.recv(65535)
                    except ConnectionRefusedError:
                        queued = [e for e in errqueue.drain(sock) if e.icmp]
                        if queued:
                            return icmp_failure(ctx, queued[-1], target.version, str(target), "udp")
                        return Failure("refused", f"refused by {target}")
                    except OSError as exc:
                        queued = [e for e in errqueue.drain(sock) if e.icmp]
                        if queued:
                            return icmp_failure(ctx, queued[-1], target.version, str(target), "udp")
                        return local_failure(exc.errno or 0, node, str(target))
                    return Datagram(data, str(target), time.monotonic() - started)
                if time.monotonic() >= until:
                    waited = time.monotonic() - started
                    return _silence(ctx, target, f"no reply after {waited:.1f} s", "", waited)
                if not sent_twice:
                    sent_twice = True
                    break
    finally:
        sock.close()
