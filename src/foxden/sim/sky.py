"""Light from the sky, vectorised with NumPy: the sun's radiation above the atmosphere, air
mass, the Ineichen-Perez clear sky with the Linke turbidity climatology, the Erbs split of
global light into beam and diffuse, and the isotropic-sky transposition onto a tilted plane.

Each function is the published formula in the published order of operations, with the
conventions of pvlib (whose results tests/sim/test_solar_formulas.py compares them with), so
the simulated fleet produces the same numbers without loading pvlib, pandas or SciPy.
"""

from __future__ import annotations

import functools
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]

SOLAR_CONSTANT = 1366.1
"""W/m2, the Spencer series' solar constant."""
ALBEDO = 0.25
"""Ground reflectance for the ground-reflected part of the light on a tilted plane."""


def extraterrestrial(day_of_year: F) -> F:
    """Normal irradiance above the atmosphere, W/m2, on a day of the year: the solar
    constant times Spencer's (1971) series for the squared ratio of the mean to the actual
    Earth-sun distance."""
    b = (2.0 * np.pi / 365.0) * (day_of_year - 1)
    ratio = (
        1.00011
        + 0.034221 * np.cos(b)
        + 0.00128 * np.sin(b)
        + 0.000719 * np.cos(2 * b)
        + 7.7e-05 * np.sin(2 * b)
    )
    return np.asarray(SOLAR_CONSTANT * ratio, dtype=np.float64)


def relative_airmass(zenith: F) -> F:
    """Relative optical air mass at sea level (Kasten and Young, Applied Optics 28 (1989)
    4735); NaN with the sun below the horizon."""
    z = np.where(zenith > 90, np.nan, zenith)
    return np.asarray(
        1.0 / (np.cos(np.radians(z)) + 0.50572 * ((6.07995 + (90 - z)) ** -1.6364)),
        dtype=np.float64,
    )


def clear_sky_ghi(apparent_zenith: F, airmass_relative: F, linke: F, extra: F) -> F:
    """Clear-sky global horizontal irradiance, W/m2, at sea level: Ineichen and Perez
    (Solar Energy 73 (2002) 151), from the apparent zenith, the relative air mass (absolute
    at sea level), the Linke turbidity and the extraterrestrial irradiance."""
    cos_zenith = np.maximum(np.cos(np.radians(apparent_zenith)), 0)
    airmass = airmass_relative * 101325.0 / 101325.0
    fh1 = fh2 = 1.0  # exp(-altitude / 8000), exp(-altitude / 1250) at sea level
    cg1, cg2 = 0.868, 0.0387  # 5.09e-5 * altitude + 0.868, 3.92e-5 * altitude + 0.0387
    ghi = np.exp(-cg2 * airmass * (fh1 + fh2 * (linke - 1)))
    return np.asarray(cg1 * extra * cos_zenith * linke / linke * np.fmax(ghi, 0), dtype=np.float64)


def erbs(ghi: F, zenith: F, day_of_year: F) -> tuple[F, F]:
    """(beam normal, diffuse horizontal) irradiance, W/m2, from global horizontal: the
    diffuse fraction from the clearness index by Erbs, Klein and Duffie (Solar Energy 28
    (1982) 293), the clearness index with cos(zenith) held at 0.065 or more and capped at 1;
    no beam past 87° of zenith."""
    cos_zenith = np.cos(np.radians(zenith))
    horizontal_extra = extraterrestrial(day_of_year) * np.maximum(cos_zenith, 0.065)
    kt = np.minimum(np.maximum(ghi / horizontal_extra, 0), 1.0)
    fraction = np.where(
        (kt > 0.22) & (kt <= 0.8),
        0.9511 - 0.1604 * kt + 4.388 * kt**2 - 16.638 * kt**3 + 12.336 * kt**4,
        1 - 0.09 * kt,
    )
    fraction = np.where(kt > 0.8, 0.165, fraction)
    dhi = fraction * ghi
    dni = (ghi - dhi) / np.cos(np.radians(zenith))
    bad = (zenith > 87) | (ghi < 0) | (dni < 0)
    return (
        np.asarray(np.where(bad, 0, dni), dtype=np.float64),
        np.asarray(np.where(bad, ghi, dhi), dtype=np.float64),
    )


