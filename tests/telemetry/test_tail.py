"""The append-only tail of a device-day: reads of chunk + tail, packing when a day closes and at
restart, migration of older databases, durability under SIGKILL, interleavings of appends and
packs (property), and readers getting the store between the parts of a long ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foxden import accounts
from foxden.protocol import telemetry
from foxden.store import SLOT_MS, DeviceSamples, Series, Store, open_store
from tests.telemetry.data import samples

DAY = 86_400_000
T0 = 1_711_929_600_000  # 2024-04-01 00:00 UTC
MODEL = "H1-5.0-E"
SLOTS = [T0 + k * SLOT_MS for k in range(0, 3 * 96, 7)]


def _fresh(url: str) -> Store:
    s = open_store(url)
    accounts.create_account(s, "a", 0)
    for sn in ("DEVICE0001", "DEVICE0002", "DEVICE0003"):
        accounts.add_device(s, "a", sn, MODEL, 0)
    return s


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = _fresh(database_url)
    yield s
    s.close()


def _one(batch: DeviceSamples, i: int, sn: str | None = None) -> DeviceSamples:
    return DeviceSamples(
        sn or batch.sn, batch.variables, batch.times_ms[i : i + 1], batch.values[i : i + 1]
    )


def _rows(store: Store, table: str) -> int:
    return store.snapshot().counts()[table]


def _same(a: Series, b: Series) -> None:
    assert a.variables == b.variables
    assert a.times_ms.tolist() == b.times_ms.tolist()
    assert np.array_equal(a.values, b.values, equal_nan=True)


def _same_device(store: Store, sn: str, other: Store, other_sn: str, days: int = 3) -> None:
    """``sn`` in ``store`` reads exactly as ``other_sn`` in ``other``: history, newest sample,
    counters at every slot boundary."""
    _same(store.history(sn, T0, T0 + days * DAY), other.history(other_sn, T0, T0 + days * DAY))
    mine, theirs = store.latest([sn]).get(sn), other.latest([other_sn]).get(other_sn)
    assert (mine is None) == (theirs is None)
    if mine is not None and theirs is not None:
        assert (mine.time_ms, mine.values) == (theirs.time_ms, theirs.values)
    assert np.array_equal(
        store.counters_before(sn, SLOTS), other.counters_before(other_sn, SLOTS), equal_nan=True
    )


def test_appends_go_to_the_tail_and_read_with_the_chunk(store: Store) -> None:
    batch = samples("DEVICE0001", MODEL, T0, 560)  # most of two days
    store.ingest([batch])  # a full first day and part of the next: packed
    store.ingest([DeviceSamples("DEVICE0003", batch.variables, batch.times_ms, batch.values)])
    assert _rows(store, "telemetry_tail") == 0
    live = samples("DEVICE0001", MODEL, int(batch.times_ms[-1]) + 1000, 40, seed=1)
    chunk_before = store.history_chunks("DEVICE0001", T0 + DAY, T0 + 2 * DAY)[-1].content
    for i in range(40):  # one live sample at a time, across midnight
        store.ingest([_one(live, i)])
        store.ingest([_one(live, i, "DEVICE0003")])
    assert _rows(store, "telemetry_tail") == 80, "every append is one tail row"
    chunks = store.history_chunks("DEVICE0001", T0, T0 + 3 * DAY)
    assert [c.day for c in chunks] == [T0 // DAY, T0 // DAY + 1, T0 // DAY + 2]
    assert chunks[1].content != chunk_before, "an appended sample changes the day's content"
    t, _ = chunks[1].unpack()
    assert len(t) == 560 - 288 + int((live.times_ms < T0 + 2 * DAY).sum())
    # the same samples written the old way (every write re-packs its day) read the same
    reference = _fresh("sqlite://")
    reference.tail_max = 0  # type: ignore[attr-defined]
    reference.ingest([batch])
    for i in range(40):
        reference.ingest([_one(live, i)])
    assert _rows(reference, "telemetry_tail") == 0
    _same_device(store, "DEVICE0001", reference, "DEVICE0001")
    # packing the closed days leaves today's tail, and the reads do not move
    assert store.merge_tail(T0 + 2 * DAY) == 2
    assert _rows(store, "telemetry_tail") == 2 * int((live.times_ms >= T0 + 2 * DAY).sum())
    _same_device(store, "DEVICE0001", reference, "DEVICE0001")
    assert store.merge_tail(T0 + 3 * DAY) == 2
    assert _rows(store, "telemetry_tail") == 0
    _same_device(store, "DEVICE0001", reference, "DEVICE0001")
    _same_device(store, "DEVICE0003", reference, "DEVICE0001")


def test_a_bigger_write_packs_the_days_tail_with_it(store: Store) -> None:
    batch = samples("DEVICE0001", MODEL, T0, 200)
    for i in range(100):
        store.ingest([_one(batch, i)])
    assert _rows(store, "telemetry_tail") == 100
    changed = batch.values.copy()
    changed[50:, batch.variables.index("SoC")] = 42
    store.ingest([DeviceSamples("DEVICE0001", batch.variables, batch.times_ms[50:], changed[50:])])
    assert _rows(store, "telemetry_tail") == 0, "the re-packed day took its tail in"
    series = store.history("DEVICE0001", T0, T0 + DAY)
    assert len(series.times_ms) == 200
    soc = series.values[:, series.variables.index("SoC")]
    assert (soc[50:] == 42).all() and (soc[:50] != 42).all()
    # an older sample sent again (a correction) re-packs too, and wins
    fixed = changed[10:11].copy()
    fixed[0, batch.variables.index("SoC")] = 7
    store.ingest([DeviceSamples("DEVICE0001", batch.variables, batch.times_ms[10:11], fixed)])
    assert store.history("DEVICE0001", T0, T0 + DAY).values[10, series.variables.index("SoC")] == 7
    assert _rows(store, "telemetry_tail") == 0


def test_prune_clear_snapshot_and_restore_see_the_tail(store: Store) -> None:
    batch = samples("DEVICE0001", MODEL, T0, 3 * 288)
    store.ingest(
        [DeviceSamples("DEVICE0001", batch.variables, batch.times_ms[:-10], batch.values[:-10])]
    )
    for i in range(3 * 288 - 10, 3 * 288):
        store.ingest([_one(batch, i)])
    tail_only = samples("DEVICE0002", MODEL, T0, 5)
    for i in range(5):
        store.ingest([_one(tail_only, i)])  # a day that is only a tail
    snap = store.snapshot()
    assert snap.counts()["telemetry_tail"] == 15
    whole = store.history("DEVICE0001", T0, T0 + 3 * DAY)
    assert len(whole.times_ms) == 3 * 288
    store.clear_telemetry()
    assert len(store.history("DEVICE0001", T0, T0 + 3 * DAY).times_ms) == 0
    assert _rows(store, "telemetry_tail") == 0
    store.restore(snap)
    _same(store.history("DEVICE0001", T0, T0 + 3 * DAY), whole)
    store.ingest([_one(tail_only, 4)])  # ids go on after a restore (PostgreSQL identity)
    # the first day of both devices goes, counted once per device-day
    assert store.prune(T0 + DAY) == 2
    assert len(store.history("DEVICE0002", T0, T0 + DAY).times_ms) == 0
    assert len(store.history("DEVICE0001", T0 + DAY, T0 + 3 * DAY).times_ms) == 2 * 288


def test_an_older_database_gains_the_tail_on_open(database_url: str) -> None:
    """Version 1 had no tail table: opening it adds the table and keeps every sample."""
    store = _fresh(database_url)
    batch = samples("DEVICE0001", MODEL, T0, 300)
    store.tail_max = 0  # type: ignore[attr-defined]  # written as version 1 wrote it
    store.ingest([batch])
    before = store.history("DEVICE0001", T0, T0 + 2 * DAY)
    with store.transaction():
        store._x("DROP TABLE telemetry_tail")  # type: ignore[attr-defined]
        store._x("UPDATE meta SET value = '1' WHERE key = 'schema_version'")  # type: ignore[attr-defined]
    store.close()
    store = open_store(database_url)
    try:
        meta = dict(store.snapshot().tables["meta"][1])
        assert meta["schema_version"] == "2"
        _same(store.history("DEVICE0001", T0, T0 + 2 * DAY), before)
        more = samples("DEVICE0001", MODEL, int(batch.times_ms[-1]) + 1000, 3, seed=2)
        for i in range(3):
            store.ingest([_one(more, i)])
        assert _rows(store, "telemetry_tail") == 3
        assert len(store.history("DEVICE0001", T0, T0 + 2 * DAY).times_ms) == 303
    finally:
        store.close()


def test_the_fleet_packs_a_day_when_it_closes_and_after_a_restart(tmp_path: Path) -> None:
    from foxden.sim.clock import SimClock
    from foxden.sim.runner import FleetRunner
    from foxden.store import Plant, url_for

    url = url_for(tmp_path)
    store = _fresh(url)
    store.insert_plant(Plant("p1", 1, "P", 1, "GB", "London", "1 Road", "N1", "UTC", 0))
    store.bind_device("DEVICE0001", "p1")
    evening = T0 + DAY - 3_600_000
    runner = FleetRunner(store, SimClock(start_ms=evening, speed=0), seed=0)
    runner.run_until(evening, start_ms=evening - DAY + 3_600_000)  # a backfill: packed
    assert _rows(store, "telemetry_tail") == 0
    for step in range(1, 12):  # live, five minutes at a time, until 23:55
        runner.run_until(evening + step * 300_000)
    assert _rows(store, "telemetry_tail") == 11
    runner.run_until(T0 + DAY + 10 * 60_000)  # past midnight: the first day closes
    tail = store.snapshot().tables["telemetry_tail"]
    day_of = tail[0].index("day")
    assert {row[day_of] for row in tail[1]} == {T0 // DAY + 1}, "only the new day's tail stays"
    assert len(store.history("DEVICE0001", T0, T0 + DAY - 1).times_ms) == 288
    # the process dies before the next day closes; a new one packs what was left
    runner.run_until(T0 + DAY + 30 * 60_000)
    store.close()
    store = open_store(url)
    try:
        kept = store.history("DEVICE0001", T0, T0 + 2 * DAY)
        assert _rows(store, "telemetry_tail") > 0
        later = FleetRunner(store, SimClock(start_ms=T0 + 2 * DAY + 60_000, speed=0), seed=0)
        assert later.pack_closed_days(T0 + 2 * DAY + 60_000) == 1
        assert _rows(store, "telemetry_tail") == 0
        _same(store.history("DEVICE0001", T0, T0 + 2 * DAY), kept)
        assert later.pack_closed_days(T0 + 2 * DAY + 120_000) == 0, "once a day"
    finally:
        store.close()


_APPENDER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from foxden.store import DeviceSamples, open_store

    store = open_store(sys.argv[1])
    t = int(sys.argv[2])
    variables = ("SoC", "generation")
    k = 0
    while True:
        k += 1
        store.ingest([DeviceSamples("DEVICE0001", variables,
                                    np.array([t + k * 1000], dtype=np.int64),
                                    np.array([[float(k % 100), k / 10]]))])
        print(k, flush=True)
    """
)


