"""One household per plant: its demand over a local day, sized by country and season.

Annual consumption by country (typical household, docs/physics.md gives the sources):
GB about 2,700-3,600 kWh, DE 3,000-4,000, AU 5,500-7,000. A plant's household is drawn once
from the seed (90-110 % of its country's middle figure), and every day takes its share of
the year from the season: more in winter where heating and lighting dominate, a second
(cooling) bump in summer where air conditioning is common. Within the day: a base load,
morning and evening peaks, daytime use at weekends, appliance runs (kettle, oven, washing
machine, dishwasher) of a few kilowatts, and short-term noise.

The plant's inverters share the one household behind one meter (``engine`` does the
arithmetic): grid-tied inverters are AC-coupled and feed whatever the house takes; the battery
inverters follow what is left, shared in proportion to their ratings (``shares``).
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]

STEPS = 288
STEP_H = 5 / 60


@dataclass(frozen=True, slots=True)
class Usage:
    """A country's household: kWh a year, and how the season moves it."""

    kwh_a_year: float
    heating: float  # winter extra, share of the mean day
    cooling: float  # summer extra, share of the mean day


USAGE: dict[str, Usage] = {
    "GB": Usage(3_000, 0.20, 0.0),
    "DE": Usage(3_500, 0.20, 0.0),
    "AU": Usage(6_250, 0.15, 0.15),
    "US": Usage(10_500, 0.15, 0.25),
}
DEFAULT_USAGE = Usage(3_500, 0.25, 0.05)

# appliance runs: (name, kW, minutes, runs a day on average)
APPLIANCES = (
    ("kettle", 2.8, 5, 3.0),
    ("oven", 2.2, 45, 0.6),
    ("washing machine", 2.0, 60, 0.5),
    ("dishwasher", 1.8, 60, 0.5),
    ("shower", 8.5, 10, 0.0),  # electric showers are British; only GB runs them
)


def usage_for(country: str) -> Usage:
    return USAGE.get(country.upper(), DEFAULT_USAGE)


