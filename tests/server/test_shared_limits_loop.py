"""Call limits in Redis asked from the event loop (``RedisLimits.admit_async``): a PostgreSQL
worker's database thread no longer carries the Redis round trips, and limits stay exact when
many calls' admissions are in flight at once in each of two servers."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from foxden.accounts import key_hash
from foxden.client import ApiError, Client
from foxden.clock import FrozenClock
from foxden.config import Settings
from foxden.server.app import FoxdenApp
from foxden.server.limits import utc_day
from foxden.server.shared_changes import RedisChangeCounters
from foxden.server.shared_limits import RedisLimits
from foxden.store import open_store
from foxden.store.changes import ACCOUNTS, DEVICES
from foxden.store.postgres_async import AsyncChangeCounters
from tests.conftest import LiveServer, fresh_postgres, serve_in_thread, start_server

H1 = "60H150E2430101A"
H3 = "60H310E2430102A"


class Tally:
    """Work given to a server's database threads (the writing one and the readers)."""

    given = 0


class CountingPool(ThreadPoolExecutor):
    """Database threads, counting the work they are given in a tally."""

    def __init__(self, workers: int, tally: Tally) -> None:
        super().__init__(workers, thread_name_prefix="foxden-db")
        self.tally = tally

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.tally.given += 1
        return super().submit(fn, *args, **kwargs)


class SyncRedisCalls:
    """Counts what a server asks Redis through its synchronous client (the database
    thread's): the admission script and the replay cache."""

    def __init__(self, shared: RedisLimits) -> None:
        self.calls = 0
        call, first_use = shared._call, shared.first_use

        def counted_call(*args: Any) -> Any:
            self.calls += 1
            return call(*args)

        def counted_first_use(*args: Any) -> bool:
            self.calls += 1
            return first_use(*args)

        shared._call = counted_call  # type: ignore[method-assign,assignment]
        shared.first_use = counted_first_use  # type: ignore[method-assign,assignment]


def _counting(live: LiveServer) -> Tally:
    tally = Tally()
    old, readers = live.foxden.db_thread, live.foxden.read_threads
    assert old is not None  # PostgreSQL: store calls go to the database threads
    live.foxden.db_thread = CountingPool(1, tally)
    old.shutdown()
    if readers is not None:
        live.foxden.read_threads = CountingPool(readers._max_workers, tally)
        readers.shutdown()
    return tally


def errno_of(call: Callable[[], Any]) -> int:
    try:
        call()
    except ApiError as exc:
        return exc.errno
    return 0


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


