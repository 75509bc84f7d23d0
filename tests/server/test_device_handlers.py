"""The device areas' handlers called directly (no HTTP): battery SoC and force-charge times,
peak shaving, battery heating, inverter list and detail, data loggers. Each refusal's errno
and detail, what each write stores and how it reads back. test_battery_settings.py,
test_device_functions.py, test_devices.py and test_newer_device.py show the same on the wire."""

from __future__ import annotations

from typing import Any

import numpy as np

from foxden.protocol import catalogue, identities, models
from foxden.protocol import structs as s
from foxden.server.areas import battery, battery_heating, device, module, peak_shaving
from foxden.store import Device, DeviceSamples, Logger
from tests.server.calls import HEATING
from tests.server.desk import NOW, Desk, bad, refusal

H1 = "ALICEH1000001"
H3 = "ALICEH3000001"
KH = "ALICEKH800001"
F3 = "ALICEF3000001"
BOB = "BOBH10000001"
UNKNOWN = "NOSUCH000001"


def _devices(desk: Desk) -> None:
    desk.device(H1, "H1-5.0-E")
    desk.device(H3, "H3-10.0-E")
    desk.device(KH, "KH8")
    desk.device(F3, "F3000")
    desk.device(BOB, account="bob")


# ---------------------------------------------------------------- battery


def test_soc_reads_defaults_then_what_was_written(desk: Desk) -> None:
    _devices(desk)
    q = s.SnQuery(sn=H1)
    assert battery.soc_get(desk.ctx(), q) == s.SocSettings(minSoc=10, minSocOnGrid=10)
    battery.soc_set(desk.ctx(), s.SocSet(sn=H1, minSoc=15, minSocOnGrid=15))
    assert desk.store.settings(H1) == {"MinSoc": 15, "MinSocOnGrid": 15}
    assert battery.soc_get(desk.ctx(), q) == s.SocSettings(minSoc=15, minSocOnGrid=15)
    battery.soc_set(desk.ctx(), s.SocSet(sn=H1, minSoc=20, minSocOnGrid=100))
    assert battery.soc_get(desk.ctx(), q) == s.SocSettings(minSoc=20, minSocOnGrid=100)


def test_soc_refusals(desk: Desk) -> None:
    _devices(desk)
    desk.store.put_settings(H1, {"MaxSoc": 80})
    cases = [
        (s.SocSet(sn=H1, minSoc=30, minSocOnGrid=29), bad("minSocOnGrid: must be >= minSoc (30)")),
        (s.SocSet(sn=H1, minSoc=30, minSocOnGrid=81), bad("minSocOnGrid: must be <= MaxSoc (80)")),
        (s.SocSet(sn=F3, minSoc=30, minSocOnGrid=30),
         (42015, "F3000 is a grid-tied inverter (no battery)")),
        (s.SocSet(sn=BOB, minSoc=30, minSocOnGrid=30), (40261, f"sn: no inverter {BOB!r}")),
        (s.SocSet(sn=UNKNOWN, minSoc=30, minSocOnGrid=30), (40261, f"sn: no inverter {UNKNOWN!r}")),
    ]  # fmt: skip
    for req, answer in cases:
        assert refusal(battery.soc_set, desk.ctx(), req) == answer, req
    assert desk.store.settings(H1) == {"MaxSoc": 80}
    assert refusal(battery.soc_get, desk.ctx(), s.SnQuery(sn=F3)) == (
        42015, "F3000 is a grid-tied inverter (no battery)"
    )  # fmt: skip
    battery.soc_set(desk.ctx(), s.SocSet(sn=H1, minSoc=30, minSocOnGrid=80))
    assert desk.store.settings(H1)["MinSocOnGrid"] == 80


def _clock(hour: int, minute: int) -> s.ClockTime:
    return s.ClockTime(hour=hour, minute=minute)


def _charge(e1: bool, p1: tuple[int, int, int, int], e2: bool, p2: tuple[int, int, int, int],
            sn: str = H1) -> s.ForceChargeTimeSet:  # fmt: skip
    return s.ForceChargeTimeSet(
        sn=sn, enable1=e1, startTime1=_clock(*p1[:2]), endTime1=_clock(*p1[2:]),
        enable2=e2, startTime2=_clock(*p2[:2]), endTime2=_clock(*p2[2:]),
    )  # fmt: skip


