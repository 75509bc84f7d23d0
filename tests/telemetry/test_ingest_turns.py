"""Readers take turns with a long ingest: the store's lock counts the threads waiting for
it, and an ingest lets them in between its parts (a plain lock is not fair: the writer
could take it again at once, part after part, while a reader stayed queued)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from foxden import accounts
from foxden.store import DeviceSamples, open_store, url_for
from foxden.store.sqlite import SQLiteStore
from foxden.store.waiting import GuardedLock, WouldWait, without_waiting

T0 = 1_711_929_600_000


def blocked_reader(
    lock: GuardedLock, order: list[str], name: str = "reader", waiting: int = 1
) -> threading.Thread:
    """A thread that waits for ``lock`` (already held), records its turn as ``name``, lets
    it go; returned once the lock counts ``waiting`` threads waiting for it."""

    def read() -> None:
        with lock:
            order.append(name)

    thread = threading.Thread(target=read)
    thread.start()
    deadline = time.monotonic() + 10
    while lock.waiting != waiting:
        assert time.monotonic() < deadline, f"{lock.waiting} waiting, not {waiting}"
        time.sleep(0.001)
    return thread


def test_a_writer_lets_a_queued_reader_in_before_its_next_part() -> None:
    lock = GuardedLock(guarded=False)
    order: list[str] = []
    lock.__enter__()  # part 1
    reader = blocked_reader(lock, order)
    lock.__exit__(None, None, None)
    lock.let_waiters_in(10.0)
    with lock:  # part 2
        order.append("writer")
    reader.join()
    assert order == ["reader", "writer"]
    assert lock.waiting == 0


def test_the_lock_counts_each_thread_waiting_for_it() -> None:
    lock = GuardedLock(guarded=False)
    order: list[str] = []
    with lock:
        first = blocked_reader(lock, order)
        second = blocked_reader(lock, order, "second", waiting=2)
    first.join()
    second.join()
    assert sorted(order) == ["reader", "second"]
    assert lock.waiting == 0


def test_letting_waiters_in_returns_at_once_without_waiters_or_holding_the_lock() -> None:
    lock = GuardedLock(guarded=False)
    started = time.perf_counter()
    lock.let_waiters_in(60.0)  # nobody waits
    order: list[str] = []
    with lock:
        reader = blocked_reader(lock, order)
        lock.let_waiters_in(60.0)  # held here: the reader cannot come in, no use waiting
        assert order == []
    reader.join()
    assert time.perf_counter() - started < 30  # neither waited the 60 s
    assert order == ["reader"]


def test_a_reader_that_cannot_get_in_keeps_the_writer_at_most_longest_s() -> None:
    lock = GuardedLock(guarded=False)
    held = threading.Event()
    done = threading.Event()

    def other() -> None:  # a third thread holds the lock the whole time
        with lock:
            held.set()
            done.wait(30)

    holder = threading.Thread(target=other)
    holder.start()
    held.wait(10)
    order: list[str] = []
    reader = blocked_reader(lock, order)
    started = time.perf_counter()
    lock.let_waiters_in(0.05)
    waited = time.perf_counter() - started
    assert 0.05 <= waited < 0.8  # steps aside in short sleeps, and not past longest_s
    assert lock.waiting == 1
    done.set()
    holder.join()
    reader.join()
    assert order == ["reader"]


def test_a_guarded_lock_still_refuses_to_wait_inside_without_waiting() -> None:
    lock = GuardedLock()
    order: list[str] = []
    with lock:
        reader = blocked_reader(lock, order)  # a plain thread waits as before
        failed: list[BaseException] = []

        def loop_read() -> None:
            try:
                with without_waiting(), lock:
                    order.append("loop")
            except WouldWait as exc:
                failed.append(exc)

        loop = threading.Thread(target=loop_read)
        loop.start()
        loop.join(10)
        assert len(failed) == 1 and lock.waiting == 1
    reader.join()
    assert order == ["reader"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = open_store(url_for(tmp_path))
    assert isinstance(s, SQLiteStore)
    accounts.create_account(s, "a", 0)
    for k in range(4):
        accounts.add_device(s, "a", f"DEVICE{k:02d}", "H1-5.0-E", 0)
    yield s
    s.close()


def test_a_reader_queued_during_a_part_reads_before_the_next_part(store: SQLiteStore) -> None:
    store.INGEST_PART = 1
    store.PART_S = 10.0  # a part a device; a queued reader may keep the writer up to 10 s
    # no WAL copy between parts: its wait on the disk would let the reader in by itself
    store.CHECKPOINT_EVERY_S = 1e9
    variables = ("pvPower", "SoC")
    lock = store._lock
    assert isinstance(lock, GuardedLock)
    events: list[str] = []
    readers: list[threading.Thread] = []

    def read() -> None:
        with lock:  # what the read saw: parts_written cannot move while it holds the store
            store.latest(["DEVICE00"])
            events.append(f"read after part {store.parts_written}")

    def after_part() -> None:
        if store.parts_written == 1:  # queue a reader behind part 2 while it is written
            original = store._write_segments

            def write(part: object, newest: dict[str, int]) -> None:
                reader = threading.Thread(target=read)
                reader.start()
                readers.append(reader)
                deadline = time.monotonic() + 10
                while lock.waiting != 1:
                    assert time.monotonic() < deadline, "the reader never queued"
                    time.sleep(0.001)
                del store._write_segments
                original(part, newest)  # type: ignore[arg-type]

            store._write_segments = write  # type: ignore[method-assign]

    store.after_part = after_part
    batch = [
        DeviceSamples(f"DEVICE{k:02d}", variables, np.array([T0]), np.array([[1.0, 2.0]]))
        for k in range(4)
    ]
    assert store.ingest(batch) == 4
    for reader in readers:
        reader.join()
    # the reader queued during part 2 read as soon as it was committed, before part 3
    assert events == ["read after part 2"]
    assert store.parts_written == 4


def test_an_ingest_lets_waiters_in_after_each_part_for_at_most_its_part_time(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the test above shows through a racing reader, asked of the writer directly: after
    each part it steps aside (``let_waiters_in``, tested above) for at most ``PART_S``."""
    calls: list[tuple[bool, float]] = []
    original = GuardedLock.let_waiters_in

    def spy(self: GuardedLock, longest_s: float) -> None:
        calls.append((self is store._lock, longest_s))
        original(self, longest_s)

    monkeypatch.setattr(GuardedLock, "let_waiters_in", spy)
    store.INGEST_PART = 1
    store.PART_S = 0.5
    variables = ("pvPower", "SoC")
    batch = [
        DeviceSamples(f"DEVICE{k:02d}", variables, np.array([T0]), np.array([[1.0, 2.0]]))
        for k in range(4)
    ]
    assert store.ingest(batch) == 4
    assert calls == [(True, 0.5)] * 4


