"""The store's accounts and keys, its cached rows and their change signals, and whole-store
snapshots, one rule at a time on a real SQLite file in a tmp dir (two connections where
another process's write is the point). No HTTP: fast enough for the store's mutation shards
to run once per mutant."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from foxden import accounts
from foxden.store import Account, Store, StoreError, changes, open_store, url_for
from foxden.store.changes import ALL, MISS, TopicCaches, WalMarker, parse_payload, payload
from foxden.store.sqlite import SQLiteStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(url_for(tmp_path))
    yield s
    s.close()


# ---------------------------------------------------------------- accounts and keys


def test_an_account_is_made_and_found_by_name_and_key(store: Store) -> None:
    alice = store.create_account("alice", "hash-a", 1_000)
    assert alice == Account(alice.id, "alice", 1_000, 0)
    bob = store.create_account("bob", "hash-b", 2_000)
    assert bob.id > alice.id
    assert store.account_by_name("alice") == alice
    assert store.account_by_name("carol") is None
    assert store.account_by_key_hash("hash-b") == bob
    assert store.account_by_key_hash("hash-c") is None
    assert store.accounts() == [alice, bob]
    with pytest.raises(StoreError):
        store.create_account("alice", "hash-x", 3_000)
    assert store.accounts() == [alice, bob]


def test_an_account_counts_its_devices(store: Store) -> None:
    accounts.create_account(store, "alice", 0)
    accounts.add_device(store, "alice", "DEVICE01", "H1-5.0-E", 0)
    accounts.add_device(store, "alice", "DEVICE02", "H1-5.0-E", 0)
    accounts.create_account(store, "bob", 0)
    assert [(a.name, a.device_count) for a in store.accounts()] == [("alice", 2), ("bob", 0)]
    found = store.account_by_name("alice")
    assert found is not None and found.device_count == 2


def test_a_new_key_hash_replaces_the_old_at_once(store: Store, tmp_path: Path) -> None:
    alice = store.create_account("alice", "old", 0)
    assert store.account_by_key_hash("old") == alice  # now cached
    assert store.set_key_hash("alice", "new") == alice
    assert store.account_by_key_hash("old") is None
    assert store.account_by_key_hash("new") == alice
    with pytest.raises(StoreError) as info:
        store.set_key_hash("carol", "x")
    assert str(info.value) == "no account named 'carol'"
    other = open_store(url_for(tmp_path))  # another process rotates the key
    try:
        other.set_key_hash("alice", "newer")
    finally:
        other.close()
    with store.request_view():
        assert store.account_by_key_hash("new") is None
        assert store.account_by_key_hash("newer") == alice


def test_a_days_usage_only_grows(store: Store) -> None:
    a = store.create_account("alice", "h", 0).id
    b = store.create_account("bob", "g", 0).id
    assert store.usage(a, "2024-06-01") == 0
    store.save_usage({(a, "2024-06-01"): 5, (b, "2024-06-01"): 2, (a, "2024-06-02"): 1})
    assert store.usage(a, "2024-06-01") == 5
    assert store.usage(b, "2024-06-01") == 2
    assert store.usage(a, "2024-06-02") == 1
    store.save_usage({(a, "2024-06-01"): 3, (b, "2024-06-01"): 7})
    assert store.usage(a, "2024-06-01") == 5
    assert store.usage(b, "2024-06-01") == 7
    store.save_usage({})
    assert store.usage(b, "2024-06-02") == 0


# ---------------------------------------------------------------- cached rows


def test_topic_caches_keep_what_was_put_until_the_topic_is_dropped() -> None:
    caches = TopicCaches()
    assert caches.mark == 0
    assert caches.get(changes.ACCOUNTS, "k") is MISS
    g = caches.generation(changes.ACCOUNTS)
    assert g == 0
    caches.put(changes.ACCOUNTS, "k", None, g)
    assert caches.get(changes.ACCOUNTS, "k") is None  # None is kept, not a miss
    caches.put(changes.DEVICES, "d", 1, caches.generation(changes.DEVICES))
    caches.drop([changes.ACCOUNTS, "unknown"])
    assert caches.get(changes.ACCOUNTS, "k") is MISS
    assert caches.get(changes.DEVICES, "d") == 1
    assert caches.generation(changes.ACCOUNTS) == 1
    assert caches.generation(changes.DEVICES) == 0
    assert caches.mark == 1
    caches.put(changes.ACCOUNTS, "k", 2, g)  # read before the drop: not kept
    assert caches.get(changes.ACCOUNTS, "k") is MISS
    caches.drop(ALL)
    assert caches.mark == 6
    assert caches.generation(changes.ACCOUNTS) == 2


def test_a_topic_cache_is_emptied_when_full() -> None:
    caches = TopicCaches()
    g = caches.generation(changes.PLANTS)
    for k in range(changes.MAX_ENTRIES):
        caches.put(changes.PLANTS, k, k, g)
    assert changes.MAX_ENTRIES == 10_000
    assert caches.get(changes.PLANTS, changes.MAX_ENTRIES - 1) == changes.MAX_ENTRIES - 1
    caches.put(changes.PLANTS, "one more", 1, g)
    assert caches.get(changes.PLANTS, 0) is MISS
    assert caches.get(changes.PLANTS, "one more") == 1


def test_a_notification_names_its_topics_in_order() -> None:
    assert changes.CHANNEL == "foxden_changes"
    assert {"accounts", "devices", "plants", "settings", "latest"} == ALL
    assert payload({"plants", "accounts"}) == "accounts,plants"
    assert payload(set()) == ""
    assert parse_payload("accounts,plants") == {"accounts", "plants"}
    assert parse_payload("latest,") == {"latest"}
    assert parse_payload("") == set(ALL)
    assert parse_payload("accounts,other") == set(ALL)


def test_the_wal_marker_moves_with_every_commit(tmp_path: Path) -> None:
    assert WalMarker.open(str(tmp_path / "missing.db")) is None
    s = open_store(url_for(tmp_path))
    database = str(tmp_path / "foxden.db")
    try:
        marker = WalMarker.open(database)
        assert marker is not None
        first = marker.read()
        assert first is not None and len(first) == WalMarker.SIZE == 48
        assert marker.read() == first
        s.create_account("alice", "h", 0)
        second = marker.read()
        assert second is not None and second != first
        with open(database + "-shm", "rb") as shm:
            assert second == shm.read(48)  # the header: the file's first 48 bytes
        assert marker._map is not None  # read from memory, without a system call
        unmapped = WalMarker.open(database)
        assert unmapped is not None
        unmapped._map.close()  # type: ignore[union-attr]
        unmapped._map = None  # as when the file cannot be mapped: read with pread
        assert unmapped.read() == second
        s.create_account("bob", "g", 0)
        assert unmapped.read() == marker.read() != second
        unmapped.close()
        marker.close()
        assert marker.read() is None
        marker.close()  # twice is fine
    finally:
        s.close()
    short = tmp_path / "short.db-shm"
    short.write_bytes(b"x" * 47)
    cut = WalMarker.open(str(tmp_path / "short.db"))
    assert cut is not None
    assert cut.read() is None
    cut.close()


def test_a_write_by_another_connection_is_seen_and_a_quiet_store_asks_nothing(
    store: Store, tmp_path: Path
) -> None:
    store.create_account("alice", "h", 0)
    assert store.account_by_key_hash("h") is not None
    db = sqlite3.connect(tmp_path / "foxden.db")
    try:
        db.execute("UPDATE accounts SET key_hash = 'g'")
        db.commit()
    finally:
        db.close()
    with store.request_view():
        assert store.account_by_key_hash("h") is None
    assert os.path.exists(str(tmp_path / "foxden.db") + "-shm")


# ---------------------------------------------------------------- snapshots


def test_restore_returns_every_row_and_empty_keeps_only_the_schema(
    store: Store, tmp_path: Path
) -> None:
    accounts.create_account(store, "alice", 0)
    accounts.add_device(store, "alice", "DEVICE01", "H1-5.0-E", 0)
    taken = store.snapshot()
    counts = taken.counts()
    assert counts["accounts"] == 1
    assert counts["devices"] == 1
    assert counts["loggers"] == 1
    assert set(counts) == {
        "meta", "accounts", "usage", "plants", "loggers", "devices", "device_settings",
        "telemetry_schemas", "telemetry_chunks", "telemetry_tail", "telemetry_latest",
        "energy_slots",
    }  # fmt: skip
    assert store.account_by_name("alice") is not None
    store.empty()
    assert store.account_by_name("alice") is None
    assert store.device("DEVICE01") is None
    assert store.meta("schema_version") == "2"
    assert store.snapshot().counts() == {**dict.fromkeys(counts, 0), "meta": 1}
    store.restore(taken)
    assert store.snapshot() == taken
    found = store.account_by_name("alice")
    assert found is not None and found.device_count == 1
    device = store.device("DEVICE01")
    assert device is not None and device.model == "H1-5.0-E"
    accounts.create_account(store, "bob", 0)  # ids go on after the restored ones
    bob = store.account_by_name("bob")
    assert bob is not None and bob.id == found.id + 1


def test_a_restore_that_fails_leaves_the_store_as_it_was(store: Store) -> None:
    accounts.create_account(store, "alice", 0)
    taken = store.snapshot()
    columns, rows = taken.tables["accounts"]
    broken = dict(taken.tables)
    broken["accounts"] = (columns, rows + rows)  # the same id twice
    with pytest.raises(sqlite3.IntegrityError):
        store.restore(type(taken)(broken))
    assert store.snapshot() == taken
    assert store.account_by_name("alice") is not None


def test_a_key_look_up_is_kept_until_a_write_and_a_quiet_store_asks_nothing(
    tmp_path: Path,
) -> None:
    store = open_store(url_for(tmp_path))
    try:
        assert isinstance(store, SQLiteStore)
        store.create_account("alice", "h", 0)
        first = store.account_by_key_hash("h")
        assert first is not None
        assert store.account_by_key_hash("h") is first  # kept
        assert store.account_by_key_hash("g") is None
        assert store.account_by_key_hash("g") is None
        store.save_usage({(first.id, "2024-06-01"): 3})  # usage is not cached: nothing dropped
        assert store.account_by_key_hash("h") is first
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        assert store.account_by_key_hash("h") is first
        store._db.set_trace_callback(None)
        assert statements == []  # the WAL index did not move: no data_version asked
        with store.transaction():  # inside a transaction the store is read, not the cache
            inside = store.account_by_key_hash("h")
        assert inside == first and inside is not first
        store.set_key_hash("alice", "h2")
        assert store.account_by_key_hash("h") is None
    finally:
        store.close()


def test_a_store_in_memory_looks_accounts_up() -> None:
    store = SQLiteStore(":memory:")
    try:
        alice = store.create_account("alice", "h", 0)
        assert store.account_by_key_hash("h") == alice
        assert store.account_by_key_hash("h") == alice
    finally:
        store.close()


def test_an_empty_that_fails_leaves_the_store_as_it_was(store: Store, tmp_path: Path) -> None:
    accounts.create_account(store, "alice", 0)
    taken = store.snapshot()
    db = sqlite3.connect(tmp_path / "foxden.db")
    try:  # a real refusal by the database, half way through the deletes
        db.execute(
            "CREATE TRIGGER keep_accounts BEFORE DELETE ON accounts "
            "BEGIN SELECT RAISE(ABORT, 'accounts are kept'); END"
        )
        db.commit()
    finally:
        db.close()
    with pytest.raises(sqlite3.IntegrityError) as info:
        store.empty()
    assert str(info.value) == "accounts are kept"
    assert store.snapshot() == taken
    assert store.account_by_name("alice") is not None
