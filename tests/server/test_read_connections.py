"""PostgreSQL readers (``PostgresStore.open_readers``): reads outside any unit of work run at
once on connections of their own, writes stay one at a time on the store's connection, and a
committed write is read back at once by the next read on any connection."""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from foxden import accounts
from foxden.clock import RealClock
from foxden.server.limits import utc_day
from foxden.store import StoreError, open_store, url_for
from foxden.store.postgres import PostgresStore, redact
from tests.conftest import POSTGRES_URL, fresh_postgres, listening, start_server
from tests.server.test_postgres_store import _sessions
from tests.telemetry.data import samples

SN = "RDH100000001"
DAY = 86_400_000
T0 = 1_711_929_600_000  # 2024-04-01 00:00 UTC


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def readers(pg_url: str) -> Iterator[PostgresStore]:
    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    store.open_readers(2)
    try:
        yield store
    finally:
        store.close()


def test_a_read_inside_a_read_stays_on_its_connection(readers: PostgresStore) -> None:
    def pid() -> int:
        return int(readers._x("SELECT pg_backend_pid()").fetchone()[0])

    outer, inner = readers._read(lambda: (pid(), readers._read(pid)))
    assert outer == inner


def test_a_read_failing_on_its_connection_is_tried_again_twice_backing_off(
    readers: PostgresStore,
) -> None:
    """A read that fails as on a lost connection is run again on a fresh one, after 50 ms,
    then after 100 ms more; the third failure is the caller's."""
    tries: list[float] = []

    def lost() -> None:
        tries.append(time.monotonic())
        if len(tries) > 10:
            raise RuntimeError("tried again without end")
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    with pytest.raises(psycopg.OperationalError, match="closed the connection"):
        readers._read(lost)
    assert len(tries) == 1 + readers._READ_RETRIES == 3
    assert 0.05 <= tries[1] - tries[0] < 0.5
    assert 0.1 <= tries[2] - tries[1] < 0.5
    assert [a.name for a in readers.accounts()] == []  # the store reads on


def test_read_connections_open_once_and_not_for_no_readers(pg_url: str) -> None:
    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    try:
        alone = len(_sessions(pg_url))  # the store's connection and its listener's
        store.open_readers(0)
        assert len(_sessions(pg_url)) == alone
        store.open_readers(2)
        assert len(_sessions(pg_url)) == alone + 1  # the readers' pool opens with one
        store.open_readers(3)  # already open: the same pool, no second one
        assert len(_sessions(pg_url)) == alone + 1
    finally:
        store.close()


