"""The telemetry store: codec round trip, idempotent and atomic ingest, rollups, retention."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from foxden import accounts
from foxden.protocol import telemetry
from foxden.store import SLOT_MS, DeviceSamples, Store, StoreError, codec, open_store
from tests.telemetry.data import samples

DAY = 86_400_000
T0 = 1_711_929_600_000  # 2024-04-01 00:00 UTC


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A fresh store of each backend (SQLite, and PostgreSQL where one is configured)."""
    s = open_store(database_url)
    accounts.create_account(s, "a", 0)
    accounts.add_device(s, "a", "DEVICE0001", "H1-5.0-E", 0)
    accounts.add_device(s, "a", "DEVICE0002", "F3000", 0)
    yield s
    s.close()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=40).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.int64, n, elements=st.integers(0, 10**13), unique=True),
            hnp.arrays(
                np.float64,
                (n, 4),
                elements=st.one_of(st.floats(-1e5, 1e5, allow_nan=False), st.just(float("nan"))),
            ),
        )
    )
)
def test_codec_round_trip(data: tuple[np.ndarray, np.ndarray]) -> None:
    times, values = data
    variables = ("pvPower", "RVolt", "generation", "SoC")
    q = codec.quanta(variables)
    tb, vb = codec.encode(times, values, q)
    t2, v2 = codec.decode(tb, vb, len(times), q)
    assert (t2 == times).all()
    assert (np.isnan(v2) == np.isnan(values)).all()
    ok = ~np.isnan(values)
    assert np.all(np.abs(v2[ok] - values[ok]) <= np.broadcast_to(q / 2 + 1e-9, values.shape)[ok])


def test_ingest_is_idempotent_and_replaces(store: Store) -> None:
    batch = samples("DEVICE0001", "H1-5.0-E", T0, 300)
    assert store.ingest([batch]) == 300
    assert store.ingest([batch]) == 300
    series = store.history("DEVICE0001", T0, T0 + 2 * DAY)
    assert len(series.times_ms) == 300
    changed = batch.values.copy()
    j = batch.variables.index("SoC")
    changed[10, j] = 77
    store.ingest(
        [DeviceSamples("DEVICE0001", batch.variables, batch.times_ms[10:11], changed[10:11])]
    )
    series = store.history("DEVICE0001", T0, T0 + 2 * DAY)
    assert len(series.times_ms) == 300
    assert series.values[10, series.variables.index("SoC")] == 77


def test_batch_is_atomic(store: Store) -> None:
    good = samples("DEVICE0001", "H1-5.0-E", T0, 10)
    bad = samples("NOSUCHDEV1", "H1-5.0-E", T0, 10)
    with pytest.raises(StoreError, match="unknown device"):
        store.ingest([good, bad])
    assert len(store.history("DEVICE0001", T0, T0 + DAY).times_ms) == 0
    with pytest.raises(StoreError, match="unknown variables"):
        store.ingest(
            [DeviceSamples("DEVICE0001", ("warpSpeed",), good.times_ms, good.values[:, :1])]
        )
    with pytest.raises(StoreError, match="shape"):
        store.ingest([DeviceSamples("DEVICE0001", good.variables, good.times_ms, good.values[:5])])


def test_variables_can_change_between_batches(store: Store) -> None:
    a = DeviceSamples("DEVICE0001", ("SoC",), np.array([T0], dtype=np.int64), np.array([[50.0]]))
    b = DeviceSamples(
        "DEVICE0001",
        ("pvPower", "SoC"),
        np.array([T0 + 300_000], dtype=np.int64),
        np.array([[1.234, 51.0]]),
    )
    store.ingest([a])
    store.ingest([b])
    series = store.history("DEVICE0001", T0, T0 + DAY)
    assert series.variables == ("SoC", "pvPower")
    assert np.isnan(series.values[0, 1]) and series.values[1].tolist() == [51.0, 1.234]
    assert store.latest(["DEVICE0001"])["DEVICE0001"].values == {"pvPower": 1.234, "SoC": 51.0}


def test_two_processes_may_each_meet_the_same_variables_first(
    store: Store, database_url: str
) -> None:
    """A variable set another store (another process) registered after this one read the
    schema table is found, not inserted twice (that was refused as a duplicate)."""
    other = open_store(database_url)
    try:
        names = ("pvPower", "SoC", "feedin")
        first = DeviceSamples(
            "DEVICE0001", names, np.array([T0], dtype=np.int64), np.array([[1.5, 50.0, 2.0]])
        )
        later = DeviceSamples(
            "DEVICE0001", names, np.array([T0 + 300_000], dtype=np.int64),
            np.array([[1.6, 51.0, 2.5]]),
        )  # fmt: skip
        store.ingest([first])
        other.ingest([later])  # this store has not seen the schema the first made
        series = other.history("DEVICE0001", T0, T0 + DAY)
        assert series.variables == names
        assert series.values.tolist() == [[1.5, 50.0, 2.0], [1.6, 51.0, 2.5]]
        assert store.history("DEVICE0001", T0, T0 + DAY).values.tolist() == series.values.tolist()
    finally:
        other.close()


