"""The SQL telemetry store's rules one at a time, on a real SQLite file in a tmp dir: which
write goes to a day's tail and which packs the day, the refusals of a bad batch (exact
messages), the ingest parts, the rollup rows and the newest sample as written, the history
range, the counters before each boundary, pruning and packing a closed day. No HTTP: fast
enough for the store's mutation shards to run once per mutant."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from foxden import accounts
from foxden.store import SLOT_MS, DeviceSamples, StoreError, open_store, url_for
from foxden.store.sqlite import SQLiteStore

DAY = 86_400_000
T0 = 1_711_929_600_000
"""2024-04-01 00:00 UTC."""
D0 = T0 // DAY
VARS = ("pvPower", "SoC", "generation", "feedin")
"""Quanta 0.001, 1, 0.1 and 0.1; two of them energy counters."""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "foxden.db"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = open_store(url_for(tmp_path))
    assert isinstance(s, SQLiteStore)
    accounts.create_account(s, "a", 0)
    accounts.add_device(s, "a", "DEVICE01", "H1-5.0-E", 0)
    accounts.add_device(s, "a", "DEVICE02", "H1-5.0-E", 0)
    yield s
    s.close()


def rows(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """The table as another connection reads it."""
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def batch(
    sn: str, times: list[int], values: list[list[float]], v: tuple[str, ...] = VARS
) -> DeviceSamples:
    return DeviceSamples(sn, v, np.array(times, dtype=np.int64), np.array(values, dtype=float))


def ramp(sn: str, start: int, count: int, step: int = 60_000) -> DeviceSamples:
    """``count`` samples, value k at sample k (pvPower k, SoC k, counters 10k and 20k)."""
    k = np.arange(count, dtype=float)
    values = np.column_stack([k, k, 10 * k, 20 * k])
    return DeviceSamples(sn, VARS, start + np.arange(count, dtype=np.int64) * step, values)


def rounded(found: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Rows with their floats to 6 places (a counter at 0.1 is a multiple of 0.1 in binary)."""
    return [tuple(round(x, 6) if isinstance(x, float) else x for x in row) for row in found]


def where(path: Path) -> tuple[int, int]:
    """(chunk rows, tail rows) in the database."""
    chunks = rows(path, "SELECT COUNT(*) FROM telemetry_chunks")[0][0]
    tail = rows(path, "SELECT COUNT(*) FROM telemetry_tail")[0][0]
    return int(str(chunks)), int(str(tail))


# ---------------------------------------------------------------- refusals


def test_a_batch_is_refused_whole_with_the_reason(store: SQLiteStore, path: Path) -> None:
    good = ramp("DEVICE01", T0, 3)
    with pytest.raises(StoreError) as info:
        store.ingest([good, ramp("NOPE", T0, 1)])
    assert str(info.value) == "unknown device 'NOPE'"
    with pytest.raises(StoreError) as info:
        store.ingest([batch("DEVICE01", [T0], [[1.0]], ("bogus",))])
    assert str(info.value) == "unknown variables ['bogus'] for DEVICE01"
    with pytest.raises(StoreError) as info:
        store.ingest([batch("DEVICE01", [T0], [[1.0, 2.0]], ("SoC", "SoC"))])
    assert str(info.value) == "repeated variables for DEVICE01"
    with pytest.raises(StoreError) as info:
        store.ingest([batch("DEVICE01", [T0, T0 + 1], [[1.0, 2.0, 3.0, 4.0]])])
    assert str(info.value) == "DEVICE01: values shape (1, 4) does not match 2 times x 4 variables"
    with pytest.raises(StoreError) as info:  # a list of names (not hashable) is checked too
        store.ingest([DeviceSamples("DEVICE01", ["bad"], np.array([T0]), np.ones((1, 1)))])  # type: ignore[arg-type]
    assert str(info.value) == "unknown variables ['bad'] for DEVICE01"
    assert where(path) == (0, 0)
    assert store.latest(["DEVICE01"]) == {}
    assert store.ingest([]) == 0


# ---------------------------------------------------------------- tail or pack


def test_up_to_tail_max_new_samples_append_and_one_more_packs(
    store: SQLiteStore, path: Path
) -> None:
    assert store.tail_max == 32
    assert store.ingest([ramp("DEVICE01", T0, 32)]) == 32
    assert where(path) == (0, 1)
    assert store.ingest([ramp("DEVICE02", T0, 33)]) == 33
    assert where(path) == (1, 1)
    assert rows(path, "SELECT sn, day, n FROM telemetry_chunks") == [("DEVICE02", D0, 33)]
    assert rows(path, "SELECT sn, day, n FROM telemetry_tail") == [("DEVICE01", D0, 32)]


def test_a_sample_older_than_the_newest_packs_the_day(store: SQLiteStore, path: Path) -> None:
    store.ingest([ramp("DEVICE01", T0 + 600_000, 2)])
    assert where(path) == (0, 1)
    store.ingest([ramp("DEVICE01", T0 + 660_000, 2)])  # as new as the newest: appended
    assert where(path) == (0, 2)
    store.ingest([ramp("DEVICE01", T0, 1)])  # older: the day is packed with it
    assert where(path) == (1, 0)
    assert rows(path, "SELECT n FROM telemetry_chunks") == [(4,)]
    series = store.history("DEVICE01", T0, T0 + DAY - 1)
    assert series.times_ms.tolist() == [T0, T0 + 600_000, T0 + 660_000, T0 + 720_000]
    assert series.values[:, 1].tolist() == [0.0, 0.0, 0.0, 1.0]  # 660_000: the later write
    assert store.latest(["DEVICE01"])["DEVICE01"].time_ms == T0 + 720_000  # the backfill is older


