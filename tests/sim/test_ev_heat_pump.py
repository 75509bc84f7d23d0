"""An EV and a heat pump where a plant says so: their energy over a year at the demo sites,
their seasons and times of day, and the plant's meter seeing them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from foxden.protocol import models
from foxden.sim import engine, household, weather
from foxden.sim.clock import SimClock
from foxden.sim.runner import HOUSEHOLD_KEY, FleetRunner
from tests.sim.conftest import LONDON, memory_store

DAY_MS = engine.DAY_MS
SITES = {"GB": (53.38, -2.47), "DE": (52.52, 13.40), "AU": (-33.87, 151.21)}
EV_KWH = (1_500, 3_000)
"""A home-charged EV: 6,000-10,000 miles a year at 3-4 miles per kWh, mostly at home."""
HEAT_PUMP_KWH = {"GB": (2_500, 5_000), "DE": (3_000, 6_500), "AU": (500, 2_500)}
"""An air-source heat pump's electricity a year for space heating and hot water."""


def year(ordinal: int = date(2025, 1, 1).toordinal()) -> range:
    return range(ordinal, ordinal + 365)


@pytest.mark.parametrize("plant", ["house-a", "house-b", "house-c"])
def test_an_ev_charges_a_plausible_year_on_some_evenings(plant: str) -> None:
    days = np.array([household.ev_day(1, plant, o) for o in year()])  # (365, 288) kW
    kwh = days.sum(axis=1) * household.STEP_H
    assert EV_KWH[0] <= kwh.sum() <= EV_KWH[1], kwh.sum()
    sessions = kwh > 0
    assert 0.25 * 365 <= sessions.sum() <= 0.45 * 365
    assert days.max() == pytest.approx(household.EV_KW)
    lo, hi = household.EV_SESSION_KWH
    assert (kwh[sessions] >= lo - 1e-9).all() and (kwh[sessions] <= hi + 1e-9).all()
    # sessions start in the evening
    first = np.array([np.flatnonzero(d)[0] for d in days[sessions]]) * household.STEP_H
    assert (first >= 17 - 1e-9).all() and (first <= 22 + 1e-9).all()
    # the typical day (lifetime counters) carries the year's mean
    typical = household.ev_typical_day().sum() * household.STEP_H * 365
    assert abs(typical - kwh.sum()) < 0.25 * kwh.sum()


@pytest.mark.parametrize("country", sorted(SITES))
def test_a_heat_pump_is_strongly_seasonal_and_plausible_a_year(country: str) -> None:
    latitude, longitude = SITES[country]
    air = [weather.local_day(1, "hp", o, country, latitude, longitude).temperature for o in year()]
    kwh = np.array([household.heat_pump_day(t).sum() * household.STEP_H for t in air])
    low, high = HEAT_PUMP_KWH[country]
    assert low <= kwh.sum() <= high, kwh.sum()
    winter_month = 0 if latitude >= 0 else 6
    winter = kwh[winter_month * 30 : winter_month * 30 + 30].mean()
    summer = kwh[(winter_month + 6) % 12 * 30 : (winter_month + 6) % 12 * 30 + 30].mean()
    assert winter > 4 * summer, (winter, summer)
    # colder days need more: demand falls with the day's mean temperature
    mean_air = np.array([t.mean() for t in air])
    assert np.corrcoef(mean_air, kwh)[0, 1] < -0.8


def test_cop_rises_with_the_air_temperature() -> None:
    cop = household.heat_pump_cop(np.array([-10.0, -7.0, 0.0, 7.0, 15.0, 30.0]))
    assert (np.diff(cop) >= 0).all()
    assert cop.min() >= 1.8 and cop.max() <= 4.5
    assert cop[3] == pytest.approx(3.0)


def _fleet(ev: bool, heat_pump: bool) -> engine.Fleet:
    spec = engine.DeviceSpec(
        "EVHP00000001",
        models.MODELS["H1-5.0-E"],
        ZoneInfo(LONDON.zone),
        LONDON.latitude,
        LONDON.longitude,
        "p",
        "GB",
    )
    return engine.Fleet([dataclasses.replace(spec, ev=ev, heat_pump=heat_pump)], seed=4)


def test_the_plants_meter_sees_the_ev_and_the_heat_pump() -> None:
    day = int(datetime(2026, 1, 14, tzinfo=UTC).timestamp()) * 1000 // DAY_MS
    plain = engine.exogenous(_fleet(False, False), day)
    both = engine.exogenous(_fleet(True, True), day)
    ordinal = date(2026, 1, 14).toordinal()
    sky = weather.local_day(4, "p", ordinal, "GB", LONDON.latitude, LONDON.longitude)
    extra = household.ev_day(4, "p", ordinal) + household.heat_pump_day(sky.temperature)
    slots = np.clip((plain.local_minute[:, 0] // 5).astype(np.int64), 0, engine.STEPS - 1)
    assert np.allclose(both.load[:, 0] - plain.load[:, 0], extra[slots])
    assert extra.sum() * household.STEP_H > 10, "a January day's heat pump"
    # the lifetime counters seeded from typical days carry them too
    seeded = engine.initial_state(_fleet(True, True), day * DAY_MS).counters
    without = engine.initial_state(_fleet(False, False), day * DAY_MS).counters
    loads = engine.COUNTER["loads"]
    assert seeded[0, loads] > without[0, loads] * 1.8


def test_a_plants_household_options_reach_the_fleet_from_the_store() -> None:
    store = memory_store([("EVHP00000002", "H1-5.0-E", LONDON)])
    plant = store.all_devices()[0][1]
    assert plant is not None
    store.update_plant(
        dataclasses.replace(plant, extra={**plant.extra, HOUSEHOLD_KEY: {"heat_pump": True}})
    )
    now = int(datetime(2026, 1, 15, tzinfo=UTC).timestamp() * 1000)
    runner = FleetRunner(store, SimClock(start_ms=now, speed=0), seed=1)
    fleet = runner.refresh(now)
    assert fleet.specs[0].heat_pump and not fleet.specs[0].ev