def test_counters_before_each_boundary(store: Store) -> None:
    batch = samples("DEVICE0001", "H1-5.0-E", T0, 288 * 2)
    store.ingest([batch])
    g = batch.variables.index("generation")
    boundaries = [T0 - DAY, T0 + SLOT_MS * 5, T0 + DAY, T0 + 10 * DAY]
    got = store.counters_before("DEVICE0001", boundaries)[:, telemetry.COUNTERS.index("generation")]
    t, v = batch.times_ms, batch.values[:, g]
    expected = [v[0]] + [v[t < b][-1] for b in boundaries[1:]]
    assert got.tolist() == pytest.approx(expected)
    with pytest.raises(ValueError, match="quarter hour"):
        store.counters_before("DEVICE0001", [T0 + 1])
    no_battery = store.counters_before("DEVICE0002", [T0])
    assert np.isnan(no_battery).all()


def test_prune_keeps_rollups(store: Store) -> None:
    store.ingest([samples("DEVICE0001", "H1-5.0-E", T0, 288 * 3)])
    before = store.counters_before("DEVICE0001", [T0 + DAY, T0 + 2 * DAY])
    assert store.prune(T0 + 2 * DAY) == 2
    assert len(store.history("DEVICE0001", T0, T0 + DAY).times_ms) == 0
    assert len(store.history("DEVICE0001", T0 + 2 * DAY, T0 + 3 * DAY).times_ms) > 0
    assert (store.counters_before("DEVICE0001", [T0 + DAY, T0 + 2 * DAY]) == before).all()


def test_server_prunes_by_its_retention_setting(store: Store) -> None:
    from foxden.clock import FrozenClock
    from foxden.config import Settings
    from foxden.server.app import FoxdenApp

    store.ingest([samples("DEVICE0001", "H1-5.0-E", T0, 288 * 3)])
    keep_all = FoxdenApp(Settings(raw_retention_days=0), store, FrozenClock(T0 + 3 * DAY))
    assert keep_all.prune() == 0
    one_day = FoxdenApp(Settings(raw_retention_days=1), store, FrozenClock(T0 + 3 * DAY))
    assert one_day.prune() == 2
    assert len(store.history("DEVICE0001", T0 + 2 * DAY, T0 + 3 * DAY).times_ms) > 0


@settings(max_examples=25, deadline=None)
@given(
    zone=st.sampled_from(
        ["Europe/London", "Australia/Sydney", "America/New_York", "Asia/Kathmandu"]
    ),
    start=st.integers(min_value=0, max_value=400).map(lambda d: 1_704_067_200_000 + d * DAY),
    holes=st.lists(st.integers(0, 287), max_size=5),
)
def test_fast_time_strings_equal_the_plain_ones(zone: str, start: int, holes: list[int]) -> None:
    from foxden.protocol import timefmt

    tz = timefmt.zone(zone)
    times = np.sort(
        start
        + np.arange(288, dtype=np.int64) * 300_123
        + np.array(holes + [0] * (288 - len(holes)))[:288]
    )
    assert timefmt.format_local_many(times, tz) == [timefmt.format_local(int(t), tz) for t in times]


def test_fast_history_with_missing_values_equals_the_plain_rendering(store: Store) -> None:
    import msgspec

    from foxden.clock import FrozenClock
    from foxden.protocol import structs as s
    from foxden.server.areas import telemetry as area
    from foxden.server.context import Ctx
    from foxden.server.limits import QuotaKeeper

    times = np.array([T0 + i * 300_000 for i in range(6)], dtype=np.int64)
    a = DeviceSamples(
        "DEVICE0001", ("SoC", "pvPower"), times[:3], np.array([[50, 1.0], [51, np.nan], [52, 1.2]])
    )
    b = DeviceSamples(
        "DEVICE0001",
        ("pvPower", "batStatus", "currentFault"),
        times[3:],
        np.array([[2.0, 1, 0], [2.1, 2, 26], [np.nan, 0, 0]]),
    )
    store.ingest([a, b])
    account = store.account_by_name("a")
    assert account is not None
    clock = FrozenClock(T0 + DAY)
    ctx = Ctx(store, clock, clock, account, QuotaKeeper(store, 1440))
    req = s.HistoryQuery(sn="DEVICE0001", begin=T0, end=T0 + DAY)
    fast = bytes(area.history(ctx, req))
    assert fast == msgspec.json.encode(area.history_reference(ctx, req))
    assert b'"value":"26"' in fast and b'"value":""' in fast


def test_a_stale_newest_sample_never_moves_the_newest_back(store: Store) -> None:
    """A call reads each device's newest sample once, as it begins; should another process
    write a newer one meanwhile, the older sample is kept in the day but the newest sample
    stays the newer one (the upsert keeps the later time)."""
    v = ("pvPower", "SoC")
    store.ingest([DeviceSamples("DEVICE0001", v, np.array([T0 + 600_000]), np.array([[2.0, 20]]))])
    older = DeviceSamples("DEVICE0001", v, np.array([T0 + 300_000]), np.array([[1.0, 10]]))
    stale: dict[str, int] = {}  # as read before the newer sample was written
    store._write_part([("DEVICE0001", T0 // DAY, older.times_ms, older.values, v)], 1.0, stale)  # type: ignore[attr-defined]
    newest = store.latest(["DEVICE0001"])["DEVICE0001"]
    assert (newest.time_ms, newest.values) == (T0 + 600_000, {"pvPower": 2.0, "SoC": 20.0})
    day = store.history("DEVICE0001", T0, T0 + DAY - 1)
    assert day.times_ms.tolist() == [T0 + 300_000, T0 + 600_000]
    assert day.values.tolist() == [[1.0, 10.0], [2.0, 20.0]]
