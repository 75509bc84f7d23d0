"""The sun's position by NREL's Solar Position Algorithm (I. Reda and A. Andreas, "Solar
Position Algorithm for Solar Radiation Applications", Solar Energy 76 (2004) 577-589, with the
2007 corrigendum; NREL/TP-560-34302 revised 2008), vectorised with NumPy.

The algorithm splits in two: :func:`geocentric` depends on the time alone (the apparent
sidereal time, the sun's geocentric right ascension and declination, the Earth's radius
vector), :func:`topocentric` adds the observer's place. The fleet computes the first once per
month of 5-minute steps and the second per plant. Each step follows the paper's equation in
the paper's order of operations, so the results equal those of the common reference
implementations bit for bit (tests/sim/test_solar_formulas.py compares them with pvlib's).

The observer stands at sea level with the paper's standard refraction: 1013.25 mbar, 12 °C,
0.5667° of refraction at sunrise; ΔT (terrestrial minus universal time) is 69 s.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from foxden.sim import spa_tables as tables

F = npt.NDArray[np.float64]

DELTA_T = 69.0
PRESSURE_MBAR = 1013.25
TEMPERATURE_C = 12.0
SUNRISE_REFRACTION = 0.5667
FLATTENING = 0.99664719
"""b/a of the Earth's ellipsoid (the paper's u term)."""


def _periodic(rows: tables.Rows, x: F) -> F:
    """Sum of A cos(B + C x) over the rows, in the table's order."""
    total: F = np.zeros_like(x)
    for a, b, c in rows:
        total = total + a * np.cos(b + c * x)
    return total


def _earth(jme: F) -> tuple[F, F, F]:
    """Heliocentric longitude and latitude (degrees) and radius vector (AU) of the Earth at
    the Julian ephemeris millennium ``jme`` (the paper's section 3.2)."""
    l0, l1, l2, l3, l4, l5 = (_periodic(rows, jme) for rows in tables.LONGITUDE)
    longitude_rad = (l0 + l1 * jme + l2 * jme**2 + l3 * jme**3 + l4 * jme**4 + l5 * jme**5) / 1e8
    b0, b1 = (_periodic(rows, jme) for rows in tables.LATITUDE)
    latitude_rad = (b0 + b1 * jme) / 1e8
    r0, r1, r2, r3, r4 = (_periodic(rows, jme) for rows in tables.RADIUS)
    radius = (r0 + r1 * jme + r2 * jme**2 + r3 * jme**3 + r4 * jme**4) / 1e8
    return np.rad2deg(longitude_rad) % 360, np.rad2deg(latitude_rad), radius


def _nutation(jce: F) -> tuple[F, F]:
    """Nutation in longitude and in obliquity, degrees (the paper's section 3.4)."""
    x = (
        297.85036 + 445267.111480 * jce - 0.0019142 * jce**2 + jce**3 / 189474,
        357.52772 + 35999.050340 * jce - 0.0001603 * jce**2 - jce**3 / 300000,
        134.96298 + 477198.867398 * jce + 0.0086972 * jce**2 + jce**3 / 56250,
        93.27191 + 483202.017538 * jce - 0.0036825 * jce**2 + jce**3 / 327270,
        125.04452 - 1934.136261 * jce + 0.0020708 * jce**2 + jce**3 / 450000,
    )
    psi: F = np.zeros_like(jce)
    eps: F = np.zeros_like(jce)
    for (y0, y1, y2, y3, y4), (a, b, c, d) in zip(
        tables.NUTATION_X, tables.NUTATION_ABCD, strict=True
    ):
        arg = np.radians(y0 * x[0] + y1 * x[1] + y2 * x[2] + y3 * x[3] + y4 * x[4])
        psi = psi + (a + b * jce) * np.sin(arg)
        eps = eps + (c + d * jce) * np.cos(arg)
    return psi / 36000000, eps / 36000000