def test_a_write_is_split_at_utc_midnight(store: SQLiteStore, path: Path) -> None:
    store.ingest([ramp("DEVICE01", T0 + DAY - 120_000, 40)])  # two before midnight, 38 after
    assert rows(path, "SELECT day, n FROM telemetry_tail ORDER BY day") == [(D0, 2)]
    assert rows(path, "SELECT day, n FROM telemetry_chunks ORDER BY day") == [(D0 + 1, 38)]
    assert [c.day for c in store.history_chunks("DEVICE01", T0, T0 + 2 * DAY)] == [D0, D0 + 1]


def test_of_equal_times_the_later_sample_stays(store: SQLiteStore) -> None:
    times = [T0 + 120_000, T0, T0 + 120_000, T0 + 60_000]
    values = [[1.0, 1, 1, 1], [2.0, 2, 2, 2], [3.0, 3, 3, 3], [4.0, 4, 4, 4]]
    store.ingest([batch("DEVICE01", times, values)])
    series = store.history("DEVICE01", T0, T0 + DAY)
    assert series.times_ms.tolist() == [T0, T0 + 60_000, T0 + 120_000]
    assert series.values[:, 0].tolist() == [2.0, 4.0, 3.0]
    assert store.latest(["DEVICE01"])["DEVICE01"].values["pvPower"] == 3.0


def test_live_samples_of_many_devices_go_to_the_tail_one_row_each(
    store: SQLiteStore, path: Path
) -> None:
    store.ingest([ramp("DEVICE01", T0, 1), ramp("DEVICE02", T0 + 5, 1)])
    assert rows(path, "SELECT sn, day, n FROM telemetry_tail ORDER BY id") == [
        ("DEVICE01", D0, 1),
        ("DEVICE02", D0, 1),
    ]
    store.ingest(
        [
            batch("DEVICE01", [T0 + 60_000], [[1.5, 40, 12.5, 5.0]]),
            batch("DEVICE02", [T0 + 60_005], [[2.25, 50, 7.0, float("nan")]]),
        ]
    )
    latest = store.latest(["DEVICE01", "DEVICE02"])
    assert latest["DEVICE01"].time_ms == T0 + 60_000
    assert latest["DEVICE01"].values == {
        "pvPower": 1.5,
        "SoC": 40.0,
        "generation": 12.5,
        "feedin": 5.0,
    }
    assert latest["DEVICE02"].values == {"pvPower": 2.25, "SoC": 50.0, "generation": 7.0}
    series = store.history("DEVICE02", T0, T0 + DAY)
    assert series.values[1, :3].tolist() == [2.25, 50.0, 7.0]
    assert np.isnan(series.values[1, 3])


# ---------------------------------------------------------------- rollups and newest


def test_each_slot_keeps_its_last_counters_at_their_resolution(
    store: SQLiteStore, path: Path
) -> None:
    t = [T0, T0 + SLOT_MS - 1, T0 + SLOT_MS, T0 + 3 * SLOT_MS + 7]
    v = [[0, 1, 1.04, 2], [0, 1, 2.26, 3], [0, 1, 3.0, float("nan")], [0, 1, 4.5, 6]]
    store.ingest([batch("DEVICE01", t, v)])
    slots = rounded(
        rows(path, "SELECT slot, generation, feedin, loads FROM energy_slots ORDER BY slot")
    )
    s0 = T0 // SLOT_MS
    assert slots == [(s0, 2.3, 3.0, None), (s0 + 1, 3.0, None, None), (s0 + 3, 4.5, 6.0, None)]
    # a live sample rewrites only its own slot
    store.ingest([batch("DEVICE01", [T0 + 3 * SLOT_MS + 8], [[0, 1, 4.66, 7]])])
    slots = rounded(rows(path, "SELECT slot, generation, feedin FROM energy_slots ORDER BY slot"))
    assert slots == [(s0, 2.3, 3.0), (s0 + 1, 3.0, None), (s0 + 3, 4.7, 7.0)]
    # a correction of one slot in a packed day leaves the day's other slots as they were
    store.ingest([batch("DEVICE01", [T0 + 5, T0 + 6], [[0, 1, 9.0, 9.0], [0, 1, 9.5, 9.5]])])
    slots = rounded(rows(path, "SELECT slot, generation FROM energy_slots ORDER BY slot"))
    assert slots == [(s0, 2.3), (s0 + 1, 3.0), (s0 + 3, 4.7)]
    store.ingest([batch("DEVICE01", [T0 + SLOT_MS - 1], [[0, 1, 8.0, 8.0]])])
    slots = rounded(rows(path, "SELECT slot, generation FROM energy_slots ORDER BY slot"))
    assert slots == [(s0, 8.0), (s0 + 1, 3.0), (s0 + 3, 4.7)]


def test_samples_without_counters_write_no_rollup(store: SQLiteStore, path: Path) -> None:
    store.ingest([batch("DEVICE01", [T0, T0 + 1], [[1.0, 2.0], [3.0, 4.0]], ("pvPower", "SoC"))])
    store.ingest([batch("DEVICE01", [T0 + 2], [[1.0, 2.0]], ("pvPower", "SoC"))])
    assert rows(path, "SELECT COUNT(*) FROM energy_slots") == [(0,)]


