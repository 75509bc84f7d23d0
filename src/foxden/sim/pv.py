"""PV: where the sun is, how much light reaches each string's plane, and the DC power of an
array sized in kWp (``protocol.hardware.array_kwp``).

The sun's position is computed with NREL's SPA (``sim.spa``) once per plant on a 5-minute grid
and interpolated to each inverter's own sample times (its direction through sine and cosine,
so the interpolation never wraps through north).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from foxden.sim import sky, spa

F = npt.NDArray[np.float64]
IA = npt.NDArray[np.int64]

TEMP_COEFFICIENT = -0.0037
"""Power per degree C of cell temperature above 25 (crystalline silicon, about -0.37 %/K)."""
SYSTEM_DERATE = 0.92
"""Soiling, wiring, mismatch, shading and module ageing on the DC side."""
NOCT_RISE = 25.0
"""Cell temperature above the air at 800 W/m2 (roof-mounted, NOCT-like)."""


def sun_position(unix_s: F, lat: F, lon: F) -> tuple[F, F]:
    """Apparent zenith and azimuth in degrees (the SPA), elementwise."""
    return spa.sun_position(unix_s, lat, lon)


def sun_for_devices(
    times_ms: IA, grid_start_ms: int, step_ms: int, lat: F, lon: F, plant_of: IA
) -> tuple[F, F]:
    """Zenith and azimuth at each device's times (T, D): the SPA on a grid per plant
    (``lat``/``lon`` per plant), linearly interpolated in time."""
    last = int(times_ms.max()) if times_ms.size else grid_start_ms
    points = (last - grid_start_ms) // step_ms + 2
    grid = grid_start_ms + np.arange(points, dtype=np.int64) * step_ms
    zen, az = _sun_grid(_geocentric_at(grid, step_ms), lat, lon)
    pos = (times_ms - grid_start_ms) / step_ms
    i = np.clip(np.floor(pos).astype(np.int64), 0, points - 2)
    w = pos - i
    cols = np.broadcast_to(plant_of[None, :], times_ms.shape)

    def at(values: F) -> F:
        return np.asarray(values[i, cols] * (1 - w) + values[i + 1, cols] * w, dtype=np.float64)

    rad = np.radians(az)
    azimuth = np.degrees(np.arctan2(at(np.sin(rad)), at(np.cos(rad)))) % 360
    return at(zen), np.asarray(azimuth, dtype=np.float64)


CHUNK_DAYS = 32


@functools.lru_cache(maxsize=16)
def _geocentric(chunk: int, step_ms: int) -> F:
    """The SPA's time-only part (sidereal time, the sun's right ascension, declination and
    distance), (4, N), every ``step_ms`` through CHUNK_DAYS days from day ``chunk *
    CHUNK_DAYS``: computed for a month of days at once, it costs little per day."""
    start = chunk * CHUNK_DAYS * 86_400_000
    unix_s = (start + np.arange(CHUNK_DAYS * 86_400_000 // step_ms + 2) * step_ms) / 1000.0
    out = np.stack(spa.geocentric(unix_s))
    out.setflags(write=False)
    return out


def _geocentric_at(grid_ms: IA, step_ms: int) -> F:
    """``_geocentric`` at the times of ``grid_ms`` (on the step grid, within a day)."""
    first = int(grid_ms[0])
    chunk = first // (CHUNK_DAYS * 86_400_000)
    table = _geocentric(chunk, step_ms)
    offset = (first - chunk * CHUNK_DAYS * 86_400_000) // step_ms
    rows = table[:, offset : offset + len(grid_ms)]
    if rows.shape[1] == len(grid_ms):
        return rows
    return np.stack(spa.geocentric(grid_ms / 1000.0))  # runs past the chunk: compute directly


def _sun_grid(geocentric: F, lat: F, lon: F) -> tuple[F, F]:
    """The SPA for every (time, place) pair, (T, P), from the time-only part
    (``_geocentric``) and the topocentric part per place."""
    v, alpha, delta, radius = (part[:, None] for part in geocentric)
    return spa.topocentric(v, alpha, delta, radius, lat[None, :], lon[None, :])


def plane_of_array(ghi: F, zenith: F, azimuth: F, day_of_year: F, tilt: F, surface_azimuth: F) -> F:
    """Irradiance on each string's plane, W/m^2: ghi (T, D) split by Erbs into beam and
    diffuse, transposed (isotropic sky) onto tilt/surface_azimuth (D, S); result (T, D, S)."""
    dni, dhi = (np.nan_to_num(part) for part in sky.erbs(ghi, zenith, day_of_year))
    total = sky.plane_irradiance(
        tilt[None, :, :],
        surface_azimuth[None, :, :],
        zenith[:, :, None],
        azimuth[:, :, None],
        dni[:, :, None],
        ghi[:, :, None],
        dhi[:, :, None],
    )
    poa: F = np.clip(np.nan_to_num(total), 0.0, 1400.0)
    return poa


def cell_temperature(air_c: F, poa: F) -> F:
    """Cell temperature, °C, from the air and the light on the plane."""
    return np.asarray(air_c[..., None] + poa / 800 * NOCT_RISE, dtype=np.float64)


def dc_power(poa: F, cell_c: F, kwp: F) -> F:
    """DC power of each string, kW: rated at 1000 W/m2 and 25 °C, the temperature
    coefficient and the system derate applied."""
    power = poa / 1000 * kwp[None, :, :] * (1 + TEMP_COEFFICIENT * (cell_c - 25)) * SYSTEM_DERATE
    return np.asarray(np.clip(power, 0, None), dtype=np.float64)


def string_voltage(poa: F, cell_c: F) -> F:
    """Maximum-power voltage of a string, V: about 360 V lit, falling with temperature; a
    few volts of leakage in twilight."""
    lit = poa > 5
    return np.asarray(
        np.where(lit, 360 * (1 - 0.0035 * (cell_c - 25)), 2.0 * (poa > 0.5)), dtype=np.float64
    )
