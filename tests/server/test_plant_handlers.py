"""The plant area's handlers called directly (no HTTP): what create and update store (the
zone, the position, the extra data, the bound inverters), every refusal's errno and detail,
and what detail and list answer. test_plants.py shows the same on the wire."""

from __future__ import annotations

from typing import Any

from foxden.protocol import hardware
from foxden.protocol import structs as s
from foxden.server.areas import plant as area
from foxden.store import Plant
from tests.server.desk import NOW, Desk, bad, refusal

H1 = "ALICEH1000001"
H3 = "ALICEH3000001"
BOB = "BOBH10000001"


def _details(**fields: Any) -> s.PlantDetails:
    values: dict[str, Any] = {
        "name": "Roof", "type": 2, "countryCode": "de", "city": "Köln", "address": "Ring 1",
        "postcode": "50667",
    }  # fmt: skip
    return s.PlantDetails(**{**values, **fields})


def _create(desk: Desk, **fields: Any) -> s.PlantWriteResult:
    fields.setdefault("details", _details())
    fields.setdefault("timezone", "Europe/Berlin")
    return area.create(desk.ctx(), s.PlantCreate(**fields))


def _stored(desk: Desk, plant_id: str) -> Plant:
    plant = desk.store.plant(desk.account("alice").id, plant_id)
    assert plant is not None
    return plant


def _update(desk: Desk, plant_id: str, **fields: Any) -> s.PlantWriteResult:
    details = fields.pop("details", {})
    values: dict[str, Any] = {
        "name": "Roof 2", "type": 1, "countryCode": "at", "city": "Wien", "address": "Gasse 2",
        "postcode": "1010", "stationID": plant_id, **details,
    }  # fmt: skip
    fields.setdefault("timezone", "Europe/Vienna")
    req = s.PlantUpdate(details=s.PlantDetailsUpdate(**values), **fields)
    return area.update(desk.ctx(), req)


def test_create_stores_every_field_and_binds_the_accounts_free_inverters(desk: Desk) -> None:
    desk.device(H1)
    desk.device(H3, "H3-10.0-E")
    desk.device(BOB, account="bob")
    taken = desk.plant([H3], name="Other")
    desk.clock.advance(5000)
    result = _create(
        desk,
        details=_details(price=0.3, currency="EUR", systemCapacity=7.5),
        devices=[
            s.PlantDeviceRef(sn=H1, key="k1"),
            s.PlantDeviceRef(sn=H3),
            s.PlantDeviceRef(sn=BOB),
            s.PlantDeviceRef(sn="NOSUCH000001"),
        ],
        position=s.Position(x="6.96", y=50.94, format="wgs84", pid="p1"),
        pileSN="PILE1",
        electricmeterSN="METER1",
        layoutByMini={"a": 1},
    )
    assert [(d.device.sn, d.device.key, d.errno) for d in result.devices] == [
        (H1, "k1", 0), (H3, None, 41930), (BOB, None, 41930), ("NOSUCH000001", None, 41930)
    ]  # fmt: skip
    plant = _stored(desk, result.stationID)
    assert plant == Plant(
        id=result.stationID, account_id=desk.account("alice").id, name="Roof", type=2,
        country_code="DE", city="Köln", address="Ring 1", postcode="50667",
        timezone="Europe/Berlin", created_ms=NOW + 5000, price=0.3, currency="EUR",
        capacity=7.5, latitude=50.94, longitude=6.96,
        extra={"position": {"x": "6.96", "y": 50.94, "format": "wgs84", "pid": "p1"},
               "pileSN": "PILE1", "electricmeterSN": "METER1", "layoutByMini": {"a": 1}},
    )  # fmt: skip
    assert [d.sn for d in desk.store.devices_of_plant(result.stationID)] == [H1]
    assert [d.sn for d in desk.store.devices_of_plant(taken)] == [H3]
    assert desk.store.device(BOB).plant_id is None  # type: ignore[union-attr]
    # a device already in this plant may be named again
    again = _update(desk, result.stationID, devices=[s.PlantDeviceRef(sn=H1)])
    assert [d.errno for d in again.devices] == [0]


