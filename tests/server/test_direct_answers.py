"""Open API calls answered by the HTTP protocol without an ASGI cycle
(``foxden.server.http``, ``FastPath.direct``): the same bytes as through the app, pipelined
answers in order, HTTP/1.0 and ``Connection: close`` honoured, a body read in pieces, the
body timeout, a client that does not read, and the calls that must go through the app."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from foxden.server.chaos import Match, RuleSpec
from foxden.server.fast import CARRIED
from foxden.server.http import GuardedHttpToolsProtocol
from foxden.server.journal import Query
from tests.conftest import LiveServer, fresh_postgres, start_server
from tests.server.calls import header_of, raw_request, read_until_closed

COUNT = "/op/v0/user/getAccessCount"
LIST = "/op/v0/device/list"
VARIABLES = "/op/v0/device/variable/get"
SOC = "/op/v0/device/battery/soc/get"
SN = "PGDIRECT00001"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(tmp_path, rate_per_second=1e6, rate_burst=10**6, body_timeout_s=0.5)
    yield live
    live.stop()


def port_of(live: LiveServer) -> int:
    return int(live.url.rsplit(":", 1)[1])


def read_answers(sock: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` answers (head, body) read from ``sock`` by their content-length."""
    data = b""
    answers: list[tuple[bytes, bytes]] = []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(answers)} answers"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        length = int(header_of(head, b"content-length"))
        while len(data) < length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed inside a body"
            data += chunk
        answers.append((head, data[:length]))
        data = data[length:]
    return answers


def names(head: bytes) -> list[bytes]:
    return [line.partition(b":")[0].lower() for line in head.split(b"\r\n")[1:]]


def used(body: bytes) -> int:
    result = msgspec.json.decode(body)["result"]
    return int(result["total"]) - int(result["remaining"])


def test_the_direct_table_lists_the_signed_calls(server: LiveServer) -> None:
    direct = server.foxden.app.direct
    assert ("GET", COUNT) in direct and ("POST", LIST) in direct
    assert ("GET", "/metrics") not in direct  # not an Open API call


def test_a_direct_answer_has_the_bytes_and_headers_of_one_through_the_app(
    server: LiveServer,
) -> None:
    key = server.account("one")
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(raw_request(COUNT, key))
        ((direct_head, direct_body),) = read_answers(sock, 1)
        # any chaos rule sends every call through the app (a rule may delay an answer)
        server.foxden.chaos.add(RuleSpec(match=Match(path="/op/v0/plant/list"), delay_ms=1), 0)
        sock.sendall(raw_request(COUNT, key))
        ((app_head, app_body),) = read_answers(sock, 1)
    assert direct_head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert names(direct_head) == names(app_head)
    assert direct_body == app_body
    assert msgspec.json.decode(direct_body)["errno"] == 0
    journal = server.foxden.journal.query(Query(path=COUNT))
    assert [(e["errno"], e["account"]) for e in journal] == [(0, "one"), (0, "one")]


def test_pipelined_requests_are_answered_in_order_across_both_ways(server: LiveServer) -> None:
    key = server.account("one")
    batch = (
        raw_request(COUNT, key)
        + b"GET /openapi.json HTTP/1.1\r\nhost: x\r\n\r\n"  # through the app
        + raw_request(COUNT, key)
        + raw_request(LIST, key, b'{"currentPage":1,"pageSize":10}')
        + raw_request(COUNT, key)
    )
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(batch)
        answers = read_answers(sock, 5)
    assert [used(answers[i][1]) for i in (0, 2, 4)] == [0, 0, 1]  # device/list counts
    assert b'"openapi"' in answers[1][1]
    assert msgspec.json.decode(answers[3][1])["errno"] == 0


def test_http_10_and_connection_close_end_the_connection(server: LiveServer) -> None:
    key = server.account("one")
    for raw in (
        raw_request(COUNT, key).replace(b"HTTP/1.1", b"HTTP/1.0", 1),
        raw_request(COUNT, key, extra="connection: close\r\n"),
    ):
        with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
            sock.sendall(raw)
            data = read_until_closed(sock)  # the server closes
        head, _, body = data.partition(b"\r\n\r\n")
        assert header_of(head, b"connection") == b"close"
        assert int(header_of(head, b"content-length")) == len(body)
        assert msgspec.json.decode(body)["errno"] == 0


def test_a_body_that_arrives_in_pieces_is_answered_once_whole(server: LiveServer) -> None:
    key = server.account("one")
    raw = raw_request(LIST, key, b'{"currentPage":1,"pageSize":10}')
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        for part in (raw[:-20], raw[-20:-5], raw[-5:]):
            sock.sendall(part)
            time.sleep(0.05)
        ((head, body),) = read_answers(sock, 1)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert msgspec.json.decode(body)["errno"] == 0


