"""The fleet's own solar formulas (sim.spa, sim.sky, household's AR(1) noise) give the same
numbers as the reference implementations they replace (pvlib, SciPy) on many inputs: the same
bits where the operations are the same, so a seed's history is unchanged; the references are
test dependencies only, never loaded by the running server."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]
import pytest
from pvlib import atmosphere, clearsky, irradiance  # type: ignore[import-untyped]
from pvlib import spa as reference_spa
from scipy import signal  # type: ignore[import-untyped]

from foxden.sim import household, pv, sky, spa, weather

F = npt.NDArray[np.float64]
N = 20_000
SPA_CONSTANTS = (0.0, 1013.25, 12.0, 69.0, 0.5667, 1)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261203)


def times(rng: np.random.Generator) -> F:
    """POSIX seconds from 1950 to 2100, with whole 5-minute steps among them."""
    spread = rng.uniform(-631_152_000, 4_102_444_800, N)
    spread[: N // 4] = np.round(spread[: N // 4] / 300) * 300
    return spread


def test_the_sun_position_equals_the_reference_spa(rng: np.random.Generator) -> None:
    unix_s = times(rng)
    lat, lon = rng.uniform(-89.9, 89.9, N), rng.uniform(-180, 180, N)
    expected = reference_spa.solar_position_numpy(unix_s, lat, lon, *SPA_CONSTANTS)
    zenith, azimuth = spa.sun_position(unix_s, lat, lon)
    np.testing.assert_array_equal(zenith, expected[0])
    np.testing.assert_array_equal(azimuth, expected[4])
    assert zenith.min() < 10 and zenith.max() > 170  # day and night, all round the sky
    assert azimuth.min() < 5 and azimuth.max() > 355


def test_the_time_only_part_equals_the_reference(rng: np.random.Generator) -> None:
    unix_s = times(rng)
    v, alpha, delta = reference_spa.solar_position_numpy(unix_s, 0.0, 0.0, *SPA_CONSTANTS, sst=True)
    (radius,) = reference_spa.solar_position_numpy(unix_s, 0.0, 0.0, *SPA_CONSTANTS, esd=True)
    for ours, theirs in zip(spa.geocentric(unix_s), (v, alpha, delta, radius), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert radius.min() > 0.983 and radius.max() < 1.017  # perihelion to aphelion, AU


def test_the_fleets_sun_grid_equals_the_reference_spa_per_place(rng: np.random.Generator) -> None:
    lat, lon = rng.uniform(-70, 70, 7), rng.uniform(-180, 180, 7)
    grid = 1_782_000_000_000 + np.arange(300, dtype=np.int64) * 300_000
    zenith, azimuth = pv._sun_grid(pv._geocentric_at(grid, 300_000), lat, lon)
    for p in range(len(lat)):
        expected = reference_spa.solar_position_numpy(grid / 1000.0, lat[p], lon[p], *SPA_CONSTANTS)
        np.testing.assert_array_equal(zenith[:, p], expected[0])
        np.testing.assert_array_equal(azimuth[:, p], expected[4])


def sky_inputs(rng: np.random.Generator) -> Iterator[tuple[F, F, F]]:
    """(zenith, ghi, day of year): dawn to noon, dark to brighter than clear, every day."""
    zenith = rng.uniform(0, 100, N)
    ghi = rng.uniform(-5, 1300, N) * rng.uniform(0, 1, N)
    doy = rng.integers(1, 367, N).astype(np.float64)
    yield zenith, ghi, doy


def test_extraterrestrial_light_equals_the_reference(rng: np.random.Generator) -> None:
    doy = rng.uniform(1, 366, N)
    np.testing.assert_array_equal(sky.extraterrestrial(doy), irradiance.get_extra_radiation(doy))


def test_erbs_equals_the_reference(rng: np.random.Generator) -> None:
    for zenith, ghi, doy in sky_inputs(rng):
        dni, dhi = sky.erbs(ghi, zenith, doy)
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = irradiance.erbs(ghi, zenith, doy)
        np.testing.assert_array_equal(dni, expected["dni"])
        np.testing.assert_array_equal(dhi, expected["dhi"])
        assert (dni > 0).sum() > N // 4 and (dni == 0).sum() > N // 20


def test_the_tilted_plane_equals_the_reference_isotropic_sky(rng: np.random.Generator) -> None:
    for zenith, ghi, doy in sky_inputs(rng):
        azimuth = rng.uniform(0, 360, N)
        tilt, facing = rng.uniform(0, 90, N), rng.uniform(0, 360, N)
        dni, dhi = (np.nan_to_num(part) for part in sky.erbs(ghi, zenith, doy))
        expected = irradiance.get_total_irradiance(tilt, facing, zenith, azimuth, dni, ghi, dhi)
        ours = sky.plane_irradiance(tilt, facing, zenith, azimuth, dni, ghi, dhi)
        np.testing.assert_array_equal(ours, expected["poa_global"])


def test_the_clear_sky_equals_the_reference_ineichen(rng: np.random.Generator) -> None:
    zenith = rng.uniform(0, 89.5, N)
    doy = rng.integers(1, 367, N).astype(np.float64)
    linke = rng.uniform(1.5, 7.0, N)
    extra = irradiance.get_extra_radiation(doy)
    relative = atmosphere.get_relative_airmass(zenith)
    np.testing.assert_array_equal(sky.relative_airmass(zenith), relative)
    expected = clearsky.ineichen(
        zenith, atmosphere.get_absolute_airmass(relative), linke, 0.0, extra
    )
    np.testing.assert_array_equal(
        sky.clear_sky_ghi(zenith, relative, linke, extra), expected["ghi"]
    )
    assert np.isnan(sky.relative_airmass(np.array([90.5])))[0]


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (51.5, -0.13),
        (52.52, 13.4),
        (-33.87, 151.21),
        (40.71, -74.01),
        (53.48, -2.24),
        (89.99, 179.99),  # the grid's last row and column
        (-89.99, -180.0),  # its first
        (0.0, 0.0),
        (35.0417, 10.0417),  # on a cell boundary
    ],
)
def test_the_linke_turbidity_equals_the_reference_lookup(latitude: float, longitude: float) -> None:
    days = pd.date_range("2021-01-01", periods=366, freq="D", tz="UTC")
    with warnings.catch_warnings():  # pvlib reads a pandas attribute newer pandas deprecates
        warnings.simplefilter("ignore")
        expected = clearsky.lookup_linke_turbidity(days, latitude, longitude)
    weather.linke_turbidity.cache_clear()
    np.testing.assert_array_equal(weather.linke_turbidity(latitude, longitude), expected)


def test_a_leap_years_linke_turbidity_equals_the_reference() -> None:
    days = pd.date_range("2024-01-01", periods=366, freq="D", tz="UTC")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = clearsky.lookup_linke_turbidity(days, 48.2, 16.37)
    ours = sky.linke_by_day(sky.linke_months(48.2, 16.37), np.arange(1, 367.0), 366)
    np.testing.assert_array_equal(ours, expected)


def test_a_place_off_the_earth_has_no_linke_turbidity() -> None:
    with pytest.raises(ValueError, match="outside"):
        sky.linke_months(91.0, 0.0)
    with pytest.raises(ValueError, match="outside"):
        sky.linke_months(0.0, 181.0)


def test_the_household_noise_equals_scipys_filter(rng: np.random.Generator) -> None:
    for _ in range(50):
        shocks = rng.normal(0, 0.1, 288)
        expected = signal.lfilter([1.0], [1.0, -0.85], shocks)
        np.testing.assert_array_equal(household._ar1(shocks, 0.85), expected)
