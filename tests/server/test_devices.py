"""Inverters and data loggers end to end: list, detail, module list, the catalogues."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from foxden.client import Client, DeviceNotFoundError, InvalidParameterError
from foxden.protocol import signing
from foxden.protocol import structs as s
from tests.conftest import LiveServer

H1 = "ALICEH1000001"
H3 = "ALICEH3000001"
F3 = "ALICEF3000001"
KH8 = "BOBKH80000001"

SUMMARY_FIELDS = {
    "deviceSN",
    "moduleSN",
    "stationID",
    "stationName",
    "status",
    "hasPV",
    "hasBattery",
    "deviceType",
    "productType",
}

# One entry of a real variable/get capture (alpriest/EnergyStats), verbatim.
TODAY_YIELD = {
    "todayYield": {
        "unit": "kW",
        "Grid-tied inverter": True,
        "name": {
            "de": "Die heutige Stromerzeugung",
            "pt": "A geração de energia de hoje",
            "en": "Today’s power generation",
            "zh_CN": "今日发电量",
            "pl": "Dzisiejsza produkcja energii",
            "fr": "La production d’électricité d’aujourd’hui",
        },
        "Energy-storage inverter": True,
    }
}


def bind(client: Client, name: str, *sns: str) -> str:
    result = client.plant_create(
        s.PlantCreate(
            details=s.PlantDetails(
                name=name, type=2, countryCode="GB", city="c", address="a", postcode="p"
            ),
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=sn) for sn in sns],
        )
    )
    assert all(d.errno == 0 for d in result.devices)
    return result.stationID


def raw_post(live: LiveServer, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = signing.headers(path, key, int(time.time() * 1000))
    response = httpx.post(live.url + path, headers=headers, json=body)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


# ---------------------------------------------------------------- device list


def test_device_list_fields_per_model(alice: Client) -> None:
    page = alice.device_list(1, 10)
    assert (page.currentPage, page.pageSize, page.total) == (1, 10, 3)
    by_sn = {d.deviceSN: d for d in page.data}
    assert set(by_sn) == {H1, H3, F3}
    expected = {
        H1: ("H", "H1-5.0-E", True),
        H3: ("H3", "H3-10.0-E", True),
        F3: ("F", "F3000", False),
    }
    for sn, (product, device_type, battery) in expected.items():
        d = by_sn[sn]
        assert (d.productType, d.deviceType, d.hasBattery) == (product, device_type, battery)
        assert d.hasPV is True
        assert d.status == 1
        assert (d.stationID, d.stationName) == ("", "")
        assert d.moduleSN
    assert len({d.moduleSN for d in page.data}) == 3


def test_device_list_sends_every_field_on_the_wire(live: LiveServer) -> None:
    key = live.account("carol")
    live.device("carol", "CAROLF3000001", "F3000")
    body = raw_post(live, key, "/op/v0/device/list", {"currentPage": 1, "pageSize": 10})
    assert body["errno"] == 0
    (entry,) = body["result"]["data"]
    assert set(entry) == SUMMARY_FIELDS
    assert entry["stationID"] == ""
    assert entry["hasBattery"] is False
    assert entry["productType"] == "F"


def test_device_list_shows_station_after_binding(alice: Client) -> None:
    station = bind(alice, "Roof", H1)
    by_sn = {d.deviceSN: d for d in alice.device_list().data}
    assert (by_sn[H1].stationID, by_sn[H1].stationName) == (station, "Roof")
    assert (by_sn[H3].stationID, by_sn[H3].stationName) == ("", "")


def test_device_list_pages(live: LiveServer, alice: Client) -> None:
    extra = [f"ALICEX{i:07d}" for i in range(9)]
    for sn in extra:
        live.device("alice", sn, "KH8")
    first = alice.device_list(1, 10)
    second = alice.device_list(2, 10)
    assert (first.total, len(first.data)) == (12, 10)
    assert (second.total, len(second.data)) == (12, 2)
    seen = [d.deviceSN for d in first.data + second.data]
    assert sorted(seen) == sorted([H1, H3, F3, *extra])
    assert alice.device_list(3, 10).data == []


def test_device_list_is_per_account(alice: Client, bob: Client) -> None:
    assert [d.deviceSN for d in bob.device_list().data] == [KH8]
    assert KH8 not in {d.deviceSN for d in alice.device_list().data}


@pytest.mark.parametrize(("page", "size", "field"), [(0, 10, "currentPage"), (1, 1001, "pageSize")])
def test_device_list_paging_limits(alice: Client, page: int, size: int, field: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        alice.device_list(page, size)
    assert info.value.errno == 40257
    assert f"{field}:" in info.value.detail


# ---------------------------------------------------------------- device detail


def test_detail_of_a_hybrid(alice: Client) -> None:
    d = alice.device_detail(H1)
    assert (d.deviceSN, d.deviceType, d.productType) == (H1, "H1-5.0-E", "H")
    assert (d.hasPV, d.hasBattery, d.status) == (True, True, 1)
    assert d.capacity == 5 and isinstance(d.capacity, int)  # whole kW, as the cloud writes it
    assert (d.masterVersion, d.slaveVersion, d.managerVersion) == ("1.74", "1.02", "1.57")
    assert (d.afciVersion, d.hardwareVersion) == ("", "--")
    assert d.function.scheduler is True
    # one stack: its bcu, four 2.6 kWh modules (the model's 10.4 kWh), its ivu
    assert [b.type for b in d.batteryList] == ["bcu", "bmu", "bmu", "bmu", "bmu", "ivu"]
    assert all(b.batterySN and b.model == "HV2600" and b.version for b in d.batteryList)
    assert [b.capacity for b in d.batteryList if b.type == "bmu"] == [2600] * 4
    listed = {x.deviceSN: x for x in alice.device_list().data}[H1]
    assert d.moduleSN == listed.moduleSN


def test_detail_of_a_kh8_matches_the_real_capture(bob: Client) -> None:
    d = bob.device_detail(KH8)
    # values of a real KH8 detail (springfall2008/batpred)
    assert (d.deviceType, d.productType, d.capacity) == ("KH8", "KH", 8)
    assert (d.masterVersion, d.slaveVersion, d.managerVersion) == ("1.34", "1.01", "1.28")
    assert (d.afciVersion, d.hardwareVersion) == ("", "--")
    assert d.function.scheduler is True
    assert [(b.model, b.type, b.version) for b in d.batteryList] == [
        ("EP11", "bcu", "1.005"),
        ("EP11", "bmu", "1.05"),
        ("EP11", "ivu", "0.00"),
    ]
    assert d.batteryList[1].capacity == 10360


def test_detail_of_a_three_phase_hybrid(alice: Client) -> None:
    d = alice.device_detail(H3)
    assert (d.deviceType, d.productType, d.capacity) == ("H3-10.0-E", "H3", 10)
    assert (d.masterVersion, d.slaveVersion, d.managerVersion) == ("1.80", "1.03", "1.60")
    assert d.function.scheduler is True
    assert [b.type for b in d.batteryList].count("bmu") == 4


def test_detail_of_the_grid_tied_f3000(alice: Client) -> None:
    d = alice.device_detail(F3)
    assert (d.deviceType, d.productType, d.hasBattery) == ("F3000", "F", False)
    assert d.capacity == 3
    assert (d.masterVersion, d.slaveVersion, d.managerVersion) == ("1.12", "1.00", "1.10")
    assert d.function.scheduler is False
    assert d.batteryList == []


def test_detail_shows_station_after_binding(alice: Client) -> None:
    station = bind(alice, "Garage", H3)
    d = alice.device_detail(H3)
    assert (d.stationID, d.stationName) == (station, "Garage")
    assert alice.device_detail(H1).stationID == ""


def test_unknown_and_foreign_sn_look_the_same(alice: Client, bob: Client) -> None:
    bind(bob, "Bob's", KH8)
    with pytest.raises(DeviceNotFoundError) as foreign:
        alice.device_detail(KH8)
    with pytest.raises(DeviceNotFoundError) as unknown:
        alice.device_detail("NOSUCHSN00001")
    assert foreign.value.errno == unknown.value.errno == 40261
    assert foreign.value.detail.replace(KH8, "<sn>") == unknown.value.detail.replace(
        "NOSUCHSN00001", "<sn>"
    )
    assert "Bob" not in foreign.value.detail
    assert "sn" in foreign.value.detail


# ---------------------------------------------------------------- module list


def test_module_list_one_logger_per_device(alice: Client) -> None:
    devices = alice.device_list().data
    modules = alice.module_list(1, 10)
    assert modules.total == len(devices) == 3
    assert sorted(m.moduleSN for m in modules.data) == sorted(d.moduleSN for d in devices)
    for m in modules.data:
        assert m.stationID == ""
        assert m.status == 1
        assert 0 <= m.signal <= 100


def test_module_list_shows_station_after_binding(alice: Client, bob: Client) -> None:
    station = bind(alice, "Roof", H1, F3)
    logger_of = {d.deviceSN: d.moduleSN for d in alice.device_list().data}
    stations = {m.moduleSN: m.stationID for m in alice.module_list().data}
    assert stations == {logger_of[H1]: station, logger_of[F3]: station, logger_of[H3]: ""}
    assert [m.moduleSN for m in bob.module_list().data] == [bob.device_detail(KH8).moduleSN]


def test_module_list_pages(live: LiveServer, alice: Client) -> None:
    for i in range(9):
        live.device("alice", f"ALICEY{i:07d}", "F3000")
    first = alice.module_list(1, 10)
    second = alice.module_list(2, 10)
    assert (first.total, len(first.data), len(second.data)) == (12, 10, 2)
    assert len({m.moduleSN for m in first.data + second.data}) == 12


# ---------------------------------------------------------------- catalogues


def test_variable_table(alice: Client) -> None:
    table = alice.variables()
    assert len(table) == 113
    assert all(isinstance(entry, dict) and len(entry) == 1 for entry in table)
    names = [next(iter(entry)) for entry in table]
    assert len(set(names)) == 113
    assert table[0] == TODAY_YIELD
    assert {"pvPower", "SoC", "loadsPower", "feedinPower", "batChargePower"} <= set(names)


def test_fault_table(alice: Client) -> None:
    table = alice.faults()
    assert len(table) == 771
    assert all(isinstance(entry, dict) and len(entry) == 1 for entry in table)
    codes = [next(iter(entry)) for entry in table]
    assert len(set(codes)) == 771
    assert all(code.isdigit() for code in codes)
    first = table[0]["1"]
    assert first["en"] == "No Utility"


def test_catalogues_need_no_devices(live: LiveServer) -> None:
    client = live.client(live.account("carol"))
    assert len(client.variables()) == 113
    assert len(client.faults()) == 771


def test_grid_tied_detail_sends_an_empty_battery_list(live: LiveServer, alice: Client) -> None:
    path = "/op/v0/device/detail"
    headers = signing.headers(path, alice.api_key, int(time.time() * 1000))
    body = httpx.get(live.url + path, params={"sn": "ALICEF3000001"}, headers=headers).json()
    assert body["result"]["batteryList"] == []
