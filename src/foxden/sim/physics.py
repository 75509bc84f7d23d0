"""Pure, vectorised physics of a fleet: arrays are shaped (T, D) — times by devices — or
(D,) per device. No I/O, no clocks; randomness comes in as arguments.

Energy balance on the AC bus holds exactly at every step by construction:

    pv_ac + grid_import + discharge_ac = load + feedin + charge_ac

and the losses are stated: PV DC to AC through the inverter's efficiency, battery AC to DC
(and back) through the battery's one-way efficiency.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pvlib import irradiance, spa  # type: ignore[import-untyped]

F = npt.NDArray[np.float64]

INVERTER_EFFICIENCY = 0.97
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
