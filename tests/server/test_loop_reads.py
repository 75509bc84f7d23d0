"""Reads answered on the event loop without waiting (``foxden.store.waiting``).

On PostgreSQL every query is a network round trip, so the server runs store calls in its
database thread; a read-only call whose rows are all cached is answered on the loop itself.
Inside ``without_waiting`` the store serves cached rows and raises ``WouldWait`` instead of
sending a query or waiting for a lock, before anything is written or spent, so the call starts
again in the database thread and nothing is counted twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from foxden import accounts
from foxden.accounts import key_hash
from foxden.clock import RealClock
from foxden.limits_policy import limit_profile
from foxden.protocol import signing
from foxden.protocol.errno import Errno
from foxden.server.auth import Authenticator
from foxden.server.errors import ApiError
from foxden.server.limits import QuotaKeeper, RateLimiter, utc_day
from foxden.store import Store, open_store
from foxden.store.waiting import GuardedLock, WouldWait, without_waiting
from tests.conftest import LiveServer, fresh_postgres, start_server

SN = "LOOPH1000001"
PATH = "/op/v0/user/getAccessCount"


@pytest.fixture
def pg_store() -> Iterator[Store]:
    with fresh_postgres() as url:
        store = open_store(url)
        try:
            yield store
        finally:
            store.close()


def test_a_guarded_lock_held_elsewhere_raises_instead_of_waiting() -> None:
    lock = GuardedLock()
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    with without_waiting(), pytest.raises(WouldWait), lock:
        pass
    release.set()
    holder.join(10)
    with without_waiting(), lock, lock:  # free now, and re-entrant in this thread
        got = True
    assert got


def test_a_guarded_lock_waits_outside_without_waiting() -> None:
    lock = GuardedLock()
    order: list[str] = []
    taken = threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            time.sleep(0.05)
            order.append("holder done")

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    with lock:
        order.append("waited")
    holder.join(10)
    assert order == ["holder done", "waited"]


def test_postgres_cached_rows_are_read_without_waiting_and_queries_raise(
    pg_store: Store,
) -> None:
    now = RealClock().now_ms()
    account, key = accounts.create_account(pg_store, "loop", now)
    deadline = time.monotonic() + 5
    while True:  # the write's own notification, heard late, may drop the first read's row
        with pg_store.request_view():
            assert pg_store.account_by_key_hash(key_hash(key)) == account  # now cached
        try:
            with without_waiting(), pg_store.request_view():
                pg_store.account_by_key_hash(key_hash(key))
            break
        except WouldWait:
            assert time.monotonic() < deadline, "the row was never kept"
    with without_waiting():
        with pg_store.request_view():
            assert pg_store.account_by_key_hash(key_hash(key)) == account
            with pytest.raises(WouldWait):
                pg_store.account_by_key_hash(key_hash("not a key of anyone"))
        with pytest.raises(WouldWait):
            pg_store.create_account("other", key_hash("another key"), now)
    assert [a.name for a in pg_store.accounts()] == ["loop"]  # nothing was written


def test_postgres_exact_changes_need_a_query_so_a_view_raises_at_once(pg_store: Store) -> None:
    pg_store.exact_changes = True  # type: ignore[attr-defined]
    with without_waiting(), pytest.raises(WouldWait), pg_store.request_view():
        pass
    with pg_store.request_view():  # outside: the counters are read as before
        assert pg_store.accounts() == []


def _signed(key: str, now: int) -> dict[str, str]:
    return signing.headers(PATH, key, now, "en")


def test_auth_stops_before_spending_anything_when_the_quota_count_is_not_cached(
    pg_store: Store,
) -> None:
    """The quota's count of the day is read before the replay cache, the bucket or the
    quota are touched: the same call, started again where waiting is allowed, is not a
    replay and is counted once."""
    now = RealClock().now_ms()
    account, key = accounts.create_account(pg_store, "loop", now)
    quota = QuotaKeeper(pg_store, 10_000)
    auth = Authenticator(
        pg_store,
        60_000,
        RateLimiter(1.0, 1),
        quota,
        limit_profile("cloud"),
        replay_cache=True,
    )
    with pg_store.request_view():
        pg_store.account_by_key_hash(key_hash(key))  # the account is cached, the count not
    headers = _signed(key, now)
    with without_waiting(), pytest.raises(WouldWait), pg_store.request_view():
        auth.check(PATH, headers, now, counted=True)
    with pg_store.request_view():
        assert auth.check(PATH, headers, now, counted=True).id == account.id
    assert quota.used(account.id, now) == 1
    with pytest.raises(ApiError) as again, pg_store.request_view():
        auth.check(PATH, headers, now, counted=True)  # the signature was remembered once
    assert again.value.errno == Errno.HEADER_INVALID


class CountingPool(ThreadPoolExecutor):
    """The server's database thread, counting the work it is given."""

    def __init__(self) -> None:
        super().__init__(1, thread_name_prefix="foxden-db")
        self.given = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.given += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def pg_served(tmp_path: Path) -> Iterator[tuple[LiveServer, CountingPool]]:
    with fresh_postgres() as url:
        server = start_server(
            tmp_path,
            database_url=url,
            rate_per_second=1e6,
            rate_burst=10**6,
            quota_flush_s=3600.0,
            quota_flush_every=1000,
        )
        pool = CountingPool()
        old, readers = server.foxden.db_thread, server.foxden.read_threads
        server.foxden.db_thread = pool
        assert old is not None
        old.shutdown()
        if readers is not None:  # reads that need a query: counted with the rest
            server.foxden.read_threads = pool
            readers.shutdown()
        try:
            yield server, pool
        finally:
            server.stop()
            server.store.close()