def plane_irradiance(
    tilt: F, surface_azimuth: F, zenith: F, azimuth: F, dni: F, ghi: F, dhi: F
) -> F:
    """Global irradiance on a tilted plane, W/m2: the beam at its angle of incidence, the
    diffuse sky as an isotropic dome (Hottel and Woertz) and the ground's reflection of the
    global light (albedo ALBEDO); the arguments broadcast together."""
    sky = dhi * (1 + np.cos(np.radians(tilt))) * 0.5
    ground = ghi * ALBEDO * (1 - np.cos(np.radians(tilt))) * 0.5
    projection = np.cos(np.radians(tilt)) * np.cos(np.radians(zenith)) + np.sin(
        np.radians(tilt)
    ) * np.sin(np.radians(zenith)) * np.cos(np.radians(azimuth - surface_azimuth))
    incidence = np.rad2deg(np.arccos(np.clip(projection, -1, 1)))
    direct = np.maximum(dni * np.cos(np.radians(incidence)), 0)
    return np.asarray(direct + (sky + ground), dtype=np.float64)


LINKE_FILE = "LinkeTurbidities.h5"
"""The SoDa Linke turbidity climatology (J. Remund et al., "Worldwide Linke turbidity
information", ISES Solar World Congress 2003) as pvlib ships it: 20 x the monthly Linke
turbidity on a 5-arc-minute grid, rows from 90° N, columns from 180° W."""
_ROWS, _COLUMNS = 2160, 4320


def _grid_index(degrees: float, first: float, last: float, cells: int) -> int:
    """The grid cell of a latitude or longitude (cell centres half a cell inside the range;
    a value within half a cell past either end takes the end cell)."""
    scale = cells / (last - first)
    index = (degrees - (first + 1 / scale / 2)) * scale
    if index > cells - 1:
        if index - (cells - 1) <= 0.500001:
            return cells - 1
    elif index < 0:
        if -index <= 0.500001:
            return 0
    else:
        return int(np.around(index))
    raise ValueError(f"{degrees} is outside {first}..{last}")


def linke_file() -> Path:
    """Where the Linke turbidity climatology is installed (in pvlib's package data: its
    directory is found without importing pvlib)."""
    spec = find_spec("pvlib")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pvlib (the server extra) holds the Linke turbidity data")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / LINKE_FILE


@functools.lru_cache(maxsize=256)
def linke_months(latitude: float, longitude: float) -> tuple[int, ...]:
    """The 12 monthly values (20 x Linke turbidity) of the grid cell of a place."""
    import h5py  # type: ignore[import-untyped]  # only while a plant's sky is first computed

    row = _grid_index(latitude, 90, -90, _ROWS)
    column = _grid_index(longitude, -180, 180, _COLUMNS)
    with h5py.File(linke_file(), "r") as data:
        values = data["LinkeTurbidity"][row, column]
    return tuple(int(v) for v in values)


def _month_middles(days_in_year: int) -> F:
    """Day-of-year positions of the middles of last December, the twelve months and next
    January."""
    lengths = [31, 29 if days_in_year == 366 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    ends = np.cumsum(lengths)
    return np.concatenate([[-31 / 2.0], ends - np.array(lengths) / 2.0, [days_in_year + 31 / 2.0]])


def linke_by_day(months: tuple[int, ...], days_of_year: F, days_in_year: int) -> F:
    """Linke turbidity on days of a year: the monthly values taken at each month's middle
    and interpolated linearly between them."""
    values = np.array([months[-1], *months, months[0]], dtype=np.uint8)
    return np.asarray(
        np.interp(days_of_year, _month_middles(days_in_year), values) / 20.0, dtype=np.float64
    )
