"""The scheduler (time-of-use mode): flag get/set, groups get/enable."""

from __future__ import annotations

import itertools
from typing import Any

from foxden.protocol import limits, models
from foxden.protocol import structs as s
from foxden.protocol.errno import Errno
from foxden.server.context import Ctx, Handler
from foxden.server.errors import ApiError, invalid

INVALID_MODE = "Invalid"

UNUSED_GROUP: dict[str, Any] = {
    "enable": 0,
    "startHour": 0,
    "startMinute": 0,
    "endHour": 0,
    "endMinute": 0,
    "workMode": INVALID_MODE,
    "minSocOnGrid": 10,
    "fdSoc": 10,
    "fdPwr": 0,
    "maxSoc": 100,
}


def _scheduler_device(ctx: Ctx, sn: str) -> tuple[str, models.InverterModel]:
    device = ctx.device(sn, "deviceSN")
    model = ctx.model(device)
    if not model.scheduler:
        raise ApiError(Errno.UNSUPPORTED_FEATURE, f"{model.name} has no scheduler")
    return device.sn, model


def get_flag(ctx: Ctx, req: s.SchedulerDevice) -> s.SchedulerFlag:
    device = ctx.device(req.deviceSN, "deviceSN")
    model = ctx.model(device)
    enable = int(ctx.store.settings(device.sn).get("scheduler.enable", 0))
    return s.SchedulerFlag(support=int(model.scheduler), enable=enable if model.scheduler else 0)


def set_flag(ctx: Ctx, req: s.SchedulerSetFlag) -> None:
    sn, _ = _scheduler_device(ctx, req.deviceSN)
    ctx.store.put_settings(sn, {"scheduler.enable": req.enable})


def properties(model: models.InverterModel) -> dict[str, s.PropertySpec]:
    """The ranges of each group field for this model, as the real cloud lists them."""

    def rng(unit: str, low: float, high: float) -> s.PropertySpec:
        return s.PropertySpec(unit=unit, precision=1.0, range=s.PropertyRange(min=low, max=high))

    return {
        "starthour": rng("", 0, 23),
        "startminute": rng("", 0, 59),
        "endhour": rng("", 0, 23),
        "endminute": rng("", 0, 59),
        "workmode": s.PropertySpec(unit="", precision=1.0, enumList=list(model.work_modes)),
        "minsocongrid": rng("%", limits.SCHEDULER_MIN_SOC_ON_GRID, 100),
        "fdsoc": rng("%", limits.SCHEDULER_MIN_SOC_ON_GRID, limits.SCHEDULER_FD_SOC_MAX),
        "fdpwr": rng("W", 0, model.rated_power_w),
        "maxsoc": rng("%", 10, 100),
    }


def get(ctx: Ctx, req: s.SchedulerDevice) -> s.SchedulerInfo:
    sn, model = _scheduler_device(ctx, req.deviceSN)
    stored = ctx.store.settings(sn)
    groups = list(stored.get("scheduler.groups", []))
    groups += [UNUSED_GROUP] * (limits.SCHEDULER_MAX_GROUPS - len(groups))
    return s.SchedulerInfo(
        enable=int(stored.get("scheduler.enable", 0)),
        groups=[s.SchedulerGroupOut(**g) for g in groups],
        properties=properties(model),
    )


def _check_group(i: int, g: s.SchedulerGroup, model: models.InverterModel) -> None:
    where = f"groups[{i}]"
    if g.workMode != INVALID_MODE and g.workMode not in model.work_modes:
        raise invalid(
            f"{where}.workMode",
            f"unknown work mode {g.workMode!r}; "
            f"{model.name} supports {', '.join(model.work_modes)}",
        )
    if not g.enable or g.workMode == INVALID_MODE:
        return
    if (g.startHour, g.startMinute) >= (g.endHour, g.endMinute):
        raise invalid(f"{where}.endHour", "the segment must end after it starts, on the same day")
    if not g.minSocOnGrid <= g.fdSoc <= limits.SCHEDULER_FD_SOC_MAX:
        raise invalid(f"{where}.fdSoc", f"must be from minSocOnGrid ({g.minSocOnGrid}) to 100")
    if g.fdPwr > model.rated_power_w:
        raise invalid(
            f"{where}.fdPwr", f"must be from 0 to {model.rated_power_w} W on {model.name}"
        )
    if g.maxSoc is not None and g.maxSoc < g.minSocOnGrid:
        raise invalid(f"{where}.maxSoc", f"must be >= minSocOnGrid ({g.minSocOnGrid})")


def enable(ctx: Ctx, req: s.SchedulerEnable) -> None:
    sn, model = _scheduler_device(ctx, req.deviceSN)
    active: list[tuple[int, int, int]] = []
    for i, g in enumerate(req.groups):
        _check_group(i, g, model)
        if g.enable and g.workMode != INVALID_MODE:
            active.append((g.startHour * 60 + g.startMinute, g.endHour * 60 + g.endMinute, i))
    active.sort()
    for (_, end_a, a), (start_b, _, b) in itertools.pairwise(active):
        if start_b <= end_a:
            raise ApiError(Errno.TIME_OVERLAP, f"groups[{a}] and groups[{b}] overlap")
    groups = [
        {
            "enable": g.enable,
            "startHour": g.startHour,
            "startMinute": g.startMinute,
            "endHour": g.endHour,
            "endMinute": g.endMinute,
            "workMode": g.workMode,
            "minSocOnGrid": g.minSocOnGrid,
            "fdSoc": g.fdSoc,
            "fdPwr": g.fdPwr,
            "maxSoc": g.maxSoc if g.maxSoc is not None else 100,
        }
        for g in req.groups
    ]
    ctx.store.put_settings(sn, {"scheduler.groups": groups, "scheduler.enable": 1})


HANDLERS: dict[str, Handler] = {
    "scheduler.get_flag": get_flag,
    "scheduler.set_flag": set_flag,
    "scheduler.get": get,
    "scheduler.enable": enable,
}
