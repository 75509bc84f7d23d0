"""Per-model setting tables, peak shaving and battery heating over loopback.

Sources are cited per test: spec = shared/spec/newer-endpoints.md, samples = shared/samples.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from foxden.client import Client
from foxden.clock import RealClock
from foxden.protocol import models
from foxden.protocol import structs as s
from foxden.store import Plant
from tests.conftest import LiveServer
from tests.server.calls import (  # noqa: F401 (alice_key_with_an_evo: the key fixture)
    EVO,
    F3,
    H1,
    H3,
    KH8,
    alice_key_with_an_evo,
    ok,
    post,
    signed,
)

GET = "/op/v0/device/setting/get"
SET = "/op/v0/device/setting/set"
PEAK = "/op/v0/device/peakShaving"
HEAT = "/op/v0/device/batteryHeating"


# ---------------------------------------------------------------- setting tables


def test_newer_keys_with_real_units_and_float_ranges(live: LiveServer, key: str) -> None:
    """MaxSetChargeCurrent (A, precision 0.1) and ExportLimitPower (W) answer on hybrids,
    ranges and precision written as floats (samples/v0_device_setting_get__batpred_workmode.json
    precision 1.0; spec 3.5.9; issue 9)."""
    raw = httpx.post(
        live.url + GET,
        headers=signed(GET, key),
        json={"sn": H1, "key": "MaxSetChargeCurrent"},
    ).text
    got = json.loads(raw)["result"]
    assert got == {"value": "25", "unit": "A", "precision": 0.1,
                   "range": {"min": 0.0, "max": 25.0}}  # fmt: skip
    power = ok(post(live, key, GET, {"sn": H1, "key": "ExportLimitPower"}))
    assert power == {"value": "5000", "unit": "W", "precision": 1.0,
                     "range": {"min": 0.0, "max": 5000.0}}  # fmt: skip
    assert '"precision":1.0' in post_raw(live, key, {"sn": H1, "key": "MinSoc"})


def post_raw(live: LiveServer, key: str, body: dict[str, Any]) -> str:
    headers = signed(GET, key)
    return httpx.post(live.url + GET, headers=headers, json=body).text


def test_every_key_of_every_model_answers_or_says_unsupported(live: LiveServer) -> None:
    """Each model answers exactly its family's keys; a documented key it lacks answers 42015
    "not supported" (batpred #3880, EVO notes), a key nobody documents 40257 (spec 3.5.9)."""
    api_key = live.account("carol")
    for i, (name, model) in enumerate(sorted(models.MODELS.items())):
        sn = f"CAROL{i:08d}"
        live.device("carol", sn, name)
        supported = model.settings()
        for setting in models.SETTING_KEYS:
            answer = post(live, api_key, GET, {"sn": sn, "key": setting})
            if setting in supported:
                result = ok(answer)
                assert isinstance(result["precision"], float)
                assert ("range" in result) != ("enumList" in result), (name, setting)
            else:
                assert answer["errno"] == 42015, (name, setting)
        assert post(live, api_key, GET, {"sn": sn, "key": "Colour"})["errno"] == 40257


def test_work_mode_list_is_the_models_own(live: LiveServer, key: str, bob: Client) -> None:
    """KH answers ["PeakShaving","Feedin","SelfUse"] (samples/v0_device_setting_get__batpred_
    workmode.json); KH/H1 firmware refuses ForceCharge, ForceDischarge and Backup as WorkMode
    (issue 9); EVO has no WorkMode key (42015: EVO notes, JZ)."""
    kh = ok(post(live, bob.api_key, GET, {"sn": KH8, "key": "WorkMode"}))
    assert kh == {"value": "SelfUse", "unit": "", "precision": 1.0,
                  "enumList": ["PeakShaving", "Feedin", "SelfUse"]}  # fmt: skip
    for mode in ("ForceCharge", "ForceDischarge", "Backup"):
        assert post(live, key, SET, {"sn": H1, "key": "WorkMode", "value": mode})["errno"] == 40257
        answer = post(live, bob.api_key, SET, {"sn": KH8, "key": "WorkMode", "value": mode})
        assert answer["errno"] == 40257
    ok(post(live, key, SET, {"sn": H3, "key": "WorkMode", "value": "Backup"}))
    assert post(live, key, GET, {"sn": EVO, "key": "WorkMode"})["errno"] == 42015
    assert post(live, key, GET, {"sn": EVO, "key": "MaxSoc"})["errno"] == 42015


def _plant(live: LiveServer, account: str, sn: str, model: str, country: str, zone: str) -> None:
    live.device(account, sn, model)
    acc = live.store.account_by_name(account)
    assert acc is not None
    plant = Plant(
        id=f"P{sn}", account_id=acc.id, name=sn, type=2, country_code=country, city="x",
        address="x", postcode="x", timezone=zone, created_ms=RealClock().now_ms(),
    )  # fmt: skip
    live.store.insert_plant(plant)
    live.store.bind_device(sn, plant.id)


def test_grid_codes_follow_the_plants_country(live: LiveServer) -> None:
    """A German inverter offers VDE4105, an Australian one AS4777.2, a British one G98/G99
    (G99 above 3.68 kW); never "UK G98" abroad (issue 9)."""
    api_key = live.account("dora")
    _plant(live, "dora", "DORADE0000001", "H3-10.0-E", "DE", "Europe/Berlin")
    _plant(live, "dora", "DORAAU0000001", "KH8", "AU", "Australia/Sydney")
    _plant(live, "dora", "DORAGB0000001", "H1-3.7-E", "GB", "Europe/London")
    _plant(live, "dora", "DORAGB0000002", "H1-5.0-E", "GB", "Europe/London")
    expected = {
        "DORADE0000001": ("VDE4105", ["VDE4105"]),
        "DORAAU0000001": ("AS4777.2", ["AS4777.2"]),
        "DORAGB0000001": ("UK G98", ["UK G98", "UK G99"]),
        "DORAGB0000002": ("UK G99", ["UK G98", "UK G99"]),
    }
    for sn, (value, codes) in expected.items():
        got = ok(post(live, api_key, GET, {"sn": sn, "key": "GridCode"}))
        assert (got["value"], got["enumList"]) == (value, codes), sn
    answer = post(live, api_key, SET, {"sn": "DORADE0000001", "key": "GridCode", "value": "UK G98"})
    assert answer["errno"] == 40257


def test_newer_keys_are_stored_as_numbers_the_simulator_reads(live: LiveServer, key: str) -> None:
    """MaxSetChargeCurrent/MaxSetDischargeCurrent (A) and ExportLimitPower (W) are stored
    under their own names as numbers (what the simulator obeys); ExportLimit and
    ExportLimitPower are one register (spec 3.5.9)."""
    ok(post(live, key, SET, {"sn": H1, "key": "MaxSetChargeCurrent", "value": "12.5"}))
    ok(post(live, key, SET, {"sn": H1, "key": "MaxSetDischargeCurrent", "value": 20}))
    ok(post(live, key, SET, {"sn": H1, "key": "ExportLimit", "value": "3000"}))
    stored = live.store.settings(H1)
    assert stored["MaxSetChargeCurrent"] == 12.5
    assert stored["MaxSetDischargeCurrent"] == 20
    assert stored["ExportLimitPower"] == stored["ExportLimit"] == 3000
    ok(post(live, key, SET, {"sn": H1, "key": "ExportLimitPower", "value": 2500}))
    assert ok(post(live, key, GET, {"sn": H1, "key": "ExportLimit"}))["value"] == "2500"
    assert ok(post(live, key, GET, {"sn": H1, "key": "MaxSetChargeCurrent"}))["value"] == "12.5"
    for value in ("25.1", "12.55", "-1", "lots"):
        body = {"sn": H1, "key": "MaxSetChargeCurrent", "value": value}
        assert post(live, key, SET, body)["errno"] == 40257, value
    ok(post(live, key, SET, {"sn": EVO, "key": "ExportLimitPower", "value": 9000}))
    assert post(live, key, SET, {"sn": EVO, "key": "ExportLimit", "value": 9000})["errno"] == 42015


def test_switch_keys_take_the_clouds_words(live: LiveServer, key: str) -> None:
    """EpsOutPut, SysSwitch, ECOMode, Meter1Enable... take "enable"/"disable" (the cloud's
    switch words, samples/v0_device_batteryHeating_get__energystats_ios.json)."""
    ok(post(live, key, SET, {"sn": H3, "key": "EpsOutPut", "value": "disable"}))
    assert ok(post(live, key, GET, {"sn": H3, "key": "EpsOutPut"}))["value"] == "disable"
    assert post(live, key, SET, {"sn": H3, "key": "EpsOutPut", "value": "off"})["errno"] == 40257
    assert post(live, key, GET, {"sn": H1, "key": "ECOMode"})["errno"] == 42015
    ok(post(live, key, SET, {"sn": EVO, "key": "LowPowerMode", "value": "enable"}))


def test_soc_writes_fail_while_the_scheduler_is_on(live: LiveServer, key: str) -> None:
    """MinSoc/MinSocOnGrid writes answer 44098 "Write failed" while the Mode Scheduler is on
    (batpred #3011, samples/newer/errors__newer_endpoints.json); WorkMode answers 44096
    (foxesscloud: "cannot update settings when schedule is active")."""
    ok(post(live, key, "/op/v1/device/scheduler/set/flag", {"deviceSN": H1, "enable": 1}))
    body = {"sn": H1, "key": "MinSocOnGrid", "value": 20}
    assert post(live, key, SET, body)["errno"] == 44098
    assert post(live, key, SET, {"sn": H1, "key": "WorkMode", "value": "Feedin"})["errno"] == 44096
    ok(post(live, key, SET, {"sn": H1, "key": "MaxSetChargeCurrent", "value": 10}))
    ok(post(live, key, "/op/v1/device/scheduler/set/flag", {"deviceSN": H1, "enable": 0}))
    ok(post(live, key, SET, body))


def test_settings_of_another_accounts_device(live: LiveServer, key: str, bob: Client) -> None:
    """Another account's serial answers as an unknown one (40261) on every endpoint here."""
    for path, body in (
        (GET, {"sn": KH8, "key": "MaxSetChargeCurrent"}),
        (SET, {"sn": KH8, "key": "ExportLimitPower", "value": 1}),
        (f"{PEAK}/get", {"sn": KH8}),
        (f"{PEAK}/set", {"sn": KH8, "importLimit": 1, "soc": 20}),
        (f"{HEAT}/get", {"sn": KH8}),
    ):
        assert post(live, key, path, body)["errno"] == 40261, path


# ---------------------------------------------------------------- peak shaving


def test_peak_shaving_get_matches_the_documented_shape(live: LiveServer, bob: Client) -> None:
    """{importLimit, soc} setting items; importLimit in kW with precision 0.001 and a
    three-decimal string (samples/newer/v0_device_peakShaving_get__energystats_demo.json)."""
    got = ok(post(live, bob.api_key, f"{PEAK}/get", {"sn": KH8}))
    assert got == {
        "importLimit": {"value": "8.000", "unit": "kW", "precision": 0.001,
                        "range": {"min": 0.0, "max": 100.0}},
        "soc": {"value": "40", "unit": "%", "precision": 1.0,
                "range": {"min": 10.0, "max": 100.0}},
    }  # fmt: skip


def test_peak_shaving_set_reads_back_and_checks(live: LiveServer, bob: Client) -> None:
    """Both fields required, numbers or numeric strings (spec 3.5.2: KRISPY sends both)."""
    ok(post(live, bob.api_key, f"{PEAK}/set", {"sn": KH8, "importLimit": "3.5", "soc": 30}))
    got = bob.peak_shaving(KH8)
    assert (got.importLimit.value, got.soc.value) == ("3.500", "30")
    bob.set_peak_shaving(KH8, 2.25, 55)
    assert bob.peak_shaving(KH8).importLimit.value == "2.250"
    for body in (
        {"sn": KH8, "importLimit": 1},
        {"sn": KH8, "soc": 20},
        {"sn": KH8, "importLimit": -1, "soc": 20},
        {"sn": KH8, "importLimit": 100.001, "soc": 20},
        {"sn": KH8, "importLimit": 1.0001, "soc": 20},
        {"sn": KH8, "importLimit": 1, "soc": 9},
        {"sn": KH8, "importLimit": 1, "soc": 20.5},
        {"sn": KH8, "importLimit": "x", "soc": 20},
    ):
        assert post(live, bob.api_key, f"{PEAK}/set", body)["errno"] == 40257, body
    assert bob.peak_shaving(KH8).soc.value == "55"


def test_peak_shaving_missing_answers_40257(live: LiveServer, key: str) -> None:
    """A model without peak shaving answers 40257 (foxesscloud get_peakshaving,
    EnergyStats-Android: "not available"; spec 3.5.1)."""
    for sn in (H1, H3, F3, EVO):
        assert post(live, key, f"{PEAK}/get", {"sn": sn})["errno"] == 40257, sn
        body = {"sn": sn, "importLimit": 1, "soc": 20}
        assert post(live, key, f"{PEAK}/set", body)["errno"] == 40257, sn


# ---------------------------------------------------------------- battery heating


def heating_body(sn: str, **changes: str) -> dict[str, str]:
    """What foxesscloud's set_heating sends: every field a string, unused windows disabled."""
    body = {"sn": sn, "batteryWarmUpEnable": "enable", "startTemperature": "9",
            "endTemperature": "12"}  # fmt: skip
    for n in (1, 2, 3):
        body[f"time{n}Enable"] = "disable"
        for part in ("StartHour", "StartMinute", "EndHour", "EndMinute"):
            body[f"time{n}{part}"] = "0"
    return {**body, **changes}


def test_battery_heating_get_matches_the_sample_shape(live: LiveServer, key: str) -> None:
    """dataList of named setting items as in the documented example
    (samples/newer/v0_device_batteryHeating_get__foxess_doc_2026-04.json)."""
    got = ok(post(live, key, f"{HEAT}/get", {"sn": EVO}))
    items = {i["name"]: i for i in got["dataList"]}
    assert len(items) == 24
    assert items["batteryWarmUpEnable"] == {"name": "batteryWarmUpEnable", "value": "disable",
                                            "unit": "", "precision": 1.0,
                                            "enumList": ["disable", "enable"]}  # fmt: skip
    assert items["time1EndHour"]["range"] == {"min": 0.0, "max": 23.0}
    assert items["startTemperature"]["unit"] == "℃"
    assert items["batteryWarmUpState"]["value"] == "The battery is in a stopped warm up state"
    assert len(items["batteryWarmUpState"]["enumList"]) == 5
    assert (
        items["minStartTemperatureRange"]["value"],
        items["maxEndTemperatureRange"]["value"],
    ) == ("1", "15")


def test_battery_heating_set_reads_back(live: LiveServer, key: str, alice: Client) -> None:
    """Every field is required and a string (spec 3.5.4); foxesscloud's defaults (9/12 ℃)
    are accepted; values read back as written."""
    body = heating_body(EVO, time2Enable="enable", time2StartHour="5", time2EndHour="7",
                        time2EndMinute="30")  # fmt: skip
    assert ok(post(live, key, f"{HEAT}/set", body)) is None
    items = {i.name: i.value for i in alice.battery_heating(EVO).dataList}
    assert items["batteryWarmUpEnable"] == "enable"
    assert (items["startTemperature"], items["endTemperature"]) == ("9", "12")
    assert (items["time2Enable"], items["time2StartHour"], items["time2EndMinute"]) == (
        "enable", "5", "30")  # fmt: skip
    assert items["batteryWarmUpState"] == "The battery is in a ready warm up state"
    alice.set_battery_heating(EVO, {k: v for k, v in heating_body(EVO).items() if k != "sn"})
    assert {i.name: i.value for i in alice.battery_heating(EVO).dataList}[
        "time2Enable"
    ] == "disable"


@pytest.mark.parametrize(
    "changes",
    [
        {"batteryWarmUpEnable": "on"},
        {"startTemperature": "0"},
        {"startTemperature": "10"},
        {"endTemperature": "16"},
        {"endTemperature": "9.5"},
        {"time1StartHour": "24"},
        {"time3EndMinute": "60"},
        {"time1Enable": "enable"},  # an enabled window from 00:00 to 00:00
        {"time2Enable": "yes"},
    ],
)
def test_battery_heating_set_rules(live: LiveServer, key: str, changes: dict[str, str]) -> None:
    """Values outside the ranges the get reports answer 40257 and change nothing."""
    before = ok(post(live, key, f"{HEAT}/get", {"sn": EVO}))
    assert post(live, key, f"{HEAT}/set", heating_body(EVO, **changes))["errno"] == 40257
    assert ok(post(live, key, f"{HEAT}/get", {"sn": EVO})) == before


def test_battery_heating_body_needs_sn_and_every_field(live: LiveServer, key: str) -> None:
    """{deviceSN} instead of {sn} answers 40257 (EVO notes); a missing field too."""
    assert post(live, key, f"{HEAT}/get", {"deviceSN": EVO})["errno"] == 40257
    body = heating_body(EVO)
    del body["time3EndMinute"]
    assert post(live, key, f"{HEAT}/set", body)["errno"] == 40257


def test_battery_heating_missing_answers_41200(live: LiveServer, key: str, bob: Client) -> None:
    """A model without battery heating answers 41200 (foxesscloud get_heating ignores it,
    EnergyStats-Android treats it as not available; spec 3.5.3)."""
    for sn in (H1, F3):
        assert post(live, key, f"{HEAT}/get", {"sn": sn})["errno"] == 41200, sn
        assert post(live, key, f"{HEAT}/set", heating_body(sn))["errno"] == 41200, sn
    assert post(live, bob.api_key, f"{HEAT}/get", {"sn": KH8})["errno"] == 41200
    ok(post(live, key, f"{HEAT}/get", {"sn": H3}))


def test_typed_client_results(key: str, alice: Client) -> None:
    """The generated client decodes both results into their structs."""
    heating = alice.battery_heating(H3)
    assert isinstance(heating, s.BatteryHeating) and len(heating.dataList) == 24
    value = alice.setting(H3, "MaxSetDischargeCurrent")
    assert value == s.SettingValue(value="26", unit="A", precision=0.1,
                                   range=s.SettingRange(min=0.0, max=26.0))  # fmt: skip