def test_force_charge_times_read_back(desk: Desk) -> None:
    _devices(desk)
    q = s.SnQuery(sn=H1)
    assert battery.charge_times_get(desk.ctx(), q) == battery.DEFAULT_CHARGE_TIMES
    assert battery.DEFAULT_CHARGE_TIMES == {
        "enable1": False, "startTime1": {"hour": 0, "minute": 0},
        "endTime1": {"hour": 0, "minute": 0}, "enable2": False,
        "startTime2": {"hour": 0, "minute": 0}, "endTime2": {"hour": 0, "minute": 0},
    }  # fmt: skip
    # touching periods are fine: period 1 ends at 02:00, period 2 starts then
    battery.charge_times_set(desk.ctx(), _charge(True, (1, 5, 2, 0), True, (2, 0, 3, 30)))
    expected = {
        "enable1": True, "startTime1": {"hour": 1, "minute": 5},
        "endTime1": {"hour": 2, "minute": 0}, "enable2": True,
        "startTime2": {"hour": 2, "minute": 0}, "endTime2": {"hour": 3, "minute": 30},
    }  # fmt: skip
    assert desk.store.settings(H1) == {"forceChargeTime": expected}
    assert battery.charge_times_get(desk.ctx(), q) == expected
    # a disabled period is kept as written, unchecked
    battery.charge_times_set(desk.ctx(), _charge(False, (5, 0, 4, 0), True, (4, 30, 4, 31)))
    shown = battery.charge_times_get(desk.ctx(), q)
    assert shown["enable1"] is False and shown["startTime1"] == {"hour": 5, "minute": 0}
    assert shown["endTime2"] == {"hour": 4, "minute": 31}
    battery.charge_times_set(desk.ctx(), _charge(True, (4, 0, 5, 0), True, (1, 0, 4, 0)))
    assert refusal(battery.charge_times_get, desk.ctx(), s.SnQuery(sn=F3)) == (
        42015, "F3000 is a grid-tied inverter (no battery)"
    )  # fmt: skip


OVERLAP = (42023, "period 1 and period 2 overlap")


def test_force_charge_refusals(desk: Desk) -> None:
    _devices(desk)
    cases = [
        (_charge(True, (2, 0, 2, 0), False, (0, 0, 0, 0)),
         bad("endTime1: must be after startTime1 on the same day")),
        (_charge(True, (2, 1, 2, 0), False, (0, 0, 0, 0)),
         bad("endTime1: must be after startTime1 on the same day")),
        (_charge(False, (0, 0, 0, 0), True, (3, 0, 2, 59)),
         bad("endTime2: must be after startTime2 on the same day")),
        (_charge(True, (1, 0, 3, 0), True, (2, 59, 4, 0)), OVERLAP),
        (_charge(True, (2, 59, 4, 0), True, (1, 0, 3, 0)), OVERLAP),
        (_charge(True, (1, 0, 5, 0), True, (2, 0, 3, 0)), OVERLAP),
        (_charge(True, (1, 0, 2, 0), True, (1, 0, 2, 0), sn=F3),
         (42015, "F3000 is a grid-tied inverter (no battery)")),
    ]  # fmt: skip
    for req, answer in cases:
        assert refusal(battery.charge_times_set, desk.ctx(), req) == answer, req
    assert desk.store.settings(H1) == {}


# ---------------------------------------------------------------- peak shaving


def test_peak_shaving_only_where_the_model_has_it(desk: Desk) -> None:
    _devices(desk)
    desk.device("ALICEEVO00001", "EVO 10-5-H")
    for sn, name in ((H1, "H1-5.0-E"), (F3, "F3000"), ("ALICEEVO00001", "EVO 10-5-H")):
        detail = bad(f"sn: {name} has no peak shaving")
        assert refusal(peak_shaving.get, desk.ctx(), s.SnBody(sn=sn)) == detail
        req = s.PeakShavingSet(sn=sn, importLimit=1, soc=50)
        assert refusal(peak_shaving.set_, desk.ctx(), req) == detail
    assert refusal(peak_shaving.get, desk.ctx(), s.SnBody(sn=BOB)) == (
        40261, f"sn: no inverter {BOB!r}"
    )  # fmt: skip


