"""Device settings by key (the document's five, WorkMode and the newer keys of spec 3.5.9,
per model family) and the device clock."""

from __future__ import annotations

import calendar
import math
from datetime import UTC, datetime
from typing import Any

from foxden.protocol import models
from foxden.protocol import structs as s
from foxden.protocol.errno import Errno
from foxden.protocol.limits import TIME_RANGES
from foxden.server.context import Ctx, Handler
from foxden.server.errors import ApiError, invalid, parse_number

SOC_KEYS = frozenset({"MinSoc", "MinSocOnGrid"})


def _spec(ctx: Ctx, sn: str, key: str) -> tuple[str, models.SettingSpec]:
    device = ctx.device(sn)
    model = ctx.model(device)
    if key not in models.SETTING_KEYS:
        raise invalid("key", f"unknown setting {key!r}; one of {', '.join(models.SETTING_KEYS)}")
    plant = ctx.store.plant(ctx.account.id, device.plant_id) if device.plant_id else None
    spec = model.settings(plant.country_code if plant else None).get(key)
    if spec is None:
        raise ApiError(Errno.UNSUPPORTED_FEATURE, f"{model.name} has no setting {key}")
    return device.sn, spec


def _render(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def stored_value(stored: dict[str, Any], spec: models.SettingSpec) -> Any:
    """A key's stored value; the export limit answers under either of its names."""
    if spec.key in models.EXPORT_LIMIT_KEYS:
        for key in (spec.key, *models.EXPORT_LIMIT_KEYS):
            if key in stored:
                return stored[key]
    return stored.get(spec.key, spec.default)


def get(ctx: Ctx, req: s.SettingGet) -> s.SettingValue:
    sn, spec = _spec(ctx, req.sn, req.key)
    value = stored_value(ctx.store.settings(sn), spec)
    if spec.enum is not None:
        return s.SettingValue(
            value=_render(value), unit=spec.unit, precision=spec.precision, enumList=list(spec.enum)
        )
    assert spec.minimum is not None and spec.maximum is not None
    return s.SettingValue(
        value=_render(value),
        unit=spec.unit,
        precision=spec.precision,
        range=s.SettingRange(min=spec.minimum, max=spec.maximum),
    )


def _number(spec: models.SettingSpec, raw: str | int | float) -> int | float:
    value = parse_number(raw)
    if math.isnan(value):
        raise invalid("value", f"{spec.key} must be a number")
    assert spec.minimum is not None and spec.maximum is not None
    if not spec.minimum <= value <= spec.maximum:
        raise invalid(
            "value", f"{spec.key} must be from {spec.minimum:g} to {spec.maximum:g} {spec.unit}"
        )
    steps = value / spec.precision
    if abs(steps - round(steps)) > 1e-9:
        raise invalid("value", f"{spec.key} must be a multiple of {spec.precision:g}")
    if spec.precision >= 1:
        return round(value)
    return round(round(steps) * spec.precision, 3)


def set_(ctx: Ctx, req: s.SettingSet) -> None:
    sn, spec = _spec(ctx, req.sn, req.key)
    stored = ctx.store.settings(sn)
    scheduler_on = bool(int(stored.get("scheduler.enable", 0)))
    value: Any
    if spec.enum is not None:
        value = str(req.value)
        if value not in spec.enum:
            raise invalid("value", f"{spec.key} must be one of {', '.join(spec.enum)}")
        if spec.key == "WorkMode" and scheduler_on:
            raise ApiError(
                Errno.SETTING_REFUSED, "WorkMode cannot change while the scheduler is on"
            )
    else:
        value = _number(spec, req.value)
        min_soc = int(stored.get("MinSoc", 10))
        on_grid = int(stored.get("MinSocOnGrid", 10))
        max_soc = int(stored.get("MaxSoc", 100))
        if spec.key in SOC_KEYS and scheduler_on:
            # batpred #3011: MinSoc/MinSocOnGrid writes fail while the scheduler is on
            raise ApiError(
                Errno.WRITE_FAILED, f"{spec.key} cannot change while the scheduler is on"
            )
        if spec.key == "MinSocOnGrid" and not min_soc <= value <= max_soc:
            raise invalid(
                "value", f"MinSocOnGrid must be from MinSoc ({min_soc}) to MaxSoc ({max_soc})"
            )
        if spec.key == "MinSoc" and value > on_grid:
            raise invalid("value", f"MinSoc must be <= MinSocOnGrid ({on_grid})")
        if spec.key == "MaxSoc" and value < on_grid:
            raise invalid("value", f"MaxSoc must be >= MinSocOnGrid ({on_grid})")
    keys = models.EXPORT_LIMIT_KEYS if spec.key in models.EXPORT_LIMIT_KEYS else (spec.key,)
    ctx.store.put_settings(sn, dict.fromkeys(keys, value))


def _device_now(ctx: Ctx, sn: str) -> tuple[datetime, int]:
    device = ctx.device(sn)
    offset = int(ctx.store.settings(device.sn).get("clockOffsetMs", 0))
    local = datetime.fromtimestamp((ctx.now_ms() + offset) / 1000, UTC).astimezone(
        ctx.zone_of(device)
    )
    return local, offset


def time_get(ctx: Ctx, req: s.DeviceTimeGet) -> s.DeviceTime:
    local, _ = _device_now(ctx, req.sn)
    return s.DeviceTime(
        year=str(local.year),
        month=str(local.month),
        day=str(local.day),
        hour=str(local.hour),
        minute=str(local.minute),
        second=str(local.second),
    )


def _field(req: s.DeviceTimeSet, name: str) -> int:
    raw = getattr(req, name)
    number = parse_number(raw)
    if math.isnan(number) or not number.is_integer():
        raise invalid(name, f"must be a whole number, got {raw!r}")
    value = int(number)
    low, high = TIME_RANGES[name]
    if name == "year" and 2000 <= value <= 2099:
        value -= 2000
    if not low <= value <= high:
        extra = " (or 2000-2099)" if name == "year" else ""
        raise invalid(name, f"must be from {low} to {high}{extra}, got {value}")
    return value


def time_set(ctx: Ctx, req: s.DeviceTimeSet) -> None:
    device = ctx.device(req.sn)
    parts = {name: _field(req, name) for name in TIME_RANGES}
    year = 2000 + parts["year"]
    last_day = calendar.monthrange(year, parts["month"])[1]
    if parts["day"] > last_day:
        raise invalid("day", f"{year}-{parts['month']:02d} has {last_day} days")
    zone = ctx.zone_of(device)
    local = datetime(
        year,
        parts["month"],
        parts["day"],
        parts["hour"],
        parts["minute"],
        parts["second"],
        tzinfo=zone,
    )
    offset = round(local.timestamp() * 1000) - ctx.now_ms()
    ctx.store.put_settings(device.sn, {"clockOffsetMs": offset})


HANDLERS: dict[str, Handler] = {
    "settings.get": get,
    "settings.set": set_,
    "settings.time_get": time_get,
    "settings.time_set": time_set,
}
