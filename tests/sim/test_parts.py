"""A large fleet's backfill is simulated a part at a time (its memory bounded by the part, not
the fleet), and every device gets exactly the samples the whole fleet at once gives, a plant
split over several parts included: its meter sees every part's output."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from foxden.protocol import identities
from foxden.sim import engine, parts
from foxden.sim.clock import SimClock
from foxden.sim.control import Controls
from foxden.sim.runner import FleetRunner
from foxden.store import Store
from tests.sim.conftest import BERLIN, LONDON, SYDNEY, Site, memory_store
from tests.sim.test_determinism import assert_same
from tests.sim.test_fleet_start import fleet_of

DAY_MS = engine.DAY_MS
NOW = int(datetime(2026, 6, 22, 6, 30, tzinfo=UTC).timestamp() * 1000)


def some_controls(fleet: engine.Fleet) -> Controls:
    """Export limits low enough to curtail, so the grid-tied inverters' share of the house
    matters, and a force-charge window."""
    controls = Controls.defaults(fleet.rating_kw)
    controls.export_limit_kw[::2] = 0.5
    controls.charge_windows[1] = [(60, 210)]
    return controls


def samples(times: np.ndarray, values: dict[str, np.ndarray], j: int) -> dict[str, np.ndarray]:
    """Device ``j``'s samples: its times and each variable at them."""
    rows = np.flatnonzero(times[:, j] > 0)
    out = {"time": times[rows, j]}
    out.update({name: v[rows, j] for name, v in values.items()})
    return out


@pytest.mark.parametrize("chunk", [1, 4, 5])
def test_a_day_in_parts_is_exactly_the_whole_fleet_at_once(chunk: int) -> None:
    # a plant of nine (split in parts at these chunks), a plant of three, single ones
    fleet = fleet_of([9, 3, 1, 1, 2])
    day = NOW // DAY_MS
    start = day * DAY_MS + 3_600_000
    until = (day + 1) * DAY_MS
    whole_state = engine.initial_state(fleet, start)
    part_state = engine.initial_state(fleet, start)
    times, values = engine.simulate(fleet, whole_state, some_controls(fleet), day, start, until)
    seen: dict[int, dict[str, np.ndarray]] = {}
    split = 0
    done_parts = list(
        parts.simulate(fleet, part_state, some_controls(fleet), day, start, until, chunk)
    )
    assert len(done_parts) == parts.count(fleet, chunk)
    for done in done_parts:
        assert len(done.cols) <= chunk
        split += int(len(np.unique(fleet.plant_of[done.cols])) == 1 and len(done.cols) < 9)
        for k, j in enumerate(done.cols.tolist()):
            if (done.times[:, k] > 0).any():
                assert j not in seen, "a device's samples came twice"
                seen[j] = samples(done.times, done.values, k)
    assert sorted(seen) == list(range(len(fleet)))
    assert split > 0  # the plant of nine was in parts
    for j in range(len(fleet)):
        want = samples(times, values, j)
        assert len(want["time"]) > 200
        assert want.keys() == seen[j].keys()
        for name in want:
            assert np.array_equal(seen[j][name], want[name], equal_nan=True), (j, name)
    for f in ("soc", "counters", "last_ms", "yield_day", "yield_base"):
        assert np.array_equal(getattr(part_state, f), getattr(whole_state, f)), f


def test_the_parts_group_whole_plants_and_split_only_the_big_ones() -> None:
    fleet = fleet_of([9, 3, 1, 1, 2])
    groups = parts.groups(fleet, 4)
    sizes = [[len(cols) for cols in group] for group in groups]
    assert [4, 4, 1] in sizes  # the plant of nine, alone
    columns = np.sort(np.concatenate([cols for group in groups for cols in group]))
    assert columns.tolist() == list(range(len(fleet)))
    for group in groups:
        if len(group) == 1:  # whole plants: every column of each plant in it is there
            for p in np.unique(fleet.plant_of[group[0]]):
                assert set(np.flatnonzero(fleet.plant_of == p)) <= set(group[0].tolist())


def _devices() -> list[tuple[str, str, Site]]:
    # a plant of seven (battery and grid-tied inverters) split over parts of three
    london = ["H1-5.0-E", "F3000", "KH8", "H3-10.0-E", "T10-G3", "H1-5.0-E", "F3000"]
    out = [(identities.inverter_serial(m, 20 + i), m, LONDON) for i, m in enumerate(london)]
    out += [(identities.inverter_serial("KH8", 40 + i), "KH8", SYDNEY) for i in range(2)]
    out.append((identities.inverter_serial("H3-10.0-E", 50), "H3-10.0-E", BERLIN))
    return out


def backfilled(part_devices: int) -> Store:
    store = memory_store(_devices())
    # export limits that curtail the plant's battery inverter and a grid-tied one
    for sn, _, _ in _devices()[:2]:
        store.put_settings(sn, {"ExportLimit": 800})
    runner = FleetRunner(store, SimClock(start_ms=NOW, speed=0), 4)
    runner.part_devices = part_devices
    runner.backfill(1.5)
    return store


def test_a_backfill_in_parts_stores_what_the_whole_fleet_at_once_does() -> None:
    at_once, in_parts = backfilled(100), backfilled(3)
    sns = [sn for sn, _, _ in _devices()]
    for sn in sns:
        a = at_once.history(sn, NOW - 2 * DAY_MS, NOW)
        assert len(a.times_ms) > 400
        assert_same(in_parts.history(sn, NOW - 2 * DAY_MS, NOW), a)
    assert in_parts.latest(sns) == at_once.latest(sns)
    slots = [NOW - 2 * DAY_MS + 15 * 60_000 * k for k in range(0, 2 * 96 + 1, 8)]
    for sn in sns:
        assert np.array_equal(
            in_parts.counters_before(sn, slots), at_once.counters_before(sn, slots), equal_nan=True
        )