def test_the_newest_sample_is_the_latest_written_time(store: SQLiteStore, path: Path) -> None:
    store.ingest([ramp("DEVICE01", T0, 40)])  # packed
    assert store.latest(["DEVICE01"])["DEVICE01"].time_ms == T0 + 39 * 60_000
    assert store.latest(["DEVICE01"])["DEVICE01"].values["generation"] == 390.0
    store.ingest([ramp("DEVICE01", T0 - DAY, 40)])  # an older day: the newest stays
    assert store.latest(["DEVICE01"])["DEVICE01"].time_ms == T0 + 39 * 60_000
    store.ingest([ramp("DEVICE01", T0 + 39 * 60_000, 2)])  # one equal, one newer: appended
    latest = store.latest(["DEVICE01"])["DEVICE01"]
    assert (latest.time_ms, latest.values["SoC"]) == (T0 + 40 * 60_000, 1.0)
    assert rows(path, "SELECT sn, time_ms FROM telemetry_latest") == [
        ("DEVICE01", T0 + 40 * 60_000)
    ]
    assert store.latest([]) == {}
    assert store.latest(["DEVICE02"]) == {}


# ---------------------------------------------------------------- ingest parts


def test_a_long_ingest_is_written_in_parts_of_whole_device_days(store: SQLiteStore) -> None:
    assert store.INGEST_PART == 256
    store.PART_S = 1e6  # however slow the machine: parts of INGEST_PART samples
    assert store.pack_run == 16
    items = [ramp("DEVICE02", T0 + d * DAY, 100) for d in range(5)]
    before = store.parts_written
    assert store.ingest(items) == 500  # five whole days packed together weigh 500 / 16
    assert store.parts_written - before == 1
    store.pack_run = 1  # each day packed alone weighs its samples
    seen: list[int] = []
    store.after_part = lambda: seen.append(store.parts_written)
    before = store.parts_written
    items = [ramp("DEVICE01", T0 + d * DAY, 100) for d in range(5)]
    assert store.ingest(items) == 500
    assert store.parts_written - before == 2  # 300 samples, then 200
    assert seen == [before + 1, before + 2]
    store.after_part = None
    assert len(store.history("DEVICE01", T0, T0 + 5 * DAY).times_ms) == 500


def test_the_part_size_follows_the_measured_rate(store: SQLiteStore) -> None:
    store._part_rate = None
    assert store._part_samples() == 32  # no pace measured yet: the smallest part
    store.PART_S = 0.004
    store._part_rate = 20_000.0  # 80 samples in 4 ms
    assert store._part_samples() == 80
    store._part_rate = 1_000.0  # never fewer than 32
    assert store._part_samples() == 32
    store._part_rate = 1e9
    assert store._part_samples() == 256


