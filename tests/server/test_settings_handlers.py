"""The settings area's handlers called directly (no HTTP): setting/get|set per key and model,
every refusal's errno and detail, what a write stores and reads back, and the device clock
in the plant's zone. test_battery_settings.py and test_devices.py show the same on the wire."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from foxden.protocol import models
from foxden.protocol import structs as s
from foxden.server.areas import settings as area
from tests.server.desk import NOW, Desk, bad, refusal

H1 = "ALICEH1000001"
H3 = "ALICEH3000001"
EVO = "ALICEEVO00001"
F3 = "ALICEF3000001"
KEYS = ", ".join(models.SETTING_KEYS)


def _devices(desk: Desk) -> None:
    desk.device(H1, "H1-5.0-E")
    desk.device(H3, "H3-10.0-E")
    desk.device(EVO, "EVO 10-5-H")
    desk.device(F3, "F3000")


def _get(desk: Desk, sn: str, key: str) -> s.SettingValue:
    return area.get(desk.ctx(), s.SettingGet(sn=sn, key=key))


def _set(desk: Desk, sn: str, key: str, value: str | int | float) -> None:
    area.set_(desk.ctx(), s.SettingSet(sn=sn, key=key, value=value))


def _set_refused(desk: Desk, sn: str, key: str, value: str | int | float) -> tuple[int, str]:
    return refusal(area.set_, desk.ctx(), s.SettingSet(sn=sn, key=key, value=value))


def test_unknown_keys_devices_and_unsupported_keys(desk: Desk) -> None:
    _devices(desk)
    desk.device("BOBH10000001", account="bob")
    for sn in ("NOSUCH000001", "BOBH10000001"):
        get = s.SettingGet(sn=sn, key="MinSoc")
        assert refusal(area.get, desk.ctx(), get) == (40261, f"sn: no inverter {sn!r}")
        assert _set_refused(desk, sn, "MinSoc", 20) == (40261, f"sn: no inverter {sn!r}")
    detail = f"key: unknown setting 'Colour'; one of {KEYS}"
    assert refusal(area.get, desk.ctx(), s.SettingGet(sn=H1, key="Colour")) == bad(detail)
    assert _set_refused(desk, H1, "Colour", 1) == bad(detail)
    get = s.SettingGet(sn=F3, key="MinSoc")
    assert refusal(area.get, desk.ctx(), get) == (42015, "F3000 has no setting MinSoc")
    assert _set_refused(desk, EVO, "WorkMode", "SelfUse") == (
        42015, "EVO 10-5-H has no setting WorkMode"
    )  # fmt: skip
    assert desk.store.settings(H1) == {} and desk.store.settings("BOBH10000001") == {}


def test_get_answers_defaults_with_unit_precision_and_range(desk: Desk) -> None:
    _devices(desk)
    assert _get(desk, H1, "MinSoc") == s.SettingValue(
        value="10", unit="%", precision=1.0, range=s.SettingRange(min=10.0, max=100.0)
    )
    assert _get(desk, H1, "ExportLimit") == s.SettingValue(
        value="5000", unit="W", precision=1.0, range=s.SettingRange(min=0.0, max=5000.0)
    )
    assert _get(desk, H1, "MaxSetChargeCurrent") == s.SettingValue(
        value="25", unit="A", precision=0.1, range=s.SettingRange(min=0.0, max=25.0)
    )
    assert _get(desk, H1, "WorkMode") == s.SettingValue(
        value="SelfUse", unit="", precision=1.0, enumList=["Feedin", "SelfUse"]
    )
    assert _get(desk, H1, "GridCode") == s.SettingValue(
        value="EN50549", unit="", precision=1.0, enumList=["EN50549"]
    )


def test_the_plants_country_chooses_the_grid_codes(desk: Desk) -> None:
    _devices(desk)
    desk.plant([H1], country="gb")
    assert _get(desk, H1, "GridCode") == s.SettingValue(
        value="UK G99", unit="", precision=1.0, enumList=["UK G98", "UK G99"]
    )
    assert _set_refused(desk, H1, "GridCode", "EN50549") == bad(
        "value: GridCode must be one of UK G98, UK G99"
    )
    _set(desk, H1, "GridCode", "UK G98")
    assert _get(desk, H1, "GridCode").value == "UK G98"
    assert _set_refused(desk, H3, "GridCode", "UK G98") == bad(
        "value: GridCode must be one of EN50549"
    )


def test_numbers_are_checked_stored_and_read_back(desk: Desk) -> None:
    _devices(desk)
    _set(desk, H1, "ExportLimit", "1234")
    assert desk.store.settings(H1) == {"ExportLimit": 1234, "ExportLimitPower": 1234}
    assert type(desk.store.settings(H1)["ExportLimit"]) is int
    assert _get(desk, H1, "ExportLimitPower").value == "1234"
    _set(desk, H1, "ExportLimitPower", 0)
    assert _get(desk, H1, "ExportLimit").value == "0"
    _set(desk, H1, "MaxSetChargeCurrent", "12.3")
    assert desk.store.settings(H1)["MaxSetChargeCurrent"] == 12.3
    assert _get(desk, H1, "MaxSetChargeCurrent").value == "12.3"
    _set(desk, H1, "MaxSetDischargeCurrent", 25)
    assert _get(desk, H1, "MaxSetDischargeCurrent").value == "25"
    _set(desk, H1, "MaxSetDischargeCurrent", 0.7)
    assert desk.store.settings(H1)["MaxSetDischargeCurrent"] == 0.7
    _set(desk, H1, "MaxSoc", "100.0")
    assert desk.store.settings(H1)["MaxSoc"] == 100
    assert type(desk.store.settings(H1)["MaxSoc"]) is int


def test_number_refusals(desk: Desk) -> None:
    _devices(desk)
    cases: list[tuple[str, str | float, str]] = [
        ("ExportLimit", "lots", "value: ExportLimit must be a number"),
        ("ExportLimit", True, "value: ExportLimit must be a number"),
        ("ExportLimit", 5001, "value: ExportLimit must be from 0 to 5000 W"),
        ("ExportLimit", -1, "value: ExportLimit must be from 0 to 5000 W"),
        ("ExportLimit", 10.5, "value: ExportLimit must be a multiple of 1"),
        ("MaxSetChargeCurrent", "25.1", "value: MaxSetChargeCurrent must be from 0 to 25 A"),
        ("MaxSetChargeCurrent", "1.25", "value: MaxSetChargeCurrent must be a multiple of 0.1"),
        ("MinSoc", 9, "value: MinSoc must be from 10 to 100 %"),
        ("MaxSoc", 101, "value: MaxSoc must be from 10 to 100 %"),
    ]
    for key, value, detail in cases:
        assert _set_refused(desk, H1, key, value) == bad(detail), (key, value)
    assert desk.store.settings(H1) == {}
    _set(desk, H1, "ExportLimit", 5000)
    _set(desk, H1, "MaxSetChargeCurrent", 25)
    _set(desk, H1, "MaxSetChargeCurrent", "0.1")
    assert desk.store.settings(H1)["MaxSetChargeCurrent"] == 0.1


def test_enum_settings(desk: Desk) -> None:
    _devices(desk)
    assert _set_refused(desk, H1, "WorkMode", "Backup") == bad(
        "value: WorkMode must be one of Feedin, SelfUse"
    )
    _set(desk, H1, "WorkMode", "Feedin")
    assert desk.store.settings(H1) == {"WorkMode": "Feedin"}
    assert _get(desk, H1, "WorkMode").value == "Feedin"
    _set(desk, H1, "EpsOutPut", "disable")
    assert _get(desk, H1, "EpsOutPut") == s.SettingValue(
        value="disable", unit="", precision=1.0, enumList=["disable", "enable"]
    )
    assert _set_refused(desk, H1, "EpsOutPut", 1) == bad(
        "value: EpsOutPut must be one of disable, enable"
    )


def test_while_the_scheduler_is_on(desk: Desk) -> None:
    """WorkMode answers 44096 and the SoC floors 44098; other keys still write."""
    _devices(desk)
    desk.store.put_settings(H1, {"scheduler.enable": 1})
    assert _set_refused(desk, H1, "WorkMode", "Feedin") == (
        44096, "WorkMode cannot change while the scheduler is on"
    )  # fmt: skip
    assert _set_refused(desk, H1, "MinSoc", 20) == (
        44098, "MinSoc cannot change while the scheduler is on"
    )  # fmt: skip
    assert _set_refused(desk, H1, "MinSocOnGrid", 20) == (
        44098, "MinSocOnGrid cannot change while the scheduler is on"
    )  # fmt: skip
    assert _set_refused(desk, H1, "WorkMode", "Off") == bad(
        "value: WorkMode must be one of Feedin, SelfUse"
    )
    _set(desk, H1, "MaxSoc", 90)
    _set(desk, H1, "EpsOutPut", "disable")
    assert desk.store.settings(H1) == {
        "scheduler.enable": 1, "MaxSoc": 90, "EpsOutPut": "disable"
    }  # fmt: skip
    desk.store.put_settings(H1, {"scheduler.enable": 0})
    _set(desk, H1, "WorkMode", "Feedin")
    _set(desk, H1, "MinSoc", 10)
    assert desk.store.settings(H1)["WorkMode"] == "Feedin"


def test_the_soc_settings_keep_their_order(desk: Desk) -> None:
    _devices(desk)
    _set(desk, H3, "MinSocOnGrid", 10)  # MinSoc's default is 10: the floor may equal it
    assert desk.store.settings(H3) == {"MinSocOnGrid": 10}
    # defaults: MinSoc 10 <= MinSocOnGrid 10 <= MaxSoc 100
    assert _set_refused(desk, H1, "MinSoc", 11) == bad("value: MinSoc must be <= MinSocOnGrid (10)")
    _set(desk, H1, "MinSocOnGrid", 100)
    _set(desk, H1, "MinSoc", 100)
    assert _set_refused(desk, H1, "MaxSoc", 99) == bad(
        "value: MaxSoc must be >= MinSocOnGrid (100)"
    )
    _set(desk, H1, "MaxSoc", 100)
    desk.store.put_settings(H1, {"MinSoc": 20, "MinSocOnGrid": 30, "MaxSoc": 80})
    assert _set_refused(desk, H1, "MinSocOnGrid", 19) == bad(
        "value: MinSocOnGrid must be from MinSoc (20) to MaxSoc (80)"
    )
    assert _set_refused(desk, H1, "MinSocOnGrid", 81) == bad(
        "value: MinSocOnGrid must be from MinSoc (20) to MaxSoc (80)"
    )
    _set(desk, H1, "MinSocOnGrid", 20)
    _set(desk, H1, "MinSocOnGrid", 80)
    assert _set_refused(desk, H1, "MaxSoc", 79) == bad("value: MaxSoc must be >= MinSocOnGrid (80)")
    _set(desk, H1, "MaxSoc", 80)
    assert _set_refused(desk, H1, "MinSoc", 81) == bad("value: MinSoc must be <= MinSocOnGrid (80)")
    _set(desk, H1, "MinSoc", 80)
    assert desk.store.settings(H1) == {"MinSoc": 80, "MinSocOnGrid": 80, "MaxSoc": 80}
    assert [_get(desk, H1, k).value for k in ("MinSoc", "MinSocOnGrid", "MaxSoc")] == ["80"] * 3


def test_stored_value_prefers_the_keys_own_name_then_either_export_name() -> None:
    spec = models.MODELS["H1-5.0-E"].settings()["ExportLimit"]
    both = {"ExportLimit": 1, "ExportLimitPower": 2}
    assert area.stored_value(both, spec) == 1
    power = models.MODELS["H1-5.0-E"].settings()["ExportLimitPower"]
    assert area.stored_value(both, power) == 2
    assert area.stored_value({"ExportLimitPower": 3}, spec) == 3
    assert area.stored_value({}, spec) == "5000"
    soc = models.MODELS["H1-5.0-E"].settings()["MinSoc"]
    assert area.stored_value({"ExportLimit": 7}, soc) == "10"


def test_render_writes_whole_floats_without_a_point() -> None:
    assert area._render(100.0) == "100"
    assert area._render(12.5) == "12.5"
    assert area._render(7) == "7"
    assert area._render("SelfUse") == "SelfUse"


def _time(desk: Desk, sn: str) -> tuple[int, ...]:
    t = area.time_get(desk.ctx(), s.DeviceTimeGet(sn=sn))
    return tuple(int(v) for v in (t.year, t.month, t.day, t.hour, t.minute, t.second))


def _time_set(desk: Desk, sn: str, **fields: str | int) -> None:
    when: dict[str, str | int] = {
        "year": 2024, "month": 6, "day": 1, "hour": 12, "minute": 0, "second": 0
    }  # fmt: skip
    area.time_set(desk.ctx(), s.DeviceTimeSet(sn=sn, **{**when, **fields}))


def test_the_device_clock_reads_in_the_plants_zone(desk: Desk) -> None:
    _devices(desk)
    desk.clock.set(NOW + 999)
    assert _time(desk, H1) == (2024, 6, 1, 12, 0, 0)  # no offset stored: none at all
    desk.clock.set(NOW + 34_000)
    assert _time(desk, H1) == (2024, 6, 1, 12, 0, 34)  # no plant: UTC
    desk.plant([H1], zone="Asia/Tokyo")
    assert _time(desk, H1) == (2024, 6, 1, 21, 0, 34)
    reply = area.time_get(desk.ctx(), s.DeviceTimeGet(sn=H1))
    assert reply == s.DeviceTime(year="2024", month="6", day="1", hour="21", minute="0",
                                 second="34")  # fmt: skip


def test_setting_the_clock_stores_its_offset_in_the_plants_zone(desk: Desk) -> None:
    _devices(desk)
    desk.plant([H1], zone="Europe/London")
    _time_set(desk, H1, hour=14, minute=30, second=15)  # 13:30:15 UTC
    assert desk.store.settings(H1) == {"clockOffsetMs": (90 * 60 + 15) * 1000}
    assert _time(desk, H1) == (2024, 6, 1, 14, 30, 15)
    desk.clock.advance(1000)
    assert _time(desk, H1) == (2024, 6, 1, 14, 30, 16)
    _time_set(desk, H3, year="24", month="6", day="1", hour="11", minute="59", second="59")
    assert desk.store.settings(H3) == {"clockOffsetMs": -1000 - 1000}
    _time_set(desk, H3, year=2099, month=12, day=31, hour=23, minute=59, second=59)
    assert _time(desk, H3) == (2099, 12, 31, 23, 59, 59)
    _time_set(desk, H3, year=99, month=12, day=31, hour=23, minute=59, second=59)
    when = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000
    assert desk.store.settings(H3)["clockOffsetMs"] == round(when) - NOW - 1000


def test_clock_refusals_name_the_field(desk: Desk) -> None:
    _devices(desk)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"year": "soon"}, "year: must be a whole number, got 'soon'"),
        ({"minute": 1.5}, "minute: must be a whole number, got 1.5"),
        ({"year": 100}, "year: must be from 0 to 99 (or 2000-2099), got 100"),
        ({"year": 2100}, "year: must be from 0 to 99 (or 2000-2099), got 2100"),
        ({"year": 1999}, "year: must be from 0 to 99 (or 2000-2099), got 1999"),
        ({"year": -1}, "year: must be from 0 to 99 (or 2000-2099), got -1"),
        ({"month": 13}, "month: must be from 1 to 12, got 13"),
        ({"month": 0}, "month: must be from 1 to 12, got 0"),
        ({"day": 32}, "day: must be from 1 to 31, got 32"),
        ({"hour": 24}, "hour: must be from 0 to 23, got 24"),
        ({"second": 60}, "second: must be from 0 to 59, got 60"),
        ({"month": 2, "day": 30}, "day: 2024-02 has 29 days"),
        ({"year": 23, "month": 2, "day": 29}, "day: 2023-02 has 28 days"),
        ({"month": 4, "day": 31}, "day: 2024-04 has 30 days"),
    ]
    for fields, detail in cases:
        when: dict[str, Any] = {"year": 2024, "month": 6, "day": 1, "hour": 0, "minute": 0}
        req = s.DeviceTimeSet(sn=H1, **{**when, "second": 0, **fields})
        assert refusal(area.time_set, desk.ctx(), req) == bad(detail), fields
    assert desk.store.settings(H1) == {}
    missing = s.DeviceTimeSet(sn="NOSUCH000001", year=24, month=1, day=1, hour=0, minute=0,
                              second=0)  # fmt: skip
    assert refusal(area.time_set, desk.ctx(), missing) == (40261, "sn: no inverter 'NOSUCH000001'")
    gone = s.DeviceTimeGet(sn="NOSUCH000001")
    assert refusal(area.time_get, desk.ctx(), gone) == (40261, "sn: no inverter 'NOSUCH000001'")
    _time_set(desk, H1, year=2000, month=2, day=29, hour=0, minute=0, second=0)
    assert _time(desk, H1) == (2000, 2, 29, 0, 0, 0)


def test_the_handler_table() -> None:
    assert {
        "settings.get": area.get,
        "settings.set": area.set_,
        "settings.time_get": area.time_get,
        "settings.time_set": area.time_set,
    } == area.HANDLERS
