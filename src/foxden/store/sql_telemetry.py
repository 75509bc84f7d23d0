"""Telemetry of the SQL backends (SQLite and PostgreSQL): day chunks, the latest sample, and
15-minute energy slots."""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Sequence, Set
from typing import Any, TypeVar

import numpy as np

from foxden.protocol import telemetry
from foxden.store import codec
from foxden.store.base import (
    F64,
    I64,
    SLOT_MS,
    DayChunk,
    DeviceSamples,
    Latest,
    Series,
    StoreError,
)
from foxden.store.changes import LATEST, MISS, TopicCaches

T = TypeVar("T")
DAY_MS = 86_400_000
_COUNTER_COLUMNS = ", ".join(telemetry.COUNTERS)
_SLOT_INSERT = (
    f"INSERT INTO energy_slots(sn, slot, {_COUNTER_COLUMNS}) "
    f"VALUES (?, ?, {', '.join('?' * len(telemetry.COUNTERS))}) "
    "ON CONFLICT(sn, slot) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in telemetry.COUNTERS)
)


class TelemetryMixin:
    """Telemetry on top of the SQL store's ``_x``/``_xm`` (statement, many) and ``_BEGIN``."""

    _lock: threading.RLock
    _BEGIN: str
    _caches: TopicCaches
    _depth: int
    _view: Any

    def _sync_changes(self) -> bool:
        raise NotImplementedError

    def _x(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        raise NotImplementedError

    def _use(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def transaction(self, topics: Set[str] = ...) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def _read(self, read: Callable[[], T]) -> T:
        raise NotImplementedError

    def _xm(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def _init_telemetry(self) -> None:
        self._schemas: dict[int, tuple[str, ...]] = {}
        self._schema_ids: dict[tuple[str, ...], int] = {}
        self._quanta: dict[int, F64] = {}
        for sid, text in self._x("SELECT id, variables FROM telemetry_schemas").fetchall():
            self._remember_schema(int(sid), tuple(text.split(",")))

    def _remember_schema(self, sid: int, variables: tuple[str, ...]) -> None:
        self._schemas[sid] = variables
        self._schema_ids[variables] = sid
        self._quanta[sid] = codec.quanta(variables)

    def _known_schema(self, sid: int) -> int:
        """``sid``, its variables and quanta loaded if another connection (another process
        ingesting) made it after this store read the table."""
        if sid not in self._schemas:
            row = self._read(
                lambda: self._x(
                    "SELECT variables FROM telemetry_schemas WHERE id = ?", (sid,)
                ).fetchone()
            )
            if row is None:
                raise StoreError(f"telemetry schema {sid} is missing")
            self._remember_schema(sid, tuple(row[0].split(",")))
        return sid

    def _schema_id(self, variables: tuple[str, ...]) -> int:
        sid = self._schema_ids.get(variables)
        if sid is None:
            row = self._x(
                "INSERT INTO telemetry_schemas(variables) VALUES (?) RETURNING id",
                (",".join(variables),),
            ).fetchone()
            sid = int(row[0])
            self._remember_schema(sid, variables)
        return sid

    # ------------------------------------------------------------ ingest

    def _check(self, item: DeviceSamples, known_sns: set[str]) -> None:
        if item.sn not in known_sns:
            raise StoreError(f"unknown device {item.sn!r}")
        catalogue = telemetry.variables()
        unknown = [v for v in item.variables if v not in catalogue]
        if unknown:
            raise StoreError(f"unknown variables {unknown} for {item.sn}")
        if len(set(item.variables)) != len(item.variables):
            raise StoreError(f"repeated variables for {item.sn}")
        n = len(item.times_ms)
        if item.values.shape != (n, len(item.variables)):
            raise StoreError(
                f"{item.sn}: values shape {item.values.shape} does not match "
                f"{n} times x {len(item.variables)} variables"
            )

    def ingest(self, batch: Sequence[DeviceSamples]) -> int:
        if not batch:
            return 0
        with self._use():
            sns = {item.sn for item in batch}
            marks = ",".join("?" * len(sns))
            known = {
                r[0] for r in self._x(f"SELECT sn FROM devices WHERE sn IN ({marks})", tuple(sns))
            }
            for item in batch:
                self._check(item, known)
            written = 0
            schemas = dict(self._schemas)
            try:
                with self.transaction({LATEST}):
                    for item in batch:
                        written += self._ingest_one(item)
            except BaseException:
                # schema ids made in the rolled-back transaction do not exist
                self._schemas.clear()
                self._schema_ids.clear()
                self._quanta.clear()
                for sid, variables in schemas.items():
                    self._remember_schema(sid, variables)
                raise
            return written

    def _ingest_one(self, item: DeviceSamples) -> int:
        times = np.asarray(item.times_ms, dtype=np.int64)
        if len(times) == 0:
            return 0
        values = np.asarray(item.values, dtype=np.float64)
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
        days = times // DAY_MS
        bounds = np.flatnonzero(np.diff(days)) + 1
        starts = np.r_[0, bounds]
        ends = np.r_[bounds, len(times)]
        last_t, last_v, last_vars = 0, values[0], item.variables
        for a, b in zip(starts, ends, strict=True):
            day = int(days[a])
            t, v, variables = self._merge(item.sn, day, times[a:b], values[a:b], item.variables)
            sid = self._schema_id(variables)
            tb, vb = codec.encode(t, v, self._quanta[sid])
            self._x(
                "INSERT INTO telemetry_chunks(sn, day, schema_id, n, times, data) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(sn, day) DO UPDATE SET "
                "schema_id = excluded.schema_id, n = excluded.n, times = excluded.times, "
                "data = excluded.data",
                (item.sn, day, sid, len(t), tb, vb),
            )
            self._write_slots(item.sn, t, v, variables, np.unique(times[a:b] // SLOT_MS))
            last_t, last_v, last_vars = int(t[-1]), v[-1], variables
        self._update_latest(item.sn, last_t, last_v, last_vars)
        return len(times)

    def _merge(
        self, sn: str, day: int, times: I64, values: F64, variables: tuple[str, ...]
    ) -> tuple[I64, F64, tuple[str, ...]]:
        row = self._x(
            "SELECT schema_id, n, times, data FROM telemetry_chunks WHERE sn = ? AND day = ?",
            (sn, day),
        ).fetchone()
        if row is None:
            return self._dedupe(times, values, variables)
        sid, n, tb, vb = row
        old_vars = self._schemas[self._known_schema(sid)]
        old_t, old_v = codec.decode(tb, vb, n, self._quanta[sid])
        if old_vars != variables:
            union = old_vars + tuple(v for v in variables if v not in old_vars)
            old_v = _widen(old_v, old_vars, union)
            values = _widen(values, variables, union)
            variables = union
        return self._dedupe(np.r_[old_t, times], np.vstack([old_v, values]), variables)

    @staticmethod
    def _dedupe(
        times: I64, values: F64, variables: tuple[str, ...]
    ) -> tuple[I64, F64, tuple[str, ...]]:
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
        keep = np.r_[times[1:] != times[:-1], True]  # the later of equal times wins
        return times[keep], values[keep], variables

    def _write_slots(
        self, sn: str, times: I64, values: F64, variables: tuple[str, ...], touched: I64
    ) -> None:
        """Rewrite the rollup rows of the slots the new samples fell in (``touched``), each
        from the last sample of its slot in the merged day."""
        index = {v: i for i, v in enumerate(variables)}
        columns = [index.get(c) for c in telemetry.COUNTERS]
        if all(c is None for c in columns):
            return
        slots = times // SLOT_MS
        last = np.flatnonzero(np.r_[slots[1:] != slots[:-1], True])
        if len(touched) < len(last):  # some of the day's slots are not new: leave them
            last = last[np.isin(slots[last], touched)]
        # the readings exactly as history answers them: at the counter's resolution
        present = np.array([c for c in columns if c is not None], dtype=np.int64)
        q = codec.quanta(tuple(variables[c] for c in present.tolist()))
        picked = np.full((len(last), len(columns)), np.nan)
        targets = np.array([k for k, c in enumerate(columns) if c is not None], dtype=np.int64)
        picked[:, targets] = np.round(values[last][:, present] / q) * q
        if np.isnan(picked).any():  # a counter the device lacks: NULL
            readings = [[None if x != x else x for x in row] for row in picked.tolist()]
        else:
            readings = picked.tolist()
        self._xm(
            _SLOT_INSERT,
            [
                (sn, int(slot), *row)
                for slot, row in zip(slots[last].tolist(), readings, strict=True)
            ],
        )

    def _update_latest(
        self, sn: str, time_ms: int, values: F64, variables: tuple[str, ...]
    ) -> None:
        row = self._x("SELECT time_ms FROM telemetry_latest WHERE sn = ?", (sn,)).fetchone()
        if row is not None and int(row[0]) > time_ms:
            return
        sid = self._schema_id(variables)
        self._x(
            "INSERT INTO telemetry_latest(sn, time_ms, schema_id, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(sn) DO UPDATE SET time_ms = excluded.time_ms, "
            "schema_id = excluded.schema_id, data = excluded.data",
            (sn, time_ms, sid, np.ascontiguousarray(values, dtype=np.float64).tobytes()),
        )

    # ------------------------------------------------------------ queries

    def latest(self, sns: Sequence[str]) -> dict[str, Latest]:
        """The newest sample of each device that has one; kept per device until the next
        ingest (the same ``Latest`` object until then: callers must not change it)."""
        if not sns:
            return {}
        with self._lock:
            if self._depth or not (self._view.usable() or self._sync_changes()):
                return self._load_latest(sns)
            found: dict[str, Latest] = {}
            missing = []
            for sn in sns:
                hit = self._caches.get(LATEST, sn)
                if hit is MISS:
                    missing.append(sn)
                elif hit is not None:
                    found[sn] = hit
            if missing:
                generation = self._caches.generation(LATEST)
                loaded = self._load_latest(missing)
                self._sync_changes()
                for sn in missing:
                    self._caches.put(LATEST, sn, loaded.get(sn), generation)
                found.update(loaded)
            return found

    def _load_latest(self, sns: Sequence[str]) -> dict[str, Latest]:
        marks = ",".join("?" * len(sns))
        rows = self._read(
            lambda: self._x(
                f"SELECT sn, time_ms, schema_id, data FROM telemetry_latest WHERE sn IN ({marks})",
                tuple(sns),
            ).fetchall()
        )
        found = {}
        for sn, time_ms, sid, blob in rows:
            values = np.frombuffer(blob, dtype=np.float64)
            present = ~np.isnan(values)
            names = itertools.compress(self._schemas[self._known_schema(sid)], present.tolist())
            found[sn] = Latest(
                sn, int(time_ms), dict(zip(names, values[present].tolist(), strict=True))
            )
        return found

    def history_chunks(self, sn: str, begin_ms: int, end_ms: int) -> list[DayChunk]:
        rows = self._read(
            lambda: self._x(
                "SELECT day, schema_id, n, times, data FROM telemetry_chunks "
                "WHERE sn = ? AND day BETWEEN ? AND ? ORDER BY day",
                (sn, begin_ms // DAY_MS, end_ms // DAY_MS),
            ).fetchall()
        )
        chunks = []
        for day, sid, n, tb, vb in rows:
            sid = self._known_schema(sid)
            tb, vb = bytes(tb), bytes(vb)
            quanta = self._quanta[sid]

            def unpack(tb: bytes = tb, vb: bytes = vb, n: int = n, q: F64 = quanta) -> Any:
                return codec.decode(tb, vb, n, q)

            chunks.append(DayChunk(int(day), self._schemas[sid], (int(n), tb, vb), unpack))
        return chunks

    def history(self, sn: str, begin_ms: int, end_ms: int) -> Series:
        chunks = self.history_chunks(sn, begin_ms, end_ms)
        if not chunks:
            return Series((), np.zeros(0, dtype=np.int64), np.zeros((0, 0)))
        parts = []
        variables: tuple[str, ...] = ()
        for chunk in chunks:
            t, v = chunk.unpack()
            parts.append((t, v, chunk.variables))
            variables += tuple(x for x in chunk.variables if x not in variables)
        times = np.concatenate([p[0] for p in parts])
        values = np.vstack([_widen(v, vs, variables) for _, v, vs in parts])
        keep = (times >= begin_ms) & (times <= end_ms)
        return Series(variables, times[keep], values[keep])

    def counters_before(self, sn: str, boundaries_ms: Sequence[int]) -> F64:
        for boundary in boundaries_ms:
            if boundary % SLOT_MS:
                raise ValueError(f"boundary {boundary} is not on a quarter hour")
        return self._read(lambda: self._counters_before(sn, boundaries_ms))

    def _counters_before(self, sn: str, boundaries_ms: Sequence[int]) -> F64:
        """Three queries whatever the count of boundaries (the first and the last slot, and
        the slot just before every boundary between them), plus one per boundary that falls
        after a gap in the data."""
        out = np.full((len(boundaries_ms), len(telemetry.COUNTERS)), np.nan)
        select = f"SELECT slot, {_COUNTER_COLUMNS} FROM energy_slots WHERE sn = ? "
        first = self._x(select + "ORDER BY slot LIMIT 1", (sn,)).fetchone()
        if first is None:
            return out
        last = self._x(select + "ORDER BY slot DESC LIMIT 1", (sn,)).fetchone()
        targets = [boundary // SLOT_MS for boundary in boundaries_ms]
        inside = sorted({t - 1 for t in targets if first[0] < t <= last[0]})
        exact = {}
        if inside:
            marks = ",".join("?" * len(inside))
            rows = self._x(select + f"AND slot IN ({marks})", (sn, *inside)).fetchall()
            exact = {int(r[0]): r for r in rows}
        rows = []
        for target in targets:
            if target <= first[0]:
                row = first
            elif target > last[0]:
                row = last
            else:
                row = exact.get(target - 1)
                if row is None:  # a gap: the newest slot before it
                    row = self._x(
                        select + "AND slot < ? ORDER BY slot DESC LIMIT 1", (sn, target)
                    ).fetchone()
            rows.append(row[1:])
        if rows:
            out[:] = np.array(rows, dtype=np.float64)  # a NULL counter becomes NaN
        return out

    def prune(self, before_ms: int) -> int:
        with self.transaction():
            cur = self._x("DELETE FROM telemetry_chunks WHERE day < ?", (before_ms // DAY_MS,))
            return int(cur.rowcount)


def _widen(values: F64, have: tuple[str, ...], want: tuple[str, ...]) -> F64:
    """``values`` with columns ``have`` rearranged to ``want`` (NaN for absent ones)."""
    if have == want:
        return values
    out = np.full((values.shape[0], len(want)), np.nan)
    index = {v: i for i, v in enumerate(want)}
    for j, v in enumerate(have):
        out[:, index[v]] = values[:, j]
    return out