def geocentric(unix_s: F) -> tuple[F, F, F, F]:
    """The time-only part of the SPA at POSIX times ``unix_s`` (seconds): apparent sidereal
    time at Greenwich, the sun's geocentric right ascension and declination (degrees) and
    the Earth-sun distance (AU)."""
    jd = unix_s / 86400 + 2440587.5
    jde = jd + DELTA_T / 86400
    jc = (jd - 2451545) / 36525
    jce = (jde - 2451545) / 36525
    jme = jce / 10
    helio_longitude, helio_latitude, radius = _earth(jme)
    theta = (helio_longitude + 180.0) % 360
    beta = -helio_latitude
    delta_psi, delta_eps = _nutation(jce)
    u = jme / 10
    eps0 = (
        84381.448
        - 4680.93 * u
        - 1.55 * u**2
        + 1999.25 * u**3
        - 51.38 * u**4
        - 249.67 * u**5
        - 39.05 * u**6
        + 7.12 * u**7
        + 27.87 * u**8
        + 5.79 * u**9
        + 2.45 * u**10
    )
    epsilon = eps0 / 3600 + delta_eps
    aberration = -20.4898 / (3600 * radius)
    lamda = theta + delta_psi + aberration
    v0 = (
        280.46061837 + 360.98564736629 * (jd - 2451545) + 0.000387933 * jc**2 - jc**3 / 38710000
    ) % 360.0
    sidereal = v0 + delta_psi * np.cos(np.radians(epsilon))
    eps_rad, lamda_rad, beta_rad = np.radians(epsilon), np.radians(lamda), np.radians(beta)
    num = np.sin(lamda_rad) * np.cos(eps_rad) - np.tan(beta_rad) * np.sin(eps_rad)
    alpha = np.degrees(np.arctan2(num, np.cos(lamda_rad))) % 360
    delta = np.degrees(
        np.arcsin(
            np.sin(beta_rad) * np.cos(eps_rad)
            + np.cos(beta_rad) * np.sin(eps_rad) * np.sin(np.radians(lamda))
        )
    )
    return sidereal, alpha, delta, radius


def topocentric(sidereal: F, alpha: F, delta: F, radius: F, lat: F, lon: F) -> tuple[F, F]:
    """Apparent (refracted) zenith and azimuth east of north, degrees, of an observer at sea
    level at ``lat``/``lon`` from :func:`geocentric`'s parts (the paper's sections 3.9-3.15);
    the arguments broadcast together."""
    hour = (sidereal + lon - alpha) % 360
    xi_rad = np.radians(8.794 / (3600 * radius))
    u = np.arctan(FLATTENING * np.tan(np.radians(lat)))
    x, y = np.cos(u), FLATTENING * np.sin(u)
    hour_rad = np.radians(hour)
    delta_rad = np.radians(delta)
    num = -x * np.sin(xi_rad) * np.sin(hour_rad)
    denom = np.cos(delta_rad) - x * np.sin(xi_rad) * np.cos(hour_rad)
    delta_alpha = np.degrees(np.arctan2(num, denom))
    num = (np.sin(delta_rad) - y * np.sin(xi_rad)) * np.cos(np.radians(delta_alpha))
    delta_prime = np.degrees(np.arctan2(num, denom))
    hour_prime = hour - delta_alpha
    lat_rad, dp_rad, hp_rad = np.radians(lat), np.radians(delta_prime), np.radians(hour_prime)
    e0 = np.degrees(
        np.arcsin(
            np.sin(lat_rad) * np.sin(dp_rad) + np.cos(lat_rad) * np.cos(dp_rad) * np.cos(hp_rad)
        )
    )
    above = e0 >= -1.0 * (0.26667 + SUNRISE_REFRACTION)
    scale = (PRESSURE_MBAR / 1010.0) * (283.0 / (273 + TEMPERATURE_C)) * 1.02
    refraction = (scale / (60 * np.tan(np.radians(e0 + 10.3 / (e0 + 5.11))))) * above
    zenith = 90 - (e0 + refraction)
    gamma = (
        np.degrees(
            np.arctan2(
                np.sin(hp_rad), np.cos(hp_rad) * np.sin(lat_rad) - np.tan(dp_rad) * np.cos(lat_rad)
            )
        )
        % 360
    )
    azimuth = (gamma + 180) % 360
    return np.asarray(zenith, dtype=np.float64), np.asarray(azimuth, dtype=np.float64)


def sun_position(unix_s: F, lat: F, lon: F) -> tuple[F, F]:
    """Apparent zenith and azimuth, degrees, at POSIX times ``unix_s`` and places
    ``lat``/``lon`` (broadcast together)."""
    sidereal, alpha, delta, radius = geocentric(np.asarray(unix_s, dtype=np.float64))
    return topocentric(sidereal, alpha, delta, radius, lat, lon)
