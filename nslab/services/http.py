"""http and https: static pages and generated payloads of an exact size, over HTTP/1.1.

Generated payloads (`sizes`) are streamed in 64 KiB pieces, so /big of 1 MiB (the MTU
labs' "small requests work, large ones hang") costs no memory. Uploads (POST, PUT) go the
other way: the body is read in pieces, counted and dropped, and the answer says how many
bytes arrived. The `echo_client` path answers with the client address the server saw,
which is how a NAT lab shows what a translation made of the client. https serves a certificate
signed by the lab CA; the TLS handshake runs in the connection's own thread, so one stalled
client (say, behind an MTU black hole) never blocks the others.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nslab.services import ca, net
from nslab.services.logs import say

CHUNK = 64 * 1024
PATTERN = b"nslab payload 0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"


def payload(size: int) -> bytes:
    """The first `size` bytes of the repeating pattern every generated payload is made of."""
    repeats = size // len(PATTERN) + 1
    return (PATTERN * repeats)[:size]


class Site:
    """What the server answers: path -> (content type, size, producer of the body)."""

    def __init__(self, config: dict[str, Any]) -> None:
        params = config["params"]
        self.pages: dict[str, bytes] = {p: str(t).encode() for p, t in (params.get("pages") or {}).items()}
        self.sizes: dict[str, int] = {p: int(n) for p, n in (params.get("sizes") or {}).items()}
        self.echo: str | None = params.get("echo_client")
        if "/" not in self.pages and "/" not in self.sizes:
            self.pages["/"] = (
                f"nslab {config['kind']} service {config['name']} on {config['node']}\n".encode()
            )

    def find(self, path: str, client: str = "") -> tuple[str, int, Callable[[], Any]] | None:
        path = path.split("?", 1)[0]
        if path == self.echo:
            return _text(f"{client}\n".encode())
        if path in self.pages:
            body = self.pages[path]
            kind = "text/html" if body.lstrip().startswith(b"<") else "text/plain"
            return f"{kind}; charset=utf-8", len(body), lambda: iter((body,))
        if path in self.sizes:
            size = self.sizes[path]
            return "application/octet-stream", size, lambda: _chunks(size)
        return None


def _text(body: bytes) -> tuple[str, int, Callable[[], Any]]:
    return "text/plain; charset=utf-8", len(body), lambda: iter((body,))


def client_address(address: str) -> str:
    """The client as a learner would name it: a dual-stack listener sees IPv4 clients as
    ::ffff:10.0.1.10, which is 10.0.1.10."""
    return address.removeprefix("::ffff:") if "." in address else address


def _chunks(size: int) -> Any:
    block = payload(CHUNK + len(PATTERN))
    offset = 0
    while offset < size:
        n = min(CHUNK, size - offset)
        start = offset % len(PATTERN)  # keep the pattern continuous across pieces
        yield block[start : start + n]
        offset += n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nslab-http"
    timeout = 30  # an idle keep-alive connection is dropped after this
    server: Server

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def do_POST(self) -> None:
        self._upload()

    def do_PUT(self) -> None:
        self._upload()

    def _client(self) -> str:
        return client_address(str(self.client_address[0]))

    def _answer(self, with_body: bool) -> None:
        found = self.server.site.find(self.path, self._client())
        if found is None:
            self._reply(404, f"404 not found: {self.path}\n", with_body)
            return
        kind, size, body_parts = found
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if with_body:
            for part in body_parts():
                self.wfile.write(part)

    def _reply(self, status: int, text: str, with_body: bool = True) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _upload(self) -> None:
        """Read the whole body (Content-Length or chunked), count it, drop it, say how much came."""
        length = (self.headers.get("Content-Length") or "").strip()
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if not length.isdigit() and not chunked:
            self.close_connection = True
            self._reply(411, "411 length required: send Content-Length or a chunked body\n")
            return
        try:
            received = self._drain(int(length)) if length.isdigit() else self._drain_chunked()
        except OSError:  # a stalled upload times out (Handler.timeout)
            received = None
        if received is None:  # the client went away or stalled mid-body: nothing to answer
            self.close_connection = True
            return
        path = self.path.split("?", 1)[0]
        text = f"{self._client()}\n" if path == self.server.site.echo else f"received {received} bytes\n"
        self._reply(200, text)

    def _drain(self, size: int) -> int | None:
        left = size
        while left > 0:
            piece = self.rfile.read(min(CHUNK, left))
            if not piece:
                return None
            left -= len(piece)
        return size

    def _drain_chunked(self) -> int | None:
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return total
            if self._drain(size) is None:
                return None
            self.rfile.readline(8)  # the CRLF after each chunk
            total += size

    def log_message(self, format: str, *args: Any) -> None:
        say(f"{self.server.name}: {self.client_address[0]} {format % args}")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, listener: socket.socket, site: Site, tls: ssl.SSLContext | None) -> None:
        # The listening socket is ours (clear bind errors, dual-stack "::"); skip server_bind,
        # which would also look the host name up in DNS.
        super().__init__(listener.getsockname()[:2], Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.address_family = listener.family
        self.name = name
        self.site = site
        self.tls = tls

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Runs in the connection's thread: the TLS handshake happens here, not in accept()."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(Handler.timeout)
        try:
            secure = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            say(f"{self.name}: TLS handshake with {client_address[0]} failed: {exc}")
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        say(f"{self.name}: connection from {client_address[0]} ended with an error")


def _tls_context(config: dict[str, Any]) -> ssl.SSLContext:
    params = config["params"]
    names = [*(params.get("names") or ()), config["node"], "localhost"]
    names += [*config.get("addresses", ()), "127.0.0.1", "::1"]
    if params.get("bind"):
        names.append(str(params["bind"]))
    unspecified = ("0.0.0.0", "::")
    service_dir = f"{config['state_dir']}/services/{config['name']}"
    cert, key = ca.issue(config["state_dir"], service_dir, [n for n in names if n not in unspecified])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def serve(config: dict[str, Any], ready: Callable[[], None]) -> None:
    params = config["params"]
    https = config["kind"] == "https"
    bind = str(params.get("bind") or "0.0.0.0")
    port = int(params.get("port") or (443 if https else 80))
    tls = _tls_context(config) if https else None
    listener = net.listen_tcp(bind, port)
    server = Server(config["name"], listener, Site(config), tls)
    say(f"{config['name']}: listening on {net.describe(bind, port, 'tcp')} ({config['kind']})")
    ready()
    server.serve_forever()