def test_peak_shaving_reads_defaults_and_what_was_written(desk: Desk) -> None:
    _devices(desk)
    shown = peak_shaving.get(desk.ctx(), s.SnBody(sn=KH))
    assert shown == s.PeakShaving(
        importLimit=s.SettingValue(
            value="8.000", unit="kW", precision=0.001, range=s.SettingRange(min=0.0, max=100.0)
        ),
        soc=s.SettingValue(
            value="40", unit="%", precision=1.0, range=s.SettingRange(min=10.0, max=100.0)
        ),
    )
    peak_shaving.set_(desk.ctx(), s.PeakShavingSet(sn=KH, importLimit="2.345", soc="55"))
    assert desk.store.settings(KH) == {peak_shaving.IMPORT_LIMIT: 2.345, peak_shaving.SOC: 55}
    assert type(desk.store.settings(KH)[peak_shaving.SOC]) is int
    shown = peak_shaving.get(desk.ctx(), s.SnBody(sn=KH))
    assert (shown.importLimit.value, shown.soc.value) == ("2.345", "55")
    peak_shaving.set_(desk.ctx(), s.PeakShavingSet(sn=KH, importLimit=100, soc=10))
    peak_shaving.set_(desk.ctx(), s.PeakShavingSet(sn=KH, importLimit=0, soc=100.0))
    shown = peak_shaving.get(desk.ctx(), s.SnBody(sn=KH))
    assert (shown.importLimit.value, shown.soc.value) == ("0.000", "100")


def test_peak_shaving_refusals(desk: Desk) -> None:
    _devices(desk)
    cases: list[tuple[str | float, str | float, str]] = [
        ("x", 50, "importLimit: must be a number"),
        (-0.001, 50, "importLimit: must be from 0 to 100"),
        (100.001, 50, "importLimit: must be from 0 to 100"),
        ("1.2345", 50, "importLimit: must be a multiple of 0.001"),
        (1, "half", "soc: must be a number"),
        (1, 9, "soc: must be from 10 to 100"),
        (1, 101, "soc: must be from 10 to 100"),
        (1, 50.5, "soc: must be a multiple of 1"),
    ]
    for limit, soc, detail in cases:
        req = s.PeakShavingSet(sn=KH, importLimit=limit, soc=soc)
        assert refusal(peak_shaving.set_, desk.ctx(), req) == bad(detail), (limit, soc)
    assert desk.store.settings(KH) == {}
    peak_shaving.set_(desk.ctx(), s.PeakShavingSet(sn=KH, importLimit="0.1", soc=50))
    assert desk.store.settings(KH)[peak_shaving.IMPORT_LIMIT] == 0.1


# ---------------------------------------------------------------- battery heating


def _heating(**changes: Any) -> s.BatteryHeatingSet:
    return s.BatteryHeatingSet(**{"sn": H3, **HEATING, **changes})


def _items(desk: Desk, sn: str = H3) -> dict[str, s.HeatingItem]:
    return {i.name: i for i in battery_heating.get(desk.ctx(), s.SnBody(sn=sn)).dataList}


def test_battery_heating_only_where_the_model_has_it(desk: Desk) -> None:
    _devices(desk)
    for sn, name in ((H1, "H1-5.0-E"), (F3, "F3000"), (KH, "KH8")):
        answer = (41200, f"{name} has no battery heating")
        assert refusal(battery_heating.get, desk.ctx(), s.SnBody(sn=sn)) == answer
        assert refusal(battery_heating.set_, desk.ctx(), _heating(sn=sn)) == answer
    assert refusal(battery_heating.get, desk.ctx(), s.SnBody(sn=BOB)) == (
        40261, f"sn: no inverter {BOB!r}"
    )  # fmt: skip


