"""Battery SoC, force-charge periods, device settings by key and the device clock, end to end."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foxden.client import (
    Client,
    DeviceNotFoundError,
    InvalidParameterError,
    TimeOverlapError,
    UnsupportedError,
)
from foxden.protocol import signing
from foxden.protocol import structs as s
from tests.conftest import LiveServer, RawAnswer, raw_answer

H1 = "ALICEH1000001"
H3 = "ALICEH3000001"
F3 = "ALICEF3000001"
KH8 = "BOBKH80000001"

FEW = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

GRID_CODES = ["EN50549"]  # a device outside any plant: the European norm
WORK_MODES = {
    "H1-3.7-E": ["Feedin", "SelfUse"],
    "H1-5.0-E": ["Feedin", "SelfUse"],
    "KH8": ["PeakShaving", "Feedin", "SelfUse"],
    "H3-10.0-E": ["Feedin", "Backup", "SelfUse"],
    "AIO-H3-10.0": ["Feedin", "Backup", "SelfUse"],
}
SOC_KEYS = {"MinSoc": "10", "MinSocOnGrid": "10", "MaxSoc": "100"}

RATED_W = {
    "H1-3.7-E": 3700,
    "H1-5.0-E": 5000,
    "H3-10.0-E": 10000,
    "KH8": 8000,
    "AIO-H3-10.0": 10000,
    "F3000": 3000,
    "T10-G3": 10000,
}
GRID_TIED = {"F3000", "T10-G3"}


def raw_post(live: LiveServer, key: str, path: str, body: dict[str, Any]) -> RawAnswer:
    headers = signing.headers(path, key, int(time.time() * 1000))
    return raw_answer(httpx.post(live.url + path, headers=headers, json=body))


def assert_names(exc: InvalidParameterError, field: str) -> None:
    assert exc.errno == 40257
    assert f"{field}:" in exc.detail, exc.detail


def clock(hour: int, minute: int) -> s.ClockTimeOut:
    return s.ClockTimeOut(hour=hour, minute=minute)


def periods(
    enable1: bool,
    p1: tuple[int, int, int, int],
    enable2: bool,
    p2: tuple[int, int, int, int],
) -> s.ForceChargeTimes:
    return s.ForceChargeTimes(
        enable1=enable1,
        startTime1=clock(p1[0], p1[1]),
        endTime1=clock(p1[2], p1[3]),
        enable2=enable2,
        startTime2=clock(p2[0], p2[1]),
        endTime2=clock(p2[2], p2[3]),
    )


def charge_body(sn: str, times: s.ForceChargeTimes) -> dict[str, Any]:
    return {
        "sn": sn,
        "enable1": times.enable1,
        "startTime1": {"hour": times.startTime1.hour, "minute": times.startTime1.minute},
        "endTime1": {"hour": times.endTime1.hour, "minute": times.endTime1.minute},
        "enable2": times.enable2,
        "startTime2": {"hour": times.startTime2.hour, "minute": times.startTime2.minute},
        "endTime2": {"hour": times.endTime2.hour, "minute": times.endTime2.minute},
    }


# ---------------------------------------------------------------- battery SoC


def test_soc_defaults(alice: Client, bob: Client) -> None:
    assert alice.battery_soc(H1) == s.SocSettings(minSoc=10, minSocOnGrid=10)
    assert alice.battery_soc(H3) == s.SocSettings(minSoc=10, minSocOnGrid=10)
    assert bob.battery_soc(KH8) == s.SocSettings(minSoc=10, minSocOnGrid=10)


def test_soc_set_then_get(alice: Client) -> None:
    alice.set_battery_soc(H1, 15, 40)
    assert alice.battery_soc(H1) == s.SocSettings(minSoc=15, minSocOnGrid=40)
    assert alice.battery_soc(H3) == s.SocSettings(minSoc=10, minSocOnGrid=10)  # untouched
    # the same values are the MinSoc / MinSocOnGrid settings
    assert alice.setting(H1, "MinSoc").value == "15"
    assert alice.setting(H1, "MinSocOnGrid").value == "40"


@FEW
@given(pair=st.tuples(st.integers(10, 100), st.integers(10, 100)).map(sorted))
def test_valid_soc_pairs_round_trip(alice: Client, pair: list[int]) -> None:
    low, high = pair
    alice.set_battery_soc(H1, low, high)
    assert alice.battery_soc(H1) == s.SocSettings(minSoc=low, minSocOnGrid=high)


@FEW
@given(
    bad=st.one_of(st.integers(-(2**31), 9), st.integers(101, 2**31)),
    which=st.sampled_from(["minSoc", "minSocOnGrid"]),
)
def test_out_of_range_soc_is_refused(alice: Client, bad: int, which: str) -> None:
    before = alice.battery_soc(H1)
    values = {"minSoc": 10, "minSocOnGrid": 100, which: bad}
    with pytest.raises(InvalidParameterError) as info:
        alice.set_battery_soc(H1, values["minSoc"], values["minSocOnGrid"])
    assert_names(info.value, which)
    assert alice.battery_soc(H1) == before


def test_soc_set_validation(alice: Client) -> None:
    cases = [
        (9, 50, "minSoc"),
        (101, 100, "minSoc"),
        (50, 40, "minSocOnGrid"),
        (10, 101, "minSocOnGrid"),
        (10, 9, "minSocOnGrid"),
    ]
    for min_soc, on_grid, field in cases:
        with pytest.raises(InvalidParameterError) as info:
            alice.set_battery_soc(H1, min_soc, on_grid)
        assert_names(info.value, field)
    assert alice.battery_soc(H1) == s.SocSettings(minSoc=10, minSocOnGrid=10)


def test_soc_on_grid_above_max_soc_is_refused(alice: Client) -> None:
    alice.set_setting(H1, "MaxSoc", 80)
    with pytest.raises(InvalidParameterError) as info:
        alice.set_battery_soc(H1, 20, 90)
    assert_names(info.value, "minSocOnGrid")
    alice.set_battery_soc(H1, 20, 80)
    assert alice.battery_soc(H1) == s.SocSettings(minSoc=20, minSocOnGrid=80)


def test_soc_set_malformed_body(live: LiveServer) -> None:
    key = live.account("carol")
    live.device("carol", "CAROLH1000001", "H1-5.0-E")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"minSoc": 20}, "minSocOnGrid"),
        ({"minSocOnGrid": 20}, "minSoc"),
        ({"minSoc": "abc", "minSocOnGrid": 20}, "minSoc"),
        ({"minSoc": 20, "minSocOnGrid": "abc"}, "minSocOnGrid"),
        ({"minSoc": 20.5, "minSocOnGrid": 30}, "minSoc"),
    ]
    for body, field in cases:
        path = "/op/v0/device/battery/soc/set"
        answer = raw_post(live, key, path, {"sn": "CAROLH1000001", **body})
        assert answer["errno"] == 40257, body
        assert answer["msg"] == "Parameters do not meet expectations. Please reenter"
        assert f"{field}:" in answer.detail, (body, answer.detail)
        assert answer["result"] is None
    client = live.client(key)
    assert client.battery_soc("CAROLH1000001") == s.SocSettings(minSoc=10, minSocOnGrid=10)


def test_soc_on_grid_tied_inverter_is_unsupported(alice: Client) -> None:
    with pytest.raises(UnsupportedError) as got:
        alice.battery_soc(F3)
    assert got.value.errno == 42015
    with pytest.raises(UnsupportedError) as put:
        alice.set_battery_soc(F3, 20, 30)
    assert put.value.errno == 42015


# ---------------------------------------------------------------- force-charge periods


def test_charge_times_default(alice: Client) -> None:
    assert alice.charge_times(H1) == periods(False, (0, 0, 0, 0), False, (0, 0, 0, 0))


def test_charge_times_set_then_get(alice: Client) -> None:
    # a real configuration (springfall2008/batpred capture): late evening and early morning
    real = periods(True, (23, 30, 23, 59), True, (0, 0, 5, 30))
    alice.set_charge_times(H1, real)
    assert alice.charge_times(H1) == real
    other = periods(True, (1, 15, 4, 45), False, (13, 0, 15, 10))
    alice.set_charge_times(H1, other)
    assert alice.charge_times(H1) == other
    assert alice.charge_times(H3) == periods(False, (0, 0, 0, 0), False, (0, 0, 0, 0))


@FEW
@given(
    a=st.tuples(st.integers(0, 23), st.integers(0, 59)),
    b=st.tuples(st.integers(0, 23), st.integers(0, 59)),
)
def test_disabled_periods_round_trip_in_any_order(
    alice: Client, a: tuple[int, int], b: tuple[int, int]
) -> None:
    times = periods(False, (*a, *b), False, (*b, *a))
    alice.set_charge_times(H1, times)
    assert alice.charge_times(H1) == times


def test_charge_times_missing_period(live: LiveServer) -> None:
    key = live.account("carol")
    live.device("carol", "CAROLH1000001", "H1-5.0-E")
    for missing in ["endTime2", "startTime1", "enable2", "endTime1.minute"]:
        body = charge_body("CAROLH1000001", periods(True, (1, 0, 2, 0), True, (3, 0, 4, 0)))
        if "." in missing:
            outer, inner = missing.split(".")
            del body[outer][inner]
        else:
            del body[missing]
        answer = raw_post(live, key, "/op/v0/device/battery/forceChargeTime/set", body)
        assert answer["errno"] == 40257, missing
        assert f"{missing}:" in answer.detail, answer.detail


def test_charge_times_out_of_range_clock(alice: Client) -> None:
    cases = [
        (periods(True, (24, 0, 23, 0), False, (0, 0, 0, 0)), "startTime1.hour"),
        (periods(True, (1, 60, 2, 0), False, (0, 0, 0, 0)), "startTime1.minute"),
        (periods(False, (0, 0, 0, 0), False, (1, 0, 2, 60)), "endTime2.minute"),
        (periods(False, (0, 0, 0, 0), True, (1, 0, 24, 0)), "endTime2.hour"),
        (periods(False, (0, 0, 0, 0), False, (-1, 0, 2, 0)), "startTime2.hour"),
    ]
    for times, field in cases:
        with pytest.raises(InvalidParameterError) as info:
            alice.set_charge_times(H1, times)
        assert_names(info.value, field)
    assert alice.charge_times(H1) == periods(False, (0, 0, 0, 0), False, (0, 0, 0, 0))


def test_enabled_period_must_end_after_it_starts(alice: Client) -> None:
    cases = [
        (periods(True, (5, 0, 5, 0), False, (0, 0, 0, 0)), 1),
        (periods(True, (5, 30, 5, 0), False, (0, 0, 0, 0)), 1),
        (periods(False, (0, 0, 0, 0), True, (23, 0, 1, 0)), 2),
        (periods(True, (1, 0, 2, 0), True, (4, 0, 3, 59)), 2),
    ]
    for times, period in cases:
        with pytest.raises(InvalidParameterError) as info:
            alice.set_charge_times(H1, times)
        assert info.value.errno == 40257
        msg = info.value.detail
        assert f"endTime{period}:" in msg or f"startTime{period}:" in msg, msg
    assert alice.charge_times(H1) == periods(False, (0, 0, 0, 0), False, (0, 0, 0, 0))


def test_enabled_overlapping_periods(alice: Client) -> None:
    with pytest.raises(TimeOverlapError) as info:
        alice.set_charge_times(H1, periods(True, (1, 0, 3, 0), True, (2, 0, 4, 0)))
    assert info.value.errno == 42023
    with pytest.raises(TimeOverlapError):
        alice.set_charge_times(H1, periods(True, (1, 0, 6, 0), True, (2, 0, 3, 0)))
    assert alice.charge_times(H1) == periods(False, (0, 0, 0, 0), False, (0, 0, 0, 0))
    # the same overlap is fine when one of the two is off
    half = periods(True, (1, 0, 3, 0), False, (2, 0, 4, 0))
    alice.set_charge_times(H1, half)
    assert alice.charge_times(H1) == half


def test_charge_times_on_grid_tied_inverter(alice: Client) -> None:
    with pytest.raises(UnsupportedError) as got:
        alice.charge_times(F3)
    assert got.value.errno == 42015
    with pytest.raises(UnsupportedError) as put:
        alice.set_charge_times(F3, periods(True, (1, 0, 2, 0), False, (0, 0, 0, 0)))
    assert put.value.errno == 42015


# ---------------------------------------------------------------- settings by key


def test_setting_get_every_key_of_every_model(live: LiveServer) -> None:
    client = live.client(live.account("carol"))
    for model in sorted(RATED_W):
        sn = "CAROL" + "".join(c for c in model if c.isalnum())[:8].ljust(8, "0")
        live.device("carol", sn, model)
        check_model_settings(client, sn, model)


def check_model_settings(client: Client, sn: str, model: str) -> None:
    rated = RATED_W[model]

    export = client.setting(sn, "ExportLimit")
    assert (export.value, export.unit, export.precision) == (str(rated), "W", 1)
    assert export.range == s.SettingRange(min=0, max=rated)
    assert export.enumList is None

    grid = client.setting(sn, "GridCode")
    assert grid.enumList == GRID_CODES
    assert grid.value == "EN50549"
    assert grid.range is None

    if model in GRID_TIED:
        for key in ("MinSoc", "MinSocOnGrid", "MaxSoc", "WorkMode"):
            with pytest.raises(UnsupportedError) as info:
                client.setting(sn, key)
            assert info.value.errno == 42015
        return

    for key, default in SOC_KEYS.items():
        value = client.setting(sn, key)
        assert (value.value, value.unit, value.precision) == (default, "%", 1)
        assert value.range == s.SettingRange(min=10, max=100)
        assert value.enumList is None

    mode = client.setting(sn, "WorkMode")
    assert mode.value == "SelfUse"
    assert mode.range is None
    assert mode.enumList == WORK_MODES[model]


def test_setting_get_unknown_key(alice: Client) -> None:
    with pytest.raises(InvalidParameterError) as info:
        alice.setting(H1, "Colour")
    assert_names(info.value, "key")


def test_setting_get_battery_key_on_grid_tied(alice: Client) -> None:
    with pytest.raises(UnsupportedError) as info:
        alice.setting(F3, "MinSoc")
    assert info.value.errno == 42015


def test_setting_set_then_get(alice: Client) -> None:
    cases: list[tuple[str, str, str | int, str]] = [
        (H1, "ExportLimit", 3000, "3000"),
        (H3, "ExportLimit", "0", "0"),
        (F3, "ExportLimit", "3000", "3000"),
        (H1, "MaxSoc", "90", "90"),
        (H1, "MinSocOnGrid", 25, "25"),
        (H1, "MinSoc", "20", "20"),
        (H3, "GridCode", "EN50549", "EN50549"),
        (H1, "WorkMode", "Feedin", "Feedin"),
        (H3, "WorkMode", "Backup", "Backup"),
    ]
    for sn, key, value, expected in cases:
        alice.set_setting(sn, key, value)
        assert alice.setting(sn, key).value == expected, (sn, key)
    # each write kept its own value
    for sn, key, _, expected in cases:
        assert alice.setting(sn, key).value == expected, (sn, key)
    assert alice.battery_soc(H1) == s.SocSettings(minSoc=20, minSocOnGrid=25)


def test_setting_set_with_a_json_number(live: LiveServer) -> None:
    key = live.account("carol")
    live.device("carol", "CAROLH1000001", "H1-5.0-E")
    body = {"sn": "CAROLH1000001", "key": "ExportLimit", "value": 2500}
    assert raw_post(live, key, "/op/v0/device/setting/set", body)["errno"] == 0
    answer = raw_post(
        live, key, "/op/v0/device/setting/get", {"sn": "CAROLH1000001", "key": "ExportLimit"}
    )
    assert answer["result"]["value"] == "2500"


def test_peak_shaving_only_on_kh8(alice: Client, bob: Client) -> None:
    with pytest.raises(InvalidParameterError) as info:
        alice.set_setting(H1, "WorkMode", "PeakShaving")
    assert_names(info.value, "value")
    bob.set_setting(KH8, "WorkMode", "PeakShaving")
    assert bob.setting(KH8, "WorkMode").value == "PeakShaving"


def test_setting_set_bad_value(alice: Client) -> None:
    cases = [
        (H1, "ExportLimit", "5001"),
        (H1, "ExportLimit", "-1"),
        (F3, "ExportLimit", "3001"),
        (H1, "ExportLimit", "abc"),
        (H1, "ExportLimit", ""),
        (H1, "ExportLimit", "2500.5"),
        (H1, "ExportLimit", "nan"),
        (H1, "ExportLimit", "1_000"),
        (H1, "ExportLimit", "1e3"),
        (H1, "MaxSoc", "101"),
        (H1, "MinSoc", "9"),
        (H1, "MinSoc", "ten"),
        (H1, "GridCode", "Mars"),
        (H1, "WorkMode", "selfuse"),
        (H1, "WorkMode", "Invalid"),
    ]
    for sn, key, value in cases:
        before = alice.setting(sn, key).value
        with pytest.raises(InvalidParameterError) as info:
            alice.set_setting(sn, key, value)
        assert_names(info.value, "value")
        assert alice.setting(sn, key).value == before, (sn, key, value)


def test_setting_set_unknown_key_and_unsupported_key(alice: Client) -> None:
    with pytest.raises(InvalidParameterError) as unknown:
        alice.set_setting(H1, "Colour", "red")
    assert_names(unknown.value, "key")
    with pytest.raises(UnsupportedError) as unsupported:
        alice.set_setting(F3, "WorkMode", "SelfUse")
    assert unsupported.value.errno == 42015


def test_setting_soc_keys_keep_their_order(alice: Client) -> None:
    alice.set_setting(H1, "MinSocOnGrid", 30)
    with pytest.raises(InvalidParameterError) as info:
        alice.set_setting(H1, "MinSoc", 31)
    assert_names(info.value, "value")
    with pytest.raises(InvalidParameterError) as below:
        alice.set_setting(H1, "MaxSoc", 29)
    assert below.value.errno == 40257
    alice.set_setting(H1, "MinSoc", 30)
    assert alice.battery_soc(H1) == s.SocSettings(minSoc=30, minSocOnGrid=30)


@FEW
@given(limit=st.integers(0, 5000))
def test_valid_export_limits_round_trip(alice: Client, limit: int) -> None:
    alice.set_setting(H1, "ExportLimit", limit)
    assert alice.setting(H1, "ExportLimit").value == str(limit)


@FEW
@given(limit=st.one_of(st.integers(max_value=-1), st.integers(min_value=5001)))
def test_invalid_export_limits_are_refused(alice: Client, limit: int) -> None:
    with pytest.raises(InvalidParameterError) as info:
        alice.set_setting(H1, "ExportLimit", limit)
    assert_names(info.value, "value")


def test_work_mode_refused_while_scheduler_is_on(alice: Client) -> None:
    alice.set_scheduler_flag(H1, True)
    with pytest.raises(UnsupportedError) as info:
        alice.set_setting(H1, "WorkMode", "Feedin")
    assert info.value.errno == 44096
    assert alice.setting(H1, "WorkMode").value == "SelfUse"
    alice.set_setting(H1, "ExportLimit", 4000)  # other keys are still writable
    assert alice.setting(H1, "ExportLimit").value == "4000"
    alice.set_scheduler_flag(H1, False)
    alice.set_setting(H1, "WorkMode", "Feedin")
    assert alice.setting(H1, "WorkMode").value == "Feedin"


# ---------------------------------------------------------------- device clock


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def wall(t: s.DeviceTime) -> datetime:
    year = int(t.year)
    return datetime(
        year if year >= 100 else 2000 + year,
        int(t.month),
        int(t.day),
        int(t.hour),
        int(t.minute),
        int(t.second),
    )


def device_time(**fields: str) -> s.DeviceTime:
    values = {"year": "26", "month": "3", "day": "15", "hour": "10", "minute": "20"}
    values["second"] = "30"
    values.update(fields)
    return s.DeviceTime(**values)


def assert_clock_reads(client: Client, sn: str, expected: datetime) -> None:
    read = wall(client.device_time(sn))
    assert timedelta(0) <= read - expected <= timedelta(seconds=5), (read, expected)


def test_time_get_returns_strings_near_now(live: LiveServer) -> None:
    key = live.account("carol")
    live.device("carol", "CAROLH1000001", "H1-5.0-E")
    answer = raw_post(live, key, "/op/v0/device/time/get", {"sn": "CAROLH1000001"})
    assert answer["errno"] == 0
    result = answer["result"]
    assert set(result) == {"year", "month", "day", "hour", "minute", "second"}
    assert all(isinstance(v, str) for v in result.values())
    assert len(result["year"]) == 4
    # an unbound device keeps UTC
    now = utc_now()
    read = wall(s.DeviceTime(**result))
    assert abs(read - now) <= timedelta(seconds=5)


def test_time_set_with_document_fields_then_get(live: LiveServer) -> None:
    key = live.account("carol")
    live.device("carol", "CAROLH1000001", "H1-5.0-E")
    body = {
        "sn": "CAROLH1000001",
        "year": "26",
        "month": "3",
        "day": "15",
        "hour": "10",
        "minute": "45",  # the document claims 1-31
        "second": "50",  # the document claims 1-12
    }
    answer = raw_post(live, key, "/op/v0/device/time/set", body)
    assert answer["errno"] == 0, answer
    client = live.client(key)
    assert_clock_reads(client, "CAROLH1000001", datetime(2026, 3, 15, 10, 45, 50))


@pytest.mark.parametrize("year", ["26", "2026"])
def test_time_set_year_two_or_four_digits(alice: Client, year: str) -> None:
    alice.set_device_time(H1, device_time(year=year, month="11", day="24", hour="11"))
    read = alice.device_time(H1)
    assert read.year == "2026"
    assert_clock_reads(alice, H1, datetime(2026, 11, 24, 11, 20, 30))


def test_time_set_keeps_the_plant_wall_time(alice: Client) -> None:
    result = alice.plant_create(
        s.PlantCreate(
            details=s.PlantDetails(
                name="Tokyo", type=2, countryCode="JP", city="c", address="a", postcode="p"
            ),
            timezone="Asia/Tokyo",
            devices=[s.PlantDeviceRef(sn=H3)],
        )
    )
    assert [d.errno for d in result.devices] == [0]
    alice.set_device_time(H3, device_time(year="2027", month="2", day="28", hour="23"))
    assert_clock_reads(alice, H3, datetime(2027, 2, 28, 23, 20, 30))
    # another device's clock did not move
    other = wall(alice.device_time(H1))
    assert abs(other - utc_now()) <= timedelta(seconds=5)


def test_time_set_leap_day(alice: Client) -> None:
    alice.set_device_time(H1, device_time(year="28", month="2", day="29"))
    assert_clock_reads(alice, H1, datetime(2028, 2, 29, 10, 20, 30))


def test_time_set_out_of_range(alice: Client) -> None:
    cases = [
        ("month", "13"),
        ("month", "0"),
        ("day", "32"),
        ("day", "0"),
        ("hour", "24"),
        ("minute", "60"),
        ("second", "60"),
        ("year", "2100"),
        ("year", "abc"),
        ("hour", "-1"),
    ]
    for field, value in cases:
        with pytest.raises(InvalidParameterError) as info:
            alice.set_device_time(H1, device_time(**{field: value}))
        assert_names(info.value, field)
    # the clock was not moved
    assert abs(wall(alice.device_time(H1)) - utc_now()) <= timedelta(seconds=5)


def test_time_set_day_past_end_of_february(alice: Client) -> None:
    for year, day in [("26", "30"), ("26", "29"), ("2028", "30")]:
        with pytest.raises(InvalidParameterError) as info:
            alice.set_device_time(H1, device_time(year=year, month="2", day=day))
        assert_names(info.value, "day")


@FEW
@given(
    case=st.one_of(
        st.tuples(st.just("hour"), st.integers(max_value=-1) | st.integers(min_value=24)),
        st.tuples(st.just("minute"), st.integers(max_value=-1) | st.integers(min_value=60)),
        st.tuples(st.just("second"), st.integers(max_value=-1) | st.integers(min_value=60)),
        st.tuples(st.just("month"), st.integers(max_value=0) | st.integers(min_value=13)),
    )
)
def test_invalid_clock_fields_are_refused(alice: Client, case: tuple[str, int]) -> None:
    field, value = case
    with pytest.raises(InvalidParameterError) as info:
        alice.set_device_time(H1, device_time(**{field: str(value)}))
    assert_names(info.value, field)


def test_time_of_unknown_and_foreign_device(alice: Client, bob: Client) -> None:
    for sn in ("NOSUCHSN00001", KH8):
        with pytest.raises(DeviceNotFoundError) as info:
            alice.device_time(sn)
        assert info.value.errno == 40261
    assert abs(wall(bob.device_time(KH8)) - utc_now()) <= timedelta(seconds=5)


def _plant_in(client: Client, sn: str, zone: str) -> None:
    result = client.plant_create(
        s.PlantCreate(
            details=s.PlantDetails(
                name=zone, type=2, countryCode="JP", city="c", address="a", postcode="p"
            ),
            timezone=zone,
            devices=[s.PlantDeviceRef(sn=sn)],
        )
    )
    assert [d.errno for d in result.devices] == [0]


@pytest.mark.parametrize(("zone", "hours"), [("Asia/Tokyo", 9), ("America/Lima", -5)])
def test_time_get_reads_the_plant_zone_wall_clock(alice: Client, zone: str, hours: int) -> None:
    """An untouched device clock reads now on the plant's wall clock, not in UTC."""
    _plant_in(alice, H3, zone)
    read = wall(alice.device_time(H3))
    assert abs(read - (utc_now() + timedelta(hours=hours))) <= timedelta(seconds=5), read
    # the unbound device next to it still reads UTC
    assert abs(wall(alice.device_time(H1)) - utc_now()) <= timedelta(seconds=5)


def test_time_set_reads_the_wall_time_in_the_plant_zone(live: LiveServer, alice: Client) -> None:
    """A wall time written to a Tokyo device is Tokyo's: writing Tokyo's present wall time
    leaves the device clock on the real instant (offset ~0), and writing the UTC wall time
    puts it nine hours behind."""
    _plant_in(alice, H3, "Asia/Tokyo")
    for shift, offset_h in ((9, 0), (0, -9)):
        target = utc_now() + timedelta(hours=shift)
        fields = {
            "year": str(target.year),
            "month": str(target.month),
            "day": str(target.day),
            "hour": str(target.hour),
            "minute": str(target.minute),
            "second": str(target.second),
        }
        alice.set_device_time(H3, s.DeviceTime(**fields))
        offset = int(live.store.settings(H3)["clockOffsetMs"])
        assert abs(offset - offset_h * 3_600_000) <= 5_000, (shift, offset)
        assert_clock_reads(alice, H3, target.replace(microsecond=0))
