"""Plants (power stations): create, update, delete, detail, list."""

from __future__ import annotations

import uuid
from typing import Any

from foxden.protocol import hardware, timefmt
from foxden.protocol import structs as s
from foxden.protocol.errno import Errno
from foxden.server.context import Ctx, Handler
from foxden.server.errors import invalid, parse_number
from foxden.store import Plant


def _zone(name: str) -> str:
    if not timefmt.is_zone(name):
        raise invalid(
            "timezone", f"unknown time zone {name[:80]!r} (use an IANA name such as Europe/London)"
        )
    return name


def _coordinate(position: s.Position | None, attr: str, limit: float) -> float | None:
    """A coordinate as a number when it is one. The document's own example sends
    ``"x": "x_9e0c3cf37a91"``: a string that is not a number is kept as given (in the
    plant's extra data) and gives no location, never a refusal; a number out of range is
    refused."""
    raw = getattr(position, attr) if position else None
    if raw is None or raw == "":
        return None
    value = parse_number(raw)
    if value != value:  # NaN: not a number at all
        return None
    if not -limit <= value <= limit:
        what = "longitude" if attr == "x" else "latitude"
        raise invalid(f"position.{attr}", f"{what} must be a number from {-limit:g} to {limit:g}")
    return value


def _extra(req: s.PlantCreate | s.PlantUpdate) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if req.position is not None:
        extra["position"] = {k: getattr(req.position, k) for k in ("x", "y", "format", "pid")}
    for key in ("pileSN", "electricmeterSN", "layoutByMini"):
        value = getattr(req, key)
        if value is not None:
            extra[key] = value
    return extra


def _bind(ctx: Ctx, plant_id: str, refs: list[s.PlantDeviceRef]) -> list[s.PlantDeviceResult]:
    results = []
    for ref in refs:
        device = ctx.store.device(ref.sn)
        usable = (
            device is not None
            and device.account_id == ctx.account.id
            and device.plant_id in (None, plant_id)
        )
        if usable:
            ctx.store.bind_device(ref.sn, plant_id)
        errno = Errno.OK if usable else Errno.DEVICE_UNAVAILABLE
        results.append(
            s.PlantDeviceResult(
                device=s.PlantDeviceRefResult(sn=ref.sn, key=ref.key), errno=int(errno)
            )
        )
    return results


def create(ctx: Ctx, req: s.PlantCreate) -> s.PlantWriteResult:
    d = req.details
    plant = Plant(
        id=str(uuid.uuid4()),
        account_id=ctx.account.id,
        name=d.name,
        type=d.type,
        country_code=d.countryCode.upper(),
        city=d.city,
        address=d.address,
        postcode=d.postcode,
        timezone=_zone(req.timezone),
        created_ms=ctx.now_ms(),
        price=d.price,
        currency=d.currency,
        capacity=d.systemCapacity,
        latitude=_coordinate(req.position, "y", 90),
        longitude=_coordinate(req.position, "x", 180),
        extra=_extra(req),
    )
    ctx.store.insert_plant(plant)
    return s.PlantWriteResult(stationID=plant.id, devices=_bind(ctx, plant.id, req.devices or []))


def update(ctx: Ctx, req: s.PlantUpdate) -> s.PlantWriteResult:
    d = req.details
    old = ctx.plant(d.stationID, "details.stationID")
    plant = Plant(
        id=old.id,
        account_id=old.account_id,
        name=d.name,
        type=d.type,
        country_code=d.countryCode.upper(),
        city=d.city,
        address=d.address,
        postcode=d.postcode,
        timezone=_zone(req.timezone),
        created_ms=old.created_ms,
        price=d.price if d.price is not None else old.price,
        currency=d.currency if d.currency is not None else old.currency,
        capacity=d.systemCapacity if d.systemCapacity is not None else old.capacity,
        latitude=_coordinate(req.position, "y", 90) if req.position else old.latitude,
        longitude=_coordinate(req.position, "x", 180) if req.position else old.longitude,
        extra={**old.extra, **_extra(req)},
    )
    ctx.store.update_plant(plant)
    results: list[s.PlantDeviceResult] = []
    if req.devices is not None:
        wanted = {ref.sn for ref in req.devices}
        for device in ctx.store.devices_of_plant(plant.id):
            if device.sn not in wanted:
                ctx.store.bind_device(device.sn, None)
        results = _bind(ctx, plant.id, req.devices)
    return s.PlantWriteResult(stationID=plant.id, devices=results)


def delete(ctx: Ctx, req: s.PlantDelete) -> None:
    ctx.plant(req.stationID, "stationID")
    ctx.store.delete_plant(ctx.account.id, req.stationID)


def plant_capacity(ctx: Ctx, plant: Plant) -> float:
    """A plant's ``capacity``: the system capacity its creator stated, else the installed PV
    of its inverters in kWp (the real capture reads 5.67 for a plant: a PV size, not an
    inverter rating; samples/v0_plant_detail__energystats_ios.json)."""
    if plant.capacity is not None:
        return plant.capacity
    devices = ctx.store.devices_of_plant(plant.id)
    return hardware.plant_capacity_kwp((d.sn, d.model) for d in devices)


def detail(ctx: Ctx, req: s.PlantDetailQuery) -> s.PlantDetail:
    plant = ctx.plant(req.id, "id")
    tz = timefmt.zone(plant.timezone)
    return s.PlantDetail(
        stationName=plant.name,
        country=plant.country_code,
        city=plant.city,
        address=plant.address,
        postcode=plant.postcode,
        capacity=plant_capacity(ctx, plant),
        timezone=plant.timezone,
        createDate=timefmt.format_local(plant.created_ms, tz),
        user=s.Person(name=ctx.account.name, phone="", email=""),
        installer=s.Person(name="", phone="", email=""),
        modules=[
            s.ModuleRef(moduleSN=d.logger_sn, deviceSN=d.sn)
            for d in ctx.store.devices_of_plant(plant.id)
        ],
    )


def list_(ctx: Ctx, req: s.PageRequest) -> s.PageResult[s.PlantSummary]:
    offset = (req.currentPage - 1) * req.pageSize
    plants, total = ctx.store.plants(ctx.account.id, offset, req.pageSize)
    return s.PageResult(
        currentPage=req.currentPage,
        pageSize=req.pageSize,
        total=total,
        data=[s.PlantSummary(stationID=p.id, name=p.name, ianaTimezone=p.timezone) for p in plants],
    )


HANDLERS: dict[str, Handler] = {
    "plant.create": create,
    "plant.update": update,
    "plant.delete": delete,
    "plant.detail": detail,
    "plant.list": list_,
}
