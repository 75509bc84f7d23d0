"""Power stations end to end: create, update, delete, detail, list, validation, tenancy."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foxden.client import Client, InvalidParameterError
from foxden.protocol import signing, timefmt
from foxden.protocol import structs as s
from foxden.protocol.hardware import plant_capacity_kwp
from tests.conftest import LiveServer, RawAnswer, raw_answer

H1 = "ALICEH1000001"
H3 = "ALICEH3000001"
F3 = "ALICEF3000001"
KH8 = "BOBKH80000001"

CREATE = "/op/v0/plant/create"
CREATE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \S+[+-]\d{4}$")


def details(name: str = "Home", **changes: Any) -> s.PlantDetails:
    fields: dict[str, Any] = {
        "name": name,
        "type": 2,
        "countryCode": "GB",
        "city": "Leeds",
        "address": "1 Park Row",
        "postcode": "LS1 5AB",
        **changes,
    }
    return s.PlantDetails(**fields)


def _detail_fields(name: str, **changes: Any) -> dict[str, Any]:
    d = details(name, **changes)
    return {f: getattr(d, f) for f in d.__struct_fields__}


def create(
    client: Client,
    name: str = "Home",
    sns: tuple[str, ...] = (),
    timezone: str = "Europe/London",
    **extra: Any,
) -> s.PlantWriteResult:
    request = s.PlantCreate(
        details=details(name),
        timezone=timezone,
        devices=[s.PlantDeviceRef(sn=sn) for sn in sns] if sns else None,
        **extra,
    )
    return client.plant_create(request)


def stations(client: Client) -> dict[str, str]:
    """Device SN -> stationID, from the device list."""
    return {d.deviceSN: d.stationID for d in client.device_list(1, 100).data}


def raw_post(live: LiveServer, key: str, path: str, content: bytes) -> RawAnswer:
    headers = signing.headers(path, key, int(time.time() * 1000))
    headers["Content-Type"] = "application/json"
    return raw_answer(httpx.post(live.url + path, headers=headers, content=content))


def assert_invalid(info: pytest.ExceptionInfo[InvalidParameterError], field: str) -> None:
    assert info.value.errno == 40257
    assert f"{field}:" in info.value.detail


# ---------------------------------------------------------------- create


def test_create_with_position_and_devices_binds_them(alice: Client) -> None:
    request = s.PlantCreate(
        details=details("Roof", price=0.25, currency="GBP(£)", systemCapacity=7.5),
        timezone="Europe/London",
        devices=[s.PlantDeviceRef(sn=H1, key="k1"), s.PlantDeviceRef(sn=H3)],
        position=s.Position(x="-1.5491", y="53.8008", format="Leeds", pid="1"),
    )
    result = alice.plant_create(request)
    uuid.UUID(result.stationID)  # a fresh opaque id
    assert [(d.device.sn, d.errno) for d in result.devices] == [(H1, 0), (H3, 0)]
    assert result.devices[0].device.key == "k1"
    bound = stations(alice)
    assert bound[H1] == bound[H3] == result.stationID
    assert bound[F3] == ""
    summary = alice.plant_list(1, 10).data
    assert [(p.stationID, p.name, p.ianaTimezone) for p in summary] == [
        (result.stationID, "Roof", "Europe/London")
    ]


def test_create_refuses_unknown_foreign_and_bound_devices(
    live: LiveServer, alice: Client, bob: Client
) -> None:
    first = create(alice, "First", (H1,))
    second = create(alice, "Second", (H1, "NOSUCHDEVICE99", KH8, H3))
    assert second.stationID != first.stationID
    assert [(d.device.sn, d.errno) for d in second.devices] == [
        (H1, 41930),
        ("NOSUCHDEVICE99", 41930),
        (KH8, 41930),
        (H3, 0),
    ]
    bound = stations(alice)
    assert bound[H1] == first.stationID  # not taken away from its plant
    assert bound[H3] == second.stationID
    assert stations(bob)[KH8] == ""  # bob's device untouched
    # the plant itself is created even though some devices were refused
    assert {p.stationID for p in alice.plant_list().data} == {first.stationID, second.stationID}


def test_rebinding_a_device_to_its_own_plant_is_fine(alice: Client) -> None:
    plant = create(alice, "Home", (H1,))
    again = alice.plant_update(
        s.PlantUpdate(
            details=s.PlantDetailsUpdate(stationID=plant.stationID, **_detail_fields("Home")),
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=H1)],
        )
    )
    assert [(d.device.sn, d.errno) for d in again.devices] == [(H1, 0)]


# ---------------------------------------------------------------- detail


def test_detail_reads_back_what_was_created(alice: Client) -> None:
    before = datetime.now(UTC)
    plant = create(alice, "Roof", (H1, H3), timezone="Europe/London")
    detail = alice.plant_detail(plant.stationID)
    assert detail.stationName == "Roof"
    assert detail.country == "GB"
    assert (detail.city, detail.address, detail.postcode) == ("Leeds", "1 Park Row", "LS1 5AB")
    assert detail.timezone == "Europe/London"
    # no systemCapacity: the installed PV of its inverters, kWp (not their 15 kW rating)
    assert detail.capacity == pytest.approx(
        plant_capacity_kwp([(H1, "H1-5.0-E"), (H3, "H3-10.0-E")])
    )
    assert detail.capacity != pytest.approx(15.0)
    assert detail.user == s.Person(name="alice", phone="", email="")
    assert detail.installer == s.Person(name="", phone="", email="")
    logger_of = {d.deviceSN: d.moduleSN for d in alice.device_list().data}
    assert sorted((m.deviceSN, m.moduleSN) for m in detail.modules) == [
        (H1, logger_of[H1]),
        (H3, logger_of[H3]),
    ]
    assert logger_of[H1] != logger_of[H3]
    assert CREATE_DATE.match(detail.createDate), detail.createDate
    created = timefmt.parse_local(detail.createDate)
    abbr = detail.createDate.split()[2]
    london = before.astimezone(timefmt.zone("Europe/London"))
    assert abbr == london.strftime("%Z%z")  # GMT+0000 in winter, BST+0100 in summer
    assert before - timedelta(seconds=5) <= created <= datetime.now(UTC) + timedelta(seconds=5)


def test_detail_create_date_is_in_the_plant_zone(alice: Client) -> None:
    plant = create(alice, "Dubai", timezone="Asia/Dubai")
    detail = alice.plant_detail(plant.stationID)
    assert detail.createDate.endswith(" +04+0400"), detail.createDate
    assert detail.capacity == 0
    assert detail.modules == []


def test_detail_capacity_is_system_capacity_when_given(alice: Client) -> None:
    request = s.PlantCreate(
        details=details("Big", systemCapacity=72.0),
        timezone="Asia/Shanghai",
        devices=[s.PlantDeviceRef(sn=H1)],
    )
    plant = alice.plant_create(request)
    detail = alice.plant_detail(plant.stationID)
    assert detail.capacity == pytest.approx(72.0)
    assert detail.createDate.endswith(" CST+0800")


# ---------------------------------------------------------------- update


def test_update_changes_read_back_exactly(alice: Client) -> None:
    plant = create(alice, "Old", (H1, H3))
    result = alice.plant_update(
        s.PlantUpdate(
            details=s.PlantDetailsUpdate(
                stationID=plant.stationID,
                **_detail_fields(
                    "New name",
                    type=1,
                    countryCode="de",
                    city="Köln",
                    address="Domkloster 4",
                    postcode="50667",
                    systemCapacity=9.9,
                ),
            ),
            timezone="Europe/Berlin",
            devices=[s.PlantDeviceRef(sn=H3), s.PlantDeviceRef(sn=F3)],
        )
    )
    assert result.stationID == plant.stationID
    assert [(d.device.sn, d.errno) for d in result.devices] == [(H3, 0), (F3, 0)]
    detail = alice.plant_detail(plant.stationID)
    assert detail.stationName == "New name"
    assert detail.country == "DE"
    assert (detail.city, detail.address, detail.postcode) == ("Köln", "Domkloster 4", "50667")
    assert detail.timezone == "Europe/Berlin"
    assert detail.capacity == pytest.approx(9.9)
    assert detail.createDate.split()[2] in {"CET+0100", "CEST+0200"}
    assert sorted(m.deviceSN for m in detail.modules) == [F3, H3]
    listed = alice.plant_list().data
    assert [(p.stationID, p.name, p.ianaTimezone) for p in listed] == [
        (plant.stationID, "New name", "Europe/Berlin")
    ]
    # the devices list replaced the bound set: H1 was dropped, F3 added
    bound = stations(alice)
    assert bound == {H1: "", H3: plant.stationID, F3: plant.stationID}


def test_update_without_devices_keeps_the_bound_set(alice: Client) -> None:
    plant = create(alice, "Home", (H1,))
    alice.plant_update(
        s.PlantUpdate(
            details=s.PlantDetailsUpdate(stationID=plant.stationID, **_detail_fields("Renamed")),
            timezone="Europe/London",
        )
    )
    assert stations(alice)[H1] == plant.stationID
    assert alice.plant_detail(plant.stationID).stationName == "Renamed"


def test_update_with_empty_devices_unbinds_all(alice: Client) -> None:
    plant = create(alice, "Home", (H1, H3))
    result = alice.plant_update(
        s.PlantUpdate(
            details=s.PlantDetailsUpdate(stationID=plant.stationID, **_detail_fields("Home")),
            timezone="Europe/London",
            devices=[],
        )
    )
    assert result.devices == []
    assert stations(alice) == {H1: "", H3: "", F3: ""}
    assert alice.plant_detail(plant.stationID).modules == []


def test_update_refuses_a_device_of_another_plant(alice: Client) -> None:
    first = create(alice, "First", (H1,))
    second = create(alice, "Second", (H3,))
    result = alice.plant_update(
        s.PlantUpdate(
            details=s.PlantDetailsUpdate(stationID=second.stationID, **_detail_fields("Second")),
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=H3), s.PlantDeviceRef(sn=H1)],
        )
    )
    assert [(d.device.sn, d.errno) for d in result.devices] == [(H3, 0), (H1, 41930)]
    assert stations(alice)[H1] == first.stationID


TEXT = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # any text JSON can carry (no lone surrogates) but NUL, which no field may hold (40257,
    # tests/server/test_bad_input.py)
    name=st.text(TEXT, min_size=1, max_size=128),
    city=st.text(TEXT, max_size=40),
    zone=st.sampled_from(["Europe/London", "Asia/Kolkata", "America/St_Johns", "UTC"]),
)
def test_any_name_and_city_round_trip(alice: Client, name: str, city: str, zone: str) -> None:
    request = s.PlantCreate(details=details(name, city=city), timezone=zone)
    station = alice.plant_create(request).stationID
    detail = alice.plant_detail(station)
    assert (detail.stationName, detail.city, detail.timezone) == (name, city, zone)
    assert CREATE_DATE.match(detail.createDate), detail.createDate
    listed = {p.stationID: p.name for p in alice.plant_list(1, 1000).data}
    assert listed[station] == name


def test_update_unknown_plant_names_station_id(alice: Client) -> None:
    with pytest.raises(InvalidParameterError) as info:
        alice.plant_update(
            s.PlantUpdate(
                details=s.PlantDetailsUpdate(stationID=str(uuid.uuid4()), **_detail_fields("X")),
                timezone="Europe/London",
            )
        )
    assert_invalid(info, "details.stationID")


# ---------------------------------------------------------------- delete


def test_delete_then_detail_fails_and_devices_are_unbound(alice: Client) -> None:
    plant = create(alice, "Gone", (H1, H3))
    keep = create(alice, "Kept", (F3,))
    alice.plant_delete(plant.stationID)
    with pytest.raises(InvalidParameterError) as info:
        alice.plant_detail(plant.stationID)
    assert_invalid(info, "id")
    assert plant.stationID in info.value.detail
    assert stations(alice) == {H1: "", H3: "", F3: keep.stationID}
    assert [p.stationID for p in alice.plant_list().data] == [keep.stationID]
    # a second delete is refused, naming the field
    with pytest.raises(InvalidParameterError) as again:
        alice.plant_delete(plant.stationID)
    assert_invalid(again, "stationID")
    # the freed devices can be bound again
    reuse = create(alice, "Again", (H1,))
    assert [d.errno for d in reuse.devices] == [0]


# ---------------------------------------------------------------- list


def test_list_pages(alice: Client) -> None:
    ids = [create(alice, f"Plant {i:02d}").stationID for i in range(12)]
    first = alice.plant_list(1, 10)
    second = alice.plant_list(2, 10)
    third = alice.plant_list(3, 10)
    assert (first.currentPage, first.pageSize, first.total, len(first.data)) == (1, 10, 12, 10)
    assert (second.currentPage, second.pageSize, second.total, len(second.data)) == (2, 10, 12, 2)
    assert third.total == 12
    assert third.data == []
    seen = [p.stationID for p in first.data + second.data]
    assert len(set(seen)) == 12
    assert set(seen) == set(ids)
    assert alice.plant_list(1, 1000).total == 12


def test_list_is_empty_for_a_new_account(alice: Client) -> None:
    page = alice.plant_list(1, 10)
    assert (page.total, page.data) == (0, [])


# ---------------------------------------------------------------- validation


def test_missing_details_name(live: LiveServer) -> None:
    key = live.account("carol")
    body = raw_post(
        live,
        key,
        CREATE,
        b'{"details": {"type": 1, "countryCode": "GB", "city": "a", "address": "b",'
        b' "postcode": "c"}, "timezone": "Europe/London"}',
    )
    assert body["errno"] == 40257
    assert body["msg"] == "Parameters do not meet expectations. Please reenter"
    assert "details.name" in body.detail
    assert body["result"] is None


def test_body_not_json(live: LiveServer) -> None:
    key = live.account("carol")
    body = raw_post(live, key, CREATE, b"{not json")
    assert body["errno"] == 40257
    assert "body" in body.detail
    assert body["result"] is None
    assert raw_post(live, key, CREATE, b"[1, 2]")["errno"] == 40257


@pytest.mark.parametrize("plant_type", [0, 5])
def test_details_type_out_of_range(alice: Client, plant_type: int) -> None:
    with pytest.raises(InvalidParameterError) as info:
        alice.plant_create(
            s.PlantCreate(details=details(type=plant_type), timezone="Europe/London")
        )
    assert_invalid(info, "details.type")


def test_three_letter_country_code(alice: Client) -> None:
    with pytest.raises(InvalidParameterError) as info:
        alice.plant_create(
            s.PlantCreate(details=details(countryCode="GBR"), timezone="Europe/London")
        )
    assert_invalid(info, "details.countryCode")


def test_unknown_timezone(alice: Client) -> None:
    with pytest.raises(InvalidParameterError) as info:
        create(alice, timezone="Mars/Base")
    assert_invalid(info, "timezone")
    assert alice.plant_list().total == 0  # nothing was created


@pytest.mark.parametrize("x", ["200", "-180.5"])
def test_bad_longitude(alice: Client, x: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        create(alice, position=s.Position(x=x, y="50"))
    assert_invalid(info, "position.x")
    assert alice.plant_list().total == 0


def test_bad_latitude(alice: Client) -> None:
    with pytest.raises(InvalidParameterError) as info:
        create(alice, position=s.Position(x="10", y="-91"))
    assert_invalid(info, "position.y")


def test_bad_position_on_update_changes_nothing(alice: Client) -> None:
    plant = create(alice, "Home")
    with pytest.raises(InvalidParameterError) as info:
        alice.plant_update(
            s.PlantUpdate(
                details=s.PlantDetailsUpdate(stationID=plant.stationID, **_detail_fields("New")),
                timezone="Europe/London",
                position=s.Position(x="200"),
            )
        )
    assert_invalid(info, "position.x")
    assert alice.plant_detail(plant.stationID).stationName == "Home"


@pytest.mark.parametrize(
    ("page", "size", "field"),
    [(1, 9, "pageSize"), (1, 1001, "pageSize"), (0, 10, "currentPage")],
)
def test_list_paging_limits(alice: Client, page: int, size: int, field: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        alice.plant_list(page, size)
    assert_invalid(info, field)


# ---------------------------------------------------------------- tenancy


def _same_shape(a: str, a_id: str, b: str, b_id: str) -> None:
    assert a.replace(a_id, "<id>") == b.replace(b_id, "<id>")


def test_bob_cannot_see_update_or_delete_alices_plant(alice: Client, bob: Client) -> None:
    plant = create(alice, "Alice's", (H1,))
    unknown = str(uuid.uuid4())
    assert bob.plant_list().total == 0

    with pytest.raises(InvalidParameterError) as seen:
        bob.plant_detail(plant.stationID)
    with pytest.raises(InvalidParameterError) as seen_unknown:
        bob.plant_detail(unknown)
    assert seen.value.errno == seen_unknown.value.errno == 40257
    assert seen.value.msg == seen_unknown.value.msg
    _same_shape(seen.value.detail, plant.stationID, seen_unknown.value.detail, unknown)

    def update(station_id: str) -> s.PlantUpdate:
        return s.PlantUpdate(
            details=s.PlantDetailsUpdate(stationID=station_id, **_detail_fields("Bob's now")),
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=KH8)],
        )

    with pytest.raises(InvalidParameterError) as updated:
        bob.plant_update(update(plant.stationID))
    with pytest.raises(InvalidParameterError) as updated_unknown:
        bob.plant_update(update(unknown))
    assert updated.value.errno == updated_unknown.value.errno == 40257
    _same_shape(updated.value.detail, plant.stationID, updated_unknown.value.detail, unknown)

    with pytest.raises(InvalidParameterError) as deleted:
        bob.plant_delete(plant.stationID)
    with pytest.raises(InvalidParameterError) as deleted_unknown:
        bob.plant_delete(unknown)
    assert deleted.value.errno == deleted_unknown.value.errno == 40257
    _same_shape(deleted.value.detail, plant.stationID, deleted_unknown.value.detail, unknown)

    detail = alice.plant_detail(plant.stationID)
    assert detail.stationName == "Alice's"
    assert [m.deviceSN for m in detail.modules] == [H1]
    assert stations(bob)[KH8] == ""


def test_position_as_json_numbers_is_accepted(alice: Client) -> None:
    created = alice.plant_create(
        s.PlantCreate(
            details=s.PlantDetails(
                name="Numbers", type=1, countryCode="DE", city="Berlin", address="A", postcode="1"
            ),
            timezone="Europe/Berlin",
            position=s.Position(x=13.4, y=52.5),
        )
    )
    assert alice.plant_detail(created.stationID).timezone == "Europe/Berlin"
