"""Battery heating (doc V1.1.6): a switch, start and end temperatures and three daily time
windows, read as a ``dataList`` of setting items and written as strings.

Models without battery heating answer 41200, which clients read as "not available" (spec
3.5.3: foxesscloud ignores it, EnergyStats shows the feature as missing)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from foxden.protocol import models
from foxden.protocol import structs as s
from foxden.protocol.errno import Errno
from foxden.server.context import Ctx, Handler
from foxden.server.errors import ApiError, invalid, parse_number

PREFIX = "batteryHeating."
SWITCH = models.ENABLE_DISABLE
START_RANGE = (1, 9)
"""startTemperature bounds (℃), reported as min/maxStartTemperatureRange."""
END_RANGE = (10, 15)
"""endTemperature bounds (℃), reported as min/maxEndTemperatureRange."""
STATES = (
    "The battery is in a stopped warm up state",
    "The battery is in a ready warm up state",
    "The battery is in the warm up state",
    "Battery is in self warm up state",
    "The battery is in a ready stopped warm up state",
)
WINDOWS = (1, 2, 3)
CLOCK = (("StartHour", 23), ("StartMinute", 59), ("EndHour", 23), ("EndMinute", 59))


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    default: str
    unit: str = ""
    high: int | None = None
    enum: tuple[str, ...] | None = None


def _items() -> tuple[Item, ...]:
    items = [
        Item("batteryWarmUpEnable", "disable", enum=SWITCH),
        Item("startTemperature", str(START_RANGE[0]), "℃"),
        Item("endTemperature", str(END_RANGE[0]), "℃"),
    ]
    for n in WINDOWS:
        items.append(Item(f"time{n}Enable", "disable", enum=SWITCH))
        items += [Item(f"time{n}{part}", "0", high=high) for part, high in CLOCK]
    return tuple(items)


ITEMS = _items()
WRITABLE = frozenset(i.name for i in ITEMS)


def _device(ctx: Ctx, sn: str) -> str:
    device = ctx.device(sn)
    model = ctx.model(device)
    if not model.has_battery or not model.features.battery_heating:
        raise ApiError(Errno.QUERY_FAILED, f"{model.name} has no battery heating")
    return device.sn


def _item(name: str, value: str, unit: str = "", **extra: Any) -> s.HeatingItem:
    return s.HeatingItem(name=name, value=value, unit=unit, precision=1.0, **extra)


def get(ctx: Ctx, req: s.SnBody) -> s.BatteryHeating:
    sn = _device(ctx, req.sn)
    stored = ctx.store.settings(sn)
    data = []
    for item in ITEMS:
        value = str(stored.get(PREFIX + item.name, item.default))
        if item.enum is not None:
            data.append(_item(item.name, value, item.unit, enumList=list(item.enum)))
        elif item.high is not None:
            rng = s.SettingRange(min=0.0, max=float(item.high))
            data.append(_item(item.name, value, item.unit, range=rng))
        else:
            data.append(_item(item.name, value, item.unit))
    on = stored.get(PREFIX + "batteryWarmUpEnable", "disable") == "enable"
    data += [
        _item("batteryWarmUpFunctionEnableFlag", "enable", enumList=list(SWITCH)),
        _item("batteryWarmUpState", STATES[1] if on else STATES[0], enumList=list(STATES)),
        _item("minStartTemperatureRange", str(START_RANGE[0])),
        _item("maxStartTemperatureRange", str(START_RANGE[1])),
        _item("minEndTemperatureRange", str(END_RANGE[0])),
        _item("maxEndTemperatureRange", str(END_RANGE[1])),
    ]
    return s.BatteryHeating(dataList=data)


def _whole(field: str, raw: Any, low: int, high: int) -> str:
    value = parse_number(raw)
    if math.isnan(value) or not value.is_integer():
        raise invalid(field, f"must be a whole number, got {raw!r}")
    if not low <= value <= high:
        raise invalid(field, f"must be from {low} to {high}")
    return str(int(value))


def set_(ctx: Ctx, req: s.BatteryHeatingSet) -> None:
    sn = _device(ctx, req.sn)
    values: dict[str, str] = {}
    for item in ITEMS:
        raw = getattr(req, item.name)
        if item.enum is not None:
            if raw not in item.enum:
                raise invalid(item.name, f"must be one of {', '.join(item.enum)}")
            values[item.name] = str(raw)
        elif item.name == "startTemperature":
            values[item.name] = _whole(item.name, raw, *START_RANGE)
        elif item.name == "endTemperature":
            values[item.name] = _whole(item.name, raw, *END_RANGE)
        else:
            assert item.high is not None
            values[item.name] = _whole(item.name, raw, 0, item.high)
    for n in WINDOWS:
        if values[f"time{n}Enable"] != "enable":
            continue
        start = int(values[f"time{n}StartHour"]) * 60 + int(values[f"time{n}StartMinute"])
        end = int(values[f"time{n}EndHour"]) * 60 + int(values[f"time{n}EndMinute"])
        if start == end:
            raise invalid(f"time{n}EndHour", "an enabled window must not be empty")
    ctx.store.put_settings(sn, {PREFIX + k: v for k, v in values.items()})


HANDLERS: dict[str, Handler] = {"battery_heating.get": get, "battery_heating.set": set_}