def test_a_kill_after_an_append_loses_nothing_acknowledged(database_url: str) -> None:
    _fresh(database_url).close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _APPENDER, database_url, str(T0)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    acknowledged = 0
    try:
        for line in proc.stdout:
            acknowledged = int(line)
            if acknowledged >= 150:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert acknowledged >= 150
    store = open_store(database_url)
    try:
        series = store.history("DEVICE0001", T0, T0 + DAY)
        stored = ((series.times_ms - T0) // 1000).tolist()
        assert stored[:acknowledged] == list(range(1, acknowledged + 1))
        assert len(stored) >= acknowledged
        soc = series.values[:acknowledged, series.variables.index("SoC")]
        assert soc.tolist() == [float(k % 100) for k in range(1, acknowledged + 1)]
        assert _rows(store, "telemetry_tail") >= acknowledged, "they were appends"
    finally:
        store.close()


# ------------------------------------------------------------------ interleavings

_VARIABLE_SETS = (
    ("SoC", "generation", "pvPower"),
    ("pvPower", "feedin", "runningState"),
    ("generation", "SoC"),
)
_write = st.tuples(
    st.lists(st.integers(0, 2 * 288 - 1), min_size=1, max_size=40),  # 5-minute slots
    st.integers(0, len(_VARIABLE_SETS) - 1),
    st.integers(0, 10**6),  # the values' seed
)
_op = st.one_of(
    st.tuples(st.just("write"), _write),
    st.tuples(st.just("pack"), st.integers(0, 3)),  # pack days before this one
)


def _batch(sn: str, slots: list[int], variables: int, seed: int) -> DeviceSamples:
    rng = np.random.default_rng(seed)
    names = _VARIABLE_SETS[variables]
    times = T0 + np.array(slots, dtype=np.int64) * 300_000 + rng.integers(0, 3, len(slots))
    values = np.round(rng.uniform(0, 500, (len(slots), len(names))), 1)
    values[rng.random(values.shape) < 0.1] = np.nan
    catalogue = telemetry.variables()
    for j, name in enumerate(names):
        if catalogue[name].counter:  # counters only rise, as a meter's do
            values[:, j] = np.round(1000 + np.cumsum(np.nan_to_num(values[:, j])), 1)
    return DeviceSamples(sn, names, times, values)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(_op, min_size=1, max_size=25), tail_max=st.integers(1, 40))
