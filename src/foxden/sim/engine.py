"""One UTC day of a fleet at a time: exogenous inputs (sun, weather, load) for the whole day
at once, then the battery and grid step by step, then every telemetry variable.

Randomness is keyed by (seed, purpose, device or plant, day), so a day comes out the same
whether it is backfilled in one go or simulated live a sample at a time: the same seed
always gives the same data.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from foxden.protocol import hardware, models, telemetry
from foxden.sim import battery as bt
from foxden.sim import control as ctl
from foxden.sim import physics as ph
from foxden.sim.control import Controls

F = npt.NDArray[np.float64]
IA = npt.NDArray[np.int64]

DAY_MS = 86_400_000
STEP_MS = 300_000
STEPS = DAY_MS // STEP_MS
STRINGS = 2
COUNTER = {name: i for i, name in enumerate(telemetry.COUNTERS)}
RUNNING_ON_GRID, RUNNING_FAULT = 163, 165


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


@dataclass(slots=True)
class Fleet:
    """Static parameters of the fleet's devices, one row each, drawn from the seed."""

    specs: list[DeviceSpec]
    seed: int
    lat: F = field(init=False)
    lon: F = field(init=False)
    rating_kw: F = field(init=False)
    capacity_kwh: F = field(init=False)
    max_charge_kw: F = field(init=False)
    phases: IA = field(init=False)
    base_load: F = field(init=False)
    temp_offset: F = field(init=False)
    volt_base: F = field(init=False)
    offset_ms: IA = field(init=False)
    soh: F = field(init=False)
    tilt: F = field(init=False)
    surface_azimuth: F = field(init=False)
    kwp: F = field(init=False)
    phase_split: F = field(init=False)
    packs: bt.Packs = field(init=False)

    def __post_init__(self) -> None:
        self.lat = np.array([s.latitude for s in self.specs], dtype=np.float64)
        self.lon = np.array([s.longitude for s in self.specs], dtype=np.float64)
        self.rating_kw = np.array([s.model.rated_power_w / 1000 for s in self.specs])
        self.packs = bt.Packs.of([s.model for s in self.specs])
        self.capacity_kwh = self.packs.capacity_kwh
        self.max_charge_kw = self.packs.max_charge_kw
        self.phases = np.array([s.model.phases for s in self.specs], dtype=np.int64)
        draws = [rng_for(self.seed, "device", s.sn) for s in self.specs]
        self.base_load = np.array([0.2 + 0.25 * r.random() for r in draws])
        self.temp_offset = np.array([r.normal(0, 1.5) for r in draws])
        self.volt_base = np.array([236 + 8 * r.random() for r in draws])
        self.offset_ms = np.array(
            [int(r.integers(0, STEP_MS - 5_000)) for r in draws], dtype=np.int64
        )
        self.soh = np.array([float(r.integers(96, 101)) for r in draws])
        south = np.where(self.lat >= 0, 180.0, 0.0)
        self.tilt = np.array([[30 + 10 * r.random(), 25 + 10 * r.random()] for r in draws])
        east_or_west = np.array([70.0 if r.random() < 0.5 else -70.0 for r in draws])
        self.surface_azimuth = np.stack(
            [south + np.array([r.normal(0, 15) for r in draws]), south + east_or_west], axis=1
        )
        share = np.array([0.55 + 0.2 * r.random() for r in draws])
        kwp_total = np.array([hardware.array_kwp(s.sn, s.model.name) for s in self.specs])
        self.kwp = np.stack([kwp_total * share, kwp_total * (1 - share)], axis=1)
        self.phase_split = np.array([r.dirichlet([6, 4, 3]) for r in draws])

    def __len__(self) -> int:
        return len(self.specs)


