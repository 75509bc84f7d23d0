"""The fleet against what an energy engineer expects of a year: PV yield per kWp at the demo
sites, day-to-day persistence of the weather, household consumption per country, one
household per plant shared by its inverters, and the newer battery variables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from foxden import demo
from foxden.protocol import hardware, models, telemetry
from foxden.sim import engine, household, inverter, weather
from foxden.sim.clock import SimClock
from foxden.sim.control import Controls
from foxden.sim.runner import FleetRunner
from tests.sim.conftest import BERLIN, LONDON, SYDNEY, memory_store

DAY_MS = engine.DAY_MS

TYPICAL_KWH_PER_KWP = {"GB": (850, 950), "DE": (950, 1050), "AU": (1400, 1500)}
"""Typical annual yield of a roof array (issue 10; docs/physics.md gives the sources)."""
HOUSEHOLD_KWH = {"GB": (2700, 3600), "DE": (3000, 4000), "AU": (5500, 7000)}


def demo_fleet(seed: int = 0) -> engine.Fleet:
    specs = []
    for plant in demo.DEMO_PLANTS:
        for sn, name in plant.devices:
            model = models.model(name)
            assert model is not None
            specs.append(
                engine.DeviceSpec(
                    sn,
                    model,
                    ZoneInfo(plant.timezone),
                    plant.latitude,
                    plant.longitude,
                    plant.name,
                    plant.country,
                )
            )
    return engine.Fleet(specs, seed)


def test_a_years_yield_per_demo_site_is_typical() -> None:
    fleet = demo_fleet()
    first = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) * 1000 // DAY_MS
    every = 3  # every third day of the year stands for the two after it
    energy = np.zeros(len(fleet))
    for day in range(first, first + 365, every):
        ex = engine.exogenous(fleet, day)
        ac = inverter.pv_to_ac(ex.pv_dc_strings.sum(axis=2), fleet.rating_kw[None, :])
        energy += ac.sum(axis=0) * 5 / 60 * every
    per_kwp = energy / fleet.kwp.sum(axis=1)
    for j, spec in enumerate(fleet.specs):
        low, high = TYPICAL_KWH_PER_KWP[spec.country]
        assert 0.9 * low <= per_kwp[j] <= 1.1 * high, (spec.sn, spec.country, per_kwp[j])
    # and the arrays are sized in kWp at a DC/AC ratio of 1.0-1.4
    ratio = fleet.kwp.sum(axis=1) / fleet.rating_kw
    assert ((ratio >= 1.0) & (ratio <= 1.4 + 1e-9)).all()


def test_plant_capacity_is_the_installed_kwp() -> None:
    for plant in demo.DEMO_PLANTS:
        capacity = hardware.plant_capacity_kwp(plant.devices)
        expected = sum(hardware.array_kwp(sn, name) for sn, name in plant.devices)
        assert capacity == pytest.approx(expected) and capacity > 4
        for sn, name in plant.devices:
            panels = hardware.array_kwp(sn, name) / hardware.PANEL_KWP
            assert abs(panels - round(panels)) < 1e-6, "whole panels"


@pytest.mark.parametrize("country, latitude, longitude", [("GB", 53.4, -2.5), ("AU", -33.9, 151.2)])
def test_daily_clearness_persists_from_day_to_day(
    country: str, latitude: float, longitude: float
) -> None:
    start = date(2024, 1, 1).toordinal()
    days = [
        weather.local_day(4, "persist", start + i, country, latitude, longitude)
        for i in range(3 * 365)
    ]
    k = np.array([d.clear_index for d in days])
    means = np.array(
        [
            weather.monthly(weather.clear_index_by_month(country, latitude, longitude), start + i)
            for i in range(len(k))
        ]
    )
    anomaly = k - means
    lag1 = float(np.corrcoef(anomaly[:-1], anomaly[1:])[0, 1])
    assert 0.2 <= lag1 <= 0.5, lag1
    # the climatology is kept: three years' mean within 5 % of the months' means
    assert abs(k.mean() / means.mean() - 1) < 0.05
    # and there are grey days and bright days in every season
    assert k.min() < 0.35 and k.max() > 0.85


@pytest.mark.parametrize("country, latitude", [("GB", 53.4), ("DE", 52.5), ("AU", -33.9)])
def test_household_kwh_a_year_per_country(country: str, latitude: float) -> None:
    low, high = HOUSEHOLD_KWH[country]
    start = date(2025, 1, 1).toordinal()
    winter_month = 0 if latitude >= 0 else 6
    for plant in ("house-a", "house-b", "house-c"):
        days = np.array(
            [
                household.local_day(1, plant, start + i, country, latitude).sum() / 12
                for i in range(365)
            ]
        )
        assert low <= days.sum() <= high, (plant, days.sum())
        # winter days use more than summer days where heating dominates
        winter = days[winter_month * 30 : winter_month * 30 + 30].mean()
        summer = days[(winter_month + 6) % 12 * 30 : (winter_month + 6) % 12 * 30 + 30].mean()
        assert winter > summer


def test_a_plants_inverters_share_one_household_behind_one_meter() -> None:
    fleet = engine.Fleet(
        [
            engine.DeviceSpec(
                "SHARE0000001", models.MODELS["H1-5.0-E"], ZoneInfo(LONDON.zone), 51.5, -0.1, "p"
            ),
            engine.DeviceSpec(
                "SHARE0000002", models.MODELS["F3000"], ZoneInfo(LONDON.zone), 51.5, -0.1, "p"
            ),
        ],
        seed=2,
    )
    day = int(datetime(2026, 1, 10, tzinfo=UTC).timestamp()) * 1000 // DAY_MS
    ex = engine.exogenous(fleet, day)
    # the hybrid follows the whole house and carries the meter; the grid-tied one is AC-coupled
    assert fleet.load_share.tolist() == [1.0, 0.0]
    assert fleet.primary.tolist() == [True, False]
    assert (ex.times[:, 0] == ex.times[:, 1]).all(), "one plant, one sampling time"
    assert (ex.load[:, 0] == ex.load[:, 1]).all()
    house = ex.load[:, 0].sum() * 5 / 60
    assert 5 < house < 16, "a British winter day's household"
    state = engine.initial_state(fleet, day * DAY_MS)
    controls = Controls.defaults(fleet.rating_kw)
    _, v = engine.simulate(fleet, state, controls, day, 0, (day + 1) * DAY_MS)
    assert np.allclose(v["loadsPower"][:, 0], ex.load[:, 0])
    assert np.allclose(v["meterPower2"][:, 0], v["generationPower"][:, 1])
    for name in ("loadsPower", "meterPower", "meterPower2", "feedinPower", "gridConsumptionPower"):
        assert (v[name][:, 1] == 0).all(), name
    assert v["generationPower"][:, 1].max() > 0.2, "the grid-tied inverter produced"


def test_newer_battery_variables_in_the_store() -> None:
    devices = [
        ("NEWAIO000001", "AIO-H3-10.0", BERLIN),
        ("NEWH1000001", "H1-5.0-E", LONDON),
        ("NEWF3000001", "F3000", SYDNEY),
    ]
    store = memory_store(devices)
    now = int(datetime(2026, 3, 20, 12, tzinfo=UTC).timestamp() * 1000)
    FleetRunner(store, SimClock(start_ms=now, speed=0), seed=1).backfill(0.25)
    latest = store.latest([sn for sn, _, _ in devices])
    aio, h1, f3 = (latest[sn].values for sn, _, _ in devices)
    for name in ("SOH", "maxChargeCurrent", "maxDischargeCurrent", "SoC_1", "SoC_2"):
        assert name in aio and name in telemetry.variables()
    assert telemetry.variables()["maxChargeCurrent"].unit == "A"
    assert "SoC_1" not in h1 and "maxChargeCurrent" in h1 and "SOH" in h1
    assert not {"SOH", "maxChargeCurrent", "SoC_1"} & set(f3)
    # two stacks in parallel: one voltage, the current shared, SoC close to the pack's
    assert aio["batVolt_1"] == aio["batVolt_2"] == aio["batVolt"]
    assert abs(aio["batCurrent_1"] + aio["batCurrent_2"] - aio["batCurrent"]) <= 0.2
    assert abs(aio["SoC_1"] - aio["SoC"]) <= 1 and abs(aio["SoC_2"] - aio["SoC"]) <= 1
    assert 70 <= aio["SOH"] <= 100
    pack = hardware.battery("AIO-H3-10.0")
    assert pack is not None and 0 < aio["maxChargeCurrent"] <= pack.max_charge_a
    # pack voltages as real captures read them: H1 about 150-200 V, HV packs 350-450 V
    assert 140 <= h1["batVolt"] <= 200 and 350 <= aio["batVolt"] <= 450
    # the inverter's internal temperature as real ones read, 20-55 °C
    assert 20 <= aio["invTemperation"] <= 55 and 20 <= h1["invTemperation"] <= 55