def test_any_interleaving_of_appends_and_packs_reads_as_one_write(
    ops: list[tuple[str, Any]], tail_max: int
) -> None:
    """Each write goes to the tail or re-packs its day (by its size and age); packs come at
    any point. The store reads exactly like one that re-packed the day at every write, and
    like one write of all samples (the last write of a time wins)."""
    store = _fresh("sqlite://")
    store.tail_max = tail_max  # type: ignore[attr-defined]
    store.INGEST_PART = 7  # type: ignore[attr-defined]  # many parts too
    repacked = _fresh("sqlite://")
    repacked.tail_max = 0  # type: ignore[attr-defined]
    written: dict[int, dict[str, float]] = {}
    for kind, arg in ops:
        if kind == "pack":
            store.merge_tail(T0 + arg * DAY)
            continue
        batch = _batch("DEVICE0001", *arg)
        store.ingest([batch])
        repacked.ingest([batch])
        order = np.argsort(batch.times_ms, kind="stable")
        for i in order.tolist():
            written[int(batch.times_ms[i])] = dict(
                zip(batch.variables, batch.values[i].tolist(), strict=True)
            )
    _same_device(store, "DEVICE0001", repacked, "DEVICE0001")
    # and the samples are those written, the last write of each time winning
    series = store.history("DEVICE0001", T0, T0 + 3 * DAY)
    assert series.times_ms.tolist() == sorted(written)
    for i, t in enumerate(series.times_ms.tolist()):
        for name, value in written[t].items():
            got = series.values[i, series.variables.index(name)]
            q = telemetry.variables()[name].quantum
            assert (np.isnan(got) and np.isnan(value)) or abs(got - value) <= q / 2 + 1e-9
    store.merge_tail(T0 + 10 * DAY)
    assert _rows(store, "telemetry_tail") == 0
    _same_device(store, "DEVICE0001", repacked, "DEVICE0001")
    store.close()
    repacked.close()