def _key(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


@functools.lru_cache(maxsize=256)
def plant_scale(seed: int, plant: str) -> float:
    """This household's size against its country's middle figure (0.9-1.1)."""
    r = np.random.default_rng([seed, _key("household", plant)])
    return 0.9 + 0.2 * float(r.random())


def season(ordinal: int, latitude: float, usage: Usage) -> float:
    """The day's consumption against the year's mean day (averages 1 over a year)."""
    doy = date.fromordinal(ordinal).timetuple().tm_yday
    winter = math.cos(2 * math.pi * (doy - 15) / 365.25) * (1 if latitude >= 0 else -1)
    return 1 + usage.heating * winter + usage.cooling * (max(-winter, 0) - 1 / math.pi)


def _bump(hours: F, center: float, width: float) -> F:
    return np.asarray(np.exp(-0.5 * ((hours - center) / width) ** 2))


@functools.cache
def shape(weekend: bool) -> F:
    """Relative demand over the day's 5-minute slots, mean 1."""
    hours: F = (np.arange(STEPS, dtype=np.float64) + 0.5) * STEP_H
    if weekend:
        profile = 0.45 + 0.7 * _bump(hours, 9.0, 1.5) + 0.6 * _bump(hours, 13.5, 2.5)
    else:
        profile = 0.45 + 0.9 * _bump(hours, 7.3, 0.8) + 0.2 * _bump(hours, 13.0, 2.5)
    profile = profile + 1.5 * _bump(hours, 18.8, 1.6) + 0.4 * _bump(hours, 21.5, 1.2)
    profile = profile - 0.15 * _bump(hours, 3.5, 1.5)
    return np.asarray(profile / profile.mean(), dtype=np.float64)


@functools.lru_cache(maxsize=2048)
def local_day(seed: int, plant: str, ordinal: int, country: str, latitude: float) -> F:
    """Household demand of one plant over one local day, kW per 5-minute slot."""
    usage = usage_for(country)
    r = np.random.default_rng([seed, _key("load", plant, ordinal)])
    weekend = date.fromordinal(ordinal).weekday() >= 5
    day_kwh = (
        usage.kwh_a_year
        / 365.25
        * plant_scale(seed, plant)
        * season(ordinal, latitude, usage)
        * math.exp(r.normal(0, 0.12) - 0.12**2 / 2)
        * (1.08 if weekend else 0.97)
    )
    runs = np.zeros(STEPS)
    awake = _awake()
    for name, kw, minutes, per_day in APPLIANCES:
        if name == "shower" and country.upper() == "GB":
            per_day = 0.7
        for _ in range(int(r.poisson(per_day))):
            start = int(r.choice(STEPS, p=awake))
            length = max(1, round(minutes / 5))
            runs[start : start + length] += kw * min(1.0, minutes / 5)
    appliance_kwh = float(runs.sum()) * STEP_H
    rest_kwh = max(day_kwh - appliance_kwh, day_kwh * 0.35)
    noise = _ar1(r.normal(0, 0.1, STEPS), 0.85)
    base = shape(weekend) * np.exp(noise - noise.mean())
    base *= rest_kwh / (float(base.sum()) * STEP_H)
    load = np.asarray(base + runs, dtype=np.float64)
    load.setflags(write=False)
    return load


def _ar1(shocks: F, persistence: float) -> F:
    """A first-order autoregressive process driven by ``shocks``, starting at rest:
    y[n] = shocks[n] + persistence * y[n - 1]."""
    out = np.empty_like(shocks)
    previous = 0.0
    for n, shock in enumerate(shocks.tolist()):
        previous = shock + persistence * previous
        out[n] = previous
    return out


@functools.cache
def _awake() -> F:
    """When appliance runs start: a distribution over the day's slots."""
    hours: F = (np.arange(STEPS, dtype=np.float64) + 0.5) * STEP_H
    awake = 0.15 + _bump(hours, 8.0, 1.5) + 1.3 * _bump(hours, 18.5, 2.0)
    awake = awake + 0.5 * _bump(hours, 13.0, 3.0)
    return np.asarray(awake / awake.sum(), dtype=np.float64)


def shares(ratings_kw: F, plant_index: npt.NDArray[np.int64], follows: npt.NDArray[np.bool_]) -> F:
    """Each inverter's share of the load its plant's battery inverters follow: its rating
    over the total of the plant's inverters that ``follows`` (0 for the others)."""
    weights = np.where(follows, ratings_kw, 0.0)
    total = np.bincount(plant_index, weights=weights)
    return np.asarray(weights / np.maximum(total[plant_index], 1e-9), dtype=np.float64)


@functools.lru_cache(maxsize=512)
def typical_day(seed: int, plant: str, ordinal: int, country: str, latitude: float) -> F:
    """The household's average day of the season (a weekday and weekend mix, no appliance
    runs or noise of its own): lifetime counters are seeded from these."""
    usage = usage_for(country)
    day_kwh = (
        usage.kwh_a_year / 365.25 * plant_scale(seed, plant) * season(ordinal, latitude, usage)
    )
    mix = (5 * shape(False) + 2 * shape(True)) / 7
    load = np.asarray(mix * day_kwh / (float(mix.sum()) * STEP_H), dtype=np.float64)
    load.setflags(write=False)
    return load


# ---------------------------------------------------------------- an EV and a heat pump

EV_KW = 7.0
"""A home charger's rate (7 kW single phase, the common UK/EU wallbox)."""
EV_EVENINGS = 0.35
"""Share of evenings with a charging session (two or three a week)."""
EV_SESSION_KWH = (8.0, 28.0)
"""A session's energy, uniform in this range: one to four hours at EV_KW."""
HEAT_LOSS_KW_PER_K = 0.18
"""A heat-pump house's heat loss coefficient: about 9 MWh of space heat a year in the UK."""
HEATING_BASE_C = 15.5
"""Outdoor temperature above which the house needs no space heating (degree-day base)."""
HOT_WATER_KWH = 5.0
"""Heat for hot water a day, made overnight (02:00-04:30) at the cylinder's reheat."""


@functools.lru_cache(maxsize=2048)
def ev_day(seed: int, plant: str, ordinal: int) -> F:
    """An EV's charging over one local day, kW per slot: on some evenings one session at
    EV_KW from about 19:00 (17:00-22:00) until the session's energy is in."""
    r = np.random.default_rng([seed, _key("ev", plant, ordinal)])
    load = np.zeros(STEPS)
    if r.random() < EV_EVENINGS:
        kwh = float(r.uniform(*EV_SESSION_KWH))
        hours = kwh / EV_KW
        start_h = min(float(np.clip(r.normal(19.0, 1.2), 17.0, 22.0)), 24.0 - hours)
        _fill(load, start_h, kwh, EV_KW)
    load.setflags(write=False)
    return load


@functools.cache
def ev_typical_day() -> F:
    """The EV's mean day: the mean session's energy times EV_EVENINGS, at 19:00."""
    load = np.zeros(STEPS)
    mean_kwh = sum(EV_SESSION_KWH) / 2
    _fill(load, 19.0, mean_kwh * EV_EVENINGS, EV_KW * EV_EVENINGS)
    load.setflags(write=False)
    return load


def _fill(load: F, start_h: float, kwh: float, kw: float) -> None:
    """Add ``kw`` from ``start_h`` until ``kwh`` is in (the last slot partly)."""
    slot = int(start_h / STEP_H)
    left = kwh
    while left > 1e-9 and slot < STEPS:
        step = min(kw * STEP_H, left)
        load[slot] += step / STEP_H
        left -= step
        slot += 1


def heat_pump_cop(air_c: F) -> F:
    """Coefficient of performance of an air-source heat pump at flow ~45 °C: about 2.2 at
    -7 °C, 3.0 at 7 °C, 3.6 at 15 °C (within 1.8-4.5)."""
    return np.asarray(np.clip(3.0 + 0.06 * (air_c - 7.0), 1.8, 4.5), dtype=np.float64)


def heat_pump_day(air_c: F) -> F:
    """A heat pump's electric demand over a local day, kW per slot, from the air
    temperature per slot: space heating in proportion to the degrees below
    HEATING_BASE_C (so strongly seasonal), hot water overnight, divided by the COP."""
    hours = (np.arange(STEPS, dtype=np.float64) + 0.5) * STEP_H
    space = HEAT_LOSS_KW_PER_K * np.maximum(HEATING_BASE_C - air_c, 0.0)
    water = np.where((hours >= 2.0) & (hours < 4.5), HOT_WATER_KWH / 2.5, 0.0)
    return np.asarray((space + water) / heat_pump_cop(air_c), dtype=np.float64)
