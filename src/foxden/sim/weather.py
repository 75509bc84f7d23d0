"""Weather from climatology: the Ineichen clear sky with the SoDa Linke turbidity
climatology (``sim.sky``), monthly clearness from tables of measured monthly irradiation, a daily
persistence process, passing clouds within a day, and air temperature.

Everything here belongs to a plant and its local day, and is keyed by (seed, plant, date),
so any day comes out the same whether it is backfilled or simulated live.

Sources of the monthly tables (rounded; docs/physics.md says how far each was checked):
- Global horizontal irradiation, mean kWh/m2 a day per month: PVGIS (EU JRC), PVGIS-SARAH
  monthly radiation for north-west England (Manchester area) and Berlin; the Bureau of
  Meteorology's satellite-derived mean daily global solar exposure (1990-2019 grids) at
  Sydney Observatory Hill's position (the station itself has no pyranometer).
- Mean air temperature per month: Met Office 1981-2010 averages for Manchester Ringway (the
  mean of the daily maximum and minimum), DWD (Berlin-Tempelhof), Bureau of Meteorology
  (Sydney Observatory Hill).
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from foxden.sim import sky

F = npt.NDArray[np.float64]

STEPS = 288  # 5-minute slots of a day
PERSISTENCE = 0.4
"""Lag-1 correlation of the daily process behind the clear-sky index (AR(1), order 30)."""
SPREAD = 1.1
"""Spread of the daily process: how far apart a grey and a bright day of one month are."""
CLOUD_TRANSMISSION = 0.3
"""Share of the clear-sky light under a passing cloud."""
MAX_CLEAR_INDEX = 1.0


@dataclass(frozen=True, slots=True)
class Climate:
    """A place's monthly climate: ``ghi`` mean kWh/m2 a day, ``temperature`` mean °C."""

    name: str
    latitude: float
    ghi: tuple[float, ...]
    temperature: tuple[float, ...]
    swing: float
    """Half the mean daily temperature range on a clear day, °C."""


CLIMATES: dict[str, Climate] = {
    "GB": Climate(
        "north-west England",
        53.4,
        (0.55, 1.15, 2.15, 3.45, 4.45, 4.75, 4.55, 3.8, 2.65, 1.5, 0.75, 0.45),
        (4.5, 4.6, 6.7, 8.8, 11.9, 14.6, 16.6, 16.4, 14.0, 10.7, 7.1, 4.6),
        4.5,
    ),
    "DE": Climate(
        "Berlin",
        52.5,
        (0.6, 1.3, 2.55, 4.05, 5.15, 5.45, 5.3, 4.55, 3.1, 1.7, 0.8, 0.5),
        (0.6, 1.4, 4.8, 9.6, 14.3, 17.5, 19.6, 19.1, 15.0, 10.0, 5.2, 1.8),
        5.0,
    ),
    "AU": Climate(
        "Sydney",
        -33.9,
        (6.6, 5.7, 4.75, 3.65, 2.75, 2.4, 2.65, 3.5, 4.6, 5.6, 6.25, 6.7),
        (23.0, 23.0, 21.8, 19.1, 16.2, 13.7, 12.9, 14.1, 16.5, 18.6, 20.2, 21.9),
        4.0,
    ),
}


def climate_for(country: str, latitude: float) -> Climate:
    """The country's table, else the one whose latitude is nearest (the southern one shifted
    by six months when the hemispheres differ)."""
    found = CLIMATES.get(country.upper())
    if found is not None:
        return found
    best = min(CLIMATES.values(), key=lambda c: abs(abs(c.latitude) - abs(latitude)))
    if (best.latitude >= 0) == (latitude >= 0):
        return best
    return Climate(
        best.name + " (seasons shifted)",
        -best.latitude,
        best.ghi[6:] + best.ghi[:6],
        best.temperature[6:] + best.temperature[:6],
        best.swing,
    )