# ------------------------------------------------------------------ readers during ingest


def test_a_long_ingest_commits_in_parts_and_lets_readers_in(database_url: str) -> None:
    """Between two parts of one ingest call the store is free: a read from another thread
    completes there (it would wait for the whole call if the store were held), and another
    connection already sees the parts committed so far."""
    store = _fresh(database_url)
    other = open_store(database_url)
    try:
        _parts_and_readers(store, other)
    finally:
        store.close()
        other.close()


def _parts_and_readers(store: Store, other: Store) -> None:
    sns = [f"LIVE{k:06d}" for k in range(40)]
    for sn in sns:
        accounts.add_device(store, "a", sn, MODEL, 0)
    day = samples("DEVICE0001", MODEL, T0, 20)
    store.ingest(
        [DeviceSamples(sn, day.variables, day.times_ms[:10], day.values[:10]) for sn in sns]
    )
    batch = [_one(day, 10, sn) for sn in sns]
    store.INGEST_PART = 8  # type: ignore[attr-defined]
    store.PART_S = float("inf")  # type: ignore[attr-defined]  # parts by count only
    seen: list[tuple[int, int]] = []

    def read_between_parts() -> None:
        done: list[int] = []

        def read() -> None:  # an API request of another thread on the same store
            done.append(len(store.history(sns[0], T0, T0 + DAY).times_ms))

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=120)
        assert not reader.is_alive(), "the reader waited for the whole ingest"
        seen.append((done[0], _rows(other, "telemetry_tail")))  # uncached, as it is now

    store.after_part = read_between_parts  # type: ignore[attr-defined]
    parts = store.parts_written  # type: ignore[attr-defined]
    rows = _rows(other, "telemetry_tail")
    assert store.ingest(batch) == 40
    assert store.parts_written - parts == 5  # type: ignore[attr-defined]
    assert [n - rows for _, n in seen] == [8, 16, 24, 32, 40], "each part committed alone"
    assert [n for n, _ in seen] == [11] * 5


def test_whole_days_packed_together_read_as_packed_one_at_a_time(
    database_url: str, tmp_path: Path
) -> None:
    # a backfill's call: three devices x three days, the first day of one device already
    # holding a chunk and a tail, a device-day twice in one call; packed 16 device-days a
    # part (their chunks and tails read in one query) and one at a time, the same
    together, alone = _fresh(database_url), _fresh(f"sqlite:///{tmp_path / 'alone.db'}")
    alone.pack_run = 1  # type: ignore[attr-defined]
    try:
        sns = ("DEVICE0001", "DEVICE0002", "DEVICE0003")
        before = samples("DEVICE0002", MODEL, T0, 100, seed=3)
        late = samples("DEVICE0002", MODEL, T0 + 100 * 300_000, 5, seed=4)
        calls = [
            [before],
            [_one(late, i) for i in range(5)],  # to the tail
            [samples(sn, MODEL, T0 - 3_600_000, 3 * 288, seed=k) for k, sn in enumerate(sns)]
            + [samples("DEVICE0001", MODEL, T0 + DAY + 7, 40, seed=9)],  # a day again
        ]
        for s in (together, alone):
            for batch in calls:
                s.ingest(batch)
        assert together.parts_written < alone.parts_written  # type: ignore[attr-defined]
        for table in ("telemetry_tail", "telemetry_chunks", "energy_slots"):
            assert _rows(together, table) == _rows(alone, table), table
        for sn in sns:
            _same_device(together, sn, alone, sn, days=4)
            assert len(together.history(sn, T0, T0 + 3 * DAY).times_ms) > 800
    finally:
        together.close()
        alone.close()
