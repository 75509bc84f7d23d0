"""Properties of the fleet's physics and of what the engine makes of it: energy balance on
the AC bus, battery bounds, counters that integrate their powers, no sun at night, clipping,
grid-tied inverters without battery variables; and the pure steps under random inputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foxden.protocol import models, telemetry
from foxden.sim import battery as bt
from foxden.sim import control as ctl
from foxden.sim import engine, inverter, pv
from foxden.sim.clock import SimClock
from foxden.sim.control import Controls
from foxden.sim.runner import FleetRunner
from tests.sim.conftest import BERLIN, I64, LONDON, NEW_YORK, SYDNEY, F, Site, memory_store

DAY_MS = engine.DAY_MS
FIRST_DAY = int(datetime(2026, 6, 20, tzinfo=UTC).timestamp() * 1000) // DAY_MS
DAYS = 3

FLEET: list[tuple[str, str, Site]] = [
    ("PHYH150000001", "H1-5.0-E", LONDON),
    ("PHYF300000001", "F3000", LONDON),
    ("PHYH310000001", "H3-10.0-E", BERLIN),
    ("PHYKH80000001", "KH8", BERLIN),
    ("PHYAIO1000001", "AIO-H3-10.0", SYDNEY),
    ("PHYH137000001", "H1-3.7-E", SYDNEY),
    ("PHYT10G300001", "T10-G3", NEW_YORK),
    ("PHYH150000002", "H1-5.0-E", NEW_YORK),
]

BATTERY_OR_EPS = (
    "SoC",
    "SoC_1",
    "batVolt_2",
    "maxChargeCurrent",
    "maxDischargeCurrent",
    "ResidualEnergy",
    "SOH",
    "batChargePower",
    "batDischargePower",
    "batVolt",
    "batCurrent",
    "batTemperature",
    "batStatus",
    "batStatusV2",
    "invBatVolt",
    "invBatCurrent",
    "invBatPower",
    "chargeTemperature",
    "chargeEnergyToTal",
    "dischargeEnergyToTal",
    "energyThroughput",
    "epsPower",
    "epsPowerR",
    "epsVoltR",
    "epsCurrentR",
    "epsPowerS",
    "epsPowerT",
)

POWER_OF_COUNTER = {
    "generation": ("generationOut",),
    "feedin": ("feedinPower",),
    "gridConsumption": ("gridConsumptionPower",),
    "loads": ("loadsPower",),
    "chargeEnergyToTal": ("batChargePower",),
    "dischargeEnergyToTal": ("batDischargePower",),
    "PVEnergyTotal": ("pvPower",),
    "energyThroughput": ("batChargePower", "batDischargePower"),
}


def specs(devices: list[tuple[str, str, Site]]) -> list[engine.DeviceSpec]:
    found = []
    for sn, name, site in devices:
        model = models.model(name)
        assert model is not None
        zone = ZoneInfo(site.zone)
        plant = f"plant-{site.zone}"
        found.append(engine.DeviceSpec(sn, model, zone, site.latitude, site.longitude, plant))
    return found


def by_plant(fleet: engine.Fleet) -> F:
    """(D, P): sums a (..., D) array per plant, plants in the order of their primaries."""
    cols = np.flatnonzero(fleet.primary)
    return np.asarray(fleet.plant_of[:, None] == fleet.plant_of[cols][None, :], dtype=np.float64)


@dataclass
class Run:
    """A fleet simulated over whole UTC days: (T, D) arrays over all days."""

    fleet: engine.Fleet
    controls: Controls
    times: I64
    previous: I64  # time of each sample's predecessor (the start for the first)
    values: dict[str, F]
    initial_counters: F  # (D, counters)
    final_counters: F  # (D, counters incl. the internal one)
    initial_soc: F
    floor: F  # (D,) the SoC floor outside scheduler groups
    ceiling: F  # (D,)

    def soc(self) -> F:
        """Unrounded SoC from ResidualEnergy (0.01 kWh); NaN for grid-tied devices."""
        cap = self.fleet.capacity_kwh[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cap > 0, self.values["ResidualEnergy"] / cap, np.nan)


def simulate(fleet: engine.Fleet, controls: Controls, days: int = DAYS) -> Run:
    start = FIRST_DAY * DAY_MS
    state = engine.initial_state(fleet, start)
    initial = state.counters.copy()
    initial_soc = state.soc.copy()
    times, parts = [], []
    for day in range(FIRST_DAY, FIRST_DAY + days):
        t, v = engine.simulate(fleet, state, controls, day, start, (day + 1) * DAY_MS)
        assert (t > 0).all(), "every device has a sample in every row of a whole day"
        times.append(t)
        parts.append(v)
    all_times = np.vstack(times)
    previous = np.vstack([np.full((1, len(fleet)), start, dtype=np.int64), all_times[:-1]])
    values = {name: np.vstack([p[name] for p in parts]) for name in parts[0]}
    floor = np.maximum(controls.min_soc, controls.min_soc_on_grid)
    return Run(
        fleet,
        controls,
        all_times,
        previous,
        values,
        initial,
        state.counters.copy(),
        initial_soc,
        floor,
        controls.max_soc,
    )


def group(
    start_hour: int,
    start_minute: int,
    end_hour: int,
    end_minute: int,
    mode: str,
    fd_pwr: int,
    fd_soc: int,
    min_soc_on_grid: int,
) -> dict[str, int | str]:
    """A scheduler group as the store keeps it."""
    return {
        "enable": 1,
        "startHour": start_hour,
        "startMinute": start_minute,
        "endHour": end_hour,
        "endMinute": end_minute,
        "workMode": mode,
        "minSocOnGrid": min_soc_on_grid,
        "fdSoc": fd_soc,
        "fdPwr": fd_pwr,
        "maxSoc": 100,
    }


def custom_controls(fleet: engine.Fleet) -> Controls:
    """Every mode, lower ceilings, higher floors, tight export limits, windows and groups."""
    c = Controls.defaults(fleet.rating_kw)
    c.work_mode[:] = [
        ctl.MODE_SELF_USE,
        ctl.MODE_SELF_USE,
        ctl.MODE_FEEDIN,
        ctl.MODE_PEAK,
        ctl.MODE_BACKUP,
        ctl.MODE_SELF_USE,
        ctl.MODE_SELF_USE,
        ctl.MODE_SELF_USE,
    ]
    c.min_soc[:] = 20
    c.min_soc_on_grid[:] = [20, 20, 35, 40, 20, 50, 20, 25]
    c.max_soc[:] = [90, 100, 95, 100, 85, 100, 100, 100]
    c.export_limit_kw[:] = fleet.rating_kw * np.array([0.3, 0.2, 0.5, 1, 0.1, 0.6, 0.4, 0.3])
    c.charge_windows[0] = [(60, 240)]
    c.charge_windows[5] = [(120, 180), (1320, 1380)]
    c.groups[7] = [
        group(1, 0, 3, 59, "ForceCharge", fd_pwr=2000, fd_soc=100, min_soc_on_grid=25),
        group(17, 0, 19, 59, "ForceDischarge", fd_pwr=3000, fd_soc=40, min_soc_on_grid=25),
    ]
    c.groups[2] = [
        group(18, 30, 21, 0, "ForceDischarge", fd_pwr=0, fd_soc=50, min_soc_on_grid=35)
        | {"maxSoc": 95}
    ]
    return c


@pytest.fixture(scope="module")
def fleet() -> engine.Fleet:
    return engine.Fleet(specs(FLEET), seed=7)


@pytest.fixture(scope="module", params=["defaults", "custom"])
def run(request: pytest.FixtureRequest, fleet: engine.Fleet) -> Run:
    defaults = request.param == "defaults"
    controls = Controls.defaults(fleet.rating_kw) if defaults else custom_controls(fleet)
    return simulate(fleet, controls)


# ---------------------------------------------------------------- the engine's output


def test_ac_bus_balances_at_every_step(run: Run) -> None:
    v = run.values
    fleet = run.fleet
    primary, plants = fleet.primary, by_plant(fleet)
    # one meter per plant, on its primary inverter: the household is served by the outputs
    # of all the plant's inverters and the grid, exactly; the second meter reads the others
    supply = v["generationPower"] + v["meterPower"] + v["meterPower2"]
    assert np.abs(supply - v["loadsPower"])[:, primary].max() < 1e-9
    others = v["generationPower"] @ plants - v["generationPower"][:, primary]
    assert np.abs(v["meterPower2"][:, primary] - others).max() < 1e-9
    household = (v["generationPower"] @ plants) + v["meterPower"][:, primary]
    assert np.abs(household - v["loadsPower"][:, primary]).max() < 1e-9
    assert (v["loadsPower"] >= 0).all()
    for name in ("loadsPower", "meterPower", "meterPower2", "feedinPower", "gridConsumptionPower"):
        assert (v[name][:, ~primary] == 0).all(), f"{name} on an inverter without the meter"
    # the output is PV after conversion loss, plus the battery, less the standby draw
    pv_ac = inverter.pv_to_ac(v["pvPower"], run.fleet.rating_kw[None, :])
    through = pv_ac + v["batDischargePower"] - v["batChargePower"] - run.fleet.standby_kw
    assert np.abs(v["generationPower"] - through).max() < 1e-6
    assert np.abs(v["meterPower"] - (v["gridConsumptionPower"] - v["feedinPower"])).max() < 1e-9
    for name in ("gridConsumptionPower", "feedinPower", "batChargePower", "batDischargePower"):
        assert (v[name] >= 0).all(), name
    both = (v["gridConsumptionPower"] > 0) & (v["feedinPower"] > 0)
    assert not both.any(), "imports and exports at once"
    both = (v["batChargePower"] > 0) & (v["batDischargePower"] > 0)
    assert not both.any(), "charges and discharges at once"
    # conversion loss: about 3 % at full power, more at low power (the standby)
    lit = v["pvPower"] > 0.3 * run.fleet.rating_kw[None, :]
    loss = 1 - pv_ac[lit] / v["pvPower"][lit]
    assert lit.sum() > 20 and (loss > 0.01).all() and (loss < 0.05).all()
    # V x I = P on the battery's DC side and at the inverter's battery port
    battery = run.fleet.capacity_kwh > 0
    dc = v["batVolt"] * -v["batCurrent"] / 1000
    stored = v["batChargePower"] * 0.95 - v["batDischargePower"] / 0.95
    assert np.abs(dc - stored)[:, battery].max() < 1e-6
    port = v["invBatVolt"] * v["invBatCurrent"] / 1000
    assert np.abs(port - v["invBatPower"])[:, battery].max() < 1e-6


def test_every_lifetime_identity_holds(run: Run) -> None:
    """The counters seeded from commissioning and every sample after it, per plant: the
    household (the primary's loads) is what all the plant's inverters put out, less what
    they drew from their AC side, plus what the meter imported, less what it exported."""
    v = run.values
    fleet = run.fleet
    primary, plants = fleet.primary, by_plant(fleet)
    counters = {
        name: np.vstack([run.initial_counters[None, :, i], v[name]])
        for name, i in engine.COUNTER.items()
    }
    # before the first sample the seeded counters are years of typical days
    generation = counters["generation"]
    assert (generation[0] > 1000).all() and (counters["loads"][0, primary] > 500).all()
    plant_generation = generation @ plants
    drawn = (
        plant_generation
        + counters["gridConsumption"][:, primary]
        - counters["feedin"][:, primary]
        - counters["loads"][:, primary]
    )
    # what the inverters drew from their AC side (grid charging, standby): never negative,
    # never shrinking, and the internal counters the engine keeps say the same
    assert (drawn >= -1e-6).all() and (np.diff(drawn, axis=0) >= -1e-6).all()
    internal = run.final_counters[:, engine.INVERTER_INPUT] @ plants
    assert np.abs(drawn[-1] - internal).max() < 1e-6
    seeded = run.initial_counters[:, engine.INVERTER_INPUT] @ plants
    assert np.abs(drawn[0] - seeded).max() < 1e-6
    assert (counters["feedin"][:, primary] <= plant_generation + 1e-9).all()
    for name in ("loads", "feedin", "gridConsumption"):
        assert (counters[name][:, ~primary] == 0).all(), f"{name} without a meter"
    assert (generation <= counters["PVEnergyTotal"] + counters["dischargeEnergyToTal"]).all()
    throughput = counters["chargeEnergyToTal"] + counters["dischargeEnergyToTal"]
    assert np.abs(counters["energyThroughput"] - throughput).max() < 1e-6
    # grid-tied inverters draw only their standby: within losses of their generation
    grid_tied = fleet.capacity_kwh == 0
    final_input = run.final_counters[:, engine.INVERTER_INPUT]
    assert (final_input[grid_tied] < 0.02 * generation[-1, grid_tied]).all()


def test_export_never_above_the_export_limits(run: Run) -> None:
    # each inverter keeps its own circuit within its limit: the plant's meter within the sum
    limits = run.controls.export_limit_kw @ by_plant(run.fleet)
    assert (run.values["feedinPower"][:, run.fleet.primary] <= limits[None, :] + 1e-9).all()


def test_soc_stays_within_floor_ceiling_and_0_100(run: Run) -> None:
    battery = run.fleet.capacity_kwh > 0
    rounded = run.values["SoC"][:, battery]
    assert ((rounded >= 0) & (rounded <= 100)).all()
    soc = run.soc()[:, battery]
    initial = run.initial_soc[battery]
    before = np.vstack([initial[None, :], soc[:-1]])
    floor, ceiling = run.floor[battery], run.ceiling[battery]
    # never discharged below the floor, never charged above the ceiling (a battery that
    # starts outside them may only move towards them)
    assert (soc >= np.minimum(before, floor[None, :]) - 1e-9).all()
    assert (soc <= np.maximum(before, ceiling[None, :]) + 1e-9).all()
    assert ((soc >= -1e-9) & (soc <= 100 + 1e-9)).all()
    started_inside = (initial >= floor) & (initial <= ceiling)
    inside = soc[:, started_inside]
    assert (inside >= floor[started_inside] - 1e-9).all()
    assert (inside <= ceiling[started_inside] + 1e-9).all()
    # and it is used: every battery moves by more than 5 points over the days
    assert (soc.max(axis=0) - soc.min(axis=0) > 5).all()


def test_every_counter_is_monotone(run: Run) -> None:
    for name in telemetry.COUNTERS:
        series = np.vstack([run.initial_counters[None, :, engine.COUNTER[name]], run.values[name]])
        assert (np.diff(series, axis=0) >= 0).all(), name


def test_counters_integrate_their_powers(run: Run) -> None:
    dt_h = (run.times - run.previous) / 3_600_000
    assert (dt_h > 0).all() and (dt_h < 0.1).all()
    for counter, powers in POWER_OF_COUNTER.items():
        values = run.values | {"generationOut": np.clip(run.values["generationPower"], 0, None)}
        power = sum((values[p] for p in powers), np.zeros_like(dt_h))
        series = np.vstack(
            [run.initial_counters[None, :, engine.COUNTER[counter]], run.values[counter]]
        )
        step = np.diff(series, axis=0)
        assert np.abs(step - power * dt_h).max() < 1e-9, counter
        # over the whole span: difference of the counter == sum of power * dt
        total = series[-1] - series[0]
        assert np.abs(total - (power * dt_h).sum(axis=0)).max() < 1e-6, counter


def test_today_yield_counts_from_local_midnight(run: Run) -> None:
    generation = run.values["generation"]
    for j, spec in enumerate(run.fleet.specs):
        dates = [
            datetime.fromtimestamp(t / 1000, UTC).astimezone(spec.zone).date()
            for t in run.times[:, j]
        ]
        starts = [k for k in range(1, len(dates)) if dates[k] != dates[k - 1]]
        assert len(starts) == DAYS - 1 or len(starts) == DAYS
        for a, b in zip(starts, [*starts[1:], len(dates)], strict=True):
            expected = generation[a:b, j] - generation[a - 1, j]
            assert np.allclose(run.values["todayYield"][a:b, j], expected, atol=1e-9)


def test_no_pv_when_the_sun_is_below_the_horizon(run: Run) -> None:
    zenith, _ = pv.sun_position(run.times / 1000.0, run.fleet.lat[None, :], run.fleet.lon[None, :])
    night = zenith > 90
    assert night.any(axis=0).all() and (~night).any(axis=0).all()
    for name in ("pvPower", "pv1Power", "pv2Power", "pv1Current", "pv2Current"):
        assert (run.values[name][night] == 0).all(), name
    assert (run.values["pvPower"].max(axis=0) > 0.1).all()
    # strings add up to the PV total
    strings = run.values["pv1Power"] + run.values["pv2Power"]
    assert np.abs(strings - run.values["pvPower"]).max() < 1e-9


def test_pv_ac_never_above_the_rating(run: Run) -> None:
    pv_ac = inverter.pv_to_ac(run.values["pvPower"], run.fleet.rating_kw[None, :])
    assert (pv_ac <= run.fleet.rating_kw[None, :] + 1e-9).all()
    assert (run.values["generationPower"] <= run.fleet.rating_kw[None, :] + 1e-9).all()


def clear_noon_fleet(model: str, site: Site, dc_ac: float) -> tuple[engine.Fleet, int]:
    """A one-inverter fleet with DC/AC ratio ``dc_ac`` and the first seed whose plant sees
    a clear sky around local solar noon on the first day."""
    for seed in range(40):
        fleet = engine.Fleet(specs([("CLIPSN000001", model, site)]), seed)
        fleet.kwp = fleet.kwp * (dc_ac * fleet.rating_kw / fleet.kwp.sum(axis=1))[:, None]
        ex = engine.exogenous(fleet, FIRST_DAY)
        noon = np.abs(ex.local_minute[:, 0] - 13 * 60) <= 90
        if ex.cloud[noon, 0].min() >= 0.9:
            return fleet, seed
    raise AssertionError("no clear day in 40 seeds")


def test_battery_status_is_in_service_and_v2_names_the_direction(run: Run) -> None:
    """batStatus answers 1 for a battery in service whichever way it runs (both real captures
    say "1", one discharging 6.6 kW; foxesscloud reads 0 as no battery), batStatusV2 the
    direction: 1 charging, 2 discharging, 0 idle."""
    v = run.values
    batteries = [j for j, s in enumerate(run.fleet.specs) if s.model.has_battery]
    assert batteries
    assert (v["batStatus"][:, batteries] == 1).all()
    charge, discharge = v["batChargePower"], v["batDischargePower"]
    v2 = v["batStatusV2"][:, batteries]
    expected = np.where(charge > 0.01, 1, np.where(discharge > 0.01, 2, 0))[:, batteries]
    assert (v2 == expected).all()
    assert {0, 1, 2} <= set(np.unique(v2).tolist())  # the days hold all three states


def test_clipping_reaches_the_rating_at_a_clear_summer_noon() -> None:
    fleet, _ = clear_noon_fleet("F3000", LONDON, dc_ac=1.5)
    run = simulate(fleet, Controls.defaults(fleet.rating_kw), days=1)
    pv_ac = inverter.pv_to_ac(run.values["pvPower"][:, 0], fleet.rating_kw[0])
    rating = fleet.rating_kw[0]
    assert (pv_ac <= rating + 1e-9).all()
    clipped = np.isclose(pv_ac, rating, rtol=0, atol=1e-9)
    assert clipped.sum() >= 6, "at least half an hour at the rating"
    # clipping happens around solar noon (about 12:05 UTC in London), not at the day's edges;
    # an east- or west-facing second string shifts it by up to an hour or so
    hours = (run.times[clipped, 0] % DAY_MS) / 3_600_000
    assert (np.abs(hours - 12.1) < 4).all()
    assert abs((hours.min() + hours.max()) / 2 - 12.1) < 1.5
    output = run.values["generationPower"][:, 0].max()
    assert np.isclose(output, rating - fleet.standby_kw[0], atol=1e-9)


@pytest.mark.parametrize("case", ["force-discharge", "self-use-heavy-load"])
def test_hybrid_ac_output_never_above_the_rating(case: str) -> None:
    fleet, _ = clear_noon_fleet("H1-5.0-E", LONDON, dc_ac=1.2)
    controls = Controls.defaults(fleet.rating_kw)
    if case == "force-discharge":
        controls.work_mode[:] = ctl.MODE_FORCE_DISCHARGE  # fdPwr up to the rating is accepted
    else:
        fleet.load_share[:] = 12.0  # a household drawing more than the inverter's rating
    start = FIRST_DAY * DAY_MS + 9 * 3_600_000
    state = engine.initial_state(fleet, start)
    state.soc[:] = 100
    _, v = engine.simulate(fleet, state, controls, FIRST_DAY, start, start + 3 * 3_600_000)
    assert (v["generationPower"] <= fleet.rating_kw[None, :] + 1e-9).all(), (
        f"AC output up to {np.nanmax(v['generationPower']):.2f} kW on a "
        f"{fleet.rating_kw[0]:g} kW inverter"
    )


def test_day_of_year_of_new_years_day() -> None:
    days = np.array(
        [int(datetime(y, 1, 1, tzinfo=UTC).timestamp()) // 86_400 for y in range(2020, 2031)],
        dtype=np.int64,
    )
    assert (engine._day_of_year(days) == 1).all(), engine._day_of_year(days)


def test_grid_tied_models_have_no_battery_or_eps_variables(fleet: engine.Fleet) -> None:
    for name in ("F3000", "T10-G3"):
        listed = set(telemetry.variables_for(name))
        assert not listed & set(BATTERY_OR_EPS), name
        assert {"pvPower", "generationPower", "feedinPower", "generation"} <= listed
    hybrid = set(telemetry.variables_for("H1-5.0-E"))
    assert {"SoC", "batChargePower", "epsPower", "chargeEnergyToTal"} <= hybrid
    # the engine gives grid-tied inverters no battery flows
    run = simulate(fleet, Controls.defaults(fleet.rating_kw), days=1)
    grid_tied = [j for j, s in enumerate(fleet.specs) if not s.model.has_battery]
    assert grid_tied
    for name in ("batChargePower", "batDischargePower", "ResidualEnergy"):
        assert (run.values[name][:, grid_tied] == 0).all()
    # and the runner stores only the model's variables
    store = memory_store(FLEET)
    start = FIRST_DAY * DAY_MS
    runner = FleetRunner(store, SimClock(start_ms=start + DAY_MS, speed=0), seed=7)
    assert runner.backfill(1) == len(FLEET) * engine.STEPS
    latest = store.latest([sn for sn, _, _ in FLEET])
    for sn, model, _ in FLEET:
        series = store.history(sn, start, start + DAY_MS)
        assert len(series.times_ms) == engine.STEPS
        assert set(series.variables) == set(telemetry.variables_for(model)), sn
        assert set(latest[sn].values) <= set(telemetry.variables_for(model))
        if not models.MODELS[model].has_battery:
            assert not set(series.variables) & set(BATTERY_OR_EPS)
            assert not set(latest[sn].values) & set(BATTERY_OR_EPS)


def test_counters_stay_monotone_in_the_store() -> None:
    store = memory_store(FLEET[:3])
    start = FIRST_DAY * DAY_MS
    runner = FleetRunner(store, SimClock(start_ms=start + 2 * DAY_MS, speed=0), seed=1)
    runner.backfill(2)
    for sn, _, _ in FLEET[:3]:
        a = store.history(sn, start, start + DAY_MS - 1)
        b = store.history(sn, start + DAY_MS, start + 2 * DAY_MS)
        assert a.variables == b.variables
        values = np.vstack([a.values, b.values])
        for name in telemetry.COUNTERS:
            if name in a.variables:
                column = values[:, a.variables.index(name)]
                assert (np.diff(column) >= 0).all(), (sn, name)


# ---------------------------------------------------------------- the pure steps


@st.composite
def battery_cases(draw: st.DrawFn) -> dict[str, F]:
    n = draw(st.integers(1, 6))

    def floats(lo: float, hi: float) -> F:
        return np.array(draw(st.lists(st.floats(lo, hi), min_size=n, max_size=n)), dtype=np.float64)

    floor = floats(10, 100)
    ceiling = np.maximum(floor, floats(10, 100))
    capacity = np.where(floats(0, 1) < 0.15, 0.0, floats(0.5, 20))
    target = np.where(floats(0, 1) < 0.4, np.nan, floats(0, 10))
    current = np.where(floats(0, 1) < 0.5, np.nan, floats(0, 60))
    return {
        "mode": np.array(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))),
        "surplus": floats(-15, 15),
        "soc": floats(0, 100),
        "capacity": capacity,
        "cells": np.where(capacity > 0, np.round(floats(40, 130)), 0.0),
        "max_charge": floats(0, 10),
        "max_discharge": floats(0, 10),
        "max_current": floats(5, 60),
        "charge_a": current,
        "discharge_a": current[::-1].copy(),
        "battery_c": floats(-15, 60),
        "floor": floor,
        "ceiling": ceiling,
        "export_limit": floats(0, 10),
        "target_kw": target,
        "dt_h": floats(1e-3, 1.0),
        "load": floats(0, 12),
    }


def packs_of(case: dict[str, F]) -> bt.Packs:
    return bt.Packs(
        case["capacity"],
        np.ones(len(case["capacity"]), dtype=np.int64),
        case["cells"],
        case["max_charge"],
        case["max_discharge"],
        case["max_current"],
        case["max_current"],
    )


def headroom(case: dict[str, F]) -> tuple[F, F]:
    return bt.headroom(
        packs_of(case),
        case["soc"],
        case["floor"],
        case["ceiling"],
        case["dt_h"],
        case["battery_c"],
        case["charge_a"],
        case["discharge_a"],
    )


def dispatch(case: dict[str, F]) -> tuple[F, F]:
    can_charge, can_discharge = headroom(case)
    return ctl.dispatch(
        case["mode"].astype(np.int64),
        case["surplus"],
        can_charge,
        can_discharge,
        case["export_limit"],
        case["target_kw"],
    )


@settings(max_examples=150, deadline=None)
@given(battery_cases())
def test_headroom_respects_rate_current_taper_and_temperature(case: dict[str, F]) -> None:
    can_charge, can_discharge = headroom(case)
    eps = 1e-9
    assert (can_charge >= 0).all() and (can_discharge >= 0).all()
    assert (can_charge <= case["max_charge"] + eps).all()
    assert (can_discharge <= case["max_discharge"] + eps).all()
    volt = packs_of(case).ocv(case["soc"])
    amps = np.fmin(case["charge_a"], case["max_current"])
    # the battery-side current never passes the lower of the pack's and the set limit
    assert (can_charge * bt.BATTERY_EFFICIENCY * 1000 <= amps * volt + 1e-6).all()
    amps = np.fmin(case["discharge_a"], case["max_current"])
    assert (can_discharge / bt.BATTERY_EFFICIENCY * 1000 <= amps * volt + 1e-6).all()
    cold = case["battery_c"] <= 0
    assert (can_charge[cold] == 0).all(), "no charging at or below 0 °C"
    near_full = case["soc"] > bt.TAPER_FROM_SOC
    tapered = case["max_charge"] * bt.taper_factor(case["soc"])
    assert (can_charge[near_full] <= tapered[near_full] + eps).all()
    no_battery = case["capacity"] == 0
    assert (can_charge[no_battery] == 0).all() and (can_discharge[no_battery] == 0).all()


@settings(max_examples=150, deadline=None)
@given(battery_cases())
def test_dispatch_respects_every_limit(case: dict[str, F]) -> None:
    charge, discharge = dispatch(case)
    mode = case["mode"]
    eps = 1e-9
    assert (charge >= 0).all() and (discharge >= 0).all()
    assert not ((charge > 0) & (discharge > 0)).any()
    assert (charge <= case["max_charge"] + eps).all()
    assert (discharge <= case["max_discharge"] + eps).all()
    no_battery = case["capacity"] == 0
    assert (charge[no_battery] == 0).all() and (discharge[no_battery] == 0).all()
    # which modes may do what
    never_discharge = (mode == ctl.MODE_BACKUP) | (mode == ctl.MODE_FORCE_CHARGE)
    assert (discharge[never_discharge] == 0).all()
    never_charge = (mode == ctl.MODE_FORCE_DISCHARGE) | (
        (mode == ctl.MODE_PEAK) & (case["surplus"] <= 0)
    )
    assert (charge[never_charge] == 0).all()
    follows_load = (mode == ctl.MODE_SELF_USE) | (mode == ctl.MODE_FEEDIN)
    deficit = np.clip(-case["surplus"], 0, None)
    assert (discharge[follows_load] <= deficit[follows_load] + eps).all()
    solar_only = (mode == ctl.MODE_SELF_USE) | (mode == ctl.MODE_BACKUP) | (mode == ctl.MODE_PEAK)
    excess = np.clip(case["surplus"], 0, None)
    assert (charge[solar_only] <= excess[solar_only] + eps).all()
    forced = ~np.isnan(case["target_kw"]) & (
        (mode == ctl.MODE_FORCE_CHARGE) | (mode == ctl.MODE_FORCE_DISCHARGE)
    )
    assert (charge[forced] <= case["target_kw"][forced] + eps).all()
    assert (discharge[forced] <= case["target_kw"][forced] + eps).all()


@settings(max_examples=150, deadline=None)
@given(battery_cases())
def test_soc_after_dispatch_stays_in_bounds(case: dict[str, F]) -> None:
    charge, discharge = dispatch(case)
    soc = case["soc"]
    after = bt.soc_after(soc, charge, discharge, case["capacity"], case["dt_h"])
    assert ((after >= 0) & (after <= 100)).all()
    eps = 1e-9
    assert (after >= np.minimum(soc, case["floor"]) - eps).all(), "discharged below the floor"
    assert (after <= np.maximum(soc, case["ceiling"]) + eps).all(), "charged above the ceiling"
    assert (after[charge > 0] >= soc[charge > 0]).all()
    assert (after[discharge > 0] <= soc[discharge > 0]).all()
    no_battery = case["capacity"] == 0
    assert (after[no_battery] == soc[no_battery]).all()


@settings(max_examples=150, deadline=None)
@given(battery_cases())
def test_grid_flows_balance_and_cap_export(case: dict[str, F]) -> None:
    load = case["load"]
    pv_ac = np.clip(load + case["surplus"], 0, None)
    charge, discharge = dispatch({**case, "surplus": pv_ac - load})
    limit = case["export_limit"]
    imported, exported, pv_used, discharged = ctl.grid_flows(load, pv_ac, charge, discharge, limit)
    assert (imported >= 0).all() and (exported >= 0).all()
    assert not ((imported > 0) & (exported > 0)).any()
    assert (exported <= limit + 1e-12).all()
    assert ((pv_used >= -1e-12) & (pv_used <= pv_ac + 1e-12)).all()
    assert ((discharged >= -1e-12) & (discharged <= discharge + 1e-12)).all()
    balance = pv_used + imported + discharged - (load + exported + charge)
    assert np.abs(balance).max() < 1e-9
    # nothing is curtailed while the export is under the limit
    free = exported < limit - 1e-9
    assert np.allclose(pv_used[free], pv_ac[free]) and np.allclose(
        discharged[free], discharge[free]
    )
    # the battery's export goes first: PV is curtailed only once no discharge is left, and
    # PV always covers the house and the charge it can
    cut_pv = pv_used < pv_ac - 1e-9
    assert (discharged[cut_pv] <= 1e-9).all()
    assert (pv_used + 1e-9 >= np.minimum(pv_ac, load + charge)).all()