def _unit_key(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def clear_sky(zenith: F, day_of_year: F, linke: F) -> F:
    """Clear-sky global horizontal irradiance, W/m2 (the Ineichen-Perez model)."""
    lit = zenith < 90
    safe = np.where(lit, zenith, 89.0)
    airmass = sky.relative_airmass(safe)
    extra = sky.extraterrestrial(day_of_year)
    with np.errstate(divide="ignore", invalid="ignore"):
        ghi = sky.clear_sky_ghi(safe, airmass, linke, extra)
    return np.where(lit, np.nan_to_num(ghi), 0.0)


@functools.lru_cache(maxsize=1024)
def linke_turbidity(latitude: float, longitude: float) -> F:
    """Linke turbidity for each day of the year (index 0 is 1 January; index 365, for the
    last day of a leap year, repeats 1 January), from the monthly climatology interpolated
    between the months' middles of a common year."""
    days = np.arange(1, 367, dtype=np.float64)
    days[365] = 1.0
    values = sky.linke_by_day(sky.linke_months(latitude, longitude), days, 365)
    values.setflags(write=False)
    return values


def _solar_geometry(latitude: float, doy: F, hours: F) -> F:
    """Zenith in degrees from the declination and hour angle (for daily sums only)."""
    decl = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy) / 365)
    hour_angle = np.radians(15 * (hours - 12))
    lat = math.radians(latitude)
    cos_z = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    return np.asarray(np.degrees(np.arccos(np.clip(cos_z, -1, 1))), dtype=np.float64)


@functools.lru_cache(maxsize=4096)
def clear_index_by_month(country: str, latitude: float, longitude: float) -> tuple[float, ...]:
    """Mean clear-sky index of each month: the table's irradiation over the clear-sky
    irradiation of the same month at this place (Ineichen, Linke climatology)."""
    climate = climate_for(country, latitude)
    linke = linke_turbidity(latitude, longitude)
    out = []
    hours = np.arange(0, 24, 1 / 12) + 1 / 24
    for month in range(12):
        first = date(2021, month + 1, 1).timetuple().tm_yday
        days = np.arange(first, first + 28, dtype=np.float64)
        doy = np.repeat(days, len(hours))
        zen = _solar_geometry(latitude, doy, np.tile(hours, len(days)))
        ghi = clear_sky(zen, doy, linke[doy.astype(np.int64) - 1])
        clear_kwh = float(ghi.sum()) / 12 / 1000 / len(days)
        out.append(min(climate.ghi[month] / max(clear_kwh, 1e-6), MAX_CLEAR_INDEX))
    return tuple(out)


@functools.lru_cache(maxsize=8192)
def _innovation(seed: int, plant: str, ordinal: int) -> float:
    r = np.random.default_rng([seed, _unit_key("clearness", plant, ordinal)])
    return float(r.standard_normal())


