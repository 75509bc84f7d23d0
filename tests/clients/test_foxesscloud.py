"""TonyM1958's ``foxesscloud`` (PyPI), unmodified, against a real foxden server on loopback.

Only the two settings a user sets are set: ``fox_domain`` (the base URL) and ``api_key``.
Every function of its ``openapi`` module that reads or writes the Open API must succeed and
return what foxden holds, read back through foxden's own client. The module keeps its state
in globals, so each test imports it afresh.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from foxden import accounts
from foxden.clock import RealClock
from foxden.protocol import identities
from foxden.protocol import structs as s
from tests.sim.conftest import LONDON, SimServer, start_sim

pytest.importorskip("foxesscloud.openapi")

DAY_MS = 86_400_000


KH8 = identities.inverter_serial("KH8", 1)
H3 = identities.inverter_serial("H3-10.0-E", 1)
SINGLE = identities.inverter_serial("H1-5.0-E", 1)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    """A KH8 and an H3 in one London plant, simulated from the day before yesterday 00:00
    UTC to ten minutes before now (the client asks for "today" by the machine's clock), so
    the day before the simulation's clock is whole at any time of day (from yesterday alone,
    it began before the simulation in the first ten minutes after midnight); and a second
    account with a single unbound H1 (foxesscloud's ``get_logger`` picks the only logger)."""
    now = RealClock().now_ms()
    start = now - now % DAY_MS - 2 * DAY_MS
    sim = start_sim(
        Path(tmp_path_factory.mktemp("foxesscloud")),
        start,
        [(KH8, "KH8", LONDON), (H3, "H3-10.0-E", LONDON)],
    )
    sim.advance(now - start - 10 * 60_000)
    accounts.create_account(sim.store, "single", now)
    accounts.add_device(sim.store, "single", SINGLE, "H1-5.0-E", now)
    yield sim
    sim.stop()


def fresh(url: str, key: str) -> Any:
    """foxesscloud's openapi module, imported afresh, pointed at foxden with ``key``."""
    import foxesscloud.openapi

    f: Any = importlib.reload(foxesscloud.openapi)
    f.fox_domain = url
    f.api_key = key
    return f


@pytest.fixture
def fc(fleet: SimServer) -> Any:
    return fresh(fleet.url, fleet.key)


def yesterday(fleet: SimServer) -> str:
    day = datetime.fromtimestamp((fleet.clock.now_ms() - DAY_MS) / 1000, UTC)
    return day.strftime("%Y-%m-%d")


def test_access_count_and_error_messages(fleet: SimServer, fc: Any) -> None:
    """get_messages (GET /c/v0/errors/message with an empty token, no signature) and
    get_access_count."""
    messages = fc.get_messages()
    assert messages["en"]["40257"] == "Parameters do not meet expectations. Please reenter"
    got = fc.get_access_count()
    ours = fleet.client().access_count()
    assert got == {"total": ours.total, "remaining": ours.remaining}


def test_site_device_and_generation(fleet: SimServer, fc: Any) -> None:
    """get_site (plant/list + plant/detail), get_device (device/list, v1 detail, flag,
    generation, v1 real-time) and get_generation, as foxden holds them."""
    ours = fleet.client()
    site = fc.get_site()
    assert site is not None
    plant = ours.plant_detail(site["stationID"])
    assert (site["stationName"], site["capacity"]) == (plant.stationName, plant.capacity)
    assert site["user"] == {"name": "simuser", "phone": "", "email": ""}
    device = fc.get_device(KH8)
    assert device is not None
    detail = ours.device_detail_v1(KH8)
    assert (device["deviceSN"], device["deviceType"], device["capacity"]) == (KH8, "KH8", 8)
    assert (device["model"], device["power"], device["phase"]) == ("KH", 8.0, 1)
    assert device["batteryList"] == msgspec.to_builtins(detail.batteryList)
    generation = fc.get_generation()
    assert generation == msgspec.to_builtins(ours.generation(KH8))
    assert device["generationToday"] == generation["today"]


def test_variables_and_real_time(fleet: SimServer, fc: Any) -> None:
    """get_vars and get_real (v1 real/query) return foxden's latest sample."""
    fc.get_device(KH8)
    listed = fc.get_vars()
    (latest,) = fleet.client().real_time_v1([KH8])
    assert listed == [d.variable for d in latest.datas]
    got = fc.get_real(["pvPower", "SoC", "loadsPower"])
    by_name = {d.variable: d.value for d in latest.datas}
    assert [v["value"] for v in got] == [by_name["pvPower"], by_name["SoC"], by_name["loadsPower"]]


def test_history_of_a_whole_day(fleet: SimServer, fc: Any) -> None:
    """get_history('day') (history/query over the day) equals foxden's history."""
    fc.get_device(KH8)
    day = yesterday(fleet)
    got = fc.get_history("day", d=day, v=["pvPower", "SoC"], summary=0)
    assert got is not None
    begin = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)
    (ours,) = fleet.client().history(KH8, begin, begin + DAY_MS - 1000, ["pvPower", "SoC"])
    expected = {v.variable: [(p.time, p.value) for p in v.data] for v in ours.datas}
    assert {v["variable"]: [(p["time"], p["value"]) for p in v["data"]] for v in got} == expected
    assert len(expected["SoC"]) > 250  # about every five minutes


