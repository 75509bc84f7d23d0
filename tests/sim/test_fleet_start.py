"""A fleet's start: the lifetime counters seeded from typical days are computed a few devices
at a time (memory bounded whatever the fleet's size), exactly as the whole fleet at once
gives them, and only for devices that start fresh (a restart or a takeover goes on from the
stored samples and computes none)."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foxden.protocol import identities, models
from foxden.sim import engine
from foxden.sim.clock import SimClock
from foxden.sim.runner import FleetRunner
from tests.sim.conftest import BERLIN, LONDON, SYDNEY, Site, memory_store

DAY_MS = engine.DAY_MS
START = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp() * 1000)
MODELS = ("H1-5.0-E", "F3000", "H3-10.0-E", "KH8", "T10-G3", "AIO-H3-10.0")
"""Battery inverters and grid-tied ones (F3000, T10-G3: AC-coupled into their plant)."""


def fleet_of(plant_sizes: list[int], seed: int = 3) -> engine.Fleet:
    """Plants of the given sizes, their devices interleaved (a plant's columns are not
    contiguous, as in the demo fleet), at three sites, some with an EV or a heat pump."""
    sites = (LONDON, SYDNEY, BERLIN)
    members = [[p] * size for p, size in enumerate(plant_sizes)]
    order = [p for row in zip(*_padded(members), strict=True) for p in row if p >= 0]
    specs = []
    for i, p in enumerate(order):
        site: Site = sites[p % 3]
        name = MODELS[i % len(MODELS)]
        specs.append(
            engine.DeviceSpec(
                identities.inverter_serial(name, 10 + i),
                models.MODELS[name],
                ZoneInfo(site.zone),
                site.latitude + 0.01 * p,
                site.longitude,
                f"plant-{p}",
                site.country,
                ev=p % 2 == 0,
                heat_pump=p % 3 == 1,
            )
        )
    return engine.Fleet(specs, seed)


def _padded(rows: list[list[int]]) -> list[list[int]]:
    width = max(len(r) for r in rows)
    return [r + [-1] * (width - len(r)) for r in rows]


def test_typical_energy_in_chunks_is_exactly_the_whole_fleet_at_once() -> None:
    # one plant bigger than the chunks (stepped in parts: its sums over the plant gathered
    # first), a plant of three and single-inverter plants
    fleet = fleet_of([11, 3, 1, 1, 2])
    at_once = engine.typical_energy(fleet, chunk=len(fleet))
    assert at_once.shape == (12, len(fleet), len(engine.COUNTER) + 1)
    assert np.all(np.isfinite(at_once)) and at_once[:, :, engine.COUNTER["generation"]].min() > 0
    for chunk in (1, 4, 5):
        assert np.array_equal(engine.typical_energy(fleet, chunk=chunk), at_once), chunk


def test_the_plants_meter_sees_every_part_of_a_split_plant() -> None:
    # the primary's grid counters come from the plant's whole output: a plant of nine
    # stepped four at a time gives its meter the same energy as at once, and the plant's
    # lifetime identity holds over the parts
    fleet = fleet_of([9])
    at_once = engine.initial_state(fleet, START, chunk=len(fleet))
    parts = engine.initial_state(fleet, START, chunk=4)
    assert np.array_equal(parts.counters, at_once.counters)
    c = parts.counters
    generation, loads = engine.COUNTER["generation"], engine.COUNTER["loads"]
    grid, feedin = engine.COUNTER["gridConsumption"], engine.COUNTER["feedin"]
    primary = int(np.flatnonzero(fleet.primary)[0])
    made = float((c[:, generation] - c[:, engine.INVERTER_INPUT]).sum())
    assert c[primary, loads] == pytest.approx(made + c[primary, grid] - c[primary, feedin])
    assert c[primary, feedin] > 0 and c[primary, grid] > 0


def test_only_fresh_devices_get_typical_days() -> None:
    fleet = fleet_of([3, 1, 2])
    every = engine.initial_state(fleet, START)
    fresh = np.zeros(len(fleet), dtype=bool)
    fresh[[0, 4]] = True  # plants 0 and 1 (plant of each column: 0, 1, 2, 0, 2, 0)
    assert fleet.plant_of.tolist() == [0, 1, 2, 0, 2, 0]
    some = engine.initial_state(fleet, START, fresh)
    assert np.array_equal(some.counters[fresh], every.counters[fresh])
    assert not some.counters[~fresh].any()
    assert np.array_equal(some.soc, every.soc)  # the SoC is drawn for every device
    none = engine.initial_state(fleet, START, np.zeros(len(fleet), dtype=bool))
    assert not none.counters.any() and np.array_equal(none.last_ms, every.last_ms)


@pytest.mark.timeout(900)  # not a speed check: tracemalloc slows numpy down on a busy machine
def test_memory_of_a_fleets_start_is_bounded_by_the_chunk_not_the_fleet() -> None:
    # 88 inverters: two plants of 40 (each stepped in parts) and 8 of one. All at once this
    # takes about 170 MiB (12 months x 2 days of every device side by side, about 1.9 MiB a
    # device, so 19 GB for 10,000); 16 at a time stays within a third of that
    fleet = fleet_of([40, 40] + [1] * 8)
    assert len(fleet) == 88
    tracemalloc.start()
    try:
        state = engine.initial_state(fleet, START, chunk=16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 56 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert np.all(np.isfinite(state.counters))
    assert state.counters[:, engine.COUNTER["generation"]].min() > 0


@settings(max_examples=60, deadline=None)
@given(
    plant_of=st.lists(st.integers(0, 5), min_size=1, max_size=14),
    rows=st.integers(0, 4),
    seed=st.integers(0, 2**31),
)
def test_per_plant_adds_each_plants_columns_in_order(
    plant_of: list[int], rows: int, seed: int
) -> None:
    values = np.random.default_rng(seed).normal(0, 1e3, (rows, len(plant_of)))
    plants = np.array(plant_of, dtype=np.int64)
    want = np.empty_like(values)
    for p in set(plant_of):
        cols = np.flatnonzero(plants == p)
        total = values[:, cols[0]].copy()
        for c in cols[1:]:
            total = total + values[:, c]
        want[:, cols] = total[:, None]
    assert np.array_equal(engine.per_plant(values, plants), want)


def test_a_restarted_fleet_computes_no_typical_day(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = [
        ("DETH150000001", "H1-5.0-E", LONDON),
        ("DETF300000001", "F3000", LONDON),
        ("DETKH80000001", "KH8", SYDNEY),
    ]
    asked: list[int] = []
    real = engine.typical_energy

    def counted(
        fleet: engine.Fleet, devices: engine.IA | None = None, chunk: int = engine.TYPICAL_CHUNK
    ) -> engine.F:
        asked.append(len(fleet) if devices is None else len(devices))
        return real(fleet, devices, chunk)

    monkeypatch.setattr(engine, "typical_energy", counted)
    store = memory_store(devices)
    clock = SimClock(start_ms=START, speed=0)
    first = FleetRunner(store, clock, 5)
    first.backfill(0.2)
    assert asked == [3]  # a fresh fleet: every device
    clock.set(START + engine.STEP_MS)
    restarted = FleetRunner(store, clock, 5)  # a restart, or another process taking over
    assert restarted.run_until(clock.now_ms()) == len(devices)
    assert asked == [3]  # every device went on from its newest stored sample
    # and exactly as the first runner would have gone on
    first.run_until(clock.now_ms())
    assert first.state is not None and restarted.state is not None
    assert np.array_equal(restarted.state.last_ms, first.state.last_ms)
