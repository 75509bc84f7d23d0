"""The change counters in Redis (``foxden.server.shared_changes``): with Redis beside
PostgreSQL a worker reads the counters there, not the database's sequences, and every
writer that knows Redis (a worker, the fleet process, the command line) moves them after
its commit; a Redis that lost its data and counted again is still seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import redis
import redis.asyncio
from typer.testing import CliRunner

from foxden.accounts import key_hash
from foxden.cli.main import app
from foxden.server.shared_changes import BORN, RedisChangeCounters, share_changes
from foxden.store import Account, open_store
from foxden.store.changes import ACCOUNTS, TOPIC_ORDER
from foxden.store.postgres import PostgresStore
from foxden.store.postgres_async import AsyncChangeCounters
from foxden.store.waiting import WouldWait, without_waiting
from tests.conftest import fresh_postgres, listening
from tests.server.test_statements import Statements


class Stores:
    """A worker's store (exact changes, counters in Redis), another process's store that
    moves them, and the Redis both use."""

    def __init__(self, url: str, redis_url: str) -> None:
        self.url = url
        self.redis_url = redis_url
        self.redis = redis.Redis.from_url(redis_url)
        reader, writer = open_store(url), open_store(url)
        assert isinstance(reader, PostgresStore) and isinstance(writer, PostgresStore)
        self.reader, self.writer = reader, writer
        reader.exact_changes = True
        reader.open_readers(1)
        self.loop_clients: list[redis.asyncio.Redis] = []
        reader.shared_counters = RedisChangeCounters(self.redis, self.loop_client)
        assert share_changes(writer, redis_url)
        self.counters = RedisChangeCounters(self.redis)
        listening(reader)

    def loop_client(self) -> redis.asyncio.Redis:
        client = redis.asyncio.Redis.from_url(self.redis_url)
        self.loop_clients.append(client)
        return client

    def look_up(self, key: str, arrived: float | None = None) -> Account | None:
        with self.reader.request_view(arrived):
            return self.reader.account_by_key_hash(key_hash(key))

    def behind_its_back(self, sql: str) -> None:
        """A write no store made: no notification, no counter moved."""
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(sql.encode())

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


@pytest.fixture
def stores(redis_url: str) -> Iterator[Stores]:
    with fresh_postgres() as url:
        made = Stores(url, redis_url)
        try:
            yield made
        finally:
            made.close()


def test_a_reading_takes_the_counters_from_redis_and_sends_the_database_nothing(
    stores: Stores,
) -> None:
    # every write behind the stores' backs (no notification, which could come late and
    # drop the cached row below): only a counter can tell
    stores.behind_its_back(
        f"INSERT INTO accounts(name, key_hash, created_ms) VALUES ('alice', '{key_hash('k1')}', 1)"
    )
    account = stores.look_up("k1")  # a reading, and the row cached
    assert account is not None and account.name == "alice"
    stores.behind_its_back(f"UPDATE accounts SET key_hash = '{key_hash('k2')}'")
    stores.counters.bump({ACCOUNTS})
    spy = Statements(stores.reader)
    assert spy.during(lambda: stores.look_up("k1")) != []  # dropped: read again
    assert stores.look_up("k1") is None
    assert stores.look_up("k2") == account
    assert not [t for t in spy.texts if "last_value" in t]  # no sequence was read
    # the sequences are not what is read: moved alone, they leave the cached row in use
    stores.behind_its_back(f"UPDATE accounts SET key_hash = '{key_hash('k3')}'")
    stores.behind_its_back(f"SELECT nextval('foxden_changes_{ACCOUNTS}')")
    assert stores.look_up("k2") == account
    stores.counters.bump({ACCOUNTS})
    assert stores.look_up("k2") is None and stores.look_up("k3") == account


def test_a_store_sharing_its_counters_moves_them_after_each_commit_that_touched_a_topic(
    stores: Stores,
) -> None:
    def fields() -> dict[str, int]:
        raw: dict[bytes, bytes] = stores.redis.hgetall(stores.counters.key)  # type: ignore[assignment]
        return {k.decode(): int(v) for k, v in raw.items()}

    def mark() -> int | None:
        raw = stores.redis.get(stores.counters.mark_key)
        return None if raw is None else int(raw)

    assert fields() == {} and mark() is None
    stores.writer.create_account("alice", key_hash("k1"), 1)
    after_one, mark_one = fields(), mark()
    assert after_one[ACCOUNTS] == 1 and BORN in after_one and mark_one is not None
    stores.writer.set_key_hash("alice", key_hash("k2"))
    after_two = fields()
    assert after_two[ACCOUNTS] == 2 and after_two[BORN] == after_one[BORN]
    assert mark() == mark_one + 1  # the mark moves with every bump
    with stores.writer.transaction(frozenset()):  # touches nothing cached (usage)
        pass
    assert fields() == after_two and mark() == mark_one + 1
    with pytest.raises(RuntimeError), stores.writer.transaction({ACCOUNTS}):
        raise RuntimeError("rolled back")
    assert fields() == after_two and mark() == mark_one + 1  # nothing committed: nothing moved
    # the reading: born + count per topic, in TOPIC_ORDER, then the mark
    born = fields()[BORN]
    assert stores.counters.read() == (
        *(born + fields().get(topic, 0) for topic in TOPIC_ORDER),
        mark_one + 1,
    )


def test_a_redis_that_lost_its_data_and_counted_again_is_still_seen(stores: Stores) -> None:
    account = stores.writer.create_account("alice", key_hash("k1"), 1)
    assert stores.look_up("k1") == account  # a reading: accounts at born + 1
    stores.redis.flushdb()  # Redis restarted without persistence
    stores.behind_its_back(f"UPDATE accounts SET key_hash = '{key_hash('k2')}'")
    stores.counters.bump({ACCOUNTS})  # accounts at 1 again, with a new birth mark
    assert stores.look_up("k1") is None
    assert stores.look_up("k2") == account


def test_a_redis_that_cannot_be_read_leaves_the_caches_unused(stores: Stores) -> None:
    account = stores.writer.create_account("alice", key_hash("k1"), 1)
    assert stores.look_up("k1") == account
    stores.reader.shared_counters = RedisChangeCounters(
        redis.Redis(port=1, socket_connect_timeout=0.5)  # nothing listens there
    )
    stores.behind_its_back(f"UPDATE accounts SET key_hash = '{key_hash('k2')}'")
    assert stores.look_up("k1") is None  # read from the database, not the cache
    assert stores.look_up("k2") == account


def test_the_event_loop_reads_the_counters_in_redis_without_a_database_connection(
    stores: Stores,
) -> None:
    stores.writer.create_account("alice", key_hash("first key"), 1)
    counters = AsyncChangeCounters(stores.reader)

    def on_loop(arrived: float, key: str) -> object:
        with without_waiting(), stores.reader.request_view(arrived):
            return stores.reader.account_by_key_hash(key_hash(key))

    async def scenario() -> None:
        first = time.perf_counter()
        assert await counters.seen_since(first)
        assert counters.readings == 1
        assert stores.look_up("first key", first) is not None  # now cached
        assert on_loop(first, "first key") is not None
        stores.writer.set_key_hash("alice", key_hash("second key"))
        after = time.perf_counter()  # sent once the write was answered
        assert await counters.seen_since(after)
        assert counters.readings == 2
        with pytest.raises(WouldWait):  # dropped by that reading: a query away again
            on_loop(after, "first key")
        assert counters._conn is None  # no PostgreSQL connection was made for them
        await counters.aclose()
        for client in stores.loop_clients:
            await client.aclose()

    asyncio.run(scenario())


def test_a_command_run_on_the_database_moves_the_counters_the_workers_read(
    redis_url: str, tmp_path: Any
) -> None:
    client = redis.Redis.from_url(redis_url)
    counters = RedisChangeCounters(client)
    with fresh_postgres() as url:
        run: Callable[..., Any] = CliRunner().invoke
        env = {"FOXDEN_DATA_DIR": str(tmp_path), "FOXDEN_REDIS_URL": redis_url}
        made = run(app, ["init", "--no-demo", "--database-url", url], env=env)
        assert made.exit_code == 0, made.output
        before = counters.read()
        created = run(app, ["account", "create", "alice", "--database-url", url], env=env)
        assert created.exit_code == 0, created.output
        after = counters.read()
        moved = {
            t
            for t, old, new in zip(TOPIC_ORDER, before[:-1], after[:-1], strict=True)
            if old != new
        }
        assert ACCOUNTS in moved and after[-1] != before[-1]  # the change mark moved too
