"""http / https: one request with a deadline for the whole exchange, measured as it streams.

HTTP/1.0 with `Connection: close`, so the server sends a plain body (never chunked) and
closes at its end. The body is counted, not kept (a min_bytes download can be large); the
first MiB is searched for `contains`. A transfer that starts and then stalls is reported
as `incomplete` with how far it got: the signature of an MTU black hole. An upload (a
`body` or `body_bytes` generated ones, with POST or PUT) is streamed in pieces against the
same deadline, and a body that stops leaving is `incomplete` too, with how much got out.
HTTPS verifies the server against the lab's CA (/run/nslab/<lab>/ca/ca.crt) and the URL's
host name, exactly like curl --cacert would.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from nslab.checks.context import ProbeContext
from nslab.checks.observation import UNRESOLVED, Observation, error
from nslab.checks.probes.netio import Failure, connect_tcp
from nslab.checks.probes.resolve import Unresolved, literal, resolve
from nslab.scenario import model as m

BAD = "bad-response"  # something answered, but not with HTTP
KEEP = 1 << 20  # body bytes searched for `contains`
HEAD_LIMIT = 64 * 1024
CHUNK = 256 * 1024
UPLOAD_PATTERN = b"nslab upload 0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
NO_BODY = (204, 304)  # responses that never carry a body (and neither does any answer to HEAD)


def upload(size: int) -> Any:
    """A generated request body of exactly `size` bytes, in pieces of at most CHUNK."""
    block = UPLOAD_PATTERN * (CHUNK // len(UPLOAD_PATTERN) + 2)  # room for any starting offset
    sent = 0
    while sent < size:
        n = min(CHUNK, size - sent)
        start = sent % len(UPLOAD_PATTERN)  # keep the pattern continuous across pieces
        yield block[start : start + n]
        sent += n


def body_of(params: Any) -> tuple[int, Any]:
    """The request body a check sends: (length, iterator over its pieces)."""
    if params.get("body") is not None:
        data = str(params["body"]).encode()
        return len(data), iter((data,))
    if params.get("body_bytes") is not None:
        return int(params["body_bytes"]), upload(int(params["body_bytes"]))
    return 0, iter(())


class _Stalled(Exception):
    pass


def probe(ctx: ProbeContext, check: m.Check) -> Observation:
    params = check.params
    url = urlsplit(str(params["url"]))
    host = url.hostname or ""
    tls = url.scheme == "https"
    port = url.port or (443 if tls else 80)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    try:
        address = literal(str(params["resolve"])) if params.get("resolve") else resolve(ctx, host)
    except Unresolved as exc:
        return Observation(UNRESOLVED, str(exc))
    assert address is not None
    evidence: dict[str, Any] = {"address": str(address), "port": port}
    started = time.monotonic()
    got = connect_tcp(ctx, address, port)
    if isinstance(got, Failure):
        return Observation(got.outcome, got.detail, {**evidence, **got.evidence})
    sock: socket.socket = got
    try:
        if tls:
            wrapped = _tls(ctx, sock, host, evidence)
            if isinstance(wrapped, Observation):
                return wrapped
            sock = wrapped
        method = str(params.get("method") or "GET")
        size, pieces = body_of(params)
        has_body = params.get("body") is not None or params.get("body_bytes") is not None
        length = f"Content-Length: {size}\r\nContent-Type: application/octet-stream\r\n" if has_body else ""
        request = (
            f"{method} {path} HTTP/1.0\r\nHost: {url.netloc}\r\nUser-Agent: nslab-check\r\n"
            f"Accept: */*\r\n{length}Connection: close\r\n\r\n"
        )
        sock.settimeout(max(0.001, ctx.remaining()))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request.encode())  # a server that spoke first and hung up may have answered
            if has_body:
                evidence["method"] = method
                stalled = _send_body(ctx, sock, size, pieces, evidence)
                if stalled is not None:
                    return stalled
        return _response(ctx, sock, params, started, evidence)
    except (TimeoutError, _Stalled):
        return Observation("timeout", f"connected, but no HTTP response within {ctx.timeout:.1f} s", evidence)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return Observation(BAD, f"the connection broke before an HTTP response ({reason})", evidence)
    finally:
        sock.close()


def _send_body(
    ctx: ProbeContext, sock: socket.socket, size: int, pieces: Any, evidence: dict[str, Any]
) -> Observation | None:
    """Stream the body against the deadline; an upload that stops leaving is `incomplete`
    (the server's window stays shut: an MTU black hole on the way in)."""
    sent = 0
    evidence["sent"] = 0
    for piece in pieces:
        view = memoryview(piece)
        while view:
            left = ctx.remaining()
            if left <= 0:
                return _upload_stalled(ctx, sent, size, evidence)
            sock.settimeout(left)
            try:
                n = sock.send(view)
            except TimeoutError:
                return _upload_stalled(ctx, sent, size, evidence)
            view = view[n:]
            sent += n
            evidence["sent"] = sent
    return None


def _upload_stalled(ctx: ProbeContext, sent: int, size: int, evidence: dict[str, Any]) -> Observation:
    return Observation(
        "incomplete",
        f"the upload stalled after {sent} of {size} bytes ({ctx.timeout:.1f} s): no HTTP response",
        evidence,
    )


def _tls(ctx: ProbeContext, sock: socket.socket, host: str, evidence: dict[str, Any]) -> Any:
    import ssl

    ca = ctx.lab_ca()
    if not os.path.exists(ca):
        return error(f"the lab has no CA certificate at {ca} (does the scenario declare an https service?)")
    context = ssl.create_default_context(cafile=ca)
    sock.settimeout(max(0.001, ctx.remaining()))
    try:
        wrapped = context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        evidence["tls"] = {"verify": exc.verify_message}
        return Observation(
            "tls-error", f"TLS: the certificate is not valid for {host}: {exc.verify_message}", evidence
        )
    except ssl.SSLError as exc:
        evidence["tls"] = {"error": exc.reason or str(exc)}
        return Observation("tls-error", f"TLS handshake failed: {exc.reason or exc}", evidence)
    except TimeoutError:
        return Observation("timeout", "connected, but the TLS handshake timed out", evidence)
    except OSError as exc:
        return Observation("tls-error", f"TLS handshake failed: {exc.strerror or exc}", evidence)
    evidence["tls"] = {"version": wrapped.version()}
    return wrapped


def _read(ctx: ProbeContext, sock: socket.socket) -> bytes:
    left = ctx.remaining()
    if left <= 0:
        raise _Stalled()
    sock.settimeout(left)
    try:
        return sock.recv(CHUNK)
    except TimeoutError:
        raise _Stalled() from None


def _response(
    ctx: ProbeContext, sock: socket.socket, params: Any, started: float, evidence: dict[str, Any]
) -> Observation:
    head = b""
    while b"\r\n\r\n" not in head:
        data = _read(ctx, sock)
        if not data:
            if head and not head.startswith(b"HTTP/"):
                first = head.split(b"\r\n", 1)[0].decode("iso-8859-1")
                return Observation(BAD, f"not an HTTP response: {first[:60]!r}", evidence)
            return Observation(BAD, "the server closed the connection without an HTTP response", evidence)
        head += data
        if len(head) > HEAD_LIMIT and b"\r\n\r\n" not in head:
            return Observation(BAD, "no end of HTTP headers in the first 64 KiB", evidence)
    header_text, _, body = head.partition(b"\r\n\r\n")
    lines = header_text.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return Observation(BAD, f"not an HTTP response: {lines[0][:60]!r}", evidence)
    status = int(parts[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    length = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
    if str(params.get("method") or "GET") == "HEAD" or status in NO_BODY:
        length = 0
    kept = bytearray(body[:KEEP])
    received = len(body)
    evidence.update(status=status, content_length=length)
    stalled = ""
    while length is None or received < length:
        try:
            data = _read(ctx, sock)
        except _Stalled:
            stalled = "stalled"
            break
        except OSError as exc:
            stalled = f"broke ({exc.strerror or exc})"
            break
        if not data:
            break
        received += len(data)
        if len(kept) < KEEP:
            kept += data[: KEEP - len(kept)]
    seconds = time.monotonic() - started
    evidence.update(bytes=received, seconds=round(seconds, 3))
    if params.get("contains"):
        evidence["contains"] = {"text": params["contains"], "found": params["contains"].encode() in kept}
    evidence["body_start"] = bytes(kept[:80]).decode(errors="replace")
    expected = f" of {length}" if length is not None else ""
    if stalled or (length is not None and received < length):
        how = stalled or "was closed early"
        return Observation(
            "incomplete",
            f"status {status}, then the transfer {how} after {received}{expected} bytes ({seconds:.1f} s)",
            evidence,
        )
    rate = received / seconds / 1e6 if seconds > 0 else 0.0
    detail = f"status {status}, {received} bytes in {seconds:.2f} s ({rate:.1f} MB/s)"
    if params.get("contains") and not evidence["contains"]["found"]:
        # Say what came back instead: "the wrong server answered" is the usual story.
        first = next((line.strip() for line in evidence["body_start"].splitlines() if line.strip()), "")
        detail += f", body starts {first[:60]!r}" if first else ", empty body"
    return Observation("response", detail, evidence)