@functools.lru_cache(maxsize=4096)
def daily_anomaly(seed: int, plant: str, ordinal: int) -> float:
    """The plant's weather anomaly on a local date: a unit-variance AR(1) process with lag-1
    correlation PERSISTENCE, as a weighted sum of the last 30 days' innovations (so any day
    can be computed on its own)."""
    scale = math.sqrt(1 - PERSISTENCE**2)
    return scale * sum(PERSISTENCE**k * _innovation(seed, plant, ordinal - k) for k in range(30))


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _phi_inverse(p: float) -> float:
    """Inverse of the standard normal distribution (bisection; p in (0, 1))."""
    lo, hi = -8.0, 8.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _phi(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def day_clear_index(mean: float, anomaly: float) -> float:
    """A day's clear-sky index from the month's mean and the day's anomaly: Phi(a + b z) has
    mean Phi(a / sqrt(1 + b^2)), which fixes ``a`` so the month's mean is kept."""
    mean = min(max(mean, 0.02), 0.98)
    a = math.sqrt(1 + SPREAD**2) * _phi_inverse(mean)
    return _phi(a + SPREAD * anomaly)


def month_position(ordinal: int) -> tuple[int, int, float]:
    """(this month, the neighbouring month, weight of the neighbour) for a smooth year."""
    d = date.fromordinal(ordinal)
    days = (date(d.year + (d.month == 12), d.month % 12 + 1, 1) - date(d.year, d.month, 1)).days
    middle = (days + 1) / 2
    offset = (d.day - middle) / days
    other = (d.month % 12) if offset >= 0 else (d.month - 2) % 12
    return d.month - 1, other, abs(offset)


def monthly(values: tuple[float, ...], ordinal: int) -> float:
    """A monthly table's value on a date, interpolated between month middles."""
    this, other, w = month_position(ordinal)
    return (1 - w) * values[this] + w * values[other]


@dataclass(frozen=True, slots=True)
class Day:
    """One plant's weather over one local day, 5-minute slots from local midnight."""

    clear_index: float
    cloud: F  # share of the clear-sky light reaching the ground, per slot
    temperature: F  # air, °C, per slot


@functools.lru_cache(maxsize=2048)
def local_day(
    seed: int, plant: str, ordinal: int, country: str, latitude: float, longitude: float
) -> Day:
    """Weather of one local day of one plant."""
    climate = climate_for(country, latitude)
    k_month = monthly(clear_index_by_month(country, latitude, longitude), ordinal)
    anomaly = daily_anomaly(seed, plant, ordinal)
    k_day = day_clear_index(k_month, anomaly)
    r = np.random.default_rng([seed, _unit_key("clouds", plant, ordinal)])
    cloud = passing_clouds(r, k_day)
    hours = (np.arange(STEPS) + 0.5) / 12
    mean_t = monthly(climate.temperature, ordinal) + 2.0 * anomaly * (1 if k_month > 0.6 else 0.5)
    swing = climate.swing * (0.4 + 0.9 * k_day)
    temp = mean_t + swing * np.sin((hours - 9) / 24 * 2 * np.pi) + r.normal(0, 0.3, STEPS)
    cloud.setflags(write=False)
    temp.setflags(write=False)
    return Day(k_day, cloud, temp)


def passing_clouds(r: np.random.Generator, k_day: float) -> F:
    """Clear spells and clouds through a day whose light averages ``k_day`` of a clear sky:
    a two-state process (clear 1.0, cloud CLOUD_TRANSMISSION) with dwell times of tens of
    minutes, scaled so its daylight mean is ``k_day``; bright edges of clouds may pass 1."""
    if k_day >= 0.97:
        return np.asarray(np.clip(k_day + r.normal(0, 0.01, STEPS), 0.9, 1.02), dtype=np.float64)
    tau = min(CLOUD_TRANSMISSION, k_day * 0.9)
    clear_share = (k_day - tau) / (1 - tau)
    # mean dwell ~ 25 minutes in either state; the flip rates keep the clear share
    rate = 5 / 25
    to_cloud = rate * (1 - clear_share) * 2
    to_clear = rate * clear_share * 2
    state = np.empty(STEPS)
    clear = r.random() < clear_share
    flips = r.random(STEPS)
    for i in range(STEPS):
        if clear and flips[i] < to_cloud:
            clear = False
        elif not clear and flips[i] < to_clear:
            clear = True
        state[i] = 1.0 if clear else tau
    smooth = np.convolve(state, np.ones(3) / 3, mode="same") + r.normal(0, 0.02, STEPS)
    daylight = slice(STEPS // 4, 3 * STEPS // 4)
    smooth *= k_day / max(float(smooth[daylight].mean()), 1e-6)
    return np.asarray(np.clip(smooth, 0.1, 1.15), dtype=np.float64)


@functools.lru_cache(maxsize=512)
def typical_day(ordinal: int, country: str, latitude: float, longitude: float) -> Day:
    """A climatologically average day: the month's mean clear-sky index all day long, the
    month's mean temperature and swing (lifetime counters are seeded from these)."""
    climate = climate_for(country, latitude)
    k_month = monthly(clear_index_by_month(country, latitude, longitude), ordinal)
    hours = (np.arange(STEPS) + 0.5) / 12
    swing = climate.swing * (0.4 + 0.9 * k_month)
    temp = monthly(climate.temperature, ordinal) + swing * np.sin((hours - 9) / 24 * 2 * np.pi)
    cloud = np.full(STEPS, k_month)
    cloud.setflags(write=False)
    temp.setflags(write=False)
    return Day(k_month, cloud, temp)
