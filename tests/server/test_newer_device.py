"""The newer device, data-logger and platform endpoints (newer-endpoints.md sections 3.1,
3.6 and 3.12), and the plant shapes of the real captures, end to end over loopback."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from foxden.client import Client, DeviceNotFoundError
from foxden.protocol import signing
from foxden.protocol import structs as s
from foxden.protocol.errno import ERRNO_TABLE
from foxden.protocol.hardware import plant_capacity_kwp
from tests.conftest import LiveServer, raw_answer

H1 = "ALICEH1000001"
KH8 = "BOBKH80000001"

V0_DETAIL_KEYS = {
    "deviceSN",
    "moduleSN",
    "stationID",
    "stationName",
    "deviceType",
    "productType",
    "status",
    "hasPV",
    "hasBattery",
    "capacity",
    "afciVersion",
    "managerVersion",
    "masterVersion",
    "slaveVersion",
    "hardwareVersion",
    "function",
    "batteryList",
}


def signed_get(live: LiveServer, key: str, path: str, **params: str) -> dict[str, Any]:
    headers = signing.headers(path, key, int(time.time() * 1000))
    return raw_answer(httpx.get(live.url + path, params=params, headers=headers))


def signed_post(live: LiveServer, key: str, path: str, body: object) -> dict[str, Any]:
    headers = signing.headers(path, key, int(time.time() * 1000))
    return raw_answer(httpx.post(live.url + path, content=json.dumps(body), headers=headers))


# ---------------------------------------------------------------- errors/message


def test_error_messages_need_no_signature(live: LiveServer) -> None:
    """Source: newer-endpoints.md 3.12 and foxesscloud ``get_messages`` (empty ``token``
    header, no signature, ``login=1``): ``result.messages.<lang>.<errno>`` = text, from the
    protocol's errno table."""
    response = httpx.get(
        live.url + "/c/v0/errors/message", headers={"token": "", "lang": "en", "timestamp": "1"}
    )
    answer = raw_answer(response)
    assert answer["errno"] == 0
    english = answer["result"]["messages"]["en"]
    assert english == {str(int(e)): info.message for e, info in ERRNO_TABLE.items()}
    assert english["40257"] == "Parameters do not meet expectations. Please reenter"
    assert english["41930"] == "Device does not exist or are already in use"
    # no headers at all, and a signed request (EnergyStats signs it), answer the same
    assert raw_answer(httpx.get(live.url + "/c/v0/errors/message")) == answer


def test_error_messages_through_the_client_spend_no_quota(alice: Client) -> None:
    before = alice.access_count().remaining
    table = alice.error_messages()
    assert set(table.messages) == {"en"}
    assert table.messages["en"]["42023"] == "Time overlap, please reselect time"
    assert alice.access_count().remaining == before


# ---------------------------------------------------------------- device detail v1


def test_v1_detail_is_v0_plus_the_newer_keys(live: LiveServer, alice: Client) -> None:
    """Source: newer-endpoints.md 3.1.1 (v0 keys, ``thirdPartyGen`` new in v1; deviceType,
    productType, hasBattery, hasPV as observed) and the KH8 capture's batteryList."""
    v0 = signed_get(live, alice.api_key, "/op/v0/device/detail", sn=H1)["result"]
    v1 = signed_get(live, alice.api_key, "/op/v1/device/detail", sn=H1)["result"]
    assert set(v0) == V0_DETAIL_KEYS
    assert set(v1) == V0_DETAIL_KEYS | {"thirdPartyGen"}
    assert {k: v for k, v in v1.items() if k != "thirdPartyGen"} == v0
    assert v1["thirdPartyGen"] is False
    assert v1["capacity"] == 5 and isinstance(v1["capacity"], int)
    assert [b["type"] for b in v1["batteryList"]] == ["bcu", "bmu", "bmu", "bmu", "bmu", "ivu"]
    assert all("capacity" not in b for b in v1["batteryList"] if b["type"] != "bmu")
    typed = alice.device_detail_v1(H1)
    assert typed.thirdPartyGen is False and typed.deviceSN == H1


def test_v1_detail_of_a_kh8_reads_like_the_capture(bob: Client) -> None:
    """Source: samples/v0_device_detail__batpred_kh8.json (capacity 8, EP11 bcu/bmu/ivu,
    bmu capacity 10360 Wh, versions 1.005/1.05/0.00)."""
    d = bob.device_detail_v1(KH8)
    assert (d.deviceType, d.productType, d.capacity) == ("KH8", "KH", 8)
    assert [(b.type, b.model, b.version, b.capacity) for b in d.batteryList] == [
        ("bcu", "EP11", "1.005", None),
        ("bmu", "EP11", "1.05", 10360),
        ("ivu", "EP11", "0.00", None),
    ]


def test_v1_detail_tenancy(alice: Client, bob: Client) -> None:
    with pytest.raises(DeviceNotFoundError) as foreign:
        alice.device_detail_v1(KH8)
    with pytest.raises(DeviceNotFoundError) as unknown:
        alice.device_detail_v1("NOSUCHSN00001")
    assert foreign.value.errno == unknown.value.errno == 40261


# ---------------------------------------------------------------- data loggers


