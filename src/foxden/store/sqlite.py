"""The SQL backends of :class:`foxden.store.base.Store`: the shared implementation and the
embedded SQLite one (PostgreSQL is in :mod:`foxden.store.postgres`)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Set
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from foxden.store.base import Account, Device, Logger, Plant, StoreError
from foxden.store.changes import (
    ACCOUNTS,
    ALL,
    DEVICES,
    MISS,
    PLANTS,
    SETTINGS,
    TopicCaches,
    WalMarker,
)
from foxden.store.snapshot import SnapshotMixin
from foxden.store.sql_telemetry import TelemetryMixin
from foxden.store.waiting import GuardedLock

log = logging.getLogger("foxden.store")

SCHEMA_VERSION = "2"
T = TypeVar("T")

_ACCOUNT_SELECT = (
    "SELECT a.id, a.name, a.created_ms, "
    "(SELECT COUNT(*) FROM devices d WHERE d.account_id = a.id) FROM accounts a "
)


class SqlStore(TelemetryMixin, SnapshotMixin):
    """The Store on a DB-API connection: everything but connecting and the dialect's few
    differences, which the SQLite and PostgreSQL backends supply. SQL is written once with
    ``?`` placeholders; one connection is shared under a lock; writes are transactions."""

    _BEGIN = "BEGIN"
    _INTEGRITY: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)
    _TRANSIENT: tuple[type[BaseException], ...] = ()
    """Errors after which an idempotent read is tried again (a lost connection)."""
    _UNAVAILABLE: tuple[type[BaseException], ...] = ()
    """Errors that mean no connection could be had at all: not tried again."""
    _READ_RETRIES = 2
    _db: Any
    _VIEW_HOLDS = False
    """Whether a request's view (``request_view``) holds the store from its beginning to
    its end: then a request waits for another thread's unit of work (an ingest part) once
    at most, however many reads it makes, and its reads see one state of the store. Only
    for a store whose ``_cache_turn`` is its lock (the view, holding it, takes no turn)."""

    @staticmethod
    def _new_lock() -> contextlib.AbstractContextManager[Any]:
        return GuardedLock(guarded=False)  # counts its waiters (ingest lets them in)

    def _init_common(self) -> None:
        self._lock = self._new_lock()
        self._depth = 0
        self._caches = TopicCaches()
        self._touched: set[str] = set()
        self._seen_version: object = None
        self._view = _View(self)

    def lock_waited_s(self) -> float:
        """Seconds this thread has spent waiting for the store while another thread's unit
        of work (an ingest part, a write) held it, in all."""
        waited = getattr(self._lock, "waited_s", None)
        return float(waited()) if waited is not None else 0.0

    def _sql(self, sql: str) -> str:
        """The statement in this driver's placeholder style."""
        return sql

    def _x(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        return self._db.execute(self._sql(sql), params)

    def _xm(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self._db.cursor().executemany(self._sql(sql), rows)

    @contextlib.contextmanager
    def _use(self) -> Iterator[None]:
        """Hold the store for one unit of work (PostgreSQL also holds one pooled
        connection for it). Re-entrant."""
        with self._lock:
            yield

    @contextlib.contextmanager
    def transaction(self, topics: Set[str] = ALL) -> Iterator[None]:
        """Everything inside commits together or not at all; nests (inner ones join).

        ``topics``: the cached rows the writes inside may change (``foxden.store.changes``);
        they are dropped when the outermost transaction ends (committed or not) and
        announced to other processes with the commit."""
        with self._use():
            self._touched.update(topics)
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._x(self._BEGIN)
            self._depth = 1
            committed: Set[str] = frozenset()
            try:
                yield
                if self._touched:
                    self._announce(self._touched)
                self._x("COMMIT")
                committed = self._touched
            except self._INTEGRITY as exc:
                self._rollback()
                raise StoreError(str(exc)) from exc
            except BaseException:
                self._rollback()
                raise
            finally:
                self._depth = 0
                self._caches.drop(self._touched)
                self._touched = set()
            if committed:
                self._committed(committed)

    def _announce(self, topics: Set[str]) -> None:
        """Tell other processes, with the commit, which cached rows changed (PostgreSQL)."""

    def _committed(self, topics: Set[str]) -> None:
        """After the commit of a transaction that touched ``topics`` (PostgreSQL: the
        shared change counters move); must not raise."""

    def _sync_changes(self, arrived: float | None = None) -> bool:
        """Drop cached rows other connections changed; False when this store cannot tell
        (then nothing is cached). SQLite: ``PRAGMA data_version`` moves on another
        connection's commit. ``arrived``: see ``request_view``."""
        version = self._data_version()
        if version is None:
            return False
        if version != self._seen_version:
            self._caches.drop(ALL)
            self._seen_version = version
        return True

    def request_view(self, arrived: float | None = None) -> contextlib.AbstractContextManager[None]:
        """One request's reads: other connections' writes are looked for once, as it
        begins, rather than before every cached read (this store's own writes are seen at
        once either way)."""
        view: _View = self._view
        if view.depth == 0:
            view.arrived = arrived
        return view

    def cache_mark(self) -> int | None:
        if self._in_own_unit() or not self._view.usable:
            return None
        return self._caches.mark

    def _in_own_unit(self) -> bool:
        """Whether this thread is inside a transaction of this store (whose writes may roll
        back: nothing read there is kept or answered from the caches). Here: the store's
        transaction depth, which only the thread holding the store moves."""
        return self._depth > 0

    def _sync_lockless(self, arrived: float | None) -> bool:
        """Open a request's view without the store's lock when nothing needs a query to
        tell what changed; False: open it the usual way (under the lock)."""
        return False

    def _cached(self, topic: str, key: Hashable, load: Callable[[], T]) -> T:
        """``load()``, kept under ``topic`` until a write drops it; inside a transaction (it
        may roll back) or when other connections' writes cannot be seen, never kept.

        Inside a request's view that could use the caches a kept row is read without the
        store's lock: a drop (a write's end, another process's change heard) may come at
        any time with or without it, and a fill only keeps a row read after the last drop
        of its topic (the topic's generation), so the lock adds nothing to a hit; it
        orders fills and drops, and that only a miss needs."""
        if self._view.usable and not self._in_own_unit():
            found = self._caches.get(topic, key)
            if found is not MISS:
                hit: T = found
                return hit
        with self._cache_turn() as held:
            if not held or self._depth:
                return load()
            if self._view.usable:
                pass
            elif not self._sync_changes():
                return load()
            found = self._caches.get(topic, key)
            if found is not MISS:
                value: T = found
                return value
            generation = self._caches.generation(topic)
            value = load()
            self._sync_changes()
            self._caches.put(topic, key, value, generation)
            return value

    @contextlib.contextmanager
    def _cache_turn(self) -> Iterator[bool]:
        """The store's lock around a read that may use the caches (True), or False when
        the read should go to the database without them rather than wait for the lock
        (PostgreSQL with read connections, while another thread's unit of work holds the
        store). Here: the lock, waited for."""
        with self._lock:
            yield True

    def _rollback(self) -> None:
        with contextlib.suppress(*self._TRANSIENT):  # a lost connection rolled back already
            self._x("ROLLBACK")

    def _holding(self) -> bool:
        """Whether this thread is inside a unit of work that holds a connection."""
        return False

    def _read(self, read: Callable[[], T]) -> T:
        """Run an idempotent read; after a lost connection, again on a fresh one (unless
        an enclosing unit of work holds the connection, which then fails as a whole)."""
        with self._lock:
            nested = self._depth > 0 or self._holding()
            attempt = 0
            while True:
                try:
                    with self._use():
                        return read()
                except self._TRANSIENT as exc:
                    if (
                        nested
                        or attempt >= self._READ_RETRIES
                        or isinstance(exc, self._UNAVAILABLE)
                    ):
                        raise
                    attempt += 1
                    time.sleep(0.05 * attempt)

    def _data_version(self) -> object | None:
        """Something that changes whenever another connection commits; None: unknown, so
        account look-ups are not cached."""
        return None

    def _apply_schema(self, statements: list[str]) -> None:
        with self.transaction():
            for statement in statements:
                self._x(statement)
            self._x(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (SCHEMA_VERSION,),
            )
        with self._use():
            self._init_telemetry()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: tuple[Any, ...] = (), topics: Set[str] = ALL) -> int:
        """Run one statement in its own transaction (or the caller's); the rows it changed."""
        with self.transaction(topics):
            return int(self._x(sql, params).rowcount)

    def _many(self, statements: list[tuple[str, tuple[Any, ...]]], topics: Set[str] = ALL) -> None:
        with self.transaction(topics):
            for sql, params in statements:
                self._x(sql, params)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._read(lambda: self._x(sql, params).fetchall())
        return rows

    # ------------------------------------------------------------ accounts

    def create_account(self, name: str, key_hash: str, now_ms: int) -> Account:
        self._write(
            "INSERT INTO accounts(name, key_hash, created_ms) VALUES (?, ?, ?)",
            (name, key_hash, now_ms),
        )
        account = self.account_by_name(name)
        assert account is not None
        return account

    def set_key_hash(self, name: str, key_hash: str) -> Account:
        changed = self._write("UPDATE accounts SET key_hash = ? WHERE name = ?", (key_hash, name))
        if changed != 1:
            raise StoreError(f"no account named {name!r}")
        account = self.account_by_name(name)
        assert account is not None
        return account

    def account_by_key_hash(self, key_hash: str) -> Account | None:
        """Looked up on every request, so cached: dropped whenever this store writes an
        account or a device, or another process does (``foxden key rotate``), so a rotated
        key fails at once."""

        def load() -> Account | None:
            rows = self._rows(_ACCOUNT_SELECT + "WHERE a.key_hash = ?", (key_hash,))
            return Account(*rows[0]) if rows else None

        return self._cached(ACCOUNTS, key_hash, load)

    def account_by_name(self, name: str) -> Account | None:
        rows = self._rows(_ACCOUNT_SELECT + "WHERE a.name = ?", (name,))
        return Account(*rows[0]) if rows else None

    def accounts(self) -> list[Account]:
        return [Account(*r) for r in self._rows(_ACCOUNT_SELECT + "ORDER BY a.id")]

    def usage(self, account_id: int, day: str) -> int:
        rows = self._rows(
            "SELECT count FROM usage WHERE account_id = ? AND day = ?", (account_id, day)
        )
        return int(rows[0][0]) if rows else 0

    def save_usage(self, counts: dict[tuple[int, str], int]) -> None:
        self._many(
            [
                (
                    "INSERT INTO usage(account_id, day, count) VALUES (?, ?, ?) "
                    # a day's count only grows: of two writers (workers sharing the count
                    # in Redis) the one that read it earlier cannot lower it
                    "ON CONFLICT(account_id, day) DO UPDATE SET count = CASE "
                    "WHEN excluded.count > usage.count THEN excluded.count ELSE usage.count END",
                    (account_id, day, count),
                )
                for (account_id, day), count in counts.items()
            ],
            topics=frozenset(),  # nothing cached reads usage
        )

    # ------------------------------------------------------------ plants

    _PLANT_COLUMNS = (
        "id, account_id, name, type, country_code, city, address, postcode, timezone, "
        "created_ms, price, currency, capacity, latitude, longitude, extra"
    )

    @staticmethod
    def _plant_params(p: Plant) -> tuple[Any, ...]:
        return (
            p.id,
            p.account_id,
            p.name,
            p.type,
            p.country_code,
            p.city,
            p.address,
            p.postcode,
            p.timezone,
            p.created_ms,
            p.price,
            p.currency,
            p.capacity,
            p.latitude,
            p.longitude,
            json.dumps(p.extra),
        )

    @staticmethod
    def _plant(row: tuple[Any, ...]) -> Plant:
        return Plant(*row[:-1], extra=json.loads(row[-1]))  # type: ignore[misc]

    def insert_plant(self, plant: Plant) -> None:
        self._write(
            f"INSERT INTO plants({self._PLANT_COLUMNS}) VALUES ({', '.join('?' * 16)})",
            self._plant_params(plant),
        )

    def update_plant(self, plant: Plant) -> None:
        columns = self._PLANT_COLUMNS.split(", ")
        assignments = ", ".join(f"{c} = ?" for c in columns[2:])
        params = self._plant_params(plant)
        self._write(
            f"UPDATE plants SET {assignments} WHERE id = ? AND account_id = ?",
            (*params[2:], plant.id, plant.account_id),
        )

    def delete_plant(self, account_id: int, plant_id: str) -> bool:
        deleted = self._write(
            "DELETE FROM plants WHERE id = ? AND account_id = ?", (plant_id, account_id)
        )
        return deleted == 1

    def plant(self, account_id: int, plant_id: str) -> Plant | None:
        def load() -> Plant | None:
            rows = self._rows(
                f"SELECT {self._PLANT_COLUMNS} FROM plants WHERE id = ? AND account_id = ?",
                (plant_id, account_id),
            )
            return self._plant(rows[0]) if rows else None

        return self._cached(PLANTS, (account_id, plant_id), load)

    def plants(self, account_id: int, offset: int, limit: int) -> tuple[list[Plant], int]:
        rows = self._rows(
            f"SELECT {self._PLANT_COLUMNS} FROM plants WHERE account_id = ? "
            "ORDER BY created_ms, id LIMIT ? OFFSET ?",
            (account_id, limit, offset),
        )
        total = self._rows("SELECT COUNT(*) FROM plants WHERE account_id = ?", (account_id,))
        return [self._plant(r) for r in rows], int(total[0][0])

    # ------------------------------------------------------------ devices and loggers

    _DEVICE_COLUMNS = "sn, account_id, model, logger_sn, created_ms, plant_id, status, batteries"

    @staticmethod
    def _device(row: tuple[Any, ...]) -> Device:
        return Device(*row[:-1], batteries=json.loads(row[-1]))  # type: ignore[misc]

    def insert_device(self, device: Device, logger: Logger) -> None:
        """Register a device and its logger; a logger serial belongs to one account only."""
        with self.transaction():
            self._x(
                "INSERT INTO loggers(sn, account_id, signal, status) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(sn) DO NOTHING",
                (logger.sn, logger.account_id, logger.signal, logger.status),
            )
            owner = self._x("SELECT account_id FROM loggers WHERE sn = ?", (logger.sn,)).fetchone()
            if owner is None or int(owner[0]) != device.account_id:
                raise StoreError(f"logger {logger.sn} belongs to another account")
            self._x(
                f"INSERT INTO devices({self._DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    device.sn,
                    device.account_id,
                    device.model,
                    device.logger_sn,
                    device.created_ms,
                    device.plant_id,
                    device.status,
                    json.dumps(device.batteries),
                ),
            )

    def device(self, sn: str) -> Device | None:
        def load() -> Device | None:
            rows = self._rows(f"SELECT {self._DEVICE_COLUMNS} FROM devices WHERE sn = ?", (sn,))
            return self._device(rows[0]) if rows else None

        return self._cached(DEVICES, sn, load)

    def devices(
        self, account_id: int, offset: int = 0, limit: int = -1
    ) -> tuple[list[Device], int]:
        found, total = self.devices_with_plant_names(account_id, offset, limit)
        return [device for device, _ in found], total

    def devices_with_plant_names(
        self, account_id: int, offset: int = 0, limit: int = -1
    ) -> tuple[list[tuple[Device, str]], int]:
        """A page of the account's devices, each with its plant's name ("" when unbound),
        and the account's device count: one query (kept until a device or plant changes)."""

        def load() -> tuple[list[tuple[Device, str]], int]:
            columns = ", ".join(f"d.{c}" for c in self._DEVICE_COLUMNS.split(", "))
            rows = self._rows(
                f"SELECT {columns}, COALESCE(p.name, ''), "
                "(SELECT COUNT(*) FROM devices c WHERE c.account_id = d.account_id) "
                "FROM devices d LEFT JOIN plants p "
                "ON p.id = d.plant_id AND p.account_id = d.account_id "
                "WHERE d.account_id = ? ORDER BY d.created_ms, d.sn LIMIT ? OFFSET ?",
                (account_id, limit if limit >= 0 else 2**62, offset),
            )
            if rows:
                total = int(rows[0][-1])
            else:
                count = self._rows(
                    "SELECT COUNT(*) FROM devices WHERE account_id = ?", (account_id,)
                )
                total = int(count[0][0])
            return [(self._device(r[:-2]), str(r[-2])) for r in rows], total

        found, total = self._cached(DEVICES, ("page", account_id, offset, limit), load)
        return list(found), total

    def devices_of_plant(self, plant_id: str) -> list[Device]:
        rows = self._rows(
            f"SELECT {self._DEVICE_COLUMNS} FROM devices WHERE plant_id = ? ORDER BY sn",
            (plant_id,),
        )
        return [self._device(r) for r in rows]

    def bind_device(self, sn: str, plant_id: str | None) -> None:
        self._write("UPDATE devices SET plant_id = ? WHERE sn = ?", (plant_id, sn))

    def set_device_status(self, sn: str, status: int) -> None:
        self._write("UPDATE devices SET status = ? WHERE sn = ?", (status, sn))

    def all_devices(self) -> list[tuple[Device, Plant | None]]:
        """Every device with its plant; the same list (callers must not change it) until a
        device or a plant changes, here or in another process (the fleet asks every step)."""
        with self._cache_turn() as held:
            if not held:
                return self._devices()
            for _ in range(2):
                plants, found = self._cached(
                    DEVICES, ("all",), lambda: (self._caches.generation(PLANTS), self._devices())
                )
                if plants == self._caches.generation(PLANTS):
                    return found
                self._caches.drop({DEVICES})  # a plant changed since: read again
            return self._devices()

    def all_settings(self) -> dict[str, dict[str, Any]]:
        """Every device's settings by serial; the same dicts (callers must not change them)
        until a setting changes, here or in another process (the fleet asks every step)."""
        found: dict[str, dict[str, Any]] = self._cached(SETTINGS, ("all",), self._all_settings)
        return found

    def _all_settings(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for sn, key, value in self._rows("SELECT sn, key, value FROM device_settings"):
            found.setdefault(sn, {})[key] = json.loads(value)
        return found

    def _devices(self) -> list[tuple[Device, Plant | None]]:
        rows = self._rows(f"SELECT {self._DEVICE_COLUMNS} FROM devices ORDER BY created_ms, sn")
        plants: dict[str, Plant | None] = {}
        found = []
        for row in rows:
            device = self._device(row)
            if device.plant_id is not None and device.plant_id not in plants:
                prow = self._rows(
                    f"SELECT {self._PLANT_COLUMNS} FROM plants WHERE id = ?", (device.plant_id,)
                )
                plants[device.plant_id] = self._plant(prow[0]) if prow else None
            found.append((device, plants.get(device.plant_id) if device.plant_id else None))
        return found

    def clear_telemetry(self) -> None:
        self._many(
            [
                ("DELETE FROM telemetry_chunks", ()),
                ("DELETE FROM telemetry_tail", ()),
                ("DELETE FROM telemetry_latest", ()),
                ("DELETE FROM energy_slots", ()),
            ]
        )

    def meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def put_meta(self, key: str, value: str) -> None:
        self._write(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
            topics=frozenset(),
        )

    def loggers(self, account_id: int, offset: int, limit: int) -> tuple[list[Logger], int]:
        rows = self._rows(
            "SELECT l.sn, l.account_id, l.signal, l.status FROM loggers l "
            "WHERE l.account_id = ? ORDER BY l.sn LIMIT ? OFFSET ?",
            (account_id, limit, offset),
        )
        total = self._rows("SELECT COUNT(*) FROM loggers WHERE account_id = ?", (account_id,))
        return [Logger(*r) for r in rows], int(total[0][0])

    def logger(self, sn: str) -> Logger | None:
        rows = self._rows("SELECT sn, account_id, signal, status FROM loggers WHERE sn = ?", (sn,))
        return Logger(*rows[0]) if rows else None

    # ------------------------------------------------------------ settings

    def settings(self, sn: str) -> dict[str, Any]:
        """A fresh dict every call (callers may change it); the rows are cached."""
        rows: list[tuple[Any, ...]] = self._cached(
            SETTINGS,
            sn,
            lambda: self._rows("SELECT key, value FROM device_settings WHERE sn = ?", (sn,)),
        )
        return {k: json.loads(v) for k, v in rows}

    def put_settings(self, sn: str, values: dict[str, Any]) -> None:
        self._many(
            [
                (
                    "INSERT INTO device_settings(sn, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT(sn, key) DO UPDATE SET value = excluded.value",
                    (sn, key, json.dumps(value)),
                )
                for key, value in values.items()
            ],
            topics={SETTINGS},
        )


class _View(threading.local):
    """``SqlStore.request_view``: per thread, whether a request's view is open and whether
    the store's caches were usable when it opened."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.depth = 0
        self.usable = False
        """Whether a view is open and the store's caches were usable when it opened."""
        self.arrived: float | None = None
        self.holds = store._VIEW_HOLDS

    # every attribute of a thread's local is a look-up in its own dictionary: each is read
    # once here (a view is opened and closed by every call)

    def __enter__(self) -> None:
        depth = self.depth
        if depth == 0:
            store = self.store
            if self.holds:  # the store's lock, which is all its cache turn would take
                lock = store._lock
                lock.__enter__()
                try:
                    usable = store._sync_changes(self.arrived)
                except BaseException:
                    lock.__exit__(None, None, None)
                    raise
            elif store._sync_lockless(self.arrived):
                usable = True
            else:
                with store._cache_turn() as held:
                    usable = held and store._sync_changes(self.arrived)
            self.usable = usable
        self.depth = depth + 1

    def __exit__(self, *exc: object) -> None:
        depth = self.depth - 1
        self.depth = depth
        if depth == 0:
            self.usable = False
            if self.holds:
                self.store._lock.__exit__(None, None, None)


class SQLiteStore(SqlStore):
    """The embedded default: one connection in WAL mode.

    A commit that takes the WAL past ``wal_autocheckpoint`` pages (1,000 by default)
    copies it into the database before it returns, with the store held: during a long
    ingest that made some parts several times as long as the others, and a reader waited for
    them (docs/bench-ingest.md). So the store's connection checkpoints only past
    ``WAL_AUTOCHECKPOINT`` pages (a safety net for other writes), and an ingest copies the
    WAL itself between its parts, at most every ``CHECKPOINT_EVERY_S``, on a connection of
    its own with the store free (a passive checkpoint: it waits for no reader or writer, and
    what it cannot copy yet is copied the next time). Copied often, the WAL starts again
    from its beginning and stays far below the safety net."""

    _BEGIN = "BEGIN IMMEDIATE"
    _VIEW_HOLDS = True  # one connection: every read holds the store anyway
    WAL_AUTOCHECKPOINT = 4000
    """Pages (4 KiB each) the WAL may hold before a commit copies it into the database."""
    CHECKPOINT_EVERY_S = 0.05
    """An ingest copies the WAL into the database at most this often (seconds)."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            _private_file(Path(path))
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        self._init_common()
        self._db.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._path = path
        self.file: str | None = None if path == ":memory:" else path
        """The database's file (None in memory)."""
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpointing = threading.Lock()
        self._checkpointed_at = time.monotonic()
        self._apply_schema(schema_statements())
        if path != ":memory:":  # SQLite gives -wal and -shm the database's mode; make sure
            for suffix in ("-wal", "-shm"):
                side = Path(path + suffix)
                if side.exists():
                    side.chmod(0o600)
        wal = self._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        if wal:
            self._db.execute(f"PRAGMA wal_autocheckpoint = {self.WAL_AUTOCHECKPOINT}")
        self._wal = wal
        self._marker = WalMarker.open(path) if wal else None
        self._seen_marker: bytes | None = None
        """The WAL-index header as it was just before data_version was last read."""

    def _data_version(self) -> object | None:
        version: int = self._x("PRAGMA data_version").fetchone()[0]
        return version

    def _sync_changes(self, arrived: float | None = None) -> bool:
        """As the shared store does, but without a statement while the WAL index's header
        shows that nothing was committed since data_version was last read. The header is
        read before data_version, so a commit between the two is seen next time."""
        marker = self._marker.read() if self._marker is not None else None
        if marker is not None and marker == self._seen_marker:
            return True
        synced = super()._sync_changes()
        self._seen_marker = marker
        return synced

    def _between_parts(self) -> None:
        if not self._wal or time.monotonic() - self._checkpointed_at < self.CHECKPOINT_EVERY_S:
            return
        if not self._checkpointing.acquire(blocking=False):
            return  # another thread's ingest is copying it now
        try:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(
                    self._path, check_same_thread=False, isolation_level=None, timeout=0
                )
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # busy, or closed: the next part, or the safety net
            log.debug("checkpoint between ingest parts skipped: %s", exc)
        finally:
            self._checkpointed_at = time.monotonic()
            self._checkpointing.release()

    def close(self) -> None:
        with self._checkpointing:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
            self._wal = False  # no checkpoint connection is opened again
        with self._lock:
            if self._marker is not None:
                self._marker.close()
                self._marker = None
            self._seen_marker = None
        super().close()


def _private_file(path: Path) -> None:
    """Create the database's directory (0700) and file (0600) before SQLite opens it, so
    neither is ever readable by other users; an existing file is made 0600."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    path.chmod(0o600)


def schema_statements() -> list[str]:
    """The schema (``schema.sql``, written for SQLite) as single statements."""
    text = resources.files("foxden.store").joinpath("schema.sql").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