def test_warm_reads_on_postgres_are_answered_on_the_loop(
    pg_served: tuple[LiveServer, CountingPool],
) -> None:
    server, pool = pg_served
    key = server.account("loop")
    server.device("loop", SN)
    client = server.client(key)
    first = client.battery_soc(SN)  # cold: the account and device come from the database
    client.access_count()
    cold = pool.given
    assert cold >= 1
    for _ in range(5):
        assert client.battery_soc(SN) == first
        client.access_count()
    assert pool.given == cold  # warm: not one call went to the database thread
    client.set_battery_soc(SN, 15, 20)  # a write: always the database thread
    assert pool.given > cold
    assert client.battery_soc(SN).minSoc == 15  # read back at once
    count = client.access_count()
    # every counted call once (getAccessCount is not counted): 1 + 5 soc reads, the write,
    # the read-back
    assert int(count.total) - int(count.remaining) == 8


def test_quota_counted_on_the_loop_is_written_every_few_calls(
    tmp_path: Path, database_url: str
) -> None:
    """With the periodic flush far away, the count reaches the database every third call,
    whichever thread counted them: the loop hands the call that would leave three counted
    in memory only to the database thread, which counts it and writes the three at once.
    (On SQLite the quota journal, off here, keeps every count instead.)"""
    server = start_server(
        tmp_path,
        database_url=database_url,
        rate_per_second=1e6,
        rate_burst=10**6,
        quota_flush_s=3600.0,
        quota_flush_every=3,
        quota_journal=False,
    )
    try:
        key = server.account("loop")
        server.device("loop", SN)
        client = server.client(key)
        account = server.store.accounts()[0]
        for _ in range(10):
            client.battery_soc(SN)
        day = utc_day(RealClock().now_ms())
        quota = server.foxden.quota
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            quota.unsaved >= 3 or server.store.usage(account.id, day) + quota.unsaved != 10
        ):
            time.sleep(0.02)
        assert server.store.usage(account.id, day) == 9  # three batches of three
        assert quota.unsaved == 1
    finally:
        server.stop()
        server.store.close()