def test_module_list_carries_plant_name_and_versions(live: LiveServer, alice: Client) -> None:
    """Source: newer-endpoints.md 3.6 (webVersion "--" default, softVersion, V1.1.9) and
    foxesscloud ``get_logger``, which prints each logger's ``plantName``."""
    logger = alice.device_detail(H1).moduleSN
    plant = alice.plant_create(
        s.PlantCreate(
            details=s.PlantDetails(
                name="Roof", type=1, countryCode="GB", city="Leeds", address="1", postcode="L"
            ),
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=H1)],
        )
    )
    answer = signed_post(
        live, alice.api_key, "/op/v0/module/list", {"currentPage": 1, "pageSize": 10}
    )
    rows = {m["moduleSN"]: m for m in answer["result"]["data"]}
    assert set(rows[logger]) == {
        "moduleSN",
        "stationID",
        "plantName",
        "status",
        "signal",
        "webVersion",
        "softVersion",
    }
    assert (rows[logger]["stationID"], rows[logger]["plantName"]) == (plant.stationID, "Roof")
    assert rows[logger]["webVersion"] == "--"
    unbound = [m for sn, m in rows.items() if sn != logger]
    assert unbound and all((m["stationID"], m["plantName"]) == ("", "") for m in unbound)
    assert alice.module_detail(logger) == s.ModuleSummary(**rows[logger])


def test_module_signal_in_dbm_with_a_timestamp(alice: Client) -> None:
    """Source: newer-endpoints.md 3.6 (module/getSignal ``{sn}`` -> ``{timestamp, signal}``,
    signal in dBm) and foxesscloud ``get_signal``."""
    logger = alice.device_detail(H1).moduleSN
    before = int(time.time() * 1000)
    signal = alice.module_signal(logger)
    assert -100 <= signal.signal <= -30
    assert signal.timestamp >= before - 5_000  # no telemetry yet: it reports now


def test_module_endpoints_tenancy(alice: Client, bob: Client) -> None:
    """Another account's logger answers like an unknown one (41930, as the cloud answers a
    serial that is not the caller's: macxq/foxess-ha #345)."""
    bobs = bob.device_detail(KH8).moduleSN
    for call in (alice.module_signal, alice.module_detail):
        with pytest.raises(DeviceNotFoundError) as foreign:
            call(bobs)
        with pytest.raises(DeviceNotFoundError) as unknown:
            call("609W6EU00000000")
        assert foreign.value.errno == unknown.value.errno == 41930
        assert foreign.value.msg == "Device does not exist or are already in use"


# ---------------------------------------------------------------- plants


DOCUMENT_CREATE_EXAMPLE = {
    "devices": [{"sn": "*******"}],
    "pileSN": "*************",
    "details": {
        "name": "name_51b2289bf18f",
        "type": 1,
        "countryCode": "CN",
        "city": "city_54049a6aad08",
        "address": "address_efdf02e2819d",
        "postcode": "213414",
        "price": 0.52,
        "currency": "CNY(¥)",
        "systemCapacity": 72.00,
    },
    "timezone": "Asia/Shanghai",
    "position": {
        "x": "x_9e0c3cf37a91",
        "y": "y_6fa583b5fe21",
        "format": "format_b9434db57b54",
        "pid": "pid_169c8579050c",
    },
    "electricmeterSN": "*********************",
    "layoutByMini": {
        "direction": 1,
        "arrange": [
            {
                "sn": "***********",
                "horizontal": 2,
                "vertical": 3,
                "azimuth": 30,
                "dipAngle": 45,
                "direction": 1,
                "capacity": 30,
                "model": "model_71300e86ba58",
            }
        ],
    },
}
"""The document's own plant/create request example, verbatim (V1.0.8, plant/create)."""


def test_plant_create_accepts_the_documents_example(live: LiveServer, alice: Client) -> None:
    """Source: the V1.0.8 document's plant/create example and response table
    (``result.stationID``, ``result.devices[].device.{sn,key}`` and ``errno`` per device).
    The masked serial is no device of the account: that device's errno is 41930, the plant
    is created."""
    answer = signed_post(live, alice.api_key, "/op/v0/plant/create", DOCUMENT_CREATE_EXAMPLE)
    assert answer["errno"] == 0, answer
    result = answer["result"]
    assert set(result) == {"stationID", "devices"}
    assert result["devices"] == [{"device": {"sn": "*******"}, "errno": 41930}]
    detail = alice.plant_detail(result["stationID"])
    assert (detail.stationName, detail.country, detail.timezone) == (
        "name_51b2289bf18f",
        "CN",
        "Asia/Shanghai",
    )
    assert detail.capacity == pytest.approx(72.0)


def test_plant_detail_has_the_captures_people_and_pv_capacity(
    live: LiveServer, alice: Client
) -> None:
    """Source: samples/v0_plant_detail__energystats_ios.json (``user`` and ``installer``
    each with name, phone and email, empty strings where unknown; capacity 5.67, a PV
    size). Without a stated systemCapacity foxden answers the installed PV in kWp."""
    created = signed_post(
        live,
        alice.api_key,
        "/op/v0/plant/create",
        {
            "details": {
                "name": "Roof",
                "type": 2,
                "countryCode": "GB",
                "city": "Lymm",
                "address": "1 Lane",
                "postcode": "WA13",
            },
            "timezone": "Europe/London",
            "devices": [{"sn": H1}],
        },
    )
    station = created["result"]["stationID"]
    detail = signed_get(live, alice.api_key, "/op/v0/plant/detail", id=station)["result"]
    assert detail["user"] == {"name": "alice", "phone": "", "email": ""}
    assert detail["installer"] == {"name": "", "phone": "", "email": ""}
    assert detail["capacity"] == pytest.approx(plant_capacity_kwp([(H1, "H1-5.0-E")]))
    assert 5.0 <= detail["capacity"] <= 7.0  # a 5 kW inverter's array: DC/AC 1.0 to 1.4
