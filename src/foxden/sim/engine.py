"""One UTC day of a fleet at a time: exogenous inputs (sun, weather, household) for the whole
day at once, then the battery, inverter and grid step by step, then every telemetry variable.

Randomness is keyed by (seed, purpose, device or plant, day), so a day comes out the same
whether it is backfilled in one go or simulated live a sample at a time: the same seed
always gives the same data.
"""

from __future__ import annotations

import copy
import dataclasses
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from foxden.protocol import hardware, models
from foxden.sim import battery as bt
from foxden.sim import control as ctl
from foxden.sim import household, inverter, pv, weather
from foxden.sim.control import Controls
from foxden.sim.counters import COUNTER, INVERTER_INPUT, State

F = npt.NDArray[np.float64]
IA = npt.NDArray[np.int64]

DAY_MS = 86_400_000
STEP_MS = 300_000
STEPS = DAY_MS // STEP_MS
STRINGS = 2
SUN_GRID_MS = 600_000
"""The sun's position is computed every 10 minutes per plant and interpolated between."""
RUNNING_ON_GRID, RUNNING_FAULT = 163, 165

__all__ = ["COUNTER", "Controls", "DeviceSpec", "Exogenous", "Fleet", "State", "exogenous"]


def _key(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    """The random stream for one purpose: derived from the fleet's one seed."""
    return np.random.default_rng([seed, _key(*parts)])


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    sn: str
    model: models.InverterModel
    zone: ZoneInfo
    latitude: float
    longitude: float
    plant: str
    country: str = ""
    ev: bool = False
    """The plant's household charges an EV at home (``household.ev_day``)."""
    heat_pump: bool = False
    """The plant's household heats with a heat pump (``household.heat_pump_day``)."""


@dataclass(slots=True)
class Fleet:
    """Static parameters of the fleet's devices, one row each, drawn from the seed; devices
    of one plant share its position, weather and household."""

    specs: list[DeviceSpec]
    seed: int
    lat: F = field(init=False)
    lon: F = field(init=False)
    plants: list[DeviceSpec] = field(init=False)
    """The first device of each plant, which gives the plant's position and country."""
    plant_of: IA = field(init=False)
    rating_kw: F = field(init=False)
    capacity_kwh: F = field(init=False)
    max_charge_kw: F = field(init=False)
    phases: IA = field(init=False)
    load_share: F = field(init=False)
    """Each device's share of the load its plant's battery inverters follow (0: grid-tied)."""
    primary: npt.NDArray[np.bool_] = field(init=False)
    """The device that carries its plant's meter (the first battery inverter, else the first)."""
    standby_kw: F = field(init=False)
    volt_base: F = field(init=False)
    offset_ms: IA = field(init=False)
    wear: F = field(init=False)
    commissioned_day: IA = field(init=False)
    tilt: F = field(init=False)
    surface_azimuth: F = field(init=False)
    kwp: F = field(init=False)
    phase_split: F = field(init=False)
    packs: bt.Packs = field(init=False)
    lead: list[str] = field(init=False)
    """Each device's plant's first device, whose sample times the plant's devices share (kept
    by ``part``, so a part of a plant samples when the whole plant does)."""

    def __post_init__(self) -> None:
        self.lat = np.array([s.latitude for s in self.specs], dtype=np.float64)
        self.lon = np.array([s.longitude for s in self.specs], dtype=np.float64)
        index: dict[str, int] = {}
        self.plants = []
        for s in self.specs:
            if s.plant not in index:
                index[s.plant] = len(self.plants)
                self.plants.append(s)
        self.plant_of = np.array([index[s.plant] for s in self.specs], dtype=np.int64)
        self.rating_kw = np.array([s.model.rated_power_w / 1000 for s in self.specs])
        self.packs = bt.Packs.of([s.model for s in self.specs])
        self.capacity_kwh = self.packs.capacity_kwh
        self.max_charge_kw = self.packs.max_charge_kw
        self.phases = np.array([s.model.phases for s in self.specs], dtype=np.int64)
        # the battery inverters follow the household (less what the AC-coupled grid-tied ones
        # make); on a plant without one, the grid-tied inverter with the meter does
        follows = np.array([s.model.has_battery for s in self.specs], dtype=bool)
        self.primary = np.zeros(len(self.specs), dtype=bool)
        for p in range(len(self.plants)):
            cols = np.flatnonzero(self.plant_of == p)
            batteries = cols[follows[cols]]
            self.primary[batteries[0] if len(batteries) else cols[0]] = True
            follows[cols[0]] |= not len(batteries)
        self.load_share = household.shares(self.rating_kw, self.plant_of, follows)
        self.standby_kw = np.array(
            [
                inverter.STANDBY_HYBRID_KW if s.model.has_battery else inverter.STANDBY_GRID_TIED_KW
                for s in self.specs
            ]
        )
        # a plant's inverters went in together, with its meter (on its primary), so the
        # lifetime counters of all of them count the same days and the plant's identities hold
        own_day = np.array(
            [hardware.commissioned_ms(s.sn) // DAY_MS for s in self.specs], dtype=np.int64
        )
        first_day = np.zeros(len(self.plants), dtype=np.int64)
        first_day[self.plant_of[self.primary]] = own_day[self.primary]
        self.commissioned_day = first_day[self.plant_of]
        draws = [rng_for(self.seed, "device", s.sn) for s in self.specs]
        self.volt_base = np.array([236 + 8 * r.random() for r in draws])
        offsets = np.array([int(r.integers(0, STEP_MS - 5_000)) for r in draws], dtype=np.int64)
        # a plant's inverters sample together (one meter serves them all): the first one's time
        first = self.first_of_plant()
        self.offset_ms = offsets[first]
        self.lead = [self.specs[j].sn for j in first.tolist()]
        self.wear = np.array([1.5 * r.random() for r in draws])
        south = np.where(self.lat >= 0, 180.0, 0.0)
        self.tilt = np.array([[30 + 10 * r.random(), 25 + 10 * r.random()] for r in draws])
        turn = np.array([40.0 if r.random() < 0.5 else -40.0 for r in draws])
        self.surface_azimuth = np.stack(
            [south + np.array([r.normal(0, 12) for r in draws]), south + turn], axis=1
        )
        share = np.array([0.55 + 0.2 * r.random() for r in draws])
        kwp_total = np.array([hardware.array_kwp(s.sn, s.model.name) for s in self.specs])
        self.kwp = np.stack([kwp_total * share, kwp_total * (1 - share)], axis=1)
        self.phase_split = np.array([r.dirichlet([6, 4, 3]) for r in draws])

    def __len__(self) -> int:
        return len(self.specs)

    def first_of_plant(self) -> IA:
        """For each device, the column of its plant's first device."""
        first = np.zeros(len(self.plants), dtype=np.int64)
        for j in range(len(self.specs) - 1, -1, -1):
            first[self.plant_of[j]] = j
        return first[self.plant_of]

    def soh(self, day: IA) -> F:
        """State of health, %, on UTC day ``day`` (T, D): 2 % a year of calendar and cycle
        ageing from commissioning plus a pack's own spread, never below 70."""
        years = np.clip(day - self.commissioned_day[None, :], 0, None) / 365.25
        return np.asarray(np.clip(100 - 2.0 * years - self.wear[None, :], 70, 100))


@dataclass(slots=True)
class Exogenous:
    """Everything about a day that does not depend on the battery: (T, D) arrays."""

    times: IA
    local_minute: F
    local_date: IA
    zenith: F
    poa: F  # (T, D, S)
    cloud: F
    ambient: F
    cell_temp: F
    pv_dc_strings: F  # (T, D, S) kW before curtailment
    load: F
    """The plant's household at each of its devices' columns, kW."""
    volt_noise: F
    freq: F
    reactive: F


def _local_parts(times: IA, zones: list[ZoneInfo]) -> tuple[F, IA, F]:
    """Local minute of day, local date ordinal and day of year, per (T, D)."""
    minute = np.empty(times.shape)
    ordinal = np.empty(times.shape, dtype=np.int64)
    doy = np.empty(times.shape)
    by_zone: dict[ZoneInfo, list[int]] = {}
    for j, z in enumerate(zones):
        by_zone.setdefault(z, []).append(j)
    for zone, cols in by_zone.items():
        # a zone's offset is constant within a 5-minute step; sample it on the step grid
        base = times[:, cols[0]] - times[:, cols[0]] % STEP_MS
        first, last = _offset_ms(int(base[0]), zone), _offset_ms(int(base[-1]), zone)
        if first == last and _offset_ms(int(base[len(base) // 2]), zone) == first:
            offsets = np.full(len(base), first)  # no clock change today
        else:
            offsets = np.array([_offset_ms(int(b), zone) for b in base])
        local = times[:, cols] + offsets[:, None].astype(np.int64)
        days = local // DAY_MS
        minute[:, cols] = (local % DAY_MS) / 60_000
        ordinal[:, cols] = days + 719_163  # days since 0001-01-01 of the local date
        doy[:, cols] = _day_of_year(days)
    return minute, ordinal, doy


def _offset_ms(ms: int, zone: ZoneInfo) -> float:
    offset = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).utcoffset()
    return offset.total_seconds() * 1000 if offset is not None else 0.0


def _day_of_year(days_since_epoch: IA) -> F:
    days = days_since_epoch.astype("datetime64[D]")
    year_start = days.astype("datetime64[Y]").astype("datetime64[D]")
    return np.asarray((days - year_start).astype(np.int64) + 1, dtype=np.float64)


def exogenous(fleet: Fleet, day: int, typical: bool = False) -> Exogenous:
    """Sun, weather and household load of every device over UTC day ``day``. ``typical``:
    the climatological mean instead of the day's weather and household (lifetime counters
    are seeded from these)."""
    d = len(fleet)
    jitter = np.zeros((STEPS, d), dtype=np.int64)
    volt = np.zeros((STEPS, d))
    freq = np.full((STEPS, d), 50.0)
    reactive = np.zeros((STEPS, d))
    lead_jitter = np.zeros((STEPS, d), dtype=np.int64)
    if not typical:
        own: dict[str, IA] = {}
        for j, spec in enumerate(fleet.specs):
            r = rng_for(fleet.seed, "device-day", spec.sn, day)
            jitter[:, j] = own[spec.sn] = r.integers(0, 2_500, STEPS)
            volt[:, j] = r.normal(0, 1.2, STEPS)
            freq[:, j] += r.normal(0, 0.015, STEPS)
            reactive[:, j] = r.normal(0, 0.03, STEPS)
        # a plant's devices sample at its first device's times, also in a part without it
        for j, lead in enumerate(fleet.lead):
            if lead not in own:
                own[lead] = rng_for(fleet.seed, "device-day", lead, day).integers(0, 2_500, STEPS)
            lead_jitter[:, j] = own[lead]
    times = (
        (day * DAY_MS + np.arange(STEPS, dtype=np.int64) * STEP_MS)[:, None]
        + fleet.offset_ms[None, :]
        + lead_jitter
    )
    minute, ordinal, doy = _local_parts(times, [s.zone for s in fleet.specs])
    plant_lat = np.array([p.latitude for p in fleet.plants])
    plant_lon = np.array([p.longitude for p in fleet.plants])
    zenith, azimuth = pv.sun_for_devices(
        times, day * DAY_MS, SUN_GRID_MS, plant_lat, plant_lon, fleet.plant_of
    )
    slot = np.clip((minute // 5).astype(np.int64), 0, STEPS - 1)
    cloud = np.empty((STEPS, d))
    ambient = np.empty((STEPS, d))
    house = np.empty((STEPS, d))
    linke = np.empty((STEPS, d))
    for p, plant in enumerate(fleet.plants):
        cols = np.flatnonzero(fleet.plant_of == p)
        turbidity = weather.linke_turbidity(plant.latitude, plant.longitude)
        dates = ordinal[:, cols]
        slots = slot[:, cols]
        for date in np.unique(dates):
            here = dates == date
            args = (int(date), plant.country, plant.latitude)
            if typical:
                sky = weather.typical_day(*args, plant.longitude)
                demand = household.typical_day(fleet.seed, plant.plant, *args)
                if plant.ev:
                    demand = demand + household.ev_typical_day()
            else:
                sky = weather.local_day(fleet.seed, plant.plant, *args, plant.longitude)
                demand = household.local_day(fleet.seed, plant.plant, *args)
                if plant.ev:
                    demand = demand + household.ev_day(fleet.seed, plant.plant, int(date))
            if plant.heat_pump:
                demand = demand + household.heat_pump_day(sky.temperature)
            year_day = datetime.fromordinal(int(date)).timetuple().tm_yday
            block = (slice(None), cols)
            cloud[block] = np.where(here, sky.cloud[slots], cloud[block])
            ambient[block] = np.where(here, sky.temperature[slots], ambient[block])
            house[block] = np.where(here, demand[slots], house[block])
            linke[block] = np.where(here, turbidity[year_day - 1], linke[block])
    ghi = weather.clear_sky(zenith, doy, linke) * cloud
    poa = pv.plane_of_array(ghi, zenith, azimuth, doy, fleet.tilt, fleet.surface_azimuth)
    cell = pv.cell_temperature(ambient, poa)
    dc = pv.dc_power(poa, cell, fleet.kwp)
    return Exogenous(
        times,
        minute,
        ordinal,
        zenith,
        poa,
        cloud,
        ambient,
        cell,
        dc,
        house,
        volt,
        freq,
        reactive,
    )


RECORDED = (
    "pv_ac",
    "pv_dc",
    "charge",
    "discharge",
    "import",
    "export",
    "soc",
    "output",
    "load",
    "meter2",
    "charge_a",
    "discharge_a",
)


def simulate(
    fleet: Fleet,
    state: State,
    controls: Controls,
    day: int,
    after_ms: int,
    until_ms: int,
    ex: Exogenous | None = None,
) -> tuple[IA, dict[str, F]]:
    """Samples of UTC day ``day`` with ``after_ms < time <= until_ms``, per device; ``state``
    is advanced in place. Returns (times (T, D), variables -> (T, D) arrays); rows where a
    device has no sample in range are NaN (times 0). ``ex`` is the day's ``exogenous``, if
    the caller keeps it (live stepping asks for the same day many times)."""
    from foxden.sim import variables

    ex = ex if ex is not None else exogenous(fleet, day)
    rows, times, rec, counters, today = run_steps(fleet, state, controls, ex, after_ms, until_ms)
    return times, variables.of(fleet, ex, rows, rec, counters, today, controls, day)


PlantTotal = Callable[[str, IA, F], F]
"""``(what, rows, values)`` -> at each device, the total of ``values`` (the rows ``rows`` of
the day, (T, D)) over its plant's devices, added in column order; ``what`` is "coupled" or
"output" (see ``run_steps``)."""


def supply(fleet: Fleet, controls: Controls, ex: Exogenous, rows: IA) -> tuple[F, F, F, F]:
    """What does not depend on any battery at the rows ``rows`` of the day, (T, D) each: PV
    DC, the PV's AC output, standby (0 when faulted: the inverter is switched off) and the
    AC-coupled output of grid-tied inverters. One meter per plant: grid-tied inverters are
    AC-coupled, their output (their own export limit applied: they have no meter) feeds the
    house first; the battery inverters follow what is left of the household, below zero
    when the grid-tied ones export."""
    faulted = controls.fault > 0
    pv_dc = ex.pv_dc_strings[rows].sum(axis=2)
    pv_ac_in = np.where(faulted[None, :], 0.0, inverter.pv_to_ac(pv_dc, fleet.rating_kw))
    standby = np.where(faulted, 0.0, fleet.standby_kw)
    limit = controls.export_limit_kw
    grid_tied = fleet.load_share <= 0
    coupled = np.where(
        grid_tied[None, :], np.minimum(pv_ac_in, standby + np.maximum(limit, 0.0)) - standby, 0.0
    )
    return pv_dc, pv_ac_in, standby, coupled


def run_steps(
    fleet: Fleet,
    state: State,
    controls: Controls,
    ex: Exogenous,
    after_ms: int,
    until_ms: int,
    plant_total: PlantTotal | None = None,
) -> tuple[IA, IA, dict[str, F], F, F]:
    """Step the fleet through the day's samples in range: (the day's rows stepped, their
    times, recorded flows, counters (T, D, C), todayYield).

    Only the battery's SoC carries from one step to the next, so only what depends on it is
    stepped one sample at a time; everything else is computed for all the rows at once,
    before (what each device wants of its battery) and after (grid flows, the plant's meter,
    counters as running sums).

    The devices of a plant meet only in two sums over the plant (``PlantTotal``): the
    AC-coupled output of its grid-tied inverters, and every inverter's output, which its
    meter sees; ``plant_total`` gives them when part of a plant is stepped at a time
    (default: the plant's devices in this fleet, ``per_plant``)."""

    def total(what: str, rows: IA, values: F) -> F:
        if plant_total is None:
            return per_plant(values, fleet.plant_of)
        return plant_total(what, rows, values)

    d = ex.times.shape[1]
    in_range = (ex.times > after_ms) & (ex.times <= until_ms) & (ex.times > state.last_ms[None, :])
    rows = np.flatnonzero(in_range.any(axis=1))
    t = len(rows)
    active = in_range[rows]
    times = np.where(active, ex.times[rows], 0)
    faulted = controls.fault > 0
    goal = ctl.targets(controls, ex.local_minute[rows])
    # everything that does not depend on the battery's state, for all the rows at once
    pv_dc, pv_ac_in, standby, coupled = supply(fleet, controls, ex, rows)
    ambient = ex.ambient[rows]
    cell_c = bt.temperature(ambient, 0 * ambient, 0 * ambient, fleet.max_charge_kw)
    warm_charge, warm_discharge = bt.temperature_factor(cell_c)
    amps_charge, amps_discharge = bt.current_limits(
        fleet.packs, controls.charge_current_a, controls.discharge_current_a
    )
    amps_charge = np.where(faulted, 0.0, amps_charge)
    amps_discharge = np.where(faulted, 0.0, amps_discharge)
    step_amps_charge = amps_charge[None, :] * warm_charge
    step_amps_discharge = amps_discharge[None, :] * warm_discharge
    limit = controls.export_limit_kw
    house = ex.load[rows]
    grid_tied = fleet.load_share <= 0
    follow = fleet.load_share[None, :] * (house - total("coupled", rows, coupled))
    demand = np.where(grid_tied[None, :], 0.0, follow) + standby[None, :]
    want_charge, want_discharge = ctl.Policy.of(goal.mode, goal.power_kw).wants(
        pv_ac_in - demand, limit
    )
    # the inverter's AC output (PV plus battery) never exceeds its rating
    want_discharge = np.minimum(want_discharge, np.maximum(fleet.rating_kw[None, :] - pv_ac_in, 0))
    # time since each device's previous sample (its block of rows is contiguous)
    previous = np.empty((t, d), dtype=np.int64)
    if t:
        previous[0] = state.last_ms
        previous[1:] = np.where(active[:-1], times[:-1], state.last_ms[None, :])
    step_h = STEP_MS / 3_600_000
    dt_h = np.where(previous > 0, (times - previous) / 3_600_000, step_h)
    dt_h = np.minimum(np.maximum(dt_h, 1e-6), 1.0)
    # the battery, one step at a time
    charge = np.zeros((t, d))
    offered = np.zeros((t, d))  # the discharge before the export limit's curtailment
    soc_rec = np.zeros((t, d))
    soc = state.soc.copy()
    packs, capacity = fleet.packs, fleet.capacity_kwh
    everyone = [bool(row.all()) for row in active]
    for i in range(t):
        can_charge, can_discharge = bt.step_headroom(
            packs,
            soc,
            goal.floor[i],
            goal.ceiling[i],
            dt_h[i],
            step_amps_charge[i],
            step_amps_discharge[i],
        )
        c = np.minimum(want_charge[i], can_charge)
        x = np.minimum(want_discharge[i], can_discharge)
        after = bt.soc_after(
            soc, c, ctl.export_curtailed(demand[i], pv_ac_in[i], c, x, limit), capacity, dt_h[i]
        )
        soc = after if everyone[i] else np.where(active[i], after, soc)
        charge[i], offered[i], soc_rec[i] = c, x, soc
    # the grid, the meter and the counters, for all the rows at once
    imported, exported, pv_ac, discharge = ctl.grid_flows(demand, pv_ac_in, charge, offered, limit)
    del imported, exported  # each circuit's: the plant's meter is what reports
    output = pv_ac + discharge - charge - standby  # below 0: drawing from the grid
    # the plant's meter: its household less what all its inverters put out, on the
    # primary; the others' output is what the primary's second meter (CT2) reads
    plant_out = total("output", rows, np.where(active, output, 0.0))
    primary = fleet.primary[None, :]
    meter = house - plant_out
    imported = np.where(primary, np.maximum(meter, 0.0), 0.0)
    exported = np.where(primary, np.maximum(-meter, 0.0), 0.0)
    load = np.where(primary, house, 0.0)
    meter2 = np.where(primary, plant_out - output, 0.0)
    # the DC the inverter drew: all of it, or less where clipped or curtailed
    pv_used = np.minimum(inverter.ac_to_pv(pv_ac, fleet.rating_kw), pv_dc)
    pv_used = np.where(pv_ac > 0, pv_used, 0.0)
    out_pos = np.maximum(output, 0.0)
    # the counters: running sums from the state, one column per counter (no energy where a
    # device has no sample in a row)
    everyone_all = bool(active.all())
    columns = (
        out_pos,
        exported,
        imported,
        load,
        charge,
        discharge,
        pv_used,
        charge + discharge,
        out_pos - output,
    )
    running = np.empty((t + 1, d, len(columns)))
    running[0] = state.counters
    for c, power in enumerate(columns):
        energy = power * dt_h
        running[1:, :, c] = energy if everyone_all else np.where(active, energy, 0.0)
    np.add.accumulate(running, axis=0, out=running)
    before, counters = running[:-1], running[1:]
    generation = COUNTER["generation"]
    # todayYield counts from the generation counter at the local midnight
    dates = ex.local_date[rows]
    last_date = np.broadcast_to(state.yield_day[None, :], (t, d)).copy()
    if t > 1:
        last_date[1:] = np.where(active[:-1], dates[:-1], state.yield_day[None, :])
    new_day = active & (dates != last_date)
    marks = np.where(new_day, np.arange(t)[:, None], -1)
    marks = np.maximum.accumulate(marks, axis=0) if t else marks
    cols = np.broadcast_to(np.arange(d)[None, :], (t, d))
    base = np.where(
        marks >= 0, before[np.maximum(marks, 0), cols, generation], state.yield_base[None, :]
    )
    today = counters[:, :, generation] - base
    if t:
        ran = active.any(axis=0)
        last_row = t - 1 - np.argmax(active[::-1], axis=0)
        every = np.arange(d)
        state.soc = soc
        state.counters = counters[-1].copy()
        state.last_ms = np.where(ran, times[last_row, every], state.last_ms)
        state.yield_base = np.where(ran, base[last_row, every], state.yield_base)
        state.yield_day = np.where(ran, dates[last_row, every], state.yield_day)
    rec = {
        "pv_ac": pv_ac,
        "pv_dc": pv_used,
        "charge": charge,
        "discharge": discharge,
        "import": imported,
        "export": exported,
        "soc": soc_rec,
        "output": output,
        "load": load,
        "meter2": meter2,
    }
    if not everyone_all:  # NaN where a device has no sample
        rec = {name: np.where(active, value, np.nan) for name, value in rec.items()}
        counters = np.where(active[:, :, None], counters, np.nan)
        today = np.where(active, today, np.nan)
    if t:
        limit_c = step_amps_charge * bt.taper_factor(rec["soc"])
        rec["charge_a"] = np.where(active, limit_c, np.nan)
        rec["discharge_a"] = np.where(active, step_amps_discharge, np.nan)
    else:
        rec["charge_a"] = rec["discharge_a"] = np.full((0, d), np.nan)
    return rows, times, rec, counters, today


def per_plant(values: F, plant_of: IA) -> F:
    """(T, D) -> (T, D): at each device, the sum of ``values`` over its plant's devices, added
    in column order (the same at any number of rows)."""
    out = np.array(values, dtype=np.float64, copy=True)  # a plant of one: its own values
    _, groups = plant_groups(plant_of)
    for cols in groups:
        if len(cols) > 1:  # accumulate adds one column after another, left to right
            out[:, cols] = np.add.accumulate(values[:, cols], axis=1)[:, -1:]
    return out


def plant_groups(plant_of: IA) -> tuple[IA, list[IA]]:
    """The plants present (ascending) and the columns of each, ascending."""
    order = np.argsort(plant_of, kind="stable")
    ids, starts = np.unique(plant_of[order], return_index=True)
    return ids, np.split(order, starts[1:])


_DEVICE_ARRAYS = (
    "lat",
    "lon",
    "rating_kw",
    "capacity_kwh",
    "max_charge_kw",
    "phases",
    "load_share",
    "primary",
    "standby_kw",
    "volt_base",
    "offset_ms",
    "wear",
    "commissioned_day",
    "tilt",
    "surface_azimuth",
    "kwp",
    "phase_split",
)


def part(fleet: Fleet, cols: IA) -> Fleet:
    """The devices ``cols`` (ascending) of ``fleet`` as a fleet of their own, with every
    parameter they have in the whole fleet (their plants' meters, load shares and sample
    times included): what it simulates of them is what the whole fleet would."""
    sub = copy.copy(fleet)
    sub.specs = [fleet.specs[j] for j in cols.tolist()]
    sub.lead = [fleet.lead[j] for j in cols.tolist()]
    for name in _DEVICE_ARRAYS:
        setattr(sub, name, getattr(fleet, name)[cols])
    sub.packs = bt.Packs(
        *(getattr(fleet.packs, f.name)[cols] for f in dataclasses.fields(bt.Packs))
    )
    ids, local = np.unique(fleet.plant_of[cols], return_inverse=True)
    sub.plants = [fleet.plants[i] for i in ids.tolist()]
    sub.plant_of = np.asarray(local, dtype=np.int64).reshape(-1)
    return sub


def _tiled(fleet: Fleet, n: int) -> Fleet:
    """The fleet ``n`` times side by side (for stepping several days in one pass)."""
    wide = copy.copy(fleet)
    for name in ("rating_kw", "capacity_kwh", "max_charge_kw", "standby_kw", "load_share"):
        setattr(wide, name, np.tile(getattr(fleet, name), n))
    wide.primary = np.tile(fleet.primary, n)
    plants = int(fleet.plant_of.max()) + 1 if len(fleet) else 0
    wide.plant_of = np.concatenate([fleet.plant_of + i * plants for i in range(n)])
    wide.packs = bt.Packs(
        *(np.tile(getattr(fleet.packs, f.name), n) for f in dataclasses.fields(bt.Packs))
    )
    return wide


def _side_by_side(days: list[Exogenous]) -> Exogenous:
    return Exogenous(
        *(
            np.concatenate([getattr(e, f.name) for e in days], axis=1)
            for f in dataclasses.fields(Exogenous)
        )
    )


MONTHS = 12
TYPICAL_CHUNK = 64
"""Devices ``typical_energy`` steps at a time (their twelve months side by side): its memory
is bounded by this, whatever the size of the fleet."""
_MID_MONTH = [
    int(datetime(2021, m, 15, tzinfo=UTC).timestamp()) * 1000 // DAY_MS for m in range(1, 13)
]
"""The typical day of each month: the middle of the month, in a past year."""


def typical_energy(fleet: Fleet, devices: IA | None = None, chunk: int = TYPICAL_CHUNK) -> F:
    """Energy of a climatologically typical day of each month, per device and counter,
    (12, D, C) kWh: the second of two typical days in the middle of each month of a past
    year (the first brings the battery to its daily cycle), default controls. Only the
    devices ``devices`` (None: all) and the others of their plants are computed; the
    others' rows are 0.

    At most ``chunk`` devices are stepped at a time, their twelve months side by side, so
    the memory does not grow with the fleet: whole plants together; a plant of more than
    ``chunk`` devices in parts, after its two sums over the plant (``PlantTotal``) were
    gathered from every part, so each device's energy is exactly what stepping the whole
    fleet at once gives."""
    d = len(fleet)
    out = np.zeros((MONTHS, d, len(COUNTER) + 1))
    if not d:
        return out
    wanted = np.arange(d) if devices is None else np.asarray(devices, dtype=np.int64)
    needed = set(np.unique(fleet.plant_of[wanted]).tolist())
    ids, groups = plant_groups(fleet.plant_of)
    batch: list[IA] = []
    size = 0
    for pid, cols in zip(ids.tolist(), groups, strict=True):
        if pid not in needed:
            continue
        if len(cols) > chunk:
            _typical_split(fleet, [cols[k : k + chunk] for k in range(0, len(cols), chunk)], out)
            continue
        if batch and size + len(cols) > chunk:
            together = np.sort(np.concatenate(batch))
            out[:, together] = _typical_days(fleet, together, None)
            batch, size = [], 0
        batch.append(cols)
        size += len(cols)
    if batch:
        together = np.sort(np.concatenate(batch))
        out[:, together] = _typical_days(fleet, together, None)
    return out


def _typical_days(fleet: Fleet, cols: IA, sums: SplitSums | None) -> F:
    """(12, len(cols), C): the typical days' energy of the devices ``cols`` (ascending), the
    twelve months side by side; ``sums`` gives their plant's sums when it is split."""
    sub = part(fleet, cols)
    n = len(cols)
    wide = _tiled(sub, MONTHS)
    controls = Controls.defaults(wide.rating_kw)
    state = State.empty(MONTHS * n)
    state.soc[:] = 50.0
    state.last_ms[:] = np.repeat(np.array(_MID_MONTH, dtype=np.int64) - 1, n) * DAY_MS
    warm_up = _side_by_side([exogenous(sub, day - 1, True) for day in _MID_MONTH])
    hook = sums.hook(0, n) if sums is not None else None
    run_steps(wide, state, controls, warm_up, 0, max(_MID_MONTH) * DAY_MS, hook)
    del warm_up
    before = state.counters.copy()
    typical = _side_by_side([exogenous(sub, day, True) for day in _MID_MONTH])
    hook = sums.hook(1, n) if sums is not None else None
    run_steps(wide, state, controls, typical, 0, (max(_MID_MONTH) + 1) * DAY_MS, hook)
    return np.asarray((state.counters - before).reshape(MONTHS, n, -1), dtype=np.float64)


class SplitSums:
    """The two sums over one plant stepped in parts (``PlantTotal``), per kind of day (for
    typical days: 0 the warm-up, 1 the day measured), (STEPS, width) each: gathered part
    after part in column order (each part's columns added to the total of the parts before,
    one after another, as ``per_plant`` adds them), then given to every part."""

    def __init__(self, width: int = MONTHS) -> None:
        self.width = width
        """Days side by side (12 typical days; 1 for a day of the fleet's history)."""
        self.sums: dict[tuple[str, int], F] = {}
        self.gather: set[str] = set()
        """What the parts stepped now add to (the others are read)."""

    def add(self, what: str, kind: int, values: F) -> None:
        """``values`` (STEPS, 12, n): the next part's columns."""
        before = self.sums.get((what, kind))
        if before is not None:
            values = np.concatenate([before[:, :, None], values], axis=2)
        self.sums[what, kind] = np.add.accumulate(values, axis=2)[:, :, -1]

    def hook(self, kind: int, n: int) -> PlantTotal:
        def total(what: str, rows: IA, values: F) -> F:
            if what in self.gather:
                whole_day = np.zeros((STEPS, self.width * n))
                whole_day[rows] = values
                self.add(what, kind, whole_day.reshape(STEPS, self.width, n))
                return values  # not used: the plant's total is not known yet
            return np.repeat(self.sums[what, kind][rows], n, axis=1)

        return total


def _typical_split(fleet: Fleet, parts: list[IA], out: F) -> None:
    """``typical_energy`` of a plant too big to step at once, part by part: first its
    grid-tied inverters' coupled output (it depends on no battery; the others' is 0) from
    every part; then every part stepped with it, gathering the plant's output; then the
    plant's meter (its primary device) again, with both sums."""
    sums = SplitSums()
    every = np.arange(STEPS)
    for cols in parts:
        coupled = np.zeros((2, STEPS, MONTHS, len(cols)))
        tied = np.flatnonzero(fleet.load_share[cols] <= 0)
        if len(tied):
            sub = part(fleet, cols[tied])
            wide = _tiled(sub, MONTHS)
            controls = Controls.defaults(wide.rating_kw)
            for kind, shift in ((0, 1), (1, 0)):
                ex = _side_by_side([exogenous(sub, day - shift, True) for day in _MID_MONTH])
                some = supply(wide, controls, ex, every)[3]
                coupled[kind][:, :, tied] = some.reshape(STEPS, MONTHS, len(tied))
        for kind in (0, 1):
            sums.add("coupled", kind, coupled[kind])
    sums.gather = {"output"}
    for cols in parts:
        out[:, cols] = _typical_days(fleet, cols, sums)
    sums.gather = set()
    meter = np.flatnonzero(fleet.primary[np.concatenate(parts)])
    for j in np.concatenate(parts)[meter]:
        out[:, [j]] = _typical_days(fleet, np.array([j]), sums)


def initial_state(
    fleet: Fleet,
    start_ms: int,
    fresh: npt.NDArray[np.bool_] | None = None,
    chunk: int = TYPICAL_CHUNK,
) -> State:
    """The fleet's state at ``start_ms``: SoC drawn from the seed, lifetime counters the
    energy of a typical day of each month times the days each device ran before
    ``start_ms`` since its commissioning, so every lifetime identity holds from the start.

    ``fresh``: the devices that start here (None: all); the others' counters are left 0,
    for the caller to set (a device that goes on from its newest stored sample needs no
    typical day). ``chunk``: see ``typical_energy``."""
    state = State.empty(len(fleet))
    draws = [rng_for(fleet.seed, "initial", s.sn) for s in fleet.specs]
    state.soc[:] = [30 + 40 * r.random() for r in draws]
    start_day = start_ms // DAY_MS
    devices = np.arange(len(fleet)) if fresh is None else np.flatnonzero(fresh)
    if len(devices):
        days = _days_by_month(fleet.commissioned_day, start_day)  # (D, 12)
        energy = typical_energy(fleet, devices, chunk)  # (12, D, C)
        counters = np.einsum("dm,mdc->dc", days, energy)
        state.counters[devices] = counters[devices]
    state.last_ms[:] = start_ms
    state.yield_base = state.counters[:, COUNTER["generation"]].copy()
    return state


def _days_by_month(first_day: IA, end_day: int) -> F:
    """For each device, how many days of each calendar month lie in [first_day, end_day)."""
    firsts, which = np.unique(first_day, return_inverse=True)
    table = np.zeros((len(firsts), 12))
    for k, first in enumerate(firsts.tolist()):
        if first >= end_day:
            continue
        days = np.arange(first, end_day).astype("datetime64[D]")
        months = days.astype("datetime64[M]").astype(np.int64) % 12
        table[k] = np.bincount(months, minlength=12)
    return table[np.asarray(which, dtype=np.int64).reshape(-1)]


__all__ += ["INVERTER_INPUT", "initial_state", "part", "simulate", "typical_energy"]