def test_the_lock_adds_up_each_threads_time_blocked_in_it() -> None:
    lock = GuardedLock(guarded=False)
    with lock:
        pass
    assert lock.waited_s() == 0.0  # taken at once: nothing waited
    waited: list[float] = []

    def read() -> None:
        with lock:
            waited.append(lock.waited_s())

    lock.__enter__()
    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 10
    while lock.waiting != 1:
        assert time.monotonic() < deadline, "the reader never queued"
        time.sleep(0.001)
    time.sleep(0.05)
    lock.__exit__(None, None, None)
    reader.join()
    assert len(waited) == 1 and 0.05 <= waited[0] < 10
    assert lock.waited_s() == 0.0  # this thread never waited: each thread its own sum


def test_a_sqlite_request_view_holds_the_store_until_it_ends(store: SQLiteStore) -> None:
    """A request's reads wait for another thread's ingest part once at most, and see one
    state of the store: the writer waits for the whole view, not for each read in it."""
    variables = ("pvPower", "SoC")
    sample = DeviceSamples("DEVICE00", variables, np.array([T0]), np.array([[1.0, 2.0]]))
    written = threading.Event()

    def write() -> None:
        store.ingest([sample])
        written.set()

    with store.request_view():
        assert store.latest(["DEVICE00"]) == {}
        writer = threading.Thread(target=write)
        writer.start()
        deadline = time.monotonic() + 10
        while store._lock.waiting != 1:  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "the writer never queued"
            time.sleep(0.001)
        assert not written.wait(0.05)  # between two reads of the view: still waiting
        assert store.latest(["DEVICE00"]) == {}
    writer.join(10)
    assert written.is_set()
    with store.request_view():
        assert store.latest(["DEVICE00"])["DEVICE00"].time_ms == T0
    # the view let the store go when it ended, also when the view failed
    with pytest.raises(RuntimeError), store.request_view():
        raise RuntimeError("a handler failed")
    other = threading.Thread(target=write)
    written.clear()
    other.start()
    other.join(10)
    assert written.is_set()
    assert store.lock_waited_s() == 0.0  # this thread never waited for the writer


def test_the_lock_is_taken_within_a_time_or_not_at_all() -> None:
    lock = GuardedLock()
    assert lock.acquire_within(0.01)  # free: at once
    lock.__exit__(None, None, None)
    results: list[tuple[bool, float]] = []

    def other() -> None:
        started = time.perf_counter()
        taken = lock.acquire_within(0.05)
        results.append((taken, time.perf_counter() - started))
        if taken:
            lock.__exit__(None, None, None)

    with lock:
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
    assert len(results) == 1
    taken, waited = results[0]
    assert not taken and 0.05 <= waited < 5
    assert lock.waiting == 0
    with lock:  # given back: free again
        pass