@dataclass(slots=True)
class State:
    """What carries from one sample to the next, per device."""

    soc: F
    counters: F  # (D, len(COUNTERS)), kWh
    last_ms: IA  # time of the previous sample (0: none yet)
    yield_day: IA  # local date ordinal todayYield counts from
    yield_base: F  # generation counter at that local midnight

    @classmethod
    def initial(cls, fleet: Fleet) -> State:
        draws = [rng_for(fleet.seed, "initial", s.sn) for s in fleet.specs]
        counters = np.array([[1000 + 4000 * r.random()] * len(COUNTER) for r in draws]).reshape(
            len(fleet), len(COUNTER)
        )
        counters = np.round(counters * np.linspace(1.0, 0.4, len(COUNTER)), 1)
        return cls(
            soc=np.array([30 + 40 * r.random() for r in draws]),
            counters=counters,
            last_ms=np.zeros(len(fleet), dtype=np.int64),
            yield_day=np.zeros(len(fleet), dtype=np.int64),
            yield_base=counters[:, COUNTER["generation"]].copy(),
        )


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
    volt_noise: F
    freq: F
    reactive: F


def _local_parts(times: IA, zones: list[ZoneInfo]) -> tuple[F, IA, F, npt.NDArray[np.bool_]]:
    """Local minute of day, local date ordinal, day of year and weekend, per (T, D)."""
    minute = np.empty(times.shape)
    ordinal = np.empty(times.shape, dtype=np.int64)
    doy = np.empty(times.shape)
    weekend = np.empty(times.shape, dtype=bool)
    by_zone: dict[ZoneInfo, list[int]] = {}
    for j, z in enumerate(zones):
        by_zone.setdefault(z, []).append(j)
    for zone, cols in by_zone.items():
        # a zone's offset is constant within a 5-minute step; sample it on the step grid
        base = times[:, cols[0]] - times[:, cols[0]] % STEP_MS
        offsets = np.array([_offset_ms(int(b), zone) for b in base])
        local = times[:, cols] + offsets[:, None].astype(np.int64)
        days = local // DAY_MS
        minute[:, cols] = (local % DAY_MS) / 60_000
        ordinal[:, cols] = days + 719_163  # days since 0001-01-01 of the local date
        doy[:, cols] = _day_of_year(days)
        weekend[:, cols] = ((days + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    return minute, ordinal, doy, weekend


def _offset_ms(ms: int, zone: ZoneInfo) -> float:
    offset = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).utcoffset()
    return offset.total_seconds() * 1000 if offset is not None else 0.0


def _day_of_year(days_since_epoch: IA) -> F:
    days = days_since_epoch.astype("datetime64[D]")
    year_start = days.astype("datetime64[Y]").astype("datetime64[D]")
    return np.asarray((days - year_start).astype(np.int64) + 1, dtype=np.float64)


def exogenous(fleet: Fleet, day: int) -> Exogenous:
    """Sun, weather and household load of every device over UTC day ``day``."""
    d = len(fleet)
    jitter = (
        np.stack(
            [
                rng_for(fleet.seed, "jitter", s.sn, day).integers(0, 2_500, STEPS)
                for s in fleet.specs
            ],
            axis=1,
        )
        if d
        else np.zeros((STEPS, 0), dtype=np.int64)
    )
    times = (
        (day * DAY_MS + np.arange(STEPS, dtype=np.int64) * STEP_MS)[:, None]
        + fleet.offset_ms[None, :]
        + jitter
    )
    minute, ordinal, doy, weekend = _local_parts(times, [s.zone for s in fleet.specs])
    zenith, azimuth = ph.sun_position(times / 1000.0, fleet.lat[None, :], fleet.lon[None, :])
    cloud = np.empty((STEPS, d))
    for j, spec in enumerate(fleet.specs):
        # weather belongs to the plant's local day, so it never jumps at UTC midnight
        for date in np.unique(ordinal[:, j]):
            rows = ordinal[:, j] == date
            series = _local_day_weather(fleet.seed, spec.plant, int(date), spec.latitude)
            cloud[rows, j] = series[(minute[rows, j] // 5).astype(np.int64) % STEPS]
    ghi = ph.clear_sky_ghi(zenith) * cloud
    poa = ph.plane_of_array(ghi, zenith, azimuth, doy, fleet.tilt, fleet.surface_azimuth)
    ambient = ph.ambient_temperature(
        doy, minute / 60, fleet.lat[None, :], cloud, fleet.temp_offset[None, :]
    )
    cell = ambient[:, :, None] + poa / 800 * 25
    pv = (
        poa
        / 1000
        * fleet.kwp[None, :, :]
        * (1 + ph.TEMP_COEFFICIENT * (cell - 25))
        * ph.SYSTEM_DERATE
    )
    noise = np.empty((STEPS, d))
    appliances = np.empty((STEPS, d))
    volt = np.empty((STEPS, d))
    freq = np.empty((STEPS, d))
    reactive = np.empty((STEPS, d))
    for j, spec in enumerate(fleet.specs):
        r = rng_for(fleet.seed, "load", spec.sn, day)
        ar = np.zeros(STEPS)
        shocks = r.normal(0, 0.12, STEPS)
        for k in range(1, STEPS):
            ar[k] = 0.8 * ar[k - 1] + shocks[k]
        # a kettle, an oven, a shower: a few kW on top of whatever else runs
        appliances[:, j] = (r.random(STEPS) < 0.03) * r.uniform(1.0, 2.5, STEPS)
        noise[:, j] = np.exp(ar)
        volt[:, j] = r.normal(0, 1.2, STEPS)
        freq[:, j] = 50 + r.normal(0, 0.015, STEPS)
        reactive[:, j] = r.normal(0, 0.03, STEPS)
    load = (
        ph.household_load(
            minute / 60, weekend, doy, fleet.lat[None, :], fleet.base_load[None, :], noise
        )
        + appliances
    )
    return Exogenous(
        times,
        minute,
        ordinal,
        zenith,
        poa,
        cloud,
        ambient,
        cell,
        np.clip(pv, 0, None),
        load,
        volt,
        freq,
        reactive,
    )


@functools.lru_cache(maxsize=512)
def _local_day_weather(seed: int, plant: str, date_ordinal: int, latitude: float) -> F:
    """Cloud factor over one local day of one plant, one value per 5 minutes."""
    r = rng_for(seed, "weather", plant, date_ordinal)
    doy = datetime.fromordinal(date_ordinal).timetuple().tm_yday
    winter = np.cos(2 * np.pi * (doy - 15) / 365.25) * (1 if latitude >= 0 else -1)
    p_overcast = 0.2 + 0.15 * winter
    p_clear = 0.35 - 0.1 * winter
    day_type = int(r.choice(3, p=[p_clear, 1 - p_clear - p_overcast, p_overcast]))
    series = ph.cloud_series(r, STEPS, day_type)
    series.setflags(write=False)
    return series


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
    ex = ex if ex is not None else exogenous(fleet, day)
    d = len(fleet)
    in_range = (ex.times > after_ms) & (ex.times <= until_ms) & (ex.times > state.last_ms[None, :])
    rows = np.flatnonzero(in_range.any(axis=1))
    goal = ctl.targets(controls, ex.local_minute)
    faulted = controls.fault > 0
    t = len(rows)
    out: dict[str, F] = {}
    rec = {
        k: np.full((t, d), np.nan)
        for k in (
            "pv_ac",
            "pv_scale",
            "charge",
            "discharge",
            "import",
            "export",
            "soc",
            "gen",
            "load",
        )
    }
    counters = np.full((t, d, len(COUNTER)), np.nan)
    today = np.full((t, d), np.nan)
    for i, k in enumerate(rows):
        active = in_range[k]
        dt_h = np.where(
            state.last_ms > 0, (ex.times[k] - state.last_ms) / 3_600_000, STEP_MS / 3_600_000
        )
        dt_h = np.clip(dt_h, 1e-6, 1.0)
        pv_dc = ex.pv_dc_strings[k].sum(axis=1)
        pv_ac = np.where(faulted, 0.0, np.minimum(pv_dc * ph.INVERTER_EFFICIENCY, fleet.rating_kw))
        load = ex.load[k]
        floor, ceiling = goal.floor[k], goal.ceiling[k]
        can_charge, can_discharge = bt.headroom(
            fleet.packs,
            state.soc,
            floor,
            ceiling,
            dt_h,
            bt.temperature(ex.ambient[k], 0 * load, 0 * load, fleet.max_charge_kw),
            controls.charge_current_a,
            controls.discharge_current_a,
        )
        can_charge = np.where(faulted, 0.0, can_charge)
        can_discharge = np.where(faulted, 0.0, can_discharge)
        charge, discharge = ctl.dispatch(
            goal.mode[k],
            pv_ac - load,
            can_charge,
            can_discharge,
            controls.export_limit_kw,
            goal.power_kw[k],
        )
        # the inverter's AC output (PV plus battery) never exceeds its rating
        discharge = np.minimum(discharge, np.clip(fleet.rating_kw - pv_ac, 0, None))
        imported, exported, pv_ac, discharge = ctl.grid_flows(
            load, pv_ac, charge, discharge, controls.export_limit_kw
        )
        gen = np.clip(pv_ac + discharge - charge, 0, None)
        soc = bt.soc_after(state.soc, charge, discharge, fleet.capacity_kwh, dt_h)
        pv_used_dc = pv_ac / ph.INVERTER_EFFICIENCY
        powers = np.stack(
            [gen, exported, imported, load, charge, discharge, pv_used_dc, charge + discharge],
            axis=1,
        )
        new_counters = state.counters + powers * dt_h[:, None]
        state.soc = np.where(active, soc, state.soc)
        state.counters = np.where(active[:, None], new_counters, state.counters)
        state.last_ms = np.where(active, ex.times[k], state.last_ms)
        new_day = active & (ex.local_date[k] != state.yield_day)
        state.yield_base = np.where(
            new_day, state.counters[:, COUNTER["generation"]] - gen * dt_h, state.yield_base
        )
        state.yield_day = np.where(new_day, ex.local_date[k], state.yield_day)
        for name, value in (
            ("pv_ac", pv_ac),
            ("charge", charge),
            ("discharge", discharge),
            ("import", imported),
            ("export", exported),
            ("soc", state.soc),
            ("gen", gen),
            ("load", load),
            ("pv_scale", np.where(pv_dc > 0, pv_used_dc / np.maximum(pv_dc, 1e-9), 0.0)),
        ):
            rec[name][i] = np.where(active, value, np.nan)
        counters[i] = np.where(active[:, None], state.counters, np.nan)
        today[i] = np.where(
            active, state.counters[:, COUNTER["generation"]] - state.yield_base, np.nan
        )
    times = np.where(in_range[rows], ex.times[rows], 0)
    out = _variables(fleet, ex, rows, rec, counters, today, controls)
    return times, out


def _variables(
    fleet: Fleet,
    ex: Exogenous,
    rows: IA,
    rec: dict[str, F],
    counters: F,
    today: F,
    controls: Controls,
) -> dict[str, F]:
    """Every telemetry variable from the recorded flows, (T, D) each."""
    strings = ex.pv_dc_strings[rows] * rec["pv_scale"][:, :, None]
    cell = ex.cell_temp[rows]
    lit = ex.poa[rows] > 5
    vmp = np.where(lit, 360 * (1 - 0.0035 * (cell - 25)), 2.0 * (ex.poa[rows] > 0.5))
    amb = ex.ambient[rows]
    gen, load = rec["gen"], rec["load"]
    charge, discharge = rec["charge"], rec["discharge"]
    volt = fleet.volt_base[None, :] + ex.volt_noise[rows]
    bat_dc = bt.dc_power(charge, discharge)
    bat_volt, bat_current = fleet.packs.terminal(rec["soc"], bat_dc)
    v: dict[str, F] = {}
    v["pvPower"] = strings.sum(axis=2)
    for i in range(18):
        s_power = strings[:, :, i] if i < STRINGS else np.zeros_like(gen)
        s_volt = vmp[:, :, i] if i < STRINGS else np.zeros_like(gen)
        v[f"pv{i + 1}Power"] = s_power
        v[f"pv{i + 1}Volt"] = s_volt
        v[f"pv{i + 1}Current"] = np.where(s_volt > 50, s_power * 1000 / np.maximum(s_volt, 1), 0.0)
    three = (fleet.phases == 3)[None, :]
    split = np.where(three[..., None], fleet.phase_split[None, :, :], np.array([1.0, 0.0, 0.0]))
    meter = rec["import"] - rec["export"]
    for p, ph_name in enumerate("RST"):
        share = split[:, :, p]
        v[f"{ph_name}Power"] = gen * np.where(three, 1 / 3, 1.0 if p == 0 else 0.0)
        v[f"{ph_name}Volt"] = volt + p * 0.7
        v[f"{ph_name}Current"] = np.abs(v[f"{ph_name}Power"]) * 1000 / v[f"{ph_name}Volt"]
        v[f"{ph_name}Freq"] = ex.freq[rows]
        v[f"loadsPower{ph_name}"] = load * share
        v[f"meterPower{ph_name}"] = meter * share
        v[f"epsVolt{ph_name}"] = volt
        v[f"epsCurrent{ph_name}"] = np.zeros_like(gen)
        v[f"epsPower{ph_name}"] = np.zeros_like(gen)
    v["epsPower"] = np.zeros_like(gen)
    v["ambientTemperation"] = amb + 3
    v["boostTemperation"] = amb + 6 + 18 * v["pvPower"] / fleet.rating_kw[None, :]
    v["invTemperation"] = amb + 5 + 15 * gen / fleet.rating_kw[None, :]
    v["dspTemperature"] = amb + 9 + 10 * gen / fleet.rating_kw[None, :]
    bat_temp = (
        18
        + 0.3 * (amb - 18)
        + 5 * (charge + discharge) / np.maximum(fleet.max_charge_kw[None, :], 0.1)
    )
    v["batTemperature"] = bat_temp
    v["chargeTemperature"] = bat_temp + 0.5
    v["loadsPower"] = load
    v["generationPower"] = gen
    v["feedinPower"] = rec["export"]
    v["gridConsumptionPower"] = rec["import"]
    v["meterPower"] = meter
    v["meterPower2"] = np.zeros_like(gen)
    # the inverter's battery port: AC-side power, the pack's voltage a cable's drop away
    v["invBatVolt"] = bat_volt + 0.4 * np.sign(bat_current)
    v["invBatPower"] = discharge - charge
    v["invBatCurrent"] = np.where(
        v["invBatVolt"] > 0, v["invBatPower"] * 1000 / np.maximum(v["invBatVolt"], 1e-9), 0.0
    )
    v["batChargePower"] = charge
    v["batDischargePower"] = discharge
    v["batVolt"] = bat_volt
    v["batCurrent"] = -bat_current  # positive discharging, as invBatPower
    v["SoC"] = np.round(rec["soc"])
    v["ResidualEnergy"] = rec["soc"] / 100 * fleet.capacity_kwh[None, :] * 100
    v["batStatus"] = np.where(charge > 0.01, 1.0, np.where(discharge > 0.01, 2.0, 0.0))
    v["batStatusV2"] = v["batStatus"]
    v["SOH"] = np.broadcast_to(fleet.soh[None, :], gen.shape).copy()
    v["ReactivePower"] = ex.reactive[rows]
    v["PowerFactor"] = np.where(gen > 0.05, 0.99 + 0.009 * np.tanh(gen), 1.0)
    v["todayYield"] = today
    for name, i in COUNTER.items():
        v[name] = counters[:, :, i]
    faulted = (controls.fault > 0)[None, :]
    v["runningState"] = np.where(faulted, float(RUNNING_FAULT), float(RUNNING_ON_GRID)) + 0 * gen
    v["currentFault"] = np.broadcast_to(controls.fault[None, :].astype(float), gen.shape) + 0 * gen
    v["currentFaultCount"] = np.where(faulted, 1.0, 0.0) + 0 * gen
    return v
