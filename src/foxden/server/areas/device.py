"""Inverters: list, detail, and the variable and fault catalogues."""

from __future__ import annotations

from typing import Any

from foxden.protocol import catalogue, identities, models
from foxden.protocol import structs as s
from foxden.server.context import Ctx, Handler
from foxden.store import Device


def _station(ctx: Ctx, device: Device, names: dict[str, str]) -> tuple[str, str]:
    if device.plant_id is None:
        return "", ""
    if device.plant_id not in names:
        plant = ctx.store.plant(ctx.account.id, device.plant_id)
        names[device.plant_id] = plant.name if plant else ""
    return device.plant_id, names[device.plant_id]


def list_(ctx: Ctx, req: s.PageRequest) -> s.PageResult[s.DeviceSummary]:
    offset = (req.currentPage - 1) * req.pageSize
    devices, total = ctx.store.devices(ctx.account.id, offset, req.pageSize)
    names: dict[str, str] = {}
    data = []
    for d in devices:
        model = models.model(d.model)
        station_id, station_name = _station(ctx, d, names)
        data.append(
            s.DeviceSummary(
                deviceSN=d.sn,
                moduleSN=d.logger_sn,
                stationID=station_id,
                stationName=station_name,
                status=d.status,
                hasPV=True,
                hasBattery=bool(model and model.has_battery),
                deviceType=model.device_type if model else d.model,
                productType=model.product_type if model else "",
            )
        )
    return s.PageResult(currentPage=req.currentPage, pageSize=req.pageSize, total=total, data=data)


def _detail_fields(ctx: Ctx, sn: str) -> dict[str, Any]:
    device = ctx.device(sn)
    model = ctx.model(device)
    station_id, station_name = _station(ctx, device, {})
    fw = model.firmware
    return {
        "deviceSN": device.sn,
        "moduleSN": device.logger_sn,
        "stationID": station_id,
        "stationName": station_name,
        "deviceType": model.device_type,
        "productType": model.product_type,
        "status": device.status,
        "hasPV": True,
        "hasBattery": model.has_battery,
        "capacity": identities.capacity_kw(model.rated_power_w),
        "afciVersion": fw.get("afciVersion", ""),
        "managerVersion": fw.get("managerVersion", ""),
        "masterVersion": fw.get("masterVersion", ""),
        "slaveVersion": fw.get("slaveVersion", ""),
        "hardwareVersion": fw.get("hardwareVersion", "--"),
        "function": s.DeviceFunction(scheduler=model.scheduler),
        "batteryList": [s.BatteryInfo(**b) for b in device.batteries],
    }


def detail(ctx: Ctx, req: s.SnQuery) -> s.DeviceDetail:
    return s.DeviceDetail(**_detail_fields(ctx, req.sn))


def detail_v1(ctx: Ctx, req: s.SnQuery) -> s.DeviceDetailV1:
    """v1: v0's keys plus thirdPartyGen (no third-party generator is simulated)."""
    return s.DeviceDetailV1(**_detail_fields(ctx, req.sn), thirdPartyGen=False)


def variables(ctx: Ctx, req: None) -> list[dict[str, Any]]:
    return catalogue.variable_get_result()


def faults(ctx: Ctx, req: None) -> list[dict[str, Any]]:
    return catalogue.fault_get_result()


HANDLERS: dict[str, Handler] = {
    "device.list": list_,
    "device.detail": detail,
    "device.detail_v1": detail_v1,
    "device.variables": variables,
    "device.faults": faults,
}