def test_battery_heating_defaults(desk: Desk) -> None:
    _devices(desk)
    items = _items(desk)
    switch = ["disable", "enable"]
    assert [i for i in items][:3] == ["batteryWarmUpEnable", "startTemperature", "endTemperature"]
    assert items["batteryWarmUpEnable"] == s.HeatingItem(
        name="batteryWarmUpEnable", value="disable", unit="", precision=1.0, enumList=switch
    )
    assert items["startTemperature"] == s.HeatingItem(
        name="startTemperature", value="1", unit="℃", precision=1.0
    )
    assert items["endTemperature"] == s.HeatingItem(
        name="endTemperature", value="10", unit="℃", precision=1.0
    )
    for n in (1, 2, 3):
        assert items[f"time{n}Enable"].value == "disable"
        assert items[f"time{n}Enable"].enumList == switch
        for part, high in (("StartHour", 23), ("StartMinute", 59), ("EndHour", 23),
                           ("EndMinute", 59)):  # fmt: skip
            assert items[f"time{n}{part}"] == s.HeatingItem(
                name=f"time{n}{part}", value="0", unit="", precision=1.0,
                range=s.SettingRange(min=0.0, max=float(high)),
            )  # fmt: skip
    tail = {
        "batteryWarmUpFunctionEnableFlag": ("enable", switch),
        "batteryWarmUpState": (battery_heating.STATES[0], list(battery_heating.STATES)),
        "minStartTemperatureRange": ("1", None),
        "maxStartTemperatureRange": ("9", None),
        "minEndTemperatureRange": ("10", None),
        "maxEndTemperatureRange": ("15", None),
    }
    for name, (value, enum) in tail.items():
        assert items[name] == s.HeatingItem(
            name=name, value=value, unit="", precision=1.0, enumList=enum
        )
    assert len(items) == 3 + 3 * 5 + 6
    # the item table is built once, at import; built again it is the same table
    assert battery_heating._items() == battery_heating.ITEMS
    assert set(items) - set(tail) == battery_heating.WRITABLE
    assert battery_heating.STATES[0] == "The battery is in a stopped warm up state"
    assert battery_heating.STATES[1] == "The battery is in a ready warm up state"


def test_battery_heating_write_reads_back(desk: Desk) -> None:
    _devices(desk)
    battery_heating.set_(desk.ctx(), _heating(startTemperature=9, time2EndHour="6.0"))
    stored = desk.store.settings(H3)
    assert stored == {battery_heating.PREFIX + k: v for k, v in
                      {**HEATING, "startTemperature": "9"}.items()}  # fmt: skip
    items = _items(desk)
    assert {k: items[k].value for k in HEATING} == {**HEATING, "startTemperature": "9"}
    assert items["batteryWarmUpState"].value == "The battery is in a ready warm up state"
    battery_heating.set_(desk.ctx(), _heating(batteryWarmUpEnable="disable", startTemperature=1,
                                             endTemperature=15))  # fmt: skip
    items = _items(desk)
    assert items["batteryWarmUpState"].value == "The battery is in a stopped warm up state"
    assert (items["startTemperature"].value, items["endTemperature"].value) == ("1", "15")
    # an enabled window that crosses midnight is fine; only an empty one is refused
    battery_heating.set_(desk.ctx(), _heating(time1Enable="enable", time1StartHour=23,
                                             time1EndHour=1, time1EndMinute=59))  # fmt: skip
    assert _items(desk)["time1EndMinute"].value == "59"


def test_battery_heating_refusals(desk: Desk) -> None:
    _devices(desk)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"batteryWarmUpEnable": "on"}, "batteryWarmUpEnable: must be one of disable, enable"),
        ({"time3Enable": "yes"}, "time3Enable: must be one of disable, enable"),
        ({"startTemperature": 0}, "startTemperature: must be from 1 to 9"),
        ({"startTemperature": "10"}, "startTemperature: must be from 1 to 9"),
        ({"startTemperature": "5.5"}, "startTemperature: must be a whole number, got '5.5'"),
        ({"startTemperature": "warm"}, "startTemperature: must be a whole number, got 'warm'"),
        ({"endTemperature": 9}, "endTemperature: must be from 10 to 15"),
        ({"endTemperature": 16}, "endTemperature: must be from 10 to 15"),
        ({"time1StartHour": 24}, "time1StartHour: must be from 0 to 23"),
        ({"time1EndMinute": 60}, "time1EndMinute: must be from 0 to 59"),
        ({"time3StartMinute": -1}, "time3StartMinute: must be from 0 to 59"),
        ({"time2EndHour": "5", "time2EndMinute": "15"},
         "time2EndHour: an enabled window must not be empty"),
        ({"time1Enable": "enable"}, "time1EndHour: an enabled window must not be empty"),
    ]  # fmt: skip
    for changes, detail in cases:
        answer = refusal(battery_heating.set_, desk.ctx(), _heating(**changes))
        assert answer == bad(detail), changes
    assert desk.store.settings(H3) == {}
    # a disabled window may be empty (all zeros): windows 1 and 3 of HEATING are
    battery_heating.set_(desk.ctx(), _heating(time2EndMinute="16"))
    assert _items(desk)["time2EndMinute"].value == "16"


# ---------------------------------------------------------------- inverters