def test_reads_on_read_connections_are_quiet(pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """No warning: not a pool that opens itself when first used (psycopg_pool warns), not
    a connection given back inside a transaction (rolled back with a warning)."""
    caplog.set_level(logging.WARNING, logger="psycopg")
    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            store.open_readers(2)
            store.create_account("alice", "hash-a", 0)
            assert [a.name for a in store.accounts()] == ["alice"]
            assert store._read(lambda: store._x("SELECT 1").fetchone()) == (1,)
        assert [r.getMessage() for r in caplog.records if r.name.startswith("psycopg")] == []
    finally:
        store.close()


def test_refused_read_connections_leave_the_store_reading_on_its_own(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read connections that cannot be had within ``OPEN_WAIT_S`` are refused with the
    database's address, its password hidden; the store goes on reading on its own one."""
    monkeypatch.setattr(PostgresStore, "OPEN_WAIT_S", 0.3)
    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    name = psycopg.conninfo.conninfo_to_dict(pg_url)["dbname"]
    password = psycopg.conninfo.conninfo_to_dict(pg_url).get("password")
    try:
        store.create_account("alice", "hash-a", 0)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            try:
                began = time.monotonic()
                with pytest.raises(StoreError) as refused:
                    store.open_readers(2)
                assert 0.3 <= time.monotonic() - began < 5
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        message = str(refused.value)
        assert message.startswith(f"cannot open read connections to {redact(pg_url)}: ")
        if password:
            assert f":{password}@" not in message
        assert [a.name for a in store.accounts()] == ["alice"]
    finally:
        store.close()


def test_busy_read_connections_make_a_read_wait_the_pool_timeout(
    readers: PostgresStore,
) -> None:
    from psycopg_pool import PoolTimeout

    pool = readers._readers
    with pool.connection(), pool.connection():  # both read connections taken
        began = time.monotonic()
        with pytest.raises(PoolTimeout):
            readers.accounts()
        waited = time.monotonic() - began
    assert readers.POOL_TIMEOUT_S <= waited < readers.POOL_TIMEOUT_S + 2


def test_two_reads_are_in_flight_at_once_on_two_connections(readers: PostgresStore) -> None:
    """Each read waits inside its query until the other is inside its own: with one shared
    connection (reads one at a time) the barrier would never be passed."""
    both = threading.Barrier(2, timeout=10)

    def backend() -> int:
        def read() -> int:
            pid = int(readers._x("SELECT pg_backend_pid()").fetchone()[0])
            both.wait()
            return pid

        return readers._read(read)

    with ThreadPoolExecutor(2) as pool:
        pids = list(pool.map(lambda _: backend(), range(2)))
    assert len(set(pids)) == 2


def test_concurrent_reads_give_the_answers_of_one_at_a_time(readers: PostgresStore) -> None:
    accounts.create_account(readers, "r", RealClock().now_ms())
    account = readers.account_by_name("r")
    assert account is not None
    accounts.add_device(readers, "r", SN, "H1-5.0-E", RealClock().now_ms())
    readers.ingest([samples(SN, "H1-5.0-E", T0, 288 * 3)])
    ranges = [(T0 + k * DAY // 2, T0 + k * DAY // 2 + DAY) for k in range(4)]

    def answer(k: int) -> tuple[Any, ...]:
        begin, end = ranges[k % len(ranges)]
        series = readers.history(SN, begin, end)
        counters = readers.counters_before(SN, [begin, end])
        return (
            series.variables,
            series.times_ms.tolist(),
            series.values.tolist(),
            counters.tolist(),
        )

    alone = [answer(k) for k in range(len(ranges))]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(answer, range(32)))
    assert together == [alone[k % len(ranges)] for k in range(32)]
    assert len(alone[0][1]) > 0


def test_a_write_is_read_back_at_once_on_every_connection(readers: PostgresStore) -> None:
    accounts.create_account(readers, "w", RealClock().now_ms())
    account = readers.account_by_name("w")
    assert account is not None
    day = utc_day(RealClock().now_ms())
    with ThreadPoolExecutor(2) as pool:
        for n in range(1, 21):
            readers.save_usage({(account.id, day): n})  # the store's connection
            seen = list(pool.map(lambda _: readers.usage(account.id, day), range(4)))
            assert seen == [n] * 4  # reader connections, in other threads
            assert readers.usage(account.id, day) == n  # a reader, in this thread
    renamed = accounts.rotate_key(readers, "w")  # cached rows dropped for every reader
    with ThreadPoolExecutor(2) as pool:
        found = list(
            pool.map(lambda _: readers.account_by_key_hash(accounts.key_hash(renamed)), range(2))
        )
    assert [a.name if a else None for a in found] == ["w", "w"]


def test_history_and_reports_from_many_callers_at_once(tmp_path: Path, pg_url: str) -> None:
    """Through the server: read-only calls that need a query run in its read threads at
    once and answer as they do one at a time."""
    live = start_server(tmp_path, database_url=pg_url, limit_profile="off", db_readers=3)
    try:
        assert live.foxden.read_threads is not None
        key = live.account("many")
        live.device("many", SN, "H1-5.0-E")
        live.store.ingest([samples(SN, "H1-5.0-E", T0, 288 * 3)])
        clients = [live.client(key) for _ in range(6)]

        def ask(k: int) -> Any:
            client = clients[k % len(clients)]
            if k % 2:
                return client.report(SN, "month", 2024, 4, variables=["generation"])
            begin = T0 + (k % 3) * DAY // 2
            return client.history(SN, begin, begin + DAY, ["generation", "loads"])

        alone = [ask(k) for k in range(6)]
        with ThreadPoolExecutor(12) as pool:
            together = list(pool.map(ask, range(36)))
        assert together == [alone[k % 6] for k in range(36)]
    finally:
        live.stop()
        live.store.close()


def test_reads_do_not_wait_for_a_write_under_way(readers: PostgresStore) -> None:
    """While another thread's transaction holds the store (an ingest part, say), an API
    read (a key's account, a device, the newest samples, history, a request's view) does not
    wait for it: it reads what is committed on a read connection. The writer holds its
    transaction until every read has answered, so a read that waited would never answer
    and the writer's wait would run out first."""
    now = RealClock().now_ms()
    account, key = accounts.create_account(readers, "busy", now)
    accounts.add_device(readers, "busy", SN, "H1-5.0-E", now)
    first, more = samples(SN, "H1-5.0-E", T0, 12), samples(SN, "H1-5.0-E", T0 + DAY // 2, 1)
    readers.ingest([first])
    committed = readers.latest([SN])[SN]
    holding, answered = threading.Event(), threading.Event()
    events: list[str] = []

    def writer() -> None:
        with readers.transaction():
            readers.ingest([more])  # not committed until the reads answered
            holding.set()
            events.append("write held" if answered.wait(timeout=10) else "write gave up")
        events.append("write committed")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(timeout=10)
        with readers.request_view():
            found = readers.account_by_key_hash(accounts.key_hash(key))
            device = readers.device(SN)
            latest = readers.latest([SN])[SN]
            series = readers.history(SN, T0, T0 + DAY - 1)
        events.append("read")
        answered.set()
    finally:
        answered.set()
        thread.join()
    assert events == ["read", "write held", "write committed"]
    assert found is not None and found.id == account.id
    assert device is not None and device.sn == SN
    assert latest.time_ms == committed.time_ms == int(first.times_ms[-1])  # the write unseen
    assert series.times_ms.tolist() == first.times_ms.tolist()
    assert readers.latest([SN])[SN].time_ms == int(more.times_ms[0])  # and seen once committed


def test_with_read_connections_ingest_parts_are_larger(pg_url: str, tmp_path: Path) -> None:
    """Reads wait for no part once they have connections of their own, so a live call of
    600 single samples is written in parts of ``APART_PART_MIN`` (512) and the rest, not
    of ``PART_MIN`` (32); the same values as SQLite's parts of at most 256 store."""
    apart = open_store(pg_url)
    stores = [apart]
    try:
        assert isinstance(apart, PostgresStore)
        apart.open_readers(1)
        now = RealClock().now_ms()
        accounts.create_account(apart, "parts", now)
        sns = [f"RDH1{k:08d}" for k in range(600)]
        for sn in sns:
            accounts.add_device(apart, "parts", sn, "H1-5.0-E", now)
        one = [samples(sn, "H1-5.0-E", T0, 1) for sn in sns]
        two = [samples(sn, "H1-5.0-E", T0 + 300_000, 1) for sn in sns]
        apart.ingest(one)
        assert apart.parts_written == 2  # 512 + 88
        shared = open_store(pg_url)  # no read connections
        stores.append(shared)
        assert isinstance(shared, PostgresStore)
        shared.PART_S = 0.0  # parts at the floor whatever pace this machine measures
        shared.ingest(two)
        assert shared.parts_written == 600 // 32 + 1  # 18 of 32 and the last 24
        lite = open_store(url_for(tmp_path / "lite.db"))
        stores.append(lite)
        accounts.create_account(lite, "parts", now)
        for sn in sns:
            accounts.add_device(lite, "parts", sn, "H1-5.0-E", now)
        lite.ingest(one)
        lite.ingest(two)
        for sn, a, b in zip(sns, one, two, strict=True):
            seen, expected = apart.history(sn, T0, T0 + DAY - 1), lite.history(sn, T0, T0 + DAY - 1)
            assert seen.times_ms.tolist() == [int(a.times_ms[0]), int(b.times_ms[0])]
            assert seen.variables == expected.variables
            assert np.array_equal(seen.times_ms, expected.times_ms)
            assert np.array_equal(seen.values, expected.values, equal_nan=True)
    finally:
        for store in stores:
            store.close()


def test_a_read_waits_briefly_for_another_reads_fill_and_then_uses_the_cache(
    readers: PostgresStore,
) -> None:
    """Another read holding the store (filling a cache, or reading the change counters: one
    query) is waited for, at most ``FILL_WAIT_S``, and the cached row then answers without a
    statement; held longer, the read goes around the caches with a query of its own."""
    from tests.server.test_statements import Statements

    listening(readers)
    now = RealClock().now_ms()
    account, key = accounts.create_account(readers, "fill", now)
    hashed = accounts.key_hash(key)
    deadline = time.monotonic() + 10
    spy = Statements(readers)
    while spy.during(lambda: readers.account_by_key_hash(hashed)):  # until cached
        assert time.monotonic() < deadline, "the account was never cached"
        time.sleep(0.01)

    def hold(seconds: float, holding: threading.Event) -> None:
        with readers._lock:  # as a read filling a cache holds it: no unit of work
            holding.set()
            time.sleep(seconds)

    def write(seconds: float, holding: threading.Event) -> None:
        with readers.transaction():  # a unit of work (a write, an ingest part)
            holding.set()
            time.sleep(seconds)

    def look_while(holder: Any, seconds: float) -> tuple[list[str], object, float]:
        """The key's account looked up while ``holder`` holds the store for ``seconds``:
        the statements sent, the account, the time the look-up took."""
        holding = threading.Event()
        thread = threading.Thread(target=holder, args=(seconds, holding))
        thread.start()
        assert holding.wait(10)
        started = time.monotonic()
        found: list[object] = []
        texts = spy.during(lambda: found.append(readers.account_by_key_hash(hashed)))
        waited = time.monotonic() - started
        thread.join()
        return texts, found[0], waited

    readers.FILL_WAIT_S = 5.0
    texts, found, waited = look_while(hold, 0.1)
    assert texts == []  # the cached row, once the other read let the store go
    assert getattr(found, "id", None) == account.id
    assert 0.05 <= waited < 5.0
    readers.FILL_WAIT_S = 0.02
    texts, found, waited = look_while(hold, 2.0)
    assert len(texts) >= 1  # went around: a query of its own on a read connection
    assert getattr(found, "id", None) == account.id
    assert 0.02 <= waited < 1.5
    # a unit of work holding the store is gone around at once
    readers.FILL_WAIT_S = 5.0
    texts, found, waited = look_while(write, 2.0)
    assert len(texts) >= 1 and getattr(found, "id", None) == account.id
    assert waited < 1.5  # not the 5 s a read's fill may be waited for


def test_a_view_reads_kept_rows_without_the_store_while_a_unit_of_work_holds_it(
    readers: PostgresStore,
) -> None:
    """A request's view opens without the store's lock when no query is needed to tell what
    changed, and its kept rows are read without it: a write under way in another thread
    (an ingest part, the quota's flush) neither delays them nor turns them into queries."""
    from tests.server.test_statements import Statements

    listening(readers)
    now = RealClock().now_ms()
    account, key = accounts.create_account(readers, "kept", now)
    accounts.add_device(readers, "kept", SN, "H1-5.0-E", now)
    hashed = accounts.key_hash(key)
    spy = Statements(readers)

    def look() -> tuple[object, object, int | None]:
        with readers.request_view():
            return readers.account_by_key_hash(hashed), readers.device(SN), readers.cache_mark()

    deadline = time.monotonic() + 10
    while spy.during(look):  # until both rows are kept
        assert time.monotonic() < deadline, "the rows were never kept"
        time.sleep(0.01)
    holding, done = threading.Event(), threading.Event()

    def write() -> None:
        with readers.transaction():
            holding.set()
            done.wait(10)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert holding.wait(10)
        readers.FILL_WAIT_S = 5.0  # had the view or a read waited, it would take 5 s
        started = time.monotonic()
        seen: list[tuple[object, object, int | None]] = []
        texts = spy.during(lambda: seen.append(look()))
        took = time.monotonic() - started
    finally:
        done.set()
        writer.join()
    assert texts == []  # no query: the kept rows
    found, device, mark = seen[0]
    assert getattr(found, "id", None) == account.id
    assert getattr(device, "sn", None) == SN
    assert mark is not None  # another thread's transaction is not this view's
    assert took < 1.0
    # this thread's own transaction reads the database, and keeps nothing
    with readers.transaction(), readers.request_view():
        assert readers.cache_mark() is None
        inside = spy.during(lambda: readers.device(SN))
    assert len(inside) >= 1