def test_create_without_optional_parts(desk: Desk) -> None:
    result = _create(desk)
    assert result.devices == []
    plant = _stored(desk, result.stationID)
    assert (plant.price, plant.currency, plant.capacity) == (None, None, None)
    assert (plant.latitude, plant.longitude, plant.extra) == (None, None, {})
    assert len(result.stationID) == 36 and result.stationID.count("-") == 4
    assert _create(desk).stationID != result.stationID


def test_zone_refusals(desk: Desk) -> None:
    for name in ("Mars/Base", "CET5", "europe/london", "x" * 100):
        req = s.PlantCreate(details=_details(), timezone=name)
        shown = repr(name[:80])
        assert refusal(area.create, desk.ctx(), req) == bad(
            f"timezone: unknown time zone {shown} (use an IANA name such as Europe/London)"
        )
    assert desk.store.plants(desk.account("alice").id, 0, 10) == ([], 0)


def test_coordinates(desk: Desk) -> None:
    def made(**position: Any) -> Plant:
        return _stored(desk, _create(desk, position=s.Position(**position)).stationID)

    edge = made(x=-180, y=90)
    assert (edge.longitude, edge.latitude) == (-180.0, 90.0)
    edge = made(x="180", y="-90.0")
    assert (edge.longitude, edge.latitude) == (180.0, -90.0)
    # the document's own example sends text: kept in extra, no location
    text = made(x="x_9e0c3cf37a91", y="")
    assert (text.longitude, text.latitude) == (None, None)
    assert text.extra["position"] == {"x": "x_9e0c3cf37a91", "y": "", "format": None, "pid": None}
    assert made().latitude is None
    cases: list[tuple[dict[str, Any], str]] = [
        ({"x": 180.5}, "position.x: longitude must be a number from -180 to 180"),
        ({"x": "-181"}, "position.x: longitude must be a number from -180 to 180"),
        ({"y": 90.01}, "position.y: latitude must be a number from -90 to 90"),
        ({"y": -91, "x": 0}, "position.y: latitude must be a number from -90 to 90"),
    ]
    for position, detail in cases:
        req = s.PlantCreate(details=_details(), timezone="UTC", position=s.Position(**position))
        assert refusal(area.create, desk.ctx(), req) == bad(detail), position


def test_update_keeps_what_it_is_not_sent_and_rebinds_the_devices(desk: Desk) -> None:
    desk.device(H1)
    desk.device(H3, "H3-10.0-E")
    made = _create(
        desk,
        details=_details(price=0.3, currency="EUR", systemCapacity=7.5),
        devices=[s.PlantDeviceRef(sn=H1)],
        position=s.Position(x=7.0, y=51.0, pid="p1"),
        pileSN="PILE1",
    ).stationID
    desk.clock.advance(60_000)
    result = _update(desk, made, electricmeterSN="M2")
    assert result == s.PlantWriteResult(stationID=made, devices=[])
    plant = _stored(desk, made)
    assert plant == Plant(
        id=made, account_id=desk.account("alice").id, name="Roof 2", type=1,
        country_code="AT", city="Wien", address="Gasse 2", postcode="1010",
        timezone="Europe/Vienna", created_ms=NOW, price=0.3, currency="EUR", capacity=7.5,
        latitude=51.0, longitude=7.0,
        extra={"position": {"x": 7.0, "y": 51.0, "format": None, "pid": "p1"},
               "pileSN": "PILE1", "electricmeterSN": "M2"},
    )  # fmt: skip
    assert [d.sn for d in desk.store.devices_of_plant(made)] == [H1]  # devices not sent: kept
    result = _update(
        desk,
        made,
        details={"price": 0.25, "currency": "CHF", "systemCapacity": 3.0},
        position=s.Position(x=16.37),
        devices=[s.PlantDeviceRef(sn=H3)],
    )
    assert [(d.device.sn, d.errno) for d in result.devices] == [(H3, 0)]
    plant = _stored(desk, made)
    assert (plant.price, plant.currency, plant.capacity) == (0.25, "CHF", 3.0)
    assert (plant.longitude, plant.latitude) == (16.37, None)
    assert [d.sn for d in desk.store.devices_of_plant(made)] == [H3]
    assert desk.store.device(H1).plant_id is None  # type: ignore[union-attr]
    _update(desk, made, devices=[])
    assert desk.store.devices_of_plant(made) == []
    _update(desk, made, position=s.Position(x="-180", y=-90))
    plant = _stored(desk, made)
    assert (plant.longitude, plant.latitude) == (-180.0, -90.0)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"y": 90.5}, "position.y: latitude must be a number from -90 to 90"),
        ({"x": -180.5}, "position.x: longitude must be a number from -180 to 180"),
    ]
    for position, detail in cases:
        moved = s.Position(**position)
        assert refusal(lambda p=moved: _update(desk, made, position=p)) == bad(detail), position
    assert (_stored(desk, made).longitude, _stored(desk, made).latitude) == (-180.0, -90.0)


