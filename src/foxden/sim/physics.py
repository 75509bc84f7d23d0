"""Pure, vectorised physics of a fleet: arrays are shaped (T, D) — times by devices — or
(D,) per device. No I/O, no clocks; randomness comes in as arguments.

Energy balance on the AC bus holds exactly at every step by construction:

    pv_ac + grid_import + discharge_ac = load + feedin + charge_ac

and the losses are stated: PV DC to AC through the inverter's efficiency, battery AC to DC
(and back) through the battery's one-way efficiency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pvlib import irradiance, spa  # type: ignore[import-untyped]

F = npt.NDArray[np.float64]

INVERTER_EFFICIENCY = 0.97
BATTERY_EFFICIENCY = 0.95  # one way; round trip about 0.90
TEMP_COEFFICIENT = -0.004  # per degree C above 25 of cell temperature
SYSTEM_DERATE = 0.93  # soiling, wiring, mismatch


def sun_position(unix_s: F, lat: F, lon: F) -> tuple[F, F]:
    """Apparent zenith and azimuth in degrees (pvlib's SPA), elementwise."""
    result = spa.solar_position_numpy(
        unix_s.ravel(),
        np.broadcast_to(lat, unix_s.shape).ravel(),
        np.broadcast_to(lon, unix_s.shape).ravel(),
        0.0,
        1013.25,
        12.0,
        69.0,
        0.5667,
        1,
    )
    zenith = np.asarray(result[0]).reshape(unix_s.shape)
    azimuth = np.asarray(result[4]).reshape(unix_s.shape)
    return zenith, azimuth


def plane_of_array(ghi: F, zenith: F, azimuth: F, day_of_year: F, tilt: F, surface_azimuth: F) -> F:
    """Irradiance on each string's plane, W/m^2: ghi (T, D) split by Erbs into beam and
    diffuse, transposed (isotropic sky) onto tilt/surface_azimuth (D, S); result (T, D, S)."""
    parts = irradiance.erbs(ghi, zenith, day_of_year)
    dni, dhi = np.nan_to_num(parts["dni"]), np.nan_to_num(parts["dhi"])
    total = irradiance.get_total_irradiance(
        tilt[None, :, :],
        surface_azimuth[None, :, :],
        zenith[:, :, None],
        azimuth[:, :, None],
        dni[:, :, None],
        ghi[:, :, None],
        dhi[:, :, None],
    )
    poa: F = np.clip(np.nan_to_num(np.asarray(total["poa_global"], dtype=np.float64)), 0.0, 1400.0)
    return poa


def clear_sky_ghi(zenith: F) -> F:
    """Global horizontal irradiance under a clear sky, W/m^2: the Haurwitz model (as
    pvlib.clearsky.haurwitz, which wants pandas; this works on any array shape)."""
    cos_z = np.cos(np.radians(zenith))
    lit = cos_z > 0.01
    safe = np.where(lit, cos_z, 1.0)
    return np.where(lit, 1098.0 * safe * np.exp(-0.059 / safe), 0.0)


def cloud_series(rng: np.random.Generator, steps: int, day_type: int) -> F:
    """Fraction of clear-sky light reaching the ground over one day.

    day_type 0 clear, 1 broken cloud (a random telegraph between gaps and clouds),
    2 overcast (low and grey with slow drift)."""
    if day_type == 0:
        clear: F = np.clip(0.97 + rng.normal(0, 0.01, steps), 0.9, 1.0)
        return clear
    if day_type == 2:
        drift = np.cumsum(rng.normal(0, 0.015, steps))
        grey: F = np.clip(0.28 + drift - drift.mean(), 0.1, 0.45)
        return grey
    state = np.empty(steps)
    cloudy = rng.random() < 0.5
    for i, flip in enumerate(rng.random(steps) < 0.18):
        cloudy = cloudy != flip
        state[i] = 0.35 if cloudy else 1.0
    smooth = np.convolve(state, np.ones(3) / 3, mode="same")
    return np.clip(smooth + rng.normal(0, 0.03, steps), 0.15, 1.0)


def ambient_temperature(day_of_year: F, local_hour: F, lat: F, cloud: F, offset: F) -> F:
    """Air temperature, degrees C: seasonal mean by hemisphere, a daily swing damped by cloud."""
    season = np.cos(2 * np.pi * (day_of_year - 15) / 365.25)
    north = lat >= 0
    mean = np.where(north, 11 - 7 * season, 19 + 5 * season) - np.abs(lat) * 0.05 + offset
    swing = (3 + 5 * cloud) * np.sin((local_hour - 9) / 24 * 2 * np.pi)
    return mean + swing


def household_load(
    local_hour: F, weekend: npt.NDArray[np.bool_], day_of_year: F, lat: F, base: F, noise: F
) -> F:
    """A household's demand, kW: base load, morning and evening peaks, weekend daytime use,
    more in winter; ``noise`` (same shape) multiplies it."""

    def bump(center: float, width: float) -> F:
        return np.asarray(np.exp(-0.5 * ((local_hour - center) / width) ** 2))

    morning = np.where(weekend, 0.6 * bump(9.0, 1.3), 0.8 * bump(7.3, 0.8))
    evening = 1.5 * bump(18.7, 1.6)
    daytime = np.where(weekend, 0.5 * bump(13.0, 2.5), 0.15 * bump(13.0, 2.5))
    winter = np.cos(2 * np.pi * (day_of_year - 15) / 365.25) * np.where(lat >= 0, 1.0, -1.0)
    return (base + morning + evening + daytime) * (1 + 0.25 * winter) * noise


@dataclass(slots=True)
class BatteryLimits:
    """Per-device battery bounds for one step, (D,) arrays; kW and percent."""

    capacity_kwh: F
    max_charge_kw: F
    max_discharge_kw: F
    floor_soc: F
    ceiling_soc: F


MODE_SELF_USE, MODE_FEEDIN, MODE_BACKUP, MODE_FORCE_CHARGE, MODE_FORCE_DISCHARGE, MODE_PEAK = range(
    6
)
MODES = ("SelfUse", "Feedin", "Backup", "ForceCharge", "ForceDischarge", "PeakShaving")
PEAK_SHAVING_KW = 3.0


def dispatch(
    mode: npt.NDArray[np.int64],
    surplus_kw: F,
    soc: F,
    limits: BatteryLimits,
    export_limit_kw: F,
    target_kw: F,
    target_soc: F,
    dt_h: F,
) -> tuple[F, F]:
    """Battery charge and discharge power on the AC side, kW, for one step.

    ``surplus_kw`` is PV AC minus load; ``target_kw``/``target_soc`` are the forced power
    (fdPwr) and stop SoC (fdSoc) of ForceCharge/ForceDischarge; NaN target power means the
    battery's own limit. Charging stops at the ceiling, discharging at the floor."""
    cap = np.maximum(limits.capacity_kwh, 1e-9)
    has = limits.capacity_kwh > 0
    headroom = np.clip(limits.ceiling_soc - soc, 0, None) / 100 * cap / dt_h / BATTERY_EFFICIENCY
    floor = np.where(
        mode == MODE_FORCE_DISCHARGE, np.maximum(limits.floor_soc, target_soc), limits.floor_soc
    )
    available = np.clip(soc - floor, 0, None) / 100 * cap * BATTERY_EFFICIENCY / dt_h
    can_charge = np.minimum(limits.max_charge_kw, headroom)
    can_discharge = np.minimum(limits.max_discharge_kw, available)
    excess = np.clip(surplus_kw, 0, None)
    deficit = np.clip(-surplus_kw, 0, None)
    forced = np.where(np.isnan(target_kw), np.inf, target_kw)

    charge = np.zeros_like(soc)
    discharge = np.zeros_like(soc)
    self_use = (mode == MODE_SELF_USE) | (mode == MODE_PEAK)
    charge = np.where(self_use | (mode == MODE_BACKUP), np.minimum(excess, can_charge), charge)
    charge = np.where(
        mode == MODE_FEEDIN,
        np.minimum(np.clip(excess - export_limit_kw, 0, None), can_charge),
        charge,
    )
    charge = np.where(mode == MODE_FORCE_CHARGE, np.minimum(forced, can_charge), charge)
    discharge = np.where(
        (mode == MODE_SELF_USE) | (mode == MODE_FEEDIN),
        np.minimum(deficit, can_discharge),
        discharge,
    )
    discharge = np.where(
        mode == MODE_PEAK,
        np.minimum(np.clip(deficit - PEAK_SHAVING_KW, 0, None), can_discharge),
        discharge,
    )
    discharge = np.where(
        mode == MODE_FORCE_DISCHARGE,
        np.minimum(np.minimum(forced, limits.max_discharge_kw), can_discharge),
        discharge,
    )
    return np.where(has, charge, 0.0), np.where(has, discharge, 0.0)


def soc_after(soc: F, charge_kw: F, discharge_kw: F, capacity_kwh: F, dt_h: F) -> F:
    """SoC after one step: charge stored at the battery's efficiency, discharge drawn above it."""
    stored = charge_kw * BATTERY_EFFICIENCY - discharge_kw / BATTERY_EFFICIENCY
    delta = np.where(capacity_kwh > 0, stored * dt_h / np.maximum(capacity_kwh, 1e-9) * 100, 0.0)
    return np.clip(soc + delta, 0.0, 100.0)


def grid_flows(
    load_kw: F, pv_ac_kw: F, charge_kw: F, discharge_kw: F, export_limit_kw: F
) -> tuple[F, F, F, F]:
    """(import, export, pv_ac, discharge) after the grid takes what the bus cannot balance.

    Export above the limit is curtailed from PV first, then from a forced discharge."""
    net = load_kw + charge_kw - pv_ac_kw - discharge_kw
    imported = np.clip(net, 0, None)
    exported = np.clip(-net, 0, None)
    over = np.clip(exported - export_limit_kw, 0, None)
    from_pv = np.minimum(over, pv_ac_kw)
    from_battery = over - from_pv
    return imported, exported - over, pv_ac_kw - from_pv, discharge_kw - from_battery