def test_a_body_that_stops_coming_gets_408(server: LiveServer) -> None:
    key = server.account("one")
    raw = raw_request(LIST, key, b'{"currentPage":1,"pageSize":10}')
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(raw[:-5])
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")


def test_a_bad_request_is_refused_directly_with_the_vendor_envelope(server: LiveServer) -> None:
    key = server.account("one")
    raw = raw_request(LIST, key, b'{"currentPage":"x"}')
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(raw)
        ((head, body),) = read_answers(sock, 1)
    assert msgspec.json.decode(body)["errno"] == 40257
    assert b"currentPage" in header_of(head, b"x-foxden-detail")


def test_a_client_that_does_not_read_gets_every_answer_in_order(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thousand pipelined pairs of calls (the variables, 24 KB, then the day's count)
    sent before any answer is read: once the transport is full the rest go through the
    app, which waits for the client; all are answered, in order. The requests arrive in
    chunks of many, so this also checks that a head's size is not counted from the
    requests before it in its chunk."""
    through_app = []
    start_task = GuardedHttpToolsProtocol._start_asgi_task

    def counted(protocol: GuardedHttpToolsProtocol, cycle: Any, app: Any) -> None:
        through_app.append(cycle.scope["path"])
        start_task(protocol, cycle, app)

    monkeypatch.setattr(GuardedHttpToolsProtocol, "_start_asgi_task", counted)
    key = server.account("one")
    count = 1000  # within the daily quota (1,440 calls)
    one = raw_request(VARIABLES, key) + raw_request(COUNT, key)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window
        sock.settimeout(30)
        sock.connect(("127.0.0.1", port_of(server)))
        sender = threading.Thread(target=sock.sendall, args=(one * count,))
        sender.start()
        time.sleep(0.5)  # the server writes until the transport is full
        answers = read_answers(sock, 2 * count)
        sender.join()
    assert [used(body) for _, body in answers[1::2]] == list(range(1, count + 1))
    assert through_app  # the transport filled up: some waited for the client


def test_on_postgresql_a_read_that_needs_a_query_is_finished_by_the_app_counted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the direct answer checks, counts and answers a call on the loop from
    cached rows; once a write dropped the device's settings the answer needs a query, so
    the app finishes the call in a thread from where the loop stopped: each call counted
    once, recorded once, answered."""
    with fresh_postgres() as url:
        live = start_server(tmp_path, database_url=url, rate_per_second=1e6, rate_burst=10**6)
        carried: list[Any] = []
        start_cycle = GuardedHttpToolsProtocol._start_cycle

        def counted(protocol: GuardedHttpToolsProtocol, body: bytes) -> None:
            carried.append(protocol.scope.get(CARRIED))
            start_cycle(protocol, body)

        try:
            key = live.account("pg")
            live.device("pg", SN)
            client = live.client(key)
            assert client.battery_soc(SN).minSoc == 10  # rows cached after this
            monkeypatch.setattr(GuardedHttpToolsProtocol, "_start_cycle", counted)
            for i in range(3):
                client.set_battery_soc(SN, 11 + i, 20)  # the device's settings dropped
                assert client.battery_soc(SN).minSoc == 11 + i  # a query, once counted
            count = client.access_count()
        finally:
            live.stop()
            live.store.close()
    # the writes go through the app; each read was checked and counted on the loop, then
    # carried to the app with its account
    reads = [c for c in carried if c is not None and c[0].path == SOC]
    assert [len(c[1]) for c in reads] == [1, 1, 1]
    assert int(count.total) - int(count.remaining) == 7  # 4 reads and 3 writes, once each
    journal = live.foxden.journal.query(Query(path=SOC))
    assert [(e["errno"], e["account"]) for e in journal] == [(0, "pg")] * 4


def test_a_direct_answer_that_fails_before_it_is_written_is_a_500_and_closes(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = server.account("one")

    def broken() -> int:
        raise RuntimeError("clock gone")

    monkeypatch.setattr(server.foxden.wall, "now_ms", broken)
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(raw_request(COUNT, key))
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 500 ") and data.endswith(b"Internal Server Error")
    assert "direct answer failed" in caplog.text


def test_a_direct_answer_that_fails_after_it_is_written_only_closes(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = server.account("one")

    def broken(call: object) -> None:
        raise RuntimeError("journal gone")

    monkeypatch.setattr(server.foxden, "observe", broken)
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(raw_request(COUNT, key))
        data = read_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")  # the answer whole, and nothing after it
    assert int(header_of(head, b"content-length")) == len(body)
    assert msgspec.json.decode(body)["errno"] == 0
