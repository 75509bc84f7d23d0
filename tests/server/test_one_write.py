"""A response's status line and headers go out with its body in one transport write when
both are sent in the same step of the event loop, and never later than the end of that step
when they are not (a streamed answer, a HEAD answer, a connection closed after the
headers)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from foxden.server.http import _OneWrite
from tests.conftest import start_server
from tests.server.calls import header_of, raw_request, read_until_closed


class Recorder:
    """A transport that records what it is asked to write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.lines: list[int] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def writelines(self, parts: list[bytes]) -> None:
        self.writes.append(b"".join(parts))
        self.lines.append(len(parts))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return f"info {name}"


def run(steps: Any) -> Recorder:
    async def main() -> Recorder:
        transport = Recorder()
        await steps(_OneWrite(transport, asyncio.get_running_loop()), transport)  # type: ignore[arg-type]
        return transport

    return asyncio.run(main())


def test_headers_and_body_written_in_one_step_go_out_as_one_write() -> None:
    async def steps(one: _OneWrite, transport: Recorder) -> None:
        one.write(b"HTTP/1.1 200 OK\r\n\r\n")
        assert transport.writes == []
        one.write(b"body")
        assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        await asyncio.sleep(0)
        one.write(b"more")

    assert run(steps).writes == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"more"]


def test_a_large_body_goes_out_beside_the_headers_in_one_call() -> None:
    body = b"x" * 100_000

    async def steps(one: _OneWrite, transport: Recorder) -> None:
        one.write(b"HTTP/1.1 200 OK\r\n\r\n")
        one.write(body)
        await asyncio.sleep(0)

    transport = run(steps)
    assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\n" + body]
    assert transport.lines == [2]


def test_headers_alone_go_out_at_the_end_of_the_step() -> None:
    async def steps(one: _OneWrite, transport: Recorder) -> None:
        one.write(b"HTTP/1.1 200 OK\r\n\r\n")
        await asyncio.sleep(0)
        assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\n"]
        one.write(b"chunk")
        assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\n", b"chunk"]

    run(steps)


def test_closing_sends_what_is_held_first_and_other_calls_pass_through() -> None:
    async def steps(one: _OneWrite, transport: Recorder) -> None:
        one.write(b"HTTP/1.1 200 OK\r\ncontent-length: 64\r\n\r\n")
        one.close()
        assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 64\r\n\r\n"]
        assert transport.closed and one.is_closing()
        assert one.get_extra_info("peername") == "info peername"
        await asyncio.sleep(0)

    assert len(run(steps).writes) == 1


def test_nothing_is_written_after_the_transport_closed() -> None:
    async def steps(one: _OneWrite, transport: Recorder) -> None:
        one.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.closed = True
        await asyncio.sleep(0)

    assert run(steps).writes == []


def exchange(port: int, request: bytes) -> bytes:
    """Send one request and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(request)
        return read_until_closed(sock)


def test_answers_over_http_are_whole(tmp_path: Path) -> None:
    server = start_server(tmp_path, rate_per_second=1e6, rate_burst=10**6)
    try:
        key = server.account("one")
        port = int(server.url.rsplit(":", 1)[1])
        got = exchange(
            port, raw_request("/op/v0/user/getAccessCount", key, extra="connection: close\r\n")
        )
        head, _, body = got.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b'"errno":0' in body
        assert int(header_of(head, b"content-length")) == len(body)
        got = exchange(port, b"HEAD /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 ") and got.endswith(b"\r\n\r\n")
    finally:
        server.stop()