def test_report_of_a_day(fleet: SimServer, fc: Any) -> None:
    """get_report('day') (report/query, month side report) equals foxden's report."""
    fc.get_device(KH8)
    day = yesterday(fleet)
    got = fc.get_report("day", d=day, v=["generation", "feedin", "loads"], summary=0)
    assert got is not None
    year, month, dom = (int(x) for x in day.split("-"))
    ours = fleet.client().report(KH8, "day", year, month, dom, ["generation", "feedin", "loads"])
    assert {r["variable"]: r["values"] for r in got} == {r.variable: r.values for r in ours}
    assert sum(next(r["values"] for r in got if r["variable"] == "generation")) > 0


def test_battery(fleet: SimServer, fc: Any) -> None:
    """get_battery: rated capacity from the bmu entries of the v1 detail's batteryList, SoC
    from real-time data."""
    fc.get_device(KH8)
    battery = fc.get_battery()
    assert battery is not None
    assert (battery["ratedCapacity"], battery["count"], battery["model"]) == (10360, 1, "EP11")
    (latest,) = fleet.client().real_time_v1([KH8], ["SoC"])
    assert battery["soc"] == latest.datas[0].value


def test_charge_times_and_min_soc(fleet: SimServer, fc: Any) -> None:
    """get_charge/set_charge (forceChargeTime) and get_min/set_min (battery/soc)."""
    ours = fleet.client()
    fc.get_device(KH8)
    assert fc.set_charge(ch1=True, st1=2, en1=5, ch2=False, st2=0, en2=0) is not None
    times = ours.charge_times(KH8)
    assert (times.enable1, times.startTime1.hour, times.endTime1.hour) == (True, 2, 5)
    assert fc.get_charge()["times"] == msgspec.to_builtins(times)
    assert fc.set_min(minSocOnGrid=25, minSoc=15) is not None
    assert ours.battery_soc(KH8) == s.SocSettings(minSoc=15, minSocOnGrid=25)
    got = fc.get_min()
    assert (got["minSoc"], got["minSocOnGrid"]) == (15, 25)


def test_remote_settings_and_work_mode(fleet: SimServer, fc: Any) -> None:
    """get_remote_settings / set_named_settings / get_work_mode / set_work_mode
    (setting/get and setting/set)."""
    ours = fleet.client()
    fc.get_device(KH8)
    assert fc.get_remote_settings("ExportLimit") == ours.setting(KH8, "ExportLimit").value
    assert fc.set_named_settings("ExportLimit", 4000) == 4000
    assert ours.setting(KH8, "ExportLimit").value == "4000"
    assert fc.get_work_mode() == ours.setting(KH8, "WorkMode").value
    assert fc.set_work_mode("Feedin") == "Feedin"
    assert ours.setting(KH8, "WorkMode").value == "Feedin"