def test_warm_calls_with_redis_limits_never_use_the_database_thread(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    """Counted, paced and replay-checked calls, and the quota's count: once the account, the
    device and the day's count are known, not one of them goes to the database threads, and
    Redis is asked only through the event loop's client; the counts are exact."""
    live = start_server(
        tmp_path,
        database_url=pg_url,
        redis_url=redis_url,
        limit_profile="cloud",
        replay_cache=True,
        quota_flush_s=3600.0,
        quota_flush_every=1000,
    )
    try:
        key = live.account("loop")
        live.device("loop", H1)
        shared = live.foxden.auth.shared
        assert isinstance(shared, RedisLimits)
        pool = _counting(live)
        sync = SyncRedisCalls(shared)
        wall = FrozenClock(time.time_ns() // 1_000_000)
        live.foxden.wall = wall
        client = live.client(key)

        def apart(call: Callable[[], Any]) -> int:
            time.sleep(0.002)  # signed with a timestamp of its own (the replay cache)
            return errno_of(call)

        first = client.battery_soc(H1)  # cold: account, device and the day's count
        client.real_time_v1([H1])  # cold: the newest samples
        cold = pool.given
        assert cold >= 1
        for _ in range(5):
            wall.advance(1_000)
            assert client.battery_soc(H1) == first
            assert apart(lambda: client.real_time_v1([H1])) == 0  # a paced query
            assert apart(lambda: client.real_time_v1([H1])) == 40400  # paced by Redis
            client.access_count()  # the day's count read ahead on the loop
        assert pool.given == cold  # admission and answers: all on the loop
        assert sync.calls == 0
        time.sleep(0.002)  # not the same millisecond as the last call to this path (replays)
        count = client.access_count()
        # 6 soc reads + 6 real-time calls admitted; the refused ones cost nothing
        assert int(count.total) - int(count.remaining) == 12
    finally:
        live.stop()
        live.store.close()


def test_a_worker_reading_the_change_counters_answers_warm_calls_on_the_loop(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    """A worker among several (``exact_changes``: every request sees what other processes
    committed before it was sent) confirms its cached rows on its event loop, with the
    Redis round trip each call makes anyway (the admission, or the day's count read
    ahead), so warm calls give its database threads no work and need no reading of the
    change counters of their own; another process's write is read back by the very next
    call."""
    settings = replace(
        Settings(data_dir=str(tmp_path)),
        database_url=pg_url,
        redis_url=redis_url,
        limit_profile="cloud",
        quota_flush_s=3600.0,
        quota_flush_every=1000,
    )
    store = open_store(settings.database())
    store.exact_changes = True  # type: ignore[attr-defined]
    foxden = FoxdenApp(settings, store)
    counters = foxden.changes
    assert isinstance(counters, AsyncChangeCounters)
    url, server, thread = serve_in_thread(foxden.app, settings)
    live = LiveServer(url, store, foxden, tmp_path, server, thread)
    shared = RedisChangeCounters(redis.Redis.from_url(redis_url))

    def another_process(sql: str, topic: str) -> None:
        """A write another process made, seen through Redis alone (no notification)."""
        with psycopg.connect(pg_url, autocommit=True) as db:
            db.execute(sql.encode())
        shared.bump({topic})

    try:
        key = live.account("loop")
        live.device("loop", H1)
        pool = _counting(live)
        client = live.client(key)
        first = client.battery_soc(H1)  # cold: account, device and the day's count
        client.access_count()
        cold, readings = pool.given, counters.readings
        assert cold >= 1 and readings >= 1
        for _ in range(5):
            assert client.battery_soc(H1) == first
            assert int(client.access_count().remaining) > 0
        assert pool.given == cold  # all on the loop
        assert counters.readings == readings  # each call confirmed by its admission
        count = client.access_count()
        used = int(count.total) - int(count.remaining)
        another_process("SELECT 1", DEVICES)
        assert client.battery_soc(H1) == first  # the mark moved: not admitted, then again
        assert counters.readings == readings + 1
        another_process("SELECT 1", DEVICES)
        count = client.access_count()  # the day's count read with the mark: moved, again
        assert counters.readings == readings + 2
        assert int(count.total) - int(count.remaining) == used + 1  # counted once
        new_hash = key_hash("a-new-key-0123456789")
        another_process(
            f"UPDATE accounts SET key_hash = '{new_hash}' WHERE name = 'loop'", ACCOUNTS
        )
        assert errno_of(lambda: client.battery_soc(H1)) == 41808  # the old key, at once
        assert counters.readings == readings + 3  # the admission found the mark moved
        assert live.client("a-new-key-0123456789").battery_soc(H1) == first
    finally:
        live.stop()
        live.store.close()


def test_50_callers_over_two_servers_get_exact_quota_and_pacing(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    """Two PostgreSQL servers on one Redis, 50 callers at once on each kind of limit: the
    admissions of each server are in flight together on its loop, and Redis still admits
    exactly the quota's total and one paced call per path."""
    wall = FrozenClock(time.time_ns() // 1_000_000)
    servers: list[LiveServer] = []
    try:
        for name in ("a", "b"):
            live = start_server(
                tmp_path / name,
                database_url=pg_url,
                redis_url=redis_url,
                limit_profile="cloud",
                daily_quota_per_device=20,
                quota_flush_every=1,
            )
            live.foxden.wall = wall
            live.store.exact_changes = True  # type: ignore[attr-defined]  # as workers run
            servers.append(live)
        key = servers[0].account("alice")
        servers[0].device("alice", H1, "H1-5.0-E")
        servers[0].device("alice", H3, "H3-10.0-E")
        pools = [_counting(live) for live in servers]
        syncs = [SyncRedisCalls(live.foxden.auth.shared) for live in servers]  # type: ignore[arg-type]
        clients: list[Client] = [servers[i % 2].client(key) for i in range(50)]
        with ThreadPoolExecutor(50) as threads:
            paced = list(threads.map(lambda c: errno_of(lambda: c.real_time_v1([H1])), clients))
        assert Counter(paced) == {0: 1, 40400: 49}
        wall.advance(1_000)
        with ThreadPoolExecutor(50) as threads:
            counted = list(
                threads.map(lambda i: errno_of(lambda: clients[i % 50].battery_soc(H1)), range(60))
            )
        assert Counter(counted) == {0: 39, 40402: 21}  # 40 a day: one went to the paced call
        for client in clients[:2]:
            total = client.access_count()
            assert (total.total, total.remaining) == ("40", "0")
        assert all(sync.calls == 0 for sync in syncs)  # admission never used the db thread's
        assert all(pool.given > 0 for pool in pools)
        day = utc_day(wall.now_ms())
        for live in servers:
            live.foxden.quota.flush()
            account = live.store.account_by_name("alice")
            assert account is not None
            assert live.store.usage(account.id, day) == 40
    finally:
        for live in servers:
            live.stop()
        for live in servers:
            live.store.close()
