"""One seed, one history: the same seed gives the same data in any store, another seed
other data, and a backfill in one call equals the fleet stepped sample by sample."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from foxden.sim import engine
from foxden.sim.clock import SimClock
from foxden.sim.runner import FleetRunner
from foxden.store import Series, Store
from tests.sim.conftest import BERLIN, LONDON, SYDNEY, Site, memory_store

DAY_MS = engine.DAY_MS
STEP_MS = engine.STEP_MS
NOW = int(datetime(2026, 6, 22, 6, 30, tzinfo=UTC).timestamp() * 1000)

DEVICES: list[tuple[str, str, Site]] = [
    ("DETH150000001", "H1-5.0-E", LONDON),
    ("DETF300000001", "F3000", LONDON),
    ("DETKH80000001", "KH8", SYDNEY),
]


def with_controls(store: Store) -> Store:
    """Settings that make the battery work: a night charge window, a lower export limit."""
    store.put_settings(
        "DETH150000001",
        {
            "forceChargeTime": {
                "enable1": True,
                "startTime1": {"hour": 1, "minute": 0},
                "endTime1": {"hour": 3, "minute": 30},
                "enable2": False,
                "startTime2": {"hour": 0, "minute": 0},
                "endTime2": {"hour": 0, "minute": 0},
            },
            "ExportLimit": 1500,
        },
    )
    store.put_settings("DETKH80000001", {"WorkMode": "PeakShaving", "MinSoc": 20})
    return store


def whole(store: Store, sn: str, begin_ms: int, end_ms: int) -> Series:
    return store.history(sn, begin_ms, end_ms)


def assert_same(a: Series, b: Series, tolerance: float = 0.0) -> None:
    assert a.variables == b.variables
    assert np.array_equal(a.times_ms, b.times_ms)
    assert a.values.shape == b.values.shape
    assert np.array_equal(np.isnan(a.values), np.isnan(b.values))
    if tolerance:
        assert np.nanmax(np.abs(a.values - b.values)) <= tolerance
    else:
        assert np.array_equal(a.values, b.values, equal_nan=True)


def backfilled(seed: int, days: float = 2, devices: list[tuple[str, str, Site]] = DEVICES) -> Store:
    store = with_controls(memory_store(devices))
    FleetRunner(store, SimClock(start_ms=NOW, speed=0), seed).backfill(days)
    return store


def test_same_seed_same_history() -> None:
    a, b = backfilled(seed=5), backfilled(seed=5)
    for sn, _, _ in DEVICES:
        x = whole(a, sn, NOW - 2 * DAY_MS, NOW)
        assert len(x.times_ms) >= 2 * engine.STEPS - 2
        assert_same(x, whole(b, sn, NOW - 2 * DAY_MS, NOW))
    assert a.latest([s for s, _, _ in DEVICES]) == b.latest([s for s, _, _ in DEVICES])


def test_another_seed_gives_other_data() -> None:
    a, b = backfilled(seed=5, days=1), backfilled(seed=6, days=1)
    for sn, _, _ in DEVICES:
        x, y = whole(a, sn, NOW - DAY_MS, NOW), whole(b, sn, NOW - DAY_MS, NOW)
        assert x.variables == y.variables
        assert not np.array_equal(x.times_ms, y.times_ms)
        n = min(len(x.times_ms), len(y.times_ms))
        # the household on the meter's inverter, the output on the AC-coupled one
        which = "loadsPower" if sn != "DETF300000001" else "generationPower"
        column = x.variables.index(which)
        assert not np.allclose(x.values[:n, column], y.values[:n, column])


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param("DETZZ00000001", id="sorted-last"),
        pytest.param(
            "DETH310000001",
            id="sorted-between",
        ),
    ],
)
def test_adding_a_device_leaves_the_others_unchanged(extra: str) -> None:
    more: list[tuple[str, str, Site]] = [(extra, "H3-10.0-E", BERLIN)]
    a, b = backfilled(seed=5, days=1), backfilled(seed=5, days=1, devices=DEVICES + more)
    for sn, _, _ in DEVICES:
        assert_same(whole(a, sn, NOW - DAY_MS, NOW), whole(b, sn, NOW - DAY_MS, NOW))


def test_backfill_equals_stepping_sample_by_sample() -> None:
    start = NOW - 2 * DAY_MS
    at_once = backfilled(seed=9)
    stepped = with_controls(memory_store(DEVICES))
    clock = SimClock(start_ms=start, speed=0)
    runner = FleetRunner(stepped, clock, seed=9)
    total = 0
    for step in range(1, 2 * DAY_MS // STEP_MS + 1):
        clock.set(start + step * STEP_MS)
        total += runner.run_until(clock.now_ms(), start_ms=start)
    assert clock.now_ms() == NOW
    assert total == sum(len(whole(at_once, sn, start, NOW).times_ms) for sn, _, _ in DEVICES)
    for sn, _, _ in DEVICES:
        assert_same(whole(at_once, sn, start, NOW), whole(stepped, sn, start, NOW), 1e-9)
    sns = [sn for sn, _, _ in DEVICES]
    assert at_once.latest(sns) == stepped.latest(sns)
    # and the energy the reports read (15-minute counter slots) is the same
    slots = [start + 15 * 60_000 * k for k in range(0, 2 * 96 + 1, 8)]
    for sn in sns:
        assert np.array_equal(
            at_once.counters_before(sn, slots), stepped.counters_before(sn, slots), equal_nan=True
        )
