"""The http service's uploads and client-address page, served on loopback (no lab needed)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from nslab.services.http import Server, Site, client_address


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    config = {
        "params": {"echo_client": "/whoami", "pages": {"/": "hi\n"}},
        "kind": "http",
        "name": "w",
        "node": "n",
    }
    httpd = Server("w", listener, Site(config), None)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def exchange(address: tuple[str, int], request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_a_counted_upload_says_how_many_bytes_came(server: tuple[str, int]) -> None:
    body = b"z" * 200_000
    request = b"POST /up HTTP/1.0\r\nContent-Length: 200000\r\n\r\n" + body
    assert exchange(server, request) == (200, b"received 200000 bytes\n")


def test_a_chunked_upload_is_counted_too(server: tuple[str, int]) -> None:
    chunks = b"5\r\nhello\r\n1a;ext=1\r\n" + b"a" * 26 + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
    request = (
        b"PUT /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks
    )
    assert exchange(server, request) == (200, b"received 31 bytes\n")


def test_an_upload_without_a_length_is_refused(server: tuple[str, int]) -> None:
    status, body = exchange(server, b"POST /up HTTP/1.0\r\n\r\nabc")
    assert status == 411 and b"length required" in body


def test_the_echo_page_answers_the_client_address(server: tuple[str, int]) -> None:
    assert exchange(server, b"GET /whoami HTTP/1.0\r\n\r\n") == (200, b"127.0.0.1\n")
    assert exchange(server, b"POST /whoami?x=1 HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc") == (
        200,
        b"127.0.0.1\n",
    )
    assert exchange(server, b"GET / HTTP/1.0\r\n\r\n") == (200, b"hi\n")


def test_dual_stack_clients_are_named_by_their_ipv4_address() -> None:
    assert client_address("::ffff:10.0.1.10") == "10.0.1.10"
    assert client_address("2001:db8::10") == "2001:db8::10"
    assert client_address("10.0.1.10") == "10.0.1.10"
