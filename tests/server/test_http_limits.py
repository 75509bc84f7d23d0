"""HTTP limits on what a client controls, over raw sockets: header size and count, header
and body read time, body size, open connections, idle keep-alive."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from foxden.protocol import signing
from tests.conftest import LiveServer, start_server

LIMITS: dict[str, Any] = {
    "max_header_bytes": 2048,
    "max_headers": 10,
    "header_timeout_s": 0.5,
    "body_timeout_s": 0.5,
    "keep_alive_timeout_s": 1.0,
    "max_connections": 20,
    "max_body_bytes": 1024,
}
WAIT = 15.0
"""How long a test waits for the server to act (far more than any limit above)."""


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path, rate_per_second=1e6, rate_burst=10**6, **LIMITS)
    yield server
    server.stop()


def connect(live: LiveServer) -> socket.socket:
    host, port = live.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    sock.close()
    return data


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def works(live: LiveServer) -> bool:
    key = live.account(f"u{time.monotonic_ns()}")
    path = "/op/v0/user/getAccessCount"
    headers = signing.headers(path, key, int(time.time() * 1000))
    answer = httpx.get(live.url + path, headers=headers, timeout=WAIT)
    return answer.status_code == 200 and answer.json()["errno"] == 0


def test_a_huge_header_sent_slowly_is_refused_with_431(live: LiveServer) -> None:
    sock = connect(live)
    sock.sendall(b"GET /op/v0/user/getAccessCount HTTP/1.1\r\nHost: x\r\nX-Big: ")
    refused = False
    for _ in range(100):  # 100 KB in 1 KB pieces; the server stops it after 2 KB
        try:
            sock.sendall(b"a" * 1024)
        except (BrokenPipeError, ConnectionResetError):
            refused = True
            break
        time.sleep(0.005)
    answer = read_all(sock)
    assert status(answer) == 431 or (refused and answer == b"")
    assert works(live)


def test_too_many_headers_get_431(live: LiveServer) -> None:
    sock = connect(live)
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(11))
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n")
    assert status(read_all(sock)) == 431
    sock = connect(live)
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nX-Long: " + b"v" * 3000 + b"\r\n\r\n")
    assert status(read_all(sock)) == 431


def test_headers_not_sent_in_time_are_closed_with_408(live: LiveServer) -> None:
    silent = connect(live)  # sends nothing at all
    slow = connect(live)
    slow.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n")
    assert works(live)  # meanwhile others are served
    assert status(read_all(slow)) == 408
    assert status(read_all(silent)) == 408


def test_a_slow_second_request_on_a_kept_alive_connection_gets_408(live: LiveServer) -> None:
    sock = connect(live)
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\nGET /openapi.json HTTP/1.1\r\n")
    answer = read_all(sock)  # the first answered, the second closed for its slow headers
    assert answer.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 408" in answer


def test_a_body_not_sent_in_time_is_closed_with_408(live: LiveServer) -> None:
    path = "/op/v0/device/list"
    signed = signing.headers(path, live.account("slow"), int(time.time() * 1000))
    head = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in signed.items())
    sock = connect(live)
    sock.sendall(
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + head
        + b"Content-Length: 100\r\n\r\n" + b'{"currentPage": 1'
    )  # fmt: skip
    assert status(read_all(sock)) == 408


def test_a_large_body_is_refused_with_413_before_it_is_read(live: LiveServer) -> None:
    sock = connect(live)
    sock.sendall(
        b"POST /op/v0/device/list HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n"
    )
    answer = read_all(sock)  # answered without sending a byte of the 100 MB
    assert status(answer) == 413
    assert b'"errno":40257' in answer and b"x-foxden-detail: body: larger than" in answer
    sock = connect(live)
    sock.sendall(
        b"POST /op/v0/device/list HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    try:
        for _ in range(20):
            sock.sendall(b"200\r\n" + b"a" * 512 + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert status(read_all(sock)) == 413
    assert works(live)


def test_connections_beyond_the_limit_are_refused_at_once(live: LiveServer) -> None:
    idle = [connect(live) for _ in range(LIMITS["max_connections"])]
    time.sleep(0.1)
    extra = connect(live)
    assert status(read_all(extra)) == 503
    for sock in idle:
        sock.close()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            if works(live):
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    assert works(live)


def test_an_idle_keep_alive_connection_is_closed(live: LiveServer) -> None:
    sock = connect(live)
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = read_all(sock)  # the answer, then the close after the idle time
    assert status(answer) == 200
