"""Telemetry of the SQL backends (SQLite and PostgreSQL): day chunks, the latest sample, and
15-minute energy slots. Writes are in :mod:`foxden.store.telemetry_write`."""

from __future__ import annotations

import contextlib
import itertools
import struct
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from foxden.protocol import telemetry
from foxden.store import codec, days
from foxden.store.base import (
    F64,
    I64,
    SLOT_MS,
    DayChunk,
    Latest,
    Series,
    StoreError,
)
from foxden.store.changes import LATEST, MISS, TopicCaches
from foxden.store.telemetry_write import COUNTER_COLUMNS, TelemetryWriter

T = TypeVar("T")
DAY_MS = 86_400_000


class TelemetryMixin(TelemetryWriter):
    """Telemetry on top of the SQL store's ``_x``/``_xm`` (statement, many) and ``_BEGIN``.

    A device's UTC day is kept as one packed chunk (``telemetry_chunks``) plus the rows
    appended to it since it was packed (``telemetry_tail``): a live sample is one short
    insert whatever the day already holds, and the tail is packed into the chunk when the
    day closes (``merge_tail``) or when a bigger write re-packs the day anyway. Every read
    puts the two together (:mod:`foxden.store.days`).
    """

    _lock: contextlib.AbstractContextManager[Any]
    _BEGIN: str
    _caches: TopicCaches
    _depth: int
    _view: Any

    def _sync_changes(self, arrived: float | None = None) -> bool:
        raise NotImplementedError

    def _read(self, read: Callable[[], T]) -> T:
        raise NotImplementedError

    def _cache_turn(self) -> contextlib.AbstractContextManager[bool]:
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
        """The id of a variable set, made if no store made it yet (another process may
        have made it after this store read the table: then it is looked up)."""
        sid = self._schema_ids.get(variables)
        if sid is None:
            text = ",".join(variables)
            row = self._x(
                "INSERT INTO telemetry_schemas(variables) VALUES (?) "
                "ON CONFLICT (variables) DO NOTHING RETURNING id",
                (text,),
            ).fetchone()
            if row is None:
                row = self._x(
                    "SELECT id FROM telemetry_schemas WHERE variables = ?", (text,)
                ).fetchone()
            sid = int(row[0])
            self._remember_schema(sid, variables)
        return sid

    # ------------------------------------------------------------ queries

    def latest(self, sns: Sequence[str]) -> dict[str, Latest]:
        """The newest sample of each device that has one; kept per device until the next
        ingest (the same ``Latest`` object until then: callers must not change it)."""
        if not sns:
            return {}
        with self._cache_turn() as held:
            if not held or self._depth or not (self._view.usable or self._sync_changes()):
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
        """Each day's chunk with its tail rows after it, read in one statement (one view of
        the data even while another process packs a tail)."""
        rows = self._read(
            lambda: self._x(
                "SELECT day, 0, schema_id, n, times, data FROM telemetry_chunks "
                "WHERE sn = ? AND day BETWEEN ? AND ? "
                "UNION ALL SELECT day, id, schema_id, n, times, data FROM telemetry_tail "
                "WHERE sn = ? AND day BETWEEN ? AND ? ORDER BY 1, 2",
                (sn, begin_ms // DAY_MS, end_ms // DAY_MS) * 2,
            ).fetchall()
        )
        chunks = []
        for day, group in itertools.groupby(rows, key=lambda r: int(r[0])):
            pieces = [
                (int(rid), self._known_schema(sid), int(n), bytes(tb), bytes(vb))
                for _, rid, sid, n, tb, vb in group
            ]
            chunks.append(self._day_chunk(day, pieces))
        return chunks

    def _day_chunk(self, day: int, pieces: list[tuple[int, int, int, bytes, bytes]]) -> DayChunk:
        """A day from its chunk (row id 0) and/or tail rows (ids > 0), in write order."""
        if len(pieces) == 1 and pieces[0][0] == 0:
            _, sid, n, tb, vb = pieces[0]
            quanta = self._quanta[sid]

            def unpack_chunk(tb: bytes = tb, vb: bytes = vb, n: int = n, q: F64 = quanta) -> Any:
                return codec.decode(tb, vb, n, q)

            return DayChunk(day, self._schemas[sid], (n, tb, vb), unpack_chunk)
        schemas, quanta_of = self._schemas, self._quanta

        def unpack() -> tuple[I64, F64]:
            parts: list[days.Piece] = []
            for rid, sid, n, tb, vb in pieces:
                decode = codec.decode if rid == 0 else codec.decode_rows
                t, v = decode(tb, vb, n, quanta_of[sid])
                parts.append((t, v, schemas[sid]))
            t, v, _ = days.combine(parts)
            return t, v

        variables = days.union([self._schemas[p[1]] for p in pieces])
        # the same rows give the same content; any appended or packed row changes it
        head = b"".join(struct.pack("<qqq", rid, sid, n) for rid, sid, n, _, _ in pieces)
        content = (
            sum(p[2] for p in pieces),
            head + b"".join(p[3] for p in pieces),
            b"".join(p[4] for p in pieces),
        )
        return DayChunk(day, variables, content, unpack)

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
        values = np.vstack([days.widen(v, vs, variables) for _, v, vs in parts])
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
        select = f"SELECT slot, {COUNTER_COLUMNS} FROM energy_slots WHERE sn = ? "
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
            day = before_ms // DAY_MS
            row = self._x(
                "SELECT COUNT(*) FROM (SELECT sn, day FROM telemetry_chunks WHERE day < ? "
                "UNION SELECT sn, day FROM telemetry_tail WHERE day < ?) AS pruned",
                (day, day),
            ).fetchone()
            self._x("DELETE FROM telemetry_chunks WHERE day < ?", (day,))
            self._x("DELETE FROM telemetry_tail WHERE day < ?", (day,))
            return int(row[0])
