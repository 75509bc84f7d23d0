"""Telemetry writes of the SQL backends: ``ingest`` (a live sample appended to its day's
tail, a backfill or a correction packed into the day chunk), the 15-minute energy rollups
and the newest sample of each device, written in short transactions; and ``merge_tail``,
which packs a closed day's tail into its chunk.

The bulk writes of an ingest part (tail rows, rollup rows, newest samples) go through
``_write_rows`` (and ``_insert_tail`` before a day is packed): here one prepared statement
run for every row (SQLite, in process); the PostgreSQL store sends all of a part's rows in
one set-based statement (one round trip, not a statement a row).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Sequence, Set
from typing import Any

import numpy as np

from foxden.protocol import telemetry
from foxden.store import codec, days
from foxden.store.base import F64, I64, SLOT_MS, DeviceSamples, StoreError
from foxden.store.changes import LATEST

DAY_MS = 86_400_000
COUNTER_COLUMNS = ", ".join(telemetry.COUNTERS)
SLOT_INSERT = (
    f"INSERT INTO energy_slots(sn, slot, {COUNTER_COLUMNS}) "
    f"VALUES (?, ?, {', '.join('?' * len(telemetry.COUNTERS))}) "
    "ON CONFLICT(sn, slot) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in telemetry.COUNTERS)
)
TAIL_INSERT = (
    "INSERT INTO telemetry_tail(sn, day, schema_id, n, times, data) VALUES (?, ?, ?, ?, ?, ?)"
)
LATEST_UPSERT = (
    "INSERT INTO telemetry_latest(sn, time_ms, schema_id, data) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(sn) DO UPDATE SET time_ms = excluded.time_ms, "
    "schema_id = excluded.schema_id, data = excluded.data "
    "WHERE telemetry_latest.time_ms <= excluded.time_ms"
)


class TelemetryWriter:
    """``ingest`` and ``merge_tail`` on top of the SQL store's ``_x``/``_xm`` (statement,
    many), its transactions and the telemetry schemas (:class:`TelemetryMixin`)."""

    INGEST_PART = 256
    """At most about this many samples a transaction: the store is free for readers between."""
    PART_S = 0.0015
    """A part also ends once it has taken this long (seconds): however slow the machine, a
    reader waits for one part of about this long at most (one big day to pack may take more)."""
    PART_MIN = 32
    """Samples a part holds at least (but ``INGEST_PART`` at most), however slow the last
    parts went; and the first part's size, before any pace was measured."""
    tail_max = 32
    """A device-day's new samples go to its tail when there are at most this many (and none
    is older than the device's newest); more are packed with the day at once. 0: never
    append (every write re-packs its day, as before the tail)."""
    pack_run = 16
    """Device-days packed together (their chunks and tails read in one query each): a
    backfill's part holds up to this many whole days, about ``INGEST_PART`` samples of
    work each way. 1: one at a time, as before."""
    _part_rate: float | None = None
    """Samples a second of the recent parts (a running mean), which sizes the next ones."""
    parts_written = 0
    """Ingest transactions committed (or tried) since this store was opened."""
    after_part: Callable[[], None] | None = None
    """Called after each ingest transaction, with the store free (tests watch readers)."""

    _lock: contextlib.AbstractContextManager[Any]
    _schemas: dict[int, tuple[str, ...]]
    _schema_ids: dict[tuple[str, ...], int]
    _quanta: dict[int, F64]

    def _x(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        raise NotImplementedError

    def _xm(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def _use(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def transaction(self, topics: Set[str] = ...) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def _read(self, read: Callable[[], Any]) -> Any:
        raise NotImplementedError

    def _remember_schema(self, sid: int, variables: tuple[str, ...]) -> None:
        raise NotImplementedError

    def _known_schema(self, sid: int) -> int:
        raise NotImplementedError

    def _schema_id(self, variables: tuple[str, ...]) -> int:
        raise NotImplementedError

    def _batched(self) -> contextlib.AbstractContextManager[None]:
        """Around an ingest part's transaction: statements whose answers are not read may
        be sent together (PostgreSQL's pipeline); here each runs as it comes."""
        return contextlib.nullcontext()

    def _write_rows(
        self,
        tail: list[tuple[Any, ...]],
        slots: list[tuple[Any, ...]],
        latest: list[tuple[Any, ...]],
    ) -> None:
        """The end of an ingest part: its (last) tail rows, then its rollup rows and newest
        samples."""
        self._insert_tail(tail)
        self._upsert_slots(slots)
        self._upsert_latest(latest)

    def _insert_tail(self, rows: list[tuple[Any, ...]]) -> None:
        """Tail rows (sn, day, schema id, n, times, data), in this order (their ids keep it)."""
        self._xm(TAIL_INSERT, rows)

    def _upsert_slots(self, rows: list[tuple[Any, ...]]) -> None:
        """Rollup rows (sn, slot, counters...); of rows with the same key the last wins."""
        self._xm(SLOT_INSERT, rows)

    def _upsert_latest(self, rows: list[tuple[Any, ...]]) -> None:
        """Newest-sample rows (sn, time, schema id, data), one per device."""
        self._xm(LATEST_UPSERT, rows)

    def _check(self, item: DeviceSamples, known_sns: set[str]) -> None:
        if item.sn not in known_sns:
            raise StoreError(f"unknown device {item.sn!r}")
        _check_variables(item.sn, item.variables)
        n = len(item.times_ms)
        if item.values.shape != (n, len(item.variables)):
            raise StoreError(
                f"{item.sn}: values shape {item.values.shape} does not match "
                f"{n} times x {len(item.variables)} variables"
            )

    def ingest(self, batch: Sequence[DeviceSamples]) -> int:
        """Checked whole before anything is written, then written in parts of at most
        ``INGEST_PART`` samples (fewer when that would take longer than ``PART_S``), each its
        own short transaction: the store is free for readers between parts. Every part is
        committed when this returns; a call that failed part-way may be sent again whole
        (ingest is idempotent)."""
        if not batch:
            return 0
        newest: dict[str, int] = {}  # each device's newest sample, read once a call
        known = set()
        with self._use():
            for sn, time_ms in self._devices_newest(sorted({item.sn for item in batch})):
                known.add(str(sn))
                if time_ms is not None:
                    newest[str(sn)] = int(time_ms)
        for item in batch:
            self._check(item, known)
        written = 0
        part: list[_Segment] = []
        weight = 0.0
        for segment in _segments(batch):
            part.append(segment)
            n = len(segment[2])
            written += n
            # a whole day to pack costs little more than a few samples to append, once its
            # reads are shared with ``pack_run`` others
            weight += n if n <= self.tail_max else n / max(1, self.pack_run)
            if weight >= self._part_samples():
                self._write_part(part, weight, newest)
                part, weight = [], 0.0
        if part:
            self._write_part(part, weight, newest)
        return written

    def _devices_newest(self, sns: list[str]) -> Any:
        """Rows (sn, newest sample's time or None) of those of ``sns`` that are devices."""
        return self._x(
            "SELECT d.sn, l.time_ms FROM devices d LEFT JOIN telemetry_latest l ON l.sn = d.sn "
            f"WHERE d.sn IN ({','.join('?' * len(sns))})",
            tuple(sns),
        )

    def _part_bounds(self) -> tuple[float, int, int]:
        """(``PART_S``, ``PART_MIN``, ``INGEST_PART``): the time, floor and ceiling of the
        next part (PostgreSQL with read connections: larger, nobody reads behind them)."""
        return self.PART_S, self.PART_MIN, self.INGEST_PART

    def _part_samples(self) -> int:
        """Samples in the next part: as many as the last parts' pace fits in ``PART_S``,
        between ``PART_MIN`` and ``INGEST_PART`` (``_part_bounds``)."""
        part_s, least, most = self._part_bounds()
        if self._part_rate is None:  # not measured yet: the smallest, not the longest wait
            return min(most, least)
        return int(min(most, max(least, self._part_rate * part_s)))

    def _write_part(self, part: list[_Segment], weight: float, newest: dict[str, int]) -> None:
        """One part in its own transaction. ``weight``: the part's work in the units
        ``_part_samples`` counts (a live sample 1, a packed day's sample ``1 / pack_run``),
        so that the pace measured on a backfill's packs sizes the live appends after it
        rightly (measured in samples, a pack of 16 days looked 16 times faster, and the
        first live part after it was the longest wait of a reader). ``newest``: see
        ``_write_segments``."""
        schemas = dict(self._schemas)
        started = time.perf_counter()
        try:
            with self._batched(), self.transaction({LATEST}):
                self._write_segments(part, newest)
        except BaseException:
            # schema ids made in the rolled-back transaction do not exist
            self._schemas.clear()
            self._schema_ids.clear()
            self._quanta.clear()
            for sid, variables in schemas.items():
                self._remember_schema(sid, variables)
            raise
        finally:
            self.parts_written += 1
        rate = weight / max(time.perf_counter() - started, 1e-6)
        last = self._part_rate
        self._part_rate = rate if last is None else 0.5 * (last + rate)
        let_in = getattr(self._lock, "let_waiters_in", None)
        if let_in is not None:  # readers queued behind this part go before the next one
            let_in(self._part_bounds()[0])
        self._between_parts()
        if self.after_part is not None:
            self.after_part()

    def _between_parts(self) -> None:
        """Housekeeping of the store's own between two ingest parts, with the store free
        (SQLite: the WAL copied into the database, see ``SQLiteStore``)."""

    def _write_segments(self, part: list[_Segment], newest: dict[str, int]) -> None:
        """One device-day at a time: appended to the day's tail when its samples are few
        and none is older than the device's newest sample, else packed into the day chunk
        together with the tail (a backfill, a correction of the past).

        ``newest``: each device's newest sample, as read when the call began and moved by
        its earlier parts (moved here too): a part sends no query of its own before its
        writes. Another process writing the same device during the call (the store
        supports one fleet) cannot move a device's newest sample back: the upsert of
        ``telemetry_latest`` keeps the newer of the two."""
        pending: list[_Segment] = []
        slot_rows: list[tuple[Any, ...]] = []
        latest: dict[str, tuple[int, F64, tuple[str, ...]]] = {}
        packed: dict[tuple[str, int], days.Piece] = {}
        for k, segment in enumerate(part):
            sn, day, times, values, variables = segment
            before = newest.get(sn)
            if 0 < len(times) <= self.tail_max and (before is None or times[0] >= before):
                pending.append(segment)
                t_last, v_last = int(times[-1]), values[-1]  # sorted: the last written
            else:
                if (sn, day) not in packed:
                    tail, slots = self._append(pending)  # the day's earlier appends go first
                    self._insert_tail(tail)
                    slot_rows += slots
                    pending = []
                    packed = self._pack_days(self._pack_run(part, k))
                t, v, variables = packed.pop((sn, day))
                slot_rows += _slot_rows(sn, t, v, variables, np.unique(times // SLOT_MS))
                t_last, v_last = int(t[-1]), v[-1]
            if before is None or t_last >= before:
                newest[sn] = t_last
                latest[sn] = (t_last, v_last, variables)
        tail, slots = self._append(pending)
        slot_rows += slots
        latest_rows = []
        sids: dict[int, int] = {}
        for sn, (time_ms, row, variables) in latest.items():
            sid = sids.get(id(variables)) or sids.setdefault(
                id(variables), self._schema_id(variables)
            )
            blob = np.ascontiguousarray(row, dtype=np.float64).tobytes()
            latest_rows.append((sn, time_ms, sid, blob))
        self._write_rows(tail, slot_rows, latest_rows)

    def _append(
        self, segments: list[_Segment]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The segments' tail rows, in order, and their rollup rows (each segment's samples
        are the newest of their device, so the last of each slot is among them). Single
        samples with the same variables (a live fleet's) are done as one array."""
        if not segments:
            return [], []
        rows: list[tuple[Any, ...] | None] = [None] * len(segments)
        slots: list[list[tuple[Any, ...]]] = [[] for _ in segments]
        groups: dict[int, list[int]] = {}  # by the tuple's identity: hashing 100 names is slow
        for i, (sn, day, times, values, variables) in enumerate(segments):
            if len(times) == 1:
                members = groups.get(id(variables))
                if members is None:
                    groups[id(variables)] = [i]
                else:
                    members.append(i)
                continue
            sid = self._schema_id(variables)
            tb, vb = codec.encode_rows(times, values, self._quanta[sid])
            rows[i] = (sn, day, sid, len(times), tb, vb)
            t, v = days.dedupe(times, values)
            slots[i] = _slot_rows(sn, t, v, variables, None)
        for members in groups.values():
            variables = segments[members[0]][4]
            sid = self._schema_id(variables)
            times = np.concatenate([segments[i][2] for i in members])
            values = np.vstack([segments[i][3] for i in members])
            ints = codec.quantize(values, self._quanta[sid])
            readings = _slot_readings(values, variables)
            for r, i in enumerate(members):
                sn, day = segments[i][0], segments[i][1]
                rows[i] = (sn, day, sid, 1, times[r : r + 1].tobytes(), ints[r].tobytes())
                if readings is not None:
                    slots[i] = [(sn, int(times[r]) // SLOT_MS, *readings[r])]
        tail = [row for row in rows if row is not None]
        return tail, [row for rows_of in slots for row in rows_of]

    def _pack_run(self, part: list[_Segment], k: int) -> list[_Segment]:
        """The segment ``k`` to pack and the ones after it packed with it: up to
        ``pack_run`` whole days (more samples than ``tail_max``: packed whatever the device's
        newest sample), each device-day once."""
        run = [part[k]]
        keys = {(part[k][0], part[k][1])}
        for segment in part[k + 1 : k + max(1, self.pack_run)]:
            key = (segment[0], segment[1])
            if len(segment[2]) <= self.tail_max or key in keys:
                break
            run.append(segment)
            keys.add(key)
        return run

    def _pack_days(self, run: list[_Segment]) -> dict[tuple[str, int], days.Piece]:
        """Pack each device-day of ``run`` (distinct) with its new samples, as
        ``_pack_day`` does one: their chunks and tails read in one query each. Returns each
        whole day."""
        if len(run) == 1:
            sn, day, times, values, variables = run[0]
            return {(sn, day): self._pack_day(sn, day, (times, values, variables))}
        for sn, day in sorted({(seg[0], seg[1]) for seg in run}):  # one order: no deadlock
            self._lock_day(sn, day)
        sns = sorted({seg[0] for seg in run})
        day_list = sorted({seg[1] for seg in run})
        where = f"sn IN ({','.join('?' * len(sns))}) AND day IN ({','.join('?' * len(day_list))})"
        params = (*sns, *day_list)
        chunks = {
            (str(r[0]), int(r[1])): r[2:]
            for r in self._x(
                f"SELECT sn, day, schema_id, n, times, data FROM telemetry_chunks WHERE {where}",
                params,
            ).fetchall()
        }
        tails: dict[tuple[str, int], list[Any]] = {}
        for r in self._x(
            f"SELECT sn, day, id, schema_id, n, times, data FROM telemetry_tail WHERE {where} "
            "ORDER BY id",
            params,
        ).fetchall():
            tails.setdefault((str(r[0]), int(r[1])), []).append(r[2:])
        out: dict[tuple[str, int], days.Piece] = {}
        for sn, day, times, values, variables in run:
            out[sn, day] = self._write_day(
                sn, day, chunks.get((sn, day)), tails.get((sn, day), []), (times, values, variables)
            )
        return out

    def _pack_day(self, sn: str, day: int, new: days.Piece | None) -> days.Piece:
        """Pack the day chunk with its tail (and ``new`` samples after it), delete the tail
        rows packed; in the caller's transaction. Returns the whole day."""
        self._lock_day(sn, day)
        row = self._x(
            "SELECT schema_id, n, times, data FROM telemetry_chunks WHERE sn = ? AND day = ?",
            (sn, day),
        ).fetchone()
        tail = self._x(
            "SELECT id, schema_id, n, times, data FROM telemetry_tail "
            "WHERE day = ? AND sn = ? ORDER BY id",
            (day, sn),
        ).fetchall()
        return self._write_day(sn, day, row, tail, new)

    def _write_day(
        self,
        sn: str,
        day: int,
        row: Sequence[Any] | None,
        tail: list[Any],
        new: days.Piece | None,
    ) -> days.Piece:
        """The day's chunk ``row`` (schema id, n, times, data), its ``tail`` rows (id, schema
        id, n, times, data) and ``new`` samples packed into its chunk; the tail rows
        deleted. Returns the whole day."""
        pieces: list[days.Piece] = []
        if row is not None:
            sid, n, tb, vb = row
            sid = self._known_schema(sid)
            t, v = codec.decode(bytes(tb), bytes(vb), n, self._quanta[sid])
            pieces.append((t, v, self._schemas[sid]))
        for _, sid, n, tb, vb in tail:
            sid = self._known_schema(sid)
            t, v = codec.decode_rows(bytes(tb), bytes(vb), n, self._quanta[sid])
            pieces.append((t, v, self._schemas[sid]))
        if new is not None:
            pieces.append(new)
        t, v, variables = days.combine(pieces)
        sid = self._schema_id(variables)
        tb, vb = codec.encode(t, v, self._quanta[sid])
        self._x(
            "INSERT INTO telemetry_chunks(sn, day, schema_id, n, times, data) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(sn, day) DO UPDATE SET "
            "schema_id = excluded.schema_id, n = excluded.n, times = excluded.times, "
            "data = excluded.data",
            (sn, day, sid, len(t), tb, vb),
        )
        ids = [int(r[0]) for r in tail]
        for k in range(0, len(ids), 500):
            some = ids[k : k + 500]
            self._x(
                f"DELETE FROM telemetry_tail WHERE id IN ({','.join('?' * len(some))})",
                tuple(some),
            )
        return t, v, variables

    def _lock_day(self, sn: str, day: int) -> None:
        """Make other connections that pack the same device-day wait for this transaction
        (PostgreSQL; SQLite writers take turns anyway)."""

    def merge_tail(self, before_ms: int) -> int:
        """Pack the tail of every device-day wholly before ``before_ms`` into its chunk,
        one device-day per transaction. Returns the device-days packed."""
        found = self._read(
            lambda: self._x(
                "SELECT DISTINCT day, sn FROM telemetry_tail WHERE day < ? ORDER BY day, sn",
                (before_ms // DAY_MS,),
            ).fetchall()
        )
        for day, sn in found:
            with self.transaction(frozenset()):
                self._pack_day(str(sn), int(day), None)
        return len(found)


_Segment = tuple[str, int, I64, F64, tuple[str, ...]]
"""(device, UTC day, times, values, variables): one device's new samples of one day."""


def _segments(batch: Sequence[DeviceSamples]) -> Iterator[_Segment]:
    """Each item's samples sorted by time (stable: of equal times the later stays later),
    split at UTC day boundaries."""
    for item in batch:
        times = np.asarray(item.times_ms, dtype=np.int64)
        if len(times) <= 1:  # a live sample: nothing to sort or split
            if len(times):
                values = np.asarray(item.values, dtype=np.float64)
                yield item.sn, int(times[0]) // DAY_MS, times, values, item.variables
            continue
        values = np.asarray(item.values, dtype=np.float64)
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
        day_of = times // DAY_MS
        bounds = np.flatnonzero(np.diff(day_of)) + 1
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(times)], strict=True):
            yield item.sn, int(day_of[a]), times[a:b], values[a:b], item.variables


def _slot_rows(
    sn: str, times: I64, values: F64, variables: tuple[str, ...], touched: I64 | None
) -> list[tuple[Any, ...]]:
    """The rollup rows of the slots new samples fell in (``touched``; None: every slot of
    ``times``), each from the last sample of its slot in ``times`` (sorted, unique)."""
    if _counter_plan(variables) is None:
        return []
    slots = times // SLOT_MS
    if len(times) == 1:
        last = np.zeros(1, dtype=np.int64)
    else:
        last = np.flatnonzero(np.r_[slots[1:] != slots[:-1], True])
        if touched is not None and len(touched) < len(last):  # leave the day's other slots
            last = last[np.isin(slots[last], touched)]
    readings = _slot_readings(values[last], variables)
    assert readings is not None
    return [(sn, int(slot), *row) for slot, row in zip(slots[last].tolist(), readings, strict=True)]


def _slot_readings(values: F64, variables: tuple[str, ...]) -> list[list[Any]] | None:
    """Each row's counters (``telemetry.COUNTERS`` order) exactly as history answers them:
    at the counter's resolution; None (SQL NULL) for a counter the device lacks or did not
    send. None when ``variables`` hold no counter."""
    plan = _counter_plan(variables)
    if plan is None:
        return None
    present, targets, q = plan
    picked = np.full((len(values), len(telemetry.COUNTERS)), np.nan)
    picked[:, targets] = np.round(values[:, present] / q) * q
    readings: list[list[Any]] = picked.tolist()
    if np.isnan(picked).any():
        readings = [[None if x != x else x for x in row] for row in readings]
    return readings


@functools.lru_cache(maxsize=256)
def _counter_plan(variables: tuple[str, ...]) -> tuple[I64, I64, F64] | None:
    """Where the energy counters are among ``variables``: (their columns there, their
    columns in ``telemetry.COUNTERS``, their resolutions); None when there are none."""
    index = {v: i for i, v in enumerate(variables)}
    pairs = [(index[c], k) for k, c in enumerate(telemetry.COUNTERS) if c in index]
    if not pairs:
        return None
    present = np.array([p[0] for p in pairs], dtype=np.int64)
    targets = np.array([p[1] for p in pairs], dtype=np.int64)
    return present, targets, codec.quanta(tuple(variables[i] for i in present.tolist()))


@functools.lru_cache(maxsize=256)
def _known_variables(variables: tuple[str, ...]) -> str:
    """What is wrong with a set of variables ("" when nothing is)."""
    catalogue = telemetry.variables()
    unknown = [v for v in variables if v not in catalogue]
    if unknown:
        return f"unknown variables {unknown}"
    if len(set(variables)) != len(variables):
        return "repeated variables"
    return ""


def _check_variables(sn: str, variables: tuple[str, ...]) -> None:
    try:
        wrong = _known_variables(variables)
    except TypeError:  # not hashable: checked the long way
        wrong = _known_variables.__wrapped__(tuple(variables))
    if wrong:
        raise StoreError(f"{wrong} for {sn}")