def test_logger_and_signal(fleet: SimServer) -> None:
    """get_logger (module/list: the single logger, with plantName) and get_signal
    (module/getSignal)."""
    _, key = accounts.create_account(fleet.store, f"logger{time.time_ns()}", RealClock().now_ms())
    fc = fresh(fleet.url, key)
    assert fc.get_logger() is None  # no logger yet: foxesscloud says so and returns None
    single = fresh(fleet.url, accounts.rotate_key(fleet.store, "single"))
    logger = single.get_logger()
    assert logger is not None
    device = fleet.store.device(SINGLE)
    assert device is not None and logger["moduleSN"] == device.logger_sn
    assert logger["plantName"] == ""
    signal = single.get_signal()
    assert set(signal) == {"timestamp", "signal"} and -100 <= signal["signal"] <= -30


# ---------------------------------------------------------------- the newer endpoints


def _schedule_reads(fleet: SimServer) -> dict[str, Any]:
    import httpx

    from foxden.protocol import signing

    path = "/op/v3/device/scheduler/get"
    headers = signing.headers(path, fleet.key, RealClock().now_ms())
    answer: dict[str, Any] = httpx.post(
        fleet.url + path, json={"deviceSN": KH8}, headers=headers
    ).json()
    return answer


def test_flag_and_schedule_read_and_write(fleet: SimServer, fc: Any) -> None:
    """get_flag (v1 get/flag + v3 get), get_schedule (v3 get), set_schedule (v3 enable with
    extraParam and isDefault, then v1 set/flag) as foxesscloud 2.9 sends them."""
    fc.get_device(KH8)
    flag = fc.get_flag()
    assert flag is not None and flag["support"] is True and flag["enable"] is False
    assert flag["maxGroupCount"] >= 8 and "workmode" in flag["properties"]
    period = fc.set_period(start="02:00", end="05:00", mode="ForceCharge", min_soc=20, fdsoc=90)
    assert period is not None
    assert fc.set_schedule(periods=[period], enable=1) is not None
    answer = _schedule_reads(fleet)
    assert answer["errno"] == 0 and answer["result"]["enable"] == 1
    (group,) = answer["result"]["groups"]
    assert (group["startHour"], group["endHour"], group["endMinute"]) == (2, 4, 59)
    assert group["workMode"] == "ForceCharge"
    schedule = fc.get_schedule()
    assert schedule["enable"] is True
    assert [(p["startHour"], p["workMode"]) for p in schedule["periods"]] == [(2, "ForceCharge")]
    assert fc.set_schedule(enable=0) is not None
    assert _schedule_reads(fleet)["result"]["enable"] == 0


def test_battery_heating(fleet: SimServer, fc: Any) -> None:
    """get_heating / set_heating (batteryHeating get/set, all values strings) on the H3."""
    fc.get_device(H3)
    before = fc.get_heating()
    assert before is not None and "batteryWarmUpEnable" in before
    assert fc.set_heating(enable=1, start=5, end=12, time1={"enable": 1, "start": 1, "end": 3})
    after = fc.get_heating()
    assert after["batteryWarmUpEnable"] == "enable"
    assert (after["startTemperature"], after["endTemperature"]) == ("5", "12")
    assert after["time1"] == {"enable": 1, "start": 1.0, "end": 3.0}


def test_peak_shaving(fleet: SimServer, fc: Any) -> None:
    """get_peakshaving (peakShaving/get) on the KH8, the family that has it."""
    fc.get_device(KH8)
    got = fc.get_peakshaving()
    assert got is not None and set(got) >= {"importLimit", "soc"}
    assert got["soc"]["unit"] == "%"
