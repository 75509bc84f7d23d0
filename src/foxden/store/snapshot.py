"""Whole-store snapshots for the SQL backends: every row of every table, taken in one
transaction and put back in one, so a test can return to a known state."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from foxden.store.changes import ALL, TopicCaches

TABLES = (
    "meta",
    "accounts",
    "usage",
    "plants",
    "loggers",
    "devices",
    "device_settings",
    "telemetry_schemas",
    "telemetry_chunks",
    "telemetry_tail",
    "telemetry_latest",
    "energy_slots",
)
"""In an order that satisfies the foreign keys when inserting (reversed when deleting)."""


@dataclass(frozen=True, slots=True)
class StoreSnapshot:
    tables: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]
    """Table -> (columns, rows)."""

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, (_, rows) in self.tables.items()}


class SnapshotMixin:
    """``snapshot`` and ``restore`` on the shared SQL of :class:`SqlStore`."""

    _BEGIN: str
    _caches: TopicCaches

    if TYPE_CHECKING:  # supplied by SqlStore and TelemetryMixin

        def _x(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any: ...
        def _xm(self, sql: str, rows: list[tuple[Any, ...]]) -> None: ...
        def _init_telemetry(self) -> None: ...
        def _use(self) -> contextlib.AbstractContextManager[None]: ...
        def _announce(self, topics: Set[str]) -> None: ...

    def _after_restore(self) -> None:
        """Backend-specific repair after rows came back (identity counters)."""

    def snapshot(self) -> StoreSnapshot:
        """Every row of every table, as one consistent view."""
        tables = {}
        with self._use():
            self._x(self._BEGIN)
            try:
                for name in TABLES:
                    cur = self._x(f"SELECT * FROM {name}")
                    columns = tuple(d[0] for d in cur.description)
                    rows = [
                        tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                        for row in cur.fetchall()
                    ]
                    tables[name] = (columns, rows)
            finally:
                self._x("COMMIT")
        return StoreSnapshot(tables)

    @contextlib.contextmanager
    def _replacing(self) -> Iterator[None]:
        """One transaction that replaces the store's rows: every cached row dropped before
        and after it, the identity counters repaired and other processes told before it
        commits (rolled back whole if anything fails), the telemetry schemas read afresh."""
        with self._use():
            self._caches.drop(ALL)
            self._x(self._BEGIN)
            try:
                yield
                self._after_restore()
                self._announce(ALL)  # other processes drop their cached rows
            except BaseException:
                self._x("ROLLBACK")
                self._caches.drop(ALL)
                raise
            self._x("COMMIT")
            self._caches.drop(ALL)
            self._init_telemetry()

    def empty(self) -> None:
        """Delete every row (atomically) but the schema's version: a fresh database."""
        with self._replacing():
            for name in reversed(TABLES):
                where = " WHERE key <> 'schema_version'" if name == "meta" else ""
                self._x(f"DELETE FROM {name}{where}")

    def restore(self, snapshot: StoreSnapshot) -> None:
        """Make the store hold exactly what ``snapshot`` held (atomically)."""
        with self._replacing():
            for name in reversed(TABLES):
                self._x(f"DELETE FROM {name}")
            for name in TABLES:
                columns, rows = snapshot.tables[name]
                marks = ", ".join("?" for _ in columns)
                self._xm(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", rows)