def test_device_list_pages_with_plant_names(desk: Desk) -> None:
    _devices(desk)
    home = desk.plant([H3], name="Home")
    desk.store.insert_device(
        Device("ALICEXX000001", desk.account("alice").id, "X9-NEW", "ALICEXX000001M", NOW),
        Logger("ALICEXX000001M", desk.account("alice").id),
    )
    first = device.list_(desk.ctx(), s.PageRequest(currentPage=1, pageSize=10))
    assert (first.currentPage, first.pageSize, first.total) == (1, 10, 5)
    by_sn = {d.deviceSN: d for d in first.data}
    assert set(by_sn) == {H1, H3, KH, F3, "ALICEXX000001"}
    stored = desk.store.device(H3)
    assert stored is not None
    assert by_sn[H3] == s.DeviceSummary(
        deviceSN=H3, moduleSN=stored.logger_sn, stationID=home, stationName="Home", status=1,
        hasPV=True, hasBattery=True, deviceType="H3-10.0-E", productType="H3",
    )  # fmt: skip
    f3 = by_sn[F3]
    assert (f3.stationID, f3.stationName, f3.hasBattery, f3.productType) == ("", "", False, "F")
    unknown = by_sn["ALICEXX000001"]
    assert (unknown.deviceType, unknown.productType, unknown.hasBattery) == ("X9-NEW", "", False)
    second = device.list_(desk.ctx(), s.PageRequest(currentPage=2, pageSize=3))
    assert (second.currentPage, second.pageSize, second.total, len(second.data)) == (2, 3, 5, 2)
    page_one = device.list_(desk.ctx(), s.PageRequest(currentPage=1, pageSize=3)).data
    assert len(page_one) == 3
    assert {d.deviceSN for d in [*page_one, *second.data]} == set(by_sn)


def test_device_detail_of_each_version(desk: Desk) -> None:
    _devices(desk)
    home = desk.plant([KH], name="Barn")
    stored = desk.store.device(KH)
    assert stored is not None
    detail = device.detail(desk.ctx(), s.SnQuery(sn=KH))
    fw = models.MODELS["KH8"].firmware
    expected: dict[str, Any] = {
        "deviceSN": KH, "moduleSN": stored.logger_sn, "stationID": home, "stationName": "Barn",
        "deviceType": "KH8", "productType": "KH", "status": 1, "hasPV": True,
        "hasBattery": True, "capacity": identities.capacity_kw(8000),
        "afciVersion": fw["afciVersion"], "managerVersion": fw["managerVersion"],
        "masterVersion": fw["masterVersion"], "slaveVersion": fw["slaveVersion"],
        "hardwareVersion": "--", "function": s.DeviceFunction(scheduler=True),
        "batteryList": [s.BatteryInfo(**b) for b in stored.batteries],
    }  # fmt: skip
    assert detail == s.DeviceDetail(**expected)
    assert stored.batteries
    assert device.detail_v1(desk.ctx(), s.SnQuery(sn=KH)) == s.DeviceDetailV1(
        **expected, thirdPartyGen=False
    )
    f3 = device.detail(desk.ctx(), s.SnQuery(sn=F3))
    assert (f3.stationID, f3.stationName, f3.hasBattery, f3.batteryList) == ("", "", False, [])
    assert f3.function == s.DeviceFunction(scheduler=False)
    for sn in (BOB, UNKNOWN):
        assert refusal(device.detail, desk.ctx(), s.SnQuery(sn=sn)) == (
            40261, f"sn: no inverter {sn!r}"
        )  # fmt: skip


def test_device_firmware_fields_default_when_the_model_leaves_them_out(desk: Desk) -> None:
    bare = models.InverterModel("H1-BARE", "H", "H1-BARE", 5000, 1, 2, True)
    firmware = {"afciVersion": "0.9", "managerVersion": "1.2", "masterVersion": "1.3",
                "slaveVersion": "1.4", "hardwareVersion": "B"}  # fmt: skip
    full = models.InverterModel("H1-FULL", "H", "H1-FULL", 5000, 1, 2, True, firmware=firmware)
    models.MODELS["H1-BARE"] = bare
    models.MODELS["H1-FULL"] = full
    alice = desk.account("alice").id
    try:
        for name, sn in (("H1-BARE", "ALICEBARE0001"), ("H1-FULL", "ALICEFULL0001")):
            desk.store.insert_device(
                Device(sn, alice, name, sn + "M", NOW), Logger(sn + "M", alice)
            )
        shown = device.detail(desk.ctx(), s.SnQuery(sn="ALICEBARE0001"))
        shown_full = device.detail(desk.ctx(), s.SnQuery(sn="ALICEFULL0001"))
    finally:
        del models.MODELS["H1-BARE"], models.MODELS["H1-FULL"]
    assert (shown.afciVersion, shown.managerVersion, shown.masterVersion) == ("", "", "")
    assert (shown.slaveVersion, shown.hardwareVersion) == ("", "--")
    versions = (shown_full.afciVersion, shown_full.managerVersion, shown_full.masterVersion,
                shown_full.slaveVersion, shown_full.hardwareVersion)  # fmt: skip
    assert versions == ("0.9", "1.2", "1.3", "1.4", "B")


