"""A plant's position, as written through plant/create and plant/update, drives the sun:
PV peaks at the plant's own solar noon, and a plant moved to the other side of the earth
peaks at its new one (its zone and country left alone, so only the position can say it)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from foxden import accounts
from foxden.protocol import structs as s
from foxden.sim.runner import CAPITALS
from tests.sim.conftest import HOUR_MS, LONDON, SimServer, StartSim, history, plant_id

SN = "POSH10000001"
OTHER = "POSH10000002"
DAY_MS = 24 * HOUR_MS
SYDNEY_POSITION = (-33.87, 151.21)  # lat, lon: solar noon near 01:56 UTC
LIMA_POSITION = (-12.05, -77.04)  # solar noon near 17:00 UTC


def _solar_noon_utc_h(longitude: float) -> float:
    return (12.0 - longitude / 15.0) % 24.0


def _pv_centre_utc_h(server: SimServer, sn: str, day_start_ms: int) -> float:
    """The power-weighted mean time of one UTC day's PV, in hours after midnight UTC, taken
    on the circle (a day centred on 02:00 UTC spills over midnight)."""
    h = history(server.client(), sn, day_start_ms, day_start_ms + DAY_MS, ["pvPower"])
    power, times = h["pvPower"], h.times["pvPower"]
    assert len(power) >= 250 and power.sum() > 0
    angle = (times - day_start_ms) / DAY_MS * 2 * np.pi
    mean = np.arctan2((power * np.sin(angle)).sum(), (power * np.cos(angle)).sum())
    return float(mean % (2 * np.pi) / (2 * np.pi) * 24)


def _hours_apart(a: float, b: float) -> float:
    d = abs(a - b) % 24
    return min(d, 24 - d)


def _details(name: str) -> s.PlantDetails:
    return s.PlantDetails(
        name=name, type=2, countryCode="GB", city="Leeds", address="1 Road", postcode="LS1"
    )


def test_a_created_plant_takes_its_sun_from_its_position(sim: StartSim) -> None:
    start = int(datetime(2026, 12, 10, tzinfo=UTC).timestamp() * 1000)
    server = sim(start, [(OTHER, "H1-5.0-E", LONDON)], first_step=False)
    client = server.client()
    accounts.add_device(server.store, "simuser", SN, "H1-5.0-E", start)
    lat, lon = SYDNEY_POSITION
    client.plant_create(
        s.PlantCreate(
            details=_details("Leeds in name only"),
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=SN)],
            position=s.Position(x=lon, y=lat),
        )
    )
    server.ok("/admin/step")
    server.advance(DAY_MS)
    # the plant in GB, on London's clock, but placed in Sydney: PV around 02:00 UTC
    centre = _pv_centre_utc_h(server, SN, start)
    assert _hours_apart(centre, _solar_noon_utc_h(lon)) <= 1.0, centre
    # far from where GB's capital would put it
    assert _hours_apart(centre, _solar_noon_utc_h(CAPITALS["GB"][1])) >= 8.0, centre
    assert _hours_apart(_pv_centre_utc_h(server, OTHER, start), 12.0) <= 1.0


def test_a_plant_moved_across_the_earth_peaks_at_its_new_noon(sim: StartSim) -> None:
    start = int(datetime(2026, 12, 10, tzinfo=UTC).timestamp() * 1000)
    server = sim(start, [(SN, "H1-5.0-E", LONDON)])
    server.advance(DAY_MS)
    before = _pv_centre_utc_h(server, SN, start)
    assert _hours_apart(before, _solar_noon_utc_h(LONDON.longitude)) <= 1.0, before
    lat, lon = LIMA_POSITION
    server.client().plant_update(
        s.PlantUpdate(
            details=s.PlantDetailsUpdate(
                stationID=plant_id(0),
                name="Moved",
                type=2,
                countryCode="GB",
                city="Leeds",
                address="1 Road",
                postcode="LS1",
            ),
            timezone="Europe/London",
            position=s.Position(x=lon, y=lat),
        )
    )
    plants = [p for d, p in server.store.all_devices() if d.sn == SN]
    assert plants[0] is not None and (plants[0].latitude, plants[0].longitude) == (lat, lon)
    server.advance(DAY_MS)
    after = _pv_centre_utc_h(server, SN, start + DAY_MS)
    assert _hours_apart(after, _solar_noon_utc_h(lon)) <= 1.0, after
    assert _hours_apart(after, before) >= 4.0
