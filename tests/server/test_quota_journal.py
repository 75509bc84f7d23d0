"""The quota journal of a single process on SQLite (``foxden.server.quota_journal``): every
count kept in a memory-mapped file as it is made, read back by the next process."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foxden.config import Settings
from foxden.server.app import FoxdenApp
from foxden.server.limits import QuotaKeeper, utc_day
from foxden.server.quota_journal import (
    HEADER,
    SLOT,
    JournaledQuota,
    QuotaJournal,
    owner_of,
)
from foxden.store import Store, open_store, url_for

DAY1 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY_MS = 86_400_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(url_for(tmp_path))
    yield opened
    opened.close()


def journal_of(store: Store) -> str:
    database = getattr(store, "file", None)
    assert database is not None
    return str(database) + "-quota"


def opened(store: Store) -> QuotaJournal | None:
    return QuotaJournal.open(journal_of(store), owner_of(store))


def keeper(store: Store) -> JournaledQuota:
    journal = opened(store)
    assert journal is not None
    return JournaledQuota(store, 100, journal)


def test_a_killed_process_s_counts_are_written_by_the_next_one(store: Store) -> None:
    alice = store.create_account("alice", "h1", 1)
    bob = store.create_account("bob", "h2", 1)
    store.save_usage({(alice.id, utc_day(DAY1)): 4})
    first = keeper(store)
    for _ in range(3):
        assert first.try_spend(alice.id, 1, DAY1)
    assert first.try_spend(bob.id, 1, DAY1)
    assert first.try_spend(bob.id, 1, DAY1 + DAY_MS)  # the next day: a slot of its own
    assert first.flush_due() is False  # nothing written to the store before the timed flush
    assert store.usage(alice.id, utc_day(DAY1)) == 4
    first.journal.close()  # killed: no flush, the file as the page cache holds it
    second = keeper(store)
    assert store.usage(alice.id, utc_day(DAY1)) == 7
    assert store.usage(bob.id, utc_day(DAY1)) == 1
    assert store.usage(bob.id, utc_day(DAY1 + DAY_MS)) == 1
    assert second.journal.left() == {}  # written to the store: the file starts again
    assert second.used(alice.id, DAY1) == 7


def test_a_flush_writes_the_store_and_empties_the_journal(store: Store) -> None:
    alice = store.create_account("alice", "h1", 1)
    quota = keeper(store)
    quota.try_spend(alice.id, 1, DAY1)
    quota.try_spend(alice.id, 1, DAY1)
    assert quota.journal.left() == {(alice.id, utc_day(DAY1)): 2}
    quota.flush()
    assert store.usage(alice.id, utc_day(DAY1)) == 2
    assert quota.journal.left() == {} and quota.unsaved == 0
    quota.try_spend(alice.id, 1, DAY1)  # the slot is made again after the flush
    assert quota.journal.left() == {(alice.id, utc_day(DAY1)): 3}
    quota.close()


def test_a_spent_quota_counts_nothing(store: Store) -> None:
    alice = store.create_account("alice", "h1", 1)
    journal = opened(store)
    assert journal is not None
    quota = JournaledQuota(store, 2, journal)  # 2 calls a device a day
    assert quota.try_spend(alice.id, 1, DAY1) and quota.try_spend(alice.id, 1, DAY1)
    assert quota.try_spend(alice.id, 1, DAY1) is False
    assert journal.left() == {(alice.id, utc_day(DAY1)): 2}
    quota.close()


def test_a_half_written_slot_is_skipped(store: Store) -> None:
    alice = store.create_account("alice", "h1", 1)
    first = keeper(store)
    first.try_spend(alice.id, 1, DAY1)
    first.try_spend(alice.id + 1, 1, DAY1)
    # the power went while the second slot's count was written: its check no longer fits
    struct.pack_into("<I", first.journal._map, HEADER + SLOT.size + 12, 900)
    assert first.journal.left() == {(alice.id, utc_day(DAY1)): 1}
    first.journal.close()


def test_another_process_s_journal_is_left_alone(store: Store, tmp_path: Path) -> None:
    held = opened(store)
    assert held is not None
    assert opened(store) is None  # flock: one process at a time
    settings = replace(Settings(data_dir=str(tmp_path)), quota_flush_every=3)
    app = FoxdenApp(settings, store)
    assert type(app.quota) is QuotaKeeper and app.quota.flush_every == 3
    held.close()
    again = FoxdenApp(settings, store)
    assert isinstance(again.quota, JournaledQuota)
    again.quota.close()


def test_the_journal_can_be_turned_off_and_is_not_used_without_a_file(
    store: Store, tmp_path: Path
) -> None:
    off = replace(Settings(data_dir=str(tmp_path)), quota_journal=False)
    assert type(FoxdenApp(off, store).quota) is QuotaKeeper
    memory = open_store("sqlite:///:memory:")
    try:
        assert type(FoxdenApp(Settings(data_dir=str(tmp_path)), memory).quota) is QuotaKeeper
    finally:
        memory.close()


def test_a_full_journal_keeps_counts_in_memory_until_the_flush(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import foxden.server.quota_journal as module

    accounts = [store.create_account(f"a{i}", f"h{i}", 1) for i in range(3)]
    monkeypatch.setattr(module, "SIZE", HEADER + 2 * SLOT.size)  # two slots
    journal = opened(store)
    assert journal is not None
    quota = JournaledQuota(store, 100, journal)
    for account in accounts:
        assert quota.try_spend(account.id, 1, DAY1)  # the third is counted in memory
    assert len(journal.left()) == 2
    quota.flush()
    assert [store.usage(a.id, utc_day(DAY1)) for a in accounts] == [1, 1, 1]
    quota.close()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 2**40), st.integers(0, 3_000), st.integers(0, 2**32 - 1)),
        max_size=40,
    )
)
def test_the_journal_reads_back_the_last_count_of_each_account_and_day(
    writes: list[tuple[int, int, int]],
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as where:
        journal = QuotaJournal(str(Path(where) / "j"), bytes(range(16)))
        journal.start({})
        expected: dict[tuple[int, str], int] = {}
        for account_id, day, count in writes:
            key = (account_id, utc_day(DAY1 + day * DAY_MS))
            assert journal.write(key, count)
            expected[key] = count
        assert journal.left() == expected
        journal.close()


def test_a_count_of_an_account_deleted_since_is_dropped(store: Store) -> None:
    alice = store.create_account("alice", "h1", 1)
    first = keeper(store)
    first.try_spend(alice.id, 1, DAY1)
    first.try_spend(alice.id + 99, 1, DAY1)  # no such account (deleted while it was down)
    first.journal.close()
    keeper(store).close()  # starts all the same
    assert store.usage(alice.id, utc_day(DAY1)) == 1


def test_a_journal_is_read_only_into_the_database_it_counted_for(store: Store) -> None:
    alice = store.create_account("alice", "h1", 1)
    first = keeper(store)
    first.try_spend(alice.id, 1, DAY1)
    first.journal.close()  # killed
    store.empty()  # then started again from nothing (--reset): ids start again
    bob = store.create_account("bob", "h2", 1)
    assert bob.id == alice.id
    keeper(store).close()
    assert store.usage(bob.id, utc_day(DAY1)) == 0  # alice's count is not bob's
    assert owner_of(store) == owner_of(store)  # kept once made
