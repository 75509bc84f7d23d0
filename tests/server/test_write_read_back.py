"""Every write endpoint of the protocol, read back after it is accepted: the read shows the
values written (each unlike the default), through the real client over loopback. The list
of writes comes from foxden.protocol.endpoints, so a new write endpoint fails the first
test here until it has a read-back below."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from foxden.client import Client, InvalidParameterError
from foxden.protocol import structs as s
from foxden.protocol.endpoints import ENDPOINTS
from tests.conftest import LiveServer
from tests.server.calls import H1, H3, HEATING, KH8

WRITE_ENDINGS = ("/create", "/update", "/delete", "/set", "/set/flag", "/enable")
WRITES = {e.name for e in ENDPOINTS if e.method == "POST" and e.path.endswith(WRITE_ENDINGS)}


@dataclass(frozen=True)
class Fleet:
    live: LiveServer
    alice: Client  # H1-5.0-E, H3-10.0-E, F3000
    bob: Client  # KH8


def _details(name: str, city: str) -> dict[str, object]:
    return {"name": name, "type": 2, "countryCode": "GB", "city": city, "address": "1 Lane",
            "postcode": "LS1"}  # fmt: skip


def _create(f: Fleet, name: str = "Dora's", sn: str = H1) -> str:
    return f.alice.plant_create(
        s.PlantCreate(
            details=s.PlantDetails(**_details(name, "Leeds")),  # type: ignore[arg-type]
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=sn)],
            position=s.Position(x=-1.55, y=53.8),
        )
    ).stationID


def plant_create(f: Fleet) -> None:
    station = _create(f)
    detail = f.alice.plant_detail(station)
    assert (detail.stationName, detail.city, detail.timezone) == ("Dora's", "Leeds",
                                                                  "Europe/London")  # fmt: skip
    assert [m.deviceSN for m in detail.modules] == [H1]
    assert [p.stationID for p in f.alice.plant_list().data] == [station]


def plant_update(f: Fleet) -> None:
    station = _create(f)
    f.alice.plant_update(
        s.PlantUpdate(
            details=s.PlantDetailsUpdate(stationID=station, **_details("Barn", "Otley")),  # type: ignore[arg-type]
            timezone="Europe/Dublin",
            devices=[s.PlantDeviceRef(sn=H1), s.PlantDeviceRef(sn=H3)],
        )
    )
    detail = f.alice.plant_detail(station)
    assert (detail.stationName, detail.city, detail.timezone) == ("Barn", "Otley",
                                                                  "Europe/Dublin")  # fmt: skip
    assert sorted(m.deviceSN for m in detail.modules) == [H1, H3]


def plant_delete(f: Fleet) -> None:
    kept, gone = _create(f), _create(f, "Short-lived", H3)
    f.alice.plant_delete(gone)
    assert [p.stationID for p in f.alice.plant_list().data] == [kept]
    with pytest.raises(InvalidParameterError) as info:
        f.alice.plant_detail(gone)
    assert info.value.errno == 40257


def soc_set(f: Fleet) -> None:
    f.alice.set_battery_soc(H1, 17, 23)
    assert f.alice.battery_soc(H1) == s.SocSettings(minSoc=17, minSocOnGrid=23)


def charge_times_set(f: Fleet) -> None:
    times = s.ForceChargeTimes(
        enable1=True,
        startTime1=s.ClockTimeOut(hour=1, minute=30),
        endTime1=s.ClockTimeOut(hour=4, minute=15),
        enable2=False,
        startTime2=s.ClockTimeOut(hour=13, minute=5),
        endTime2=s.ClockTimeOut(hour=14, minute=55),
    )
    f.alice.set_charge_times(H1, times)
    assert f.alice.charge_times(H1) == times


def setting_set(f: Fleet) -> None:
    f.alice.set_setting(H1, "ExportLimit", 3650)
    assert float(f.alice.setting(H1, "ExportLimit").value) == 3650


def time_set(f: Fleet) -> None:
    written = datetime(2030, 1, 2, 3, 4, 5)
    at = time.monotonic()
    f.bob.set_device_time(KH8, s.DeviceTime(year="2030", month="1", day="2", hour="3",
                                            minute="4", second="5"))  # fmt: skip
    read = f.bob.device_time(KH8)
    clock = datetime(int(read.year), int(read.month), int(read.day), int(read.hour),
                     int(read.minute), int(read.second))  # fmt: skip
    elapsed = timedelta(seconds=time.monotonic() - at)
    assert timedelta(0) <= clock - written <= elapsed + timedelta(seconds=1)


def _v0_group(**changes: object) -> s.SchedulerGroup:
    fields: dict[str, object] = {
        "enable": 1, "startHour": 2, "startMinute": 10, "endHour": 5, "endMinute": 50,
        "workMode": "ForceCharge", "minSocOnGrid": 14, "fdSoc": 93, "fdPwr": 3700, **changes,
    }  # fmt: skip
    return s.SchedulerGroup(**fields)  # type: ignore[arg-type]


def scheduler_set_flag(f: Fleet) -> None:
    f.alice.set_scheduler(H1, [_v0_group()])
    assert f.alice.scheduler_flag(H1).enable is True
    f.alice.set_scheduler_flag(H1, False)
    assert f.alice.scheduler_flag(H1).enable is False
    f.alice.set_scheduler_flag(H1, True)
    assert f.alice.scheduler_flag(H1).enable is True


def scheduler_set_flag_v1(f: Fleet) -> None:
    f.alice.set_scheduler_v1(H1, [_v0_group()])
    f.alice.set_scheduler_flag_v1(H1, False)
    assert f.alice.scheduler_flag_v1(H1).enable is False
    assert f.alice.scheduler_v1(H1).enable == 0


def _times(g: object) -> tuple[object, ...]:
    return tuple(getattr(g, k) for k in ("startHour", "startMinute", "endHour", "endMinute",
                                          "workMode"))  # fmt: skip


def scheduler_enable(f: Fleet) -> None:
    f.alice.set_scheduler(H1, [_v0_group()])
    info = f.alice.scheduler(H1)
    g = info.groups[0]
    assert (*_times(g), g.minSocOnGrid, g.fdSoc, g.fdPwr) == (
        2, 10, 5, 50, "ForceCharge", 14, 93, 3700)  # fmt: skip
    assert info.enable == 1


def scheduler_enable_v1(f: Fleet) -> None:
    f.alice.set_scheduler_v1(H1, [_v0_group(workMode="ForceDischarge", fdSoc=35, fdPwr=2100)])
    info = f.alice.scheduler_v1(H1)
    g = info.groups[0]
    assert (*_times(g), g.minSocOnGrid, g.fdSoc, g.fdPwr) == (
        2, 10, 5, 50, "ForceDischarge", 14, 35, 2100)  # fmt: skip
    assert info.enable == 1


def scheduler_enable_v2(f: Fleet) -> None:
    group = s.SchedulerGroupV2(
        enable=1, startHour=20, startMinute=0, endHour=21, endMinute=30,
        workMode="ForceDischarge", extraParam=s.ExtraParam(minSocOnGrid=12, fdSoc=25, fdPwr=3300),
    )  # fmt: skip
    f.alice.set_scheduler_v2(H3, [group])
    info = f.alice.scheduler_v2(H3)
    g = info.groups[0]
    assert _times(g) == (20, 0, 21, 30, "ForceDischarge") and info.enable == 1
    assert {k: g.extraParam[k] for k in ("minSocOnGrid", "fdSoc", "fdPwr")} == {
        "minSocOnGrid": 12, "fdSoc": 25, "fdPwr": 3300}  # fmt: skip


def scheduler_enable_v3(f: Fleet) -> None:
    group = s.SchedulerGroupV3(
        startHour=22, startMinute=30, endHour=23, endMinute=45, workMode="ForceDischarge",
        extraParam=s.ExtraParam(minSocOnGrid=12, fdSoc=25, fdPwr=3300, exportLimit=4100),
    )  # fmt: skip
    f.alice.set_scheduler_v3(H3, [group])
    info = f.alice.scheduler_v3(H3)
    assert len(info.groups) == 1 and info.enable == 1
    g = info.groups[0]
    assert _times(g) == (22, 30, 23, 45, "ForceDischarge")
    assert {k: g.extraParam[k] for k in ("minSocOnGrid", "fdSoc", "fdPwr", "exportLimit")} == {
        "minSocOnGrid": 12, "fdSoc": 25, "fdPwr": 3300, "exportLimit": 4100}  # fmt: skip


def peak_shaving_set(f: Fleet) -> None:
    f.bob.set_peak_shaving(KH8, 2.75, 45)
    peak = f.bob.peak_shaving(KH8)
    assert (peak.importLimit.value, peak.soc.value) == ("2.750", "45")


def battery_heating_set(f: Fleet) -> None:
    f.alice.set_battery_heating(H3, HEATING)
    heating = {i.name: i.value for i in f.alice.battery_heating(H3).dataList}
    assert {k: heating[k] for k in HEATING} == HEATING


READ_BACKS: dict[str, Callable[[Fleet], None]] = {
    "plant.create": plant_create,
    "plant.update": plant_update,
    "plant.delete": plant_delete,
    "battery.soc_set": soc_set,
    "battery.charge_times_set": charge_times_set,
    "settings.set": setting_set,
    "settings.time_set": time_set,
    "scheduler.set_flag": scheduler_set_flag,
    "scheduler.set_flag_v1": scheduler_set_flag_v1,
    "scheduler.enable": scheduler_enable,
    "scheduler.enable_v1": scheduler_enable_v1,
    "scheduler.enable_v2": scheduler_enable_v2,
    "scheduler.enable_v3": scheduler_enable_v3,
    "peak_shaving.set": peak_shaving_set,
    "battery_heating.set": battery_heating_set,
}


def test_every_write_endpoint_has_a_read_back() -> None:
    assert len(WRITES) == 15
    assert set(READ_BACKS) == WRITES


@pytest.mark.parametrize("name", sorted(READ_BACKS))
def test_an_accepted_write_reads_back(
    name: str, live: LiveServer, alice: Client, bob: Client
) -> None:
    READ_BACKS[name](Fleet(live, alice, bob))
