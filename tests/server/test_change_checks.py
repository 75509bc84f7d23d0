"""Server workers sharing a PostgreSQL database read the change counters as a request's view
opens, so a write through one worker is read back through every other at once. One reading
answers for every request that arrived before it began: such a request cannot know of a write
committed after that reading began."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator

import pytest

from foxden.accounts import key_hash
from foxden.store import Store, open_store
from tests.conftest import fresh_postgres
from tests.server.test_statements import Statements

COUNTERS = "last_value"


@pytest.fixture
def stores() -> Iterator[tuple[Store, Store]]:
    """A worker's store (reading the counters) and another process's, on one database."""
    with fresh_postgres() as url:
        reader, writer = open_store(url), open_store(url)
        reader.exact_changes = True  # type: ignore[attr-defined]
        try:
            yield reader, writer
        finally:
            reader.close()
            writer.close()


def readings(texts: list[str]) -> int:
    return sum(COUNTERS in t for t in texts)


def test_one_reading_answers_for_the_requests_that_arrived_before_it(
    stores: tuple[Store, Store],
) -> None:
    reader, writer = stores
    account = writer.create_account("alice", key_hash("first key"), 1)
    spy = Statements(reader)

    def look_up(arrived: float | None, key: str = "first key") -> object:
        with reader.request_view(arrived):
            return reader.account_by_key_hash(key_hash(key))

    deadline = time.monotonic() + 5  # until the creation's notification has been heard
    while True:
        first = time.perf_counter()
        texts = spy.during(functools.partial(look_up, first))
        if len(texts) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert readings(texts) == len(texts) == 1  # the view's reading; the account cached
    for _ in range(3):
        queued = spy.during(lambda: look_up(first))  # arrived before that reading began
        assert queued == []  # no reading, and the account from the cache
    writer.set_key_hash("alice", key_hash("second key"))
    after = time.perf_counter()  # a request sent once the write was answered
    texts = spy.during(lambda: look_up(after))
    assert readings(texts) >= 1
    with reader.request_view(after):
        assert reader.account_by_key_hash(key_hash("first key")) is None
        found = reader.account_by_key_hash(key_hash("second key"))
    assert found is not None and found.id == account.id


def test_a_request_without_an_arrival_time_always_reads(stores: tuple[Store, Store]) -> None:
    reader, writer = stores
    writer.create_account("alice", key_hash("first key"), 1)
    spy = Statements(reader)
    for _ in range(3):
        texts = spy.during(lambda: reader.request_view().__enter__())
        reader.request_view().__exit__(None, None, None)
        assert readings(texts) == 1


def test_a_failed_reading_answers_for_nothing(stores: tuple[Store, Store]) -> None:
    reader, writer = stores
    writer.create_account("alice", key_hash("first key"), 1)
    arrived = time.perf_counter()
    with reader.request_view(arrived):
        pass
    spy = Statements(reader)
    original = reader._x  # type: ignore[attr-defined]

    def refuse(sql: str, params: object = ()) -> object:
        if COUNTERS in sql:
            raise RuntimeError("the database went away")
        return original(sql, params)

    reader._x = refuse  # type: ignore[attr-defined]
    with reader.request_view(time.perf_counter()):
        pass  # cannot tell: nothing cached for it
    reader._x = original  # type: ignore[attr-defined]
    texts = spy.during(lambda: reader.request_view(arrived).__enter__())
    reader.request_view().__exit__(None, None, None)
    assert readings(texts) == 1  # the earlier reading no longer answers
