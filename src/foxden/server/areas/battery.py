"""Battery SoC limits and the two force-charge periods."""

from __future__ import annotations

from typing import Any

from foxden.protocol import structs as s
from foxden.protocol.errno import Errno
from foxden.server.context import Ctx, Handler
from foxden.server.errors import ApiError, invalid

DEFAULT_CHARGE_TIMES: dict[str, Any] = {
    "enable1": False,
    "startTime1": {"hour": 0, "minute": 0},
    "endTime1": {"hour": 0, "minute": 0},
    "enable2": False,
    "startTime2": {"hour": 0, "minute": 0},
    "endTime2": {"hour": 0, "minute": 0},
}


def soc_get(ctx: Ctx, req: s.SnQuery) -> s.SocSettings:
    device, _ = ctx.battery_device(req.sn)
    stored = ctx.store.settings(device.sn)
    return s.SocSettings(
        minSoc=int(stored.get("MinSoc", 10)), minSocOnGrid=int(stored.get("MinSocOnGrid", 10))
    )


def soc_set(ctx: Ctx, req: s.SocSet) -> None:
    device, _ = ctx.battery_device(req.sn)
    if req.minSocOnGrid < req.minSoc:
        raise invalid("minSocOnGrid", f"must be >= minSoc ({req.minSoc})")
    max_soc = int(ctx.store.settings(device.sn).get("MaxSoc", 100))
    if req.minSocOnGrid > max_soc:
        raise invalid("minSocOnGrid", f"must be <= MaxSoc ({max_soc})")
    ctx.store.put_settings(device.sn, {"MinSoc": req.minSoc, "MinSocOnGrid": req.minSocOnGrid})


def charge_times_get(ctx: Ctx, req: s.SnQuery) -> dict[str, Any]:
    device, _ = ctx.battery_device(req.sn)
    stored: dict[str, Any] = ctx.store.settings(device.sn).get(
        "forceChargeTime", DEFAULT_CHARGE_TIMES
    )
    return stored


def _minutes(t: s.ClockTime) -> int:
    return t.hour * 60 + t.minute


def charge_times_set(ctx: Ctx, req: s.ForceChargeTimeSet) -> None:
    device, _ = ctx.battery_device(req.sn)
    periods = []
    for n in (1, 2):
        start: s.ClockTime = getattr(req, f"startTime{n}")
        end: s.ClockTime = getattr(req, f"endTime{n}")
        if getattr(req, f"enable{n}"):
            if _minutes(start) >= _minutes(end):
                raise invalid(f"endTime{n}", f"must be after startTime{n} on the same day")
            periods.append((_minutes(start), _minutes(end)))
    if len(periods) == 2 and periods[0][0] < periods[1][1] and periods[1][0] < periods[0][1]:
        raise ApiError(Errno.TIME_OVERLAP, "period 1 and period 2 overlap")
    value = {
        "enable1": req.enable1,
        "startTime1": {"hour": req.startTime1.hour, "minute": req.startTime1.minute},
        "endTime1": {"hour": req.endTime1.hour, "minute": req.endTime1.minute},
        "enable2": req.enable2,
        "startTime2": {"hour": req.startTime2.hour, "minute": req.startTime2.minute},
        "endTime2": {"hour": req.endTime2.hour, "minute": req.endTime2.minute},
    }
    ctx.store.put_settings(device.sn, {"forceChargeTime": value})


HANDLERS: dict[str, Handler] = {
    "battery.soc_get": soc_get,
    "battery.soc_set": soc_set,
    "battery.charge_times_get": charge_times_get,
    "battery.charge_times_set": charge_times_set,
}
