"""The change counters read on the event loop (``AsyncChangeCounters``): a worker on
PostgreSQL with ``exact_changes`` answers a request from its caches on the loop once a
reading that began after the request arrived has been taken, and one reading answers every
request that arrived before it began."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from foxden.accounts import key_hash
from foxden.store import open_store
from foxden.store.postgres import PostgresStore
from foxden.store.postgres_async import AsyncChangeCounters
from foxden.store.waiting import WouldWait, without_waiting
from tests.conftest import fresh_postgres, listening


@pytest.fixture
def stores() -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """A worker's store (exact changes, read connections) and another process's."""
    with fresh_postgres() as url:
        reader, writer = open_store(url), open_store(url)
        assert isinstance(reader, PostgresStore) and isinstance(writer, PostgresStore)
        reader.exact_changes = True
        reader.open_readers(1)
        try:
            yield reader, writer
        finally:
            reader.close()
            writer.close()


def on_loop(store: PostgresStore, arrived: float, key: str) -> object:
    """The account of ``key`` as the loop reads it: never a query, never a wait."""
    with without_waiting(), store.request_view(arrived):
        return store.account_by_key_hash(key_hash(key))


def test_a_write_by_another_process_is_seen_on_the_loop_after_a_reading(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    reader, writer = stores
    listening(reader)
    account = writer.create_account("alice", key_hash("first key"), 1)
    counters = AsyncChangeCounters(reader)

    async def scenario() -> None:
        first = time.perf_counter()
        with pytest.raises(WouldWait):  # no reading since it arrived: a query away
            on_loop(reader, first, "first key")
        assert await counters.seen_since(first)
        assert counters.readings == 1
        with pytest.raises(WouldWait):  # the account is not cached yet: a query away
            on_loop(reader, first, "first key")
        with reader.request_view(first):  # read where waiting is allowed: now cached
            assert reader.account_by_key_hash(key_hash("first key")) is not None
        found = on_loop(reader, first, "first key")
        assert getattr(found, "id", None) == account.id
        assert await counters.seen_since(first)  # arrived before that reading: no new one
        assert counters.readings == 1
        writer.set_key_hash("alice", key_hash("second key"))
        after = time.perf_counter()  # sent once the write was answered
        assert await counters.seen_since(after)
        assert counters.readings == 2
        # the old key's cached account is not served: that reading dropped it (if the
        # write's notification had not already), so it is a query away again
        with pytest.raises(WouldWait):
            on_loop(reader, after, "first key")
        await counters.aclose()

    asyncio.run(scenario())


def test_one_reading_answers_every_request_that_arrived_before_it_began(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    reader, _ = stores
    listening(reader)
    counters = AsyncChangeCounters(reader)

    async def scenario() -> None:
        arrived = [time.perf_counter() for _ in range(50)]
        assert all(await asyncio.gather(*(counters.seen_since(t) for t in arrived)))
        assert counters.readings == 1
        # arrivals while a reading is under way wait for the next one, which answers all
        first = asyncio.ensure_future(counters.seen_since(time.perf_counter()))
        await asyncio.sleep(0.001)  # the reading has begun (and may have ended)
        later = [time.perf_counter() for _ in range(20)]
        assert all(await asyncio.gather(first, *(counters.seen_since(t) for t in later)))
        assert counters.readings == 3
        await counters.aclose()

    asyncio.run(scenario())


def test_a_database_that_cannot_be_read_sends_requests_the_other_way_for_a_while(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    reader, _ = stores
    counters = AsyncChangeCounters(reader)
    counters.AWAY_S = 60.0

    class Away:
        url = "postgresql://nobody@127.0.0.1:1/none"
        VERSIONS_SQL = reader.VERSIONS_SQL
        shared_counters = None

        def changes_read_since(self, arrived: float) -> bool:
            return False

    counters.store = Away()  # type: ignore[assignment]

    async def scenario() -> None:
        assert not await counters.seen_since(time.perf_counter())
        started = time.monotonic()
        assert not await counters.seen_since(time.perf_counter())  # at once, no new try
        assert time.monotonic() - started < 1
        assert counters.readings == 0
        await counters.aclose()

    asyncio.run(scenario())


def test_a_reading_slower_than_the_timeout_sends_the_request_the_other_way(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    reader, _ = stores
    listening(reader)
    counters = AsyncChangeCounters(reader)
    counters.TIMEOUT_S = 0.05
    reader_sql = reader.VERSIONS_SQL

    async def scenario() -> None:
        counters.store.VERSIONS_SQL = "SELECT pg_sleep(0.5), 1"
        try:
            started = time.monotonic()
            assert not await counters.seen_since(time.perf_counter())
            assert time.monotonic() - started < 0.4
        finally:
            counters.store.VERSIONS_SQL = reader_sql
        await counters.aclose()

    asyncio.run(scenario())


def test_a_request_cancelled_while_it_waits_leaves_the_reading_to_the_others(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    reader, _ = stores
    listening(reader)
    counters = AsyncChangeCounters(reader)

    async def scenario() -> None:
        arrived = time.perf_counter()
        first = asyncio.ensure_future(counters.seen_since(arrived))
        second = asyncio.ensure_future(counters.seen_since(arrived))
        await asyncio.sleep(0)  # both wait for the one reading under way
        assert not first.done() and not second.done()
        first.cancel()
        assert await second
        assert counters.readings == 1
        with pytest.raises(asyncio.CancelledError):
            await first
        await counters.aclose()

    asyncio.run(scenario())