def test_device_catalogues(desk: Desk) -> None:
    assert device.variables(desk.ctx(), None) == catalogue.variable_get_result()
    assert device.faults(desk.ctx(), None) == catalogue.fault_get_result()
    assert {
        "device.list": device.list_,
        "device.detail": device.detail,
        "device.detail_v1": device.detail_v1,
        "device.variables": device.variables,
        "device.faults": device.faults,
    } == device.HANDLERS


# ---------------------------------------------------------------- data loggers


def test_signal_maps_percent_onto_dbm() -> None:
    assert [module.signal_dbm(p) for p in (-5, 0, 1, 50, 99, 100, 150)] == [
        -100, -100, -99, -65, -31, -30, -30
    ]  # fmt: skip


def test_module_list_and_detail(desk: Desk) -> None:
    _devices(desk)
    home = desk.plant([H1], name="Home")
    loggers = {sn: desk.store.device(sn).logger_sn for sn in (H1, H3, KH, F3)}  # type: ignore[union-attr]
    page = module.list_(desk.ctx(), s.PageRequest(currentPage=1, pageSize=10))
    assert (page.currentPage, page.pageSize, page.total) == (1, 10, 4)
    by_sn = {m.moduleSN: m for m in page.data}
    assert set(by_sn) == set(loggers.values())
    assert by_sn[loggers[H1]] == s.ModuleSummary(
        moduleSN=loggers[H1], stationID=home, plantName="Home", status=1, signal=100,
        webVersion="--", softVersion="1.16",
    )  # fmt: skip
    assert (by_sn[loggers[H3]].stationID, by_sn[loggers[H3]].plantName) == ("", "")
    for logger in loggers.values():  # each of the account's loggers, wherever it is listed
        assert module.detail(desk.ctx(), s.SnQuery(sn=logger)) == by_sn[logger]
        assert module.signal(desk.ctx(), s.ModuleSn(sn=logger)).signal == -30
    bobs = desk.store.device(BOB).logger_sn  # type: ignore[union-attr]
    for sn in (bobs, UNKNOWN):
        assert refusal(module.detail, desk.ctx(), s.SnQuery(sn=sn)) == (
            41930, f"sn: no data logger {sn!r}"
        )  # fmt: skip
        assert refusal(module.signal, desk.ctx(), s.ModuleSn(sn=sn)) == (
            41930, f"sn: no data logger {sn!r}"
        )  # fmt: skip
    second = module.list_(desk.ctx(), s.PageRequest(currentPage=2, pageSize=3))
    assert (second.currentPage, second.total, len(second.data)) == (2, 4, 1)


def test_module_signal_reports_the_latest_sample_or_now(desk: Desk) -> None:
    _devices(desk)
    logger = desk.store.device(H1).logger_sn  # type: ignore[union-attr]
    desk.store.insert_device(
        Device("ALICEXX000002", desk.account("alice").id, "H1-5.0-E", "LONELY000001", NOW),
        Logger("LONELY000001", desk.account("alice").id, signal=40),
    )
    assert module.signal(desk.ctx(), s.ModuleSn(sn=logger)) == s.ModuleSignal(
        timestamp=NOW, signal=-30
    )
    desk.store.ingest([
        DeviceSamples(H1, ("SoC",), np.array([NOW - 300_000], dtype=np.int64), np.array([[50.0]]))
    ])  # fmt: skip
    desk.clock.advance(60_000)
    assert module.signal(desk.ctx(), s.ModuleSn(sn=logger)) == s.ModuleSignal(
        timestamp=NOW - 300_000, signal=-30
    )
    assert module.signal(desk.ctx(), s.ModuleSn(sn="LONELY000001")) == s.ModuleSignal(
        timestamp=NOW + 60_000, signal=-72
    )
    assert {
        "module.list": module.list_,
        "module.detail": module.detail,
        "module.signal": module.signal,
    } == module.HANDLERS