def test_the_pace_is_measured_in_part_weight_not_samples(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill's packed days weigh 1 / pack_run a sample: measured in samples, a part of
    16 packed days looked 16 times faster than live appends, and the first live part after
    it was 16 times too big (the longest wait of a reader)."""
    clock = iter(k * 0.01 for k in range(1000))  # every part takes 10 ms
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    store.PART_S = 0.004
    store._part_rate = None
    items = [ramp("DEVICE02", T0 + d * DAY, 100) for d in range(4)]
    assert store.ingest(items) == 400  # one part: 4 days packed together weigh 400 / 16
    assert store._part_rate == pytest.approx(25 / 0.01)  # not 400 samples / 10 ms
    assert store._part_samples() == 32  # the floor; by samples it was 160


def test_the_pace_is_the_running_mean_of_the_parts(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter(k / 128 for k in range(1000))  # every part takes 1/128 s (exact in binary)
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    store.PART_S = 1 / 64  # a part of n samples in 1/128 s: the next one's share is 2n
    store._part_rate = None
    stored: list[int] = []
    store.after_part = lambda: stored.append(len(store.history("DEVICE01", T0, T0 + DAY).times_ms))
    live = [ramp("DEVICE01", T0 + k * 60_000, 1) for k in range(552)]  # one sample each
    assert store.ingest(live) == 552
    store.after_part = None
    # parts of 32 (no pace yet), then 2 x the mean pace: 64, 96, 144, 216 samples (the
    # last part's pace alone would give 64, 128, 256)
    assert stored == [32, 96, 192, 336, 552]
    assert store._part_rate == (13_824 + 216 * 128) / 2  # samples a second


def test_a_live_call_reads_the_newest_samples_once_not_once_a_part(
    store: SQLiteStore,
) -> None:
    store.INGEST_PART = 1
    store.PART_S = 1e6  # a part a device
    store.ingest([ramp("DEVICE01", T0, 1), ramp("DEVICE02", T0, 1)])
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    before = store.parts_written
    store.ingest([ramp("DEVICE01", T0 + 60_000, 1), ramp("DEVICE02", T0 + 60_000, 1)])
    store._db.set_trace_callback(None)
    assert store.parts_written - before == 2
    reads = [s for s in statements if s.startswith("SELECT") and "telemetry_latest" in s]
    assert len(reads) == 1  # with the device check, as the call begins
    assert [s.split()[0] for s in statements if s.startswith(("BEGIN", "COMMIT"))] == [
        "BEGIN",
        "COMMIT",
        "BEGIN",
        "COMMIT",
    ]
    assert {sn: x.time_ms for sn, x in store.latest(["DEVICE01", "DEVICE02"]).items()} == {
        "DEVICE01": T0 + 60_000,
        "DEVICE02": T0 + 60_000,
    }


def test_a_failed_part_forgets_the_schemas_it_made(store: SQLiteStore, path: Path) -> None:
    def fail(part: object, newest: object) -> None:
        store._schema_id(("SoC",))  # made in the transaction that then fails
        raise RuntimeError("stop")

    store.ingest([ramp("DEVICE01", T0, 1)])
    known = dict(store._schemas)
    store._write_segments = fail  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        store.ingest([batch("DEVICE01", [T0 + 1], [[5.0]], ("SoC",))])
    assert store._schemas == known
    assert ("SoC",) not in store._schema_ids
    assert set(store._quanta) == set(known)
    del store._write_segments
    store.ingest([batch("DEVICE01", [T0 + 2], [[5.0]], ("SoC",))])
    assert store.latest(["DEVICE01"])["DEVICE01"].values == {"SoC": 5.0}


# ---------------------------------------------------------------- reads


def test_history_is_the_closed_range_across_days_and_variables(store: SQLiteStore) -> None:
    store.ingest([ramp("DEVICE01", T0 + DAY - 120_000, 4)])
    store.ingest([batch("DEVICE01", [T0 + DAY + 600_000], [[7.0]], ("SoC",))])
    series = store.history("DEVICE01", T0 + DAY - 60_000, T0 + DAY + 600_000)
    assert series.variables == VARS
    assert series.times_ms.tolist() == [
        T0 + DAY - 60_000,
        T0 + DAY,
        T0 + DAY + 60_000,
        T0 + DAY + 600_000,
    ]
    assert series.values[:, 1].tolist() == [1.0, 2.0, 3.0, 7.0]
    assert np.isnan(series.values[3, 0])
    assert store.history("DEVICE01", T0 + DAY - 59_999, T0 + DAY - 1).times_ms.tolist() == []
    empty = store.history("DEVICE02", T0, T0 + DAY)
    assert (empty.variables, empty.times_ms.shape, empty.values.shape) == ((), (0,), (0, 0))
    assert empty.times_ms.dtype == np.int64


def test_a_days_content_changes_with_its_rows_only(store: SQLiteStore, path: Path) -> None:
    store.ingest([ramp("DEVICE01", T0, 40)])
    (packed,) = store.history_chunks("DEVICE01", T0, T0)
    ((n, times, data),) = rows(path, "SELECT n, times, data FROM telemetry_chunks")
    assert packed.content == (n, times, data)  # a packed day is its stored row
    assert packed.content[0] == 40
    assert store.history_chunks("DEVICE01", T0, T0)[0].content == packed.content
    store.ingest([ramp("DEVICE01", T0 + 3_600_000, 2)])
    (mixed,) = store.history_chunks("DEVICE01", T0, T0)
    assert mixed.content[0] == 42
    assert mixed.content != packed.content
    assert store.history_chunks("DEVICE01", T0, T0)[0].content == mixed.content
    t, v = mixed.unpack()
    assert len(t) == 42
    assert v[-1].tolist() == [1.0, 1.0, 10.0, 20.0]
    assert mixed.variables == VARS
    assert store.history_chunks("DEVICE01", T0 - DAY, T0 - 1) == []
    assert [c.day for c in store.history_chunks("DEVICE01", T0 - DAY, T0 + DAY)] == [D0]


def test_counters_before_each_boundary(store: SQLiteStore) -> None:
    with pytest.raises(ValueError) as info:
        store.counters_before("DEVICE01", [T0 + 1])
    assert str(info.value) == f"boundary {T0 + 1} is not on a quarter hour"
    assert np.isnan(store.counters_before("DEVICE01", [T0])).all()
    # slots 0, 1 and 4 of the day (2 and 3 missing): generation 10, 20, 50
    t = [T0 + 60_000, T0 + SLOT_MS + 60_000, T0 + 4 * SLOT_MS + 60_000]
    store.ingest([batch("DEVICE01", t, [[0, 0, 10, 1], [0, 0, 20, 2], [0, 0, 50, 5]])])
    bounds = [T0 - SLOT_MS, T0, T0 + SLOT_MS, T0 + 2 * SLOT_MS, T0 + 4 * SLOT_MS,
              T0 + 5 * SLOT_MS, T0 + DAY]  # fmt: skip
    out = store.counters_before("DEVICE01", bounds)
    assert out.shape == (7, 8)
    assert out[:, 0].tolist() == [10.0, 10.0, 10.0, 20.0, 20.0, 50.0, 50.0]
    assert out[:, 1].tolist() == [1.0, 1.0, 1.0, 2.0, 2.0, 5.0, 5.0]
    assert np.isnan(out[:, 2:]).all()  # counters the samples lack
    assert store.counters_before("DEVICE01", []).shape == (0, 8)


def test_prune_counts_device_days_and_keeps_rollups(store: SQLiteStore, path: Path) -> None:
    store.ingest([ramp("DEVICE01", T0 - DAY, 40), ramp("DEVICE02", T0 - DAY, 2)])  # chunk, tail
    store.ingest([ramp("DEVICE01", T0 - 2 * DAY, 40)])
    store.ingest([ramp("DEVICE01", T0, 2)])
    slots = rows(path, "SELECT COUNT(*) FROM energy_slots")
    assert store.prune(T0 - DAY) == 1
    assert store.prune(T0 + 1) == 2  # DEVICE01's and DEVICE02's day before T0's
    assert [c.day for c in store.history_chunks("DEVICE01", 0, T0 + DAY)] == [D0]
    assert store.history_chunks("DEVICE02", 0, T0 + DAY) == []
    assert rows(path, "SELECT COUNT(*) FROM energy_slots") == slots
    assert store.prune(T0 + 1) == 0


def test_merge_tail_packs_each_closed_device_day(store: SQLiteStore, path: Path) -> None:
    store.ingest([ramp("DEVICE01", T0, 2), ramp("DEVICE02", T0, 3)])
    store.ingest([ramp("DEVICE01", T0 + 600_000, 1)])
    store.ingest([ramp("DEVICE01", T0 + DAY, 1)])
    before = store.history("DEVICE01", T0, T0 + 2 * DAY)
    assert store.merge_tail(T0 + DAY - 1) == 0  # the day has not closed
    assert store.merge_tail(T0 + DAY) == 2
    assert rows(path, "SELECT sn, day, n FROM telemetry_chunks ORDER BY sn") == [
        ("DEVICE01", D0, 3),
        ("DEVICE02", D0, 3),
    ]
    assert rows(path, "SELECT sn, day, n FROM telemetry_tail") == [("DEVICE01", D0 + 1, 1)]
    after = store.history("DEVICE01", T0, T0 + 2 * DAY)
    assert after.times_ms.tolist() == before.times_ms.tolist()
    assert np.array_equal(after.values, before.values, equal_nan=True)
    assert store.merge_tail(T0 + DAY) == 0


def test_a_schema_made_by_another_connection_is_read(store: SQLiteStore, tmp_path: Path) -> None:
    other = open_store(url_for(tmp_path))
    try:
        other.ingest([batch("DEVICE01", [T0], [[3.0, 4.0]], ("SoC", "RVolt"))])
    finally:
        other.close()
    assert store.latest(["DEVICE01"])["DEVICE01"].values == {"SoC": 3.0, "RVolt": 4.0}
    assert store.history("DEVICE01", T0, T0).values.tolist() == [[3.0, 4.0]]


def test_the_newest_sample_is_kept_until_the_next_write(store: SQLiteStore) -> None:
    store.ingest([ramp("DEVICE01", T0, 2), ramp("DEVICE02", T0, 1)])
    first = store.latest(["DEVICE01", "DEVICE02"])
    assert (first["DEVICE01"].sn, first["DEVICE02"].sn) == ("DEVICE01", "DEVICE02")
    again = store.latest(["DEVICE02", "DEVICE01"])
    assert again["DEVICE01"] is first["DEVICE01"]
    assert again["DEVICE02"] is first["DEVICE02"]
    with store.transaction():  # inside a transaction the store is read, not the cache
        store.ingest([ramp("DEVICE01", T0 + 600_000, 1)])
        inside = store.latest(["DEVICE01"])["DEVICE01"]
        assert inside.time_ms == T0 + 600_000
    after = store.latest(["DEVICE01", "DEVICE02"])
    assert after["DEVICE01"].time_ms == T0 + 600_000
    assert after["DEVICE01"] is not first["DEVICE01"]


def test_counters_before_a_first_slot_without_the_counter(store: SQLiteStore) -> None:
    t = [T0 + 60_000, T0 + SLOT_MS + 60_000, T0 + 2 * SLOT_MS + 60_000]
    nan = float("nan")
    store.ingest([batch("DEVICE01", t, [[0, 0, nan, 1], [0, 0, 20, 2], [0, 0, 30, 3]])])
    out = store.counters_before("DEVICE01", [T0, T0 + 2 * SLOT_MS, T0 + 3 * SLOT_MS])
    assert np.isnan(out[0, 0])
    assert out[1:, 0].tolist() == [20.0, 30.0]
    assert out[:, 1].tolist() == [1.0, 2.0, 3.0]


def test_a_reopened_store_knows_the_schemas_it_wrote(tmp_path: Path, path: Path) -> None:
    first = open_store(url_for(tmp_path))
    accounts.create_account(first, "a", 0)
    accounts.add_device(first, "a", "DEVICE01", "H1-5.0-E", 0)
    first.ingest([ramp("DEVICE01", T0, 40)])
    first.close()
    again = open_store(url_for(tmp_path))
    try:
        assert isinstance(again, SQLiteStore)
        assert again._schemas == {1: VARS}
        assert again._schema_ids == {VARS: 1}
        assert again.history("DEVICE01", T0, T0 + 60_000).values.tolist() == [
            [0.0, 0.0, 0.0, 0.0],
            [1.0, 1.0, 10.0, 20.0],
        ]
        again.ingest([ramp("DEVICE01", T0 + DAY, 40)])  # the same variables: the same schema
        assert rows(path, "SELECT id, variables FROM telemetry_schemas") == [
            (1, "pvPower,SoC,generation,feedin")
        ]
        with pytest.raises(StoreError) as info:
            again._known_schema(99)
        assert str(info.value) == "telemetry schema 99 is missing"
    finally:
        again.close()


def test_a_day_packed_again_keeps_its_chunk(store: SQLiteStore) -> None:
    store.ingest([ramp("DEVICE01", T0 + 3_600_000, 40)])  # packed
    store.ingest([ramp("DEVICE01", T0, 2)])  # older: packed with the chunk
    series = store.history("DEVICE01", T0, T0 + DAY - 1)
    assert len(series.times_ms) == 42
    assert series.times_ms[:3].tolist() == [T0, T0 + 60_000, T0 + 3_600_000]


def test_rollups_of_two_samples_and_of_a_single_backfilled_one(
    store: SQLiteStore, path: Path
) -> None:
    s0 = T0 // SLOT_MS
    two = [T0 + 60_000, T0 + SLOT_MS + 60_000]
    store.ingest([batch("DEVICE01", two, [[0, 0, 10, 1], [0, 0, 20, 2]])])
    store.ingest([batch("DEVICE01", [T0 + SLOT_MS + 120_000, T0 + SLOT_MS + 180_000],
                        [[0, 0, 30, 3], [0, 0, 40, 4]])])  # fmt: skip
    slots = rounded(rows(path, "SELECT slot, generation, feedin FROM energy_slots"))
    assert slots == [(s0, 10.0, 1.0), (s0 + 1, 40.0, 4.0)]
    store.ingest([batch("DEVICE01", [T0 - DAY], [[0, 0, 5, 0.5]])])  # alone on its day
    slots = rounded(rows(path, "SELECT slot, generation, feedin FROM energy_slots"))
    assert slots[0] == ((T0 - DAY) // SLOT_MS, 5.0, 0.5)
    assert len(slots) == 3


def test_more_than_a_thousand_tail_rows_are_packed_and_deleted(
    store: SQLiteStore, path: Path
) -> None:
    live = [ramp("DEVICE01", T0 + k * 60_000, 1) for k in range(1_001)]
    assert store.ingest(live) == 1_001
    assert rows(path, "SELECT COUNT(*) FROM telemetry_tail") == [(1_001,)]
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    assert store.merge_tail(T0 + DAY) == 1
    store._db.set_trace_callback(None)
    assert len([s for s in statements if s.startswith("DELETE")]) == 3  # 500 ids a statement
    assert rows(path, "SELECT COUNT(*) FROM telemetry_tail") == [(0,)]
    assert rows(path, "SELECT n FROM telemetry_chunks") == [(1_001,)]
    assert store._part_rate is not None and store._part_rate > 0


def test_two_samples_are_sorted_and_split_at_midnight(store: SQLiteStore, path: Path) -> None:
    store.ingest([batch("DEVICE01", [T0 + DAY + 5, T0 + DAY - 5], [[2, 2, 2, 2], [1, 1, 1, 1]])])
    assert rows(path, "SELECT day, n FROM telemetry_tail ORDER BY day") == [(D0, 1), (D0 + 1, 1)]
    series = store.history("DEVICE01", T0, T0 + 2 * DAY)
    assert series.times_ms.tolist() == [T0 + DAY - 5, T0 + DAY + 5]
    assert series.values[:, 1].tolist() == [1.0, 2.0]


def test_one_write_of_two_devices_keeps_each_ones_rollups_and_newest(
    store: SQLiteStore, path: Path
) -> None:
    other = ("SoC", "RVolt", "generation")
    k = np.arange(40, dtype=float)
    second = DeviceSamples(
        "DEVICE02", other, T0 + np.arange(40, dtype=np.int64) * 60_000,
        np.column_stack([k, 200 + k, 100 + k]),
    )  # fmt: skip
    store.ingest([ramp("DEVICE01", T0, 40), second])  # both packed in one part
    found = rows(path, "SELECT sn, COUNT(*) FROM energy_slots GROUP BY sn ORDER BY sn")
    assert found == [("DEVICE01", 3), ("DEVICE02", 3)]
    latest = store.latest(["DEVICE01", "DEVICE02"])
    assert latest["DEVICE01"].values == {"pvPower": 39.0, "SoC": 39.0, "generation": 390.0,
                                         "feedin": 780.0}  # fmt: skip
    assert latest["DEVICE02"].values == {"SoC": 39.0, "RVolt": 239.0, "generation": 139.0}
    store.ingest([batch("DEVICE01", [T0 + 39 * 60_000], [[5.0, 5.0, 5.0, 5.0]])])  # same time
    assert store.latest(["DEVICE01"])["DEVICE01"].values["SoC"] == 5.0
    live = [ramp("DEVICE01", T0 + DAY, 1), ramp("DEVICE02", T0 + DAY, 1)]
    store.ingest([DeviceSamples(s.sn, VARS, s.times_ms, s.values) for s in live])
    assert rows(path, "SELECT DISTINCT length(times) FROM telemetry_tail") == [(8,)]


def test_counters_before_many_boundaries_take_three_queries(store: SQLiteStore) -> None:
    t = [T0 + k * SLOT_MS + 60_000 for k in range(6)]
    store.ingest([batch("DEVICE01", t, [[0, 0, 10 * (k + 1), k] for k in range(6)])])
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    out = store.counters_before("DEVICE01", [T0 + k * SLOT_MS for k in range(7)])
    store._db.set_trace_callback(None)
    assert out[:, 0].tolist() == [10.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert len([s for s in statements if s.startswith("SELECT")]) == 3


def test_an_older_item_after_a_newer_one_leaves_the_newest(store: SQLiteStore) -> None:
    store.ingest([ramp("DEVICE01", T0 + DAY, 2), ramp("DEVICE01", T0, 2)])
    assert store.latest(["DEVICE01"])["DEVICE01"].time_ms == T0 + DAY + 60_000
    assert len(store.history("DEVICE01", T0, T0 + 2 * DAY).times_ms) == 4


def test_a_part_ends_once_it_holds_ingest_part_samples(store: SQLiteStore) -> None:
    # the first part holds PART_MIN (32) samples (no pace measured yet), the next ones
    # INGEST_PART (256), however slow the machine
    store.PART_S = 1e6
    store._part_rate = 1.0  # (once a pace is known: the first part ever is PART_MIN)
    store.pack_run = 1  # whole days weigh their samples (packed together they weigh less)
    sizes = [128, 127, 1, 128, 127, 1]
    items = [ramp("DEVICE01", T0 + d * DAY, n) for d, n in enumerate(sizes)]
    stored: list[int] = []
    store.after_part = lambda: stored.append(
        len(store.history("DEVICE01", 0, T0 + 9 * DAY).times_ms)
    )
    assert store.ingest(items) == 512
    store.after_part = None
    assert stored == [256, 512]


def test_whole_days_of_a_backfill_are_packed_together_with_their_chunks_and_tails(
    store: SQLiteStore, path: Path
) -> None:
    from tests.server.test_statements import Statements

    written: dict[str, dict[int, list[float]]] = {"DEVICE01": {}, "DEVICE02": {}}

    def keep(item: DeviceSamples) -> DeviceSamples:
        for t, row in zip(item.times_ms.tolist(), item.values.tolist(), strict=True):
            written[item.sn][t] = row
        return item

    for sn in written:  # each device-day a chunk and a tail after it
        for d in (0, 1):
            store.ingest([keep(ramp(sn, T0 + d * DAY, 40))])
            store.ingest([keep(ramp(sn, T0 + d * DAY + 40 * 60_000, 3))])
    assert where(path) == (4, 4)
    # one write: both days of both devices again, older than their newest samples (packed
    # whole), then a few new samples of one device (its tail)
    backfill = [
        keep(
            batch(
                sn,
                [T0 + d * DAY + 30_000 + k * 60_000 for d in (0, 1) for k in range(40)],
                [[1000 + k, 7, 100 + k, 200 + k] for _ in (0, 1) for k in range(40)],
            )
        )
        for sn in written
    ]
    short = keep(ramp("DEVICE02", T0 + 2 * DAY, 2))
    spy = Statements(store)
    texts = spy.during(lambda: store.ingest([*backfill, short]))
    chunk_reads = [t for t in texts if t.startswith("SELECT") and "telemetry_chunks" in t]
    tail_reads = [t for t in texts if t.startswith("SELECT") and "FROM telemetry_tail" in t]
    assert len(chunk_reads) == len(tail_reads) == 1  # four device-days, one query each
    assert where(path) == (4, 1)  # the four days packed, their tails with them; the new tail
    for sn, samples in written.items():
        found = store.history(sn, T0, T0 + 3 * DAY)
        assert found.times_ms.tolist() == sorted(samples)
        assert found.values.tolist() == [samples[t] for t in sorted(samples)]


def test_days_of_tail_max_samples_weigh_their_count(store: SQLiteStore) -> None:
    # the first part holds PART_MIN (32) samples (no pace measured yet), the next ones
    # INGEST_PART (256), however slow the machine
    store.PART_S = 1e6
    assert store.pack_run > 1 and store.tail_max == 32
    stored: list[int] = []
    store.after_part = lambda: stored.append(
        len(store.history("DEVICE01", 0, T0 + 20 * DAY).times_ms)
    )
    # ten days of tail_max samples each, every one newer than the last: appended, and
    # weighing 32 each (a whole day to pack would weigh 32 / pack_run)
    assert store.ingest([ramp("DEVICE01", T0 + d * DAY, 32) for d in range(10)]) == 320
    store.after_part = None
    assert stored == [32, 288, 320]  # weighed 32 / pack_run, all ten would be one part


def test_one_device_day_twice_in_a_write_is_packed_once_at_a_time(
    store: SQLiteStore, path: Path
) -> None:
    from tests.server.test_statements import Statements

    store.ingest([ramp("DEVICE01", T0 + 2 * DAY, 3)])  # newest: the days below are a backfill
    first = ramp("DEVICE01", T0, 40)
    second = batch("DEVICE01", [T0 + 30_000 + k * 60_000 for k in range(40)], [[5, 5, 5, 5]] * 40)
    store.ingest([first, second])  # one device-day twice: each packs what the other wrote
    assert len(store.history("DEVICE01", T0, T0 + DAY - 1).times_ms) == 80
    store.pack_run = 1  # one day at a time: a query for each day's chunk
    spy = Statements(store)
    texts = spy.during(
        lambda: store.ingest([ramp("DEVICE02", T0, 40), ramp("DEVICE02", T0 + DAY, 40)])
    )
    assert len([t for t in texts if t.startswith("SELECT") and "telemetry_chunks" in t]) == 2
    assert where(path) == (3, 1)


def test_a_day_of_tail_max_samples_after_a_packed_day_goes_to_the_tail(
    store: SQLiteStore, path: Path
) -> None:
    # one part: a whole day (more than tail_max samples: packed), then the next day's
    # tail_max samples, newer than any: appended, not packed with the day before them
    assert store.tail_max == 32
    store.ingest([ramp("DEVICE01", T0, 40), ramp("DEVICE01", T0 + DAY, 32)])
    assert rows(path, "SELECT day, n FROM telemetry_chunks") == [(D0, 40)]
    assert rows(path, "SELECT day, n FROM telemetry_tail") == [(D0 + 1, 32)]
    assert len(store.history("DEVICE01", T0, T0 + 2 * DAY).times_ms) == 72


def test_a_device_day_met_again_ends_a_run_of_days_to_pack(store: SQLiteStore) -> None:
    # one part: day 0 and day 1 of one item, then day 1 again in a second item; packed
    # together the second day 1 would be packed from the chunk read before the first
    two_days = ramp("DEVICE01", T0 + DAY - 40 * 60_000, 80)  # 40 samples each side of midnight
    again = batch(
        "DEVICE01", [T0 + DAY + 30_000 + k * 60_000 for k in range(40)], [[7, 7, 7, 7]] * 40
    )
    store.ingest([two_days, again])
    day1 = store.history("DEVICE01", T0 + DAY, T0 + 2 * DAY - 1)
    assert len(day1.times_ms) == 80
    # minute by minute: the ramp's value (40 on), then the second item's 7 half a minute on
    assert day1.values[:, 0].tolist() == [40.0 + k // 2 if k % 2 == 0 else 7.0 for k in range(80)]


def test_a_run_of_exactly_two_days_is_packed_with_one_chunk_query(
    store: SQLiteStore, path: Path
) -> None:
    from tests.server.test_statements import Statements

    spy = Statements(store)
    texts = spy.during(
        lambda: store.ingest([ramp("DEVICE02", T0, 40), ramp("DEVICE02", T0 + DAY, 40)])
    )
    assert len([t for t in texts if t.startswith("SELECT") and "telemetry_chunks" in t]) == 1
    assert len([t for t in texts if t.startswith("SELECT") and "FROM telemetry_tail" in t]) == 1
    found = rows(path, "SELECT day, n FROM telemetry_chunks ORDER BY day")
    assert found == [(D0, 40), (D0 + 1, 40)]


def test_with_pack_run_1_each_day_is_packed_alone(store: SQLiteStore, path: Path) -> None:
    from tests.server.test_statements import Statements

    store.pack_run = 1  # one day at a time, as before days were packed together
    store.PART_MIN = store.INGEST_PART = 1000  # both days in one part
    spy = Statements(store)
    texts = spy.during(
        lambda: store.ingest([ramp("DEVICE02", T0, 40), ramp("DEVICE02", T0 + DAY, 40)])
    )
    assert len([t for t in texts if t.startswith("SELECT") and "telemetry_chunks" in t]) == 2
    found = rows(path, "SELECT day, n FROM telemetry_chunks ORDER BY day")
    assert found == [(D0, 40), (D0 + 1, 40)]


def test_of_many_equal_times_in_one_write_the_last_written_stays(store: SQLiteStore) -> None:
    # 3,000 samples of 300 times, each time ten times over in a shuffled order: the value
    # kept for a time is the one written last (a sort that is not stable mixes them up)
    rng = np.random.default_rng(7)
    times = np.repeat(T0 + np.arange(300, dtype=np.int64) * 60_000, 10)
    rng.shuffle(times)
    index = np.arange(len(times), dtype=float)
    store.ingest([DeviceSamples("DEVICE01", VARS, times, np.column_stack([index] * 4))])
    last = {int(t): float(i) for i, t in enumerate(times.tolist())}
    found = store.history("DEVICE01", T0, T0 + DAY)
    assert found.times_ms.tolist() == sorted(last)
    assert found.values[:, 0].tolist() == [last[t] for t in sorted(last)]


def test_rollups_of_a_packed_day_stay_when_a_tail_and_another_packed_day_follow(
    store: SQLiteStore, path: Path
) -> None:
    # one item, one part: day 0 packed (40 samples), day 1 appended (3, newer than any),
    # day 2 packed (40): each day's slots get the counters of their last sample
    times = [T0 + d * DAY + k * 60_000 for d, n in ((0, 40), (1, 3), (2, 40)) for k in range(n)]
    generation = [0.5 * k for k in range(len(times))]
    values = [[1.0, 50, g, 2 * g] for g in generation]
    store.ingest([batch("DEVICE01", times, values)])
    assert where(path) == (2, 1)
    last: dict[int, tuple[float, float]] = {}
    for t, g in zip(times, generation, strict=True):
        last[t // SLOT_MS] = (g, 2 * g)
    expected = [(slot, *last[slot]) for slot in sorted(last)]
    found = rows(path, "SELECT slot, generation, feedin FROM energy_slots ORDER BY slot")
    assert len(expected) == 7  # three slots of day 0, one of day 1, three of day 2
    assert rounded(found) == expected


# ---------------------------------------------------------------- the WAL copied between parts


def _open_fds(path: Path) -> int:
    """This process's descriptors open on ``path``."""
    fds = Path("/proc/self/fd")
    found = 0
    for fd in fds.iterdir():
        try:
            found += (fds / fd.name).readlink() == path
        except OSError:
            continue
    return found


def test_an_ingest_copies_the_wal_into_the_database_between_its_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's own commits leave the WAL alone until ``WAL_AUTOCHECKPOINT`` pages (a
    copy made inside a commit holds the store); the ingest copies it between its parts,
    with the store free, so the database file grows as the parts come."""
    monkeypatch.setattr(SQLiteStore, "CHECKPOINT_EVERY_S", 0.0)
    s = open_store(url_for(tmp_path))
    assert isinstance(s, SQLiteStore)
    database = (tmp_path / "foxden.db").resolve()
    try:
        assert s._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 4000
        accounts.create_account(s, "a", 0)
        accounts.add_device(s, "a", "DEVICE01", "H1-5.0-E", 0)
        before = database.stat().st_size
        parts = s.parts_written
        s.ingest([ramp("DEVICE01", T0, 3 * 1440)])  # three days, packed: several parts
        assert s.parts_written - parts >= 2
        assert database.stat().st_size > before  # copied: a commit alone would not have
        wal = (tmp_path / "foxden.db-wal").stat().st_size
        assert wal < 4000 * 4096
        assert len(s.history("DEVICE01", T0, T0 + 3 * DAY).times_ms) == 3 * 1440
        assert _open_fds(database) == 2  # the store's connection and the copying one
    finally:
        s.close()
    assert _open_fds(database) == 0


def test_the_wal_is_copied_at_most_every_checkpoint_every_s(store: SQLiteStore, path: Path) -> None:
    store.CHECKPOINT_EVERY_S = 3600.0
    before = path.stat().st_size
    store.ingest([ramp("DEVICE01", T0, 3 * 1440)])
    assert path.stat().st_size == before  # not yet: everything is in the WAL