def test_update_and_delete_of_an_unknown_plant(desk: Desk) -> None:
    bobs = desk.plant(account="bob")
    for plant_id in ("no-such-plant", bobs):
        assert refusal(_update, desk, plant_id) == bad(
            f"details.stationID: no power station {plant_id!r}"
        )
        req = s.PlantDelete(stationID=plant_id)
        assert refusal(area.delete, desk.ctx(), req) == bad(
            f"stationID: no power station {plant_id!r}"
        )
        query = s.PlantDetailQuery(id=plant_id)
        assert refusal(area.detail, desk.ctx(), query) == bad(f"id: no power station {plant_id!r}")
    assert desk.store.plant(desk.account("bob").id, bobs) is not None
    made = desk.plant()
    assert refusal(lambda: _update(desk, made, timezone="Nowhere/Land")) == bad(
        "timezone: unknown time zone 'Nowhere/Land' (use an IANA name such as Europe/London)"
    )
    assert _stored(desk, made).timezone == "Europe/London"


def test_delete_removes_the_plant_and_frees_its_inverters(desk: Desk) -> None:
    desk.device(H1)
    made = desk.plant([H1])
    area.delete(desk.ctx(), s.PlantDelete(stationID=made))
    assert desk.store.plant(desk.account("alice").id, made) is None
    assert desk.store.device(H1).plant_id is None  # type: ignore[union-attr]


def test_detail_answers_in_the_plants_zone_with_its_inverters(desk: Desk) -> None:
    desk.device(H1)
    desk.device(H3, "H3-10.0-E")
    made = desk.plant([H1, H3], zone="Asia/Tokyo", name="Dach")
    detail = area.detail(desk.ctx(), s.PlantDetailQuery(id=made))
    capacity = hardware.plant_capacity_kwp([(H1, "H1-5.0-E"), (H3, "H3-10.0-E")])
    assert capacity > 0
    logger = {d.sn: d.logger_sn for d in desk.store.devices_of_plant(made)}
    assert detail == s.PlantDetail(
        stationName="Dach", country="GB", city="c", address="a", postcode="p",
        capacity=capacity, timezone="Asia/Tokyo", createDate="2024-06-01 21:00:00 JST+0900",
        user=s.Person(name="alice", phone="", email=""),
        installer=s.Person(name="", phone="", email=""),
        modules=[s.ModuleRef(moduleSN=logger[sn], deviceSN=sn) for sn in sorted(logger)],
    )  # fmt: skip
    stated = _create(desk, details=_details(systemCapacity=0.0)).stationID
    assert area.detail(desk.ctx(), s.PlantDetailQuery(id=stated)).capacity == 0.0


def test_list_pages_through_the_accounts_plants(desk: Desk) -> None:
    made = [desk.plant(name=f"P{n}", zone="UTC") for n in range(3)]
    desk.plant(account="bob")
    first = area.list_(desk.ctx(), s.PageRequest(currentPage=1, pageSize=2))
    second = area.list_(desk.ctx(), s.PageRequest(currentPage=2, pageSize=2))
    assert (first.currentPage, first.pageSize, first.total) == (1, 2, 3)
    assert (second.currentPage, second.pageSize, second.total) == (2, 2, 3)
    listed = [*first.data, *second.data]
    assert sorted(p.stationID for p in listed) == sorted(made)
    assert {p.name for p in listed} == {"P0", "P1", "P2"}
    assert {p.ianaTimezone for p in listed} == {"UTC"}
    assert len(second.data) == 1


def test_the_handler_table() -> None:
    assert {
        "plant.create": area.create,
        "plant.update": area.update,
        "plant.delete": area.delete,
        "plant.detail": area.detail,
        "plant.list": area.list_,
    } == area.HANDLERS
