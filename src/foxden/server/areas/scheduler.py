"""The scheduler (time-of-use mode) of every API version: flags, groups get and enable.

All versions read and write the one stored schedule of a device (``scheduler.enable`` and
``scheduler.groups`` in its settings); the rules live in ``foxden.server.scheduling``.
"""

from __future__ import annotations

from typing import Any

from foxden.protocol import models
from foxden.protocol import structs as s
from foxden.protocol.errno import Errno
from foxden.server import scheduling as rules
from foxden.server.context import Ctx, Handler
from foxden.server.errors import ApiError
from foxden.store import Device

ENABLE = "scheduler.enable"
GROUPS = "scheduler.groups"


def _device(ctx: Ctx, sn: str, version: rules.Version) -> tuple[Device, models.InverterModel]:
    device = ctx.device(sn, "deviceSN")
    model = ctx.model(device)
    if not model.scheduler:
        raise ApiError(Errno.UNSUPPORTED_FEATURE, f"{model.name} has no scheduler")
    if version <= 1 and not model.features.scheduler_v1:
        # EVO firmware: v0/v1 get and enable fail for good; v2/v3 work (spec 3.2.3)
        raise ApiError(Errno.QUERY_FAILED, f"{model.name}: use the v2/v3 scheduler")
    return device, model


def _stored(ctx: Ctx, sn: str) -> tuple[int, list[dict[str, Any]]]:
    settings = ctx.store.settings(sn)
    return int(settings.get(ENABLE, 0)), list(settings.get(GROUPS, []))


def _save(ctx: Ctx, sn: str, groups: list[dict[str, Any]]) -> None:
    """Writing groups turns the scheduler on when one of them takes effect, off when none
    does (an empty write is how EVO clients switch it off)."""
    ctx.store.put_settings(sn, {GROUPS: groups, ENABLE: int(rules.is_active(groups))})


# ---------------------------------------------------------------- flags (v0 and v1)


def get_flag(ctx: Ctx, req: s.SchedulerDevice) -> s.SchedulerFlag:
    device = ctx.device(req.deviceSN, "deviceSN")
    model = ctx.model(device)
    enable, _ = _stored(ctx, device.sn)
    return s.SchedulerFlag(support=model.scheduler, enable=bool(enable) and model.scheduler)


def _set_flag(ctx: Ctx, req: s.SchedulerSetFlag) -> str:
    device = ctx.device(req.deviceSN, "deviceSN")
    if not ctx.model(device).scheduler:
        raise ApiError(Errno.UNSUPPORTED_FEATURE, f"{device.model} has no scheduler")
    ctx.store.put_settings(device.sn, {ENABLE: int(req.enable)})
    return device.sn


def set_flag(ctx: Ctx, req: s.SchedulerSetFlag) -> None:
    _set_flag(ctx, req)


def set_flag_v1(ctx: Ctx, req: s.SchedulerSetFlag) -> s.SchedulerFlagEcho:
    return s.SchedulerFlagEcho(deviceSN=_set_flag(ctx, req), enable=int(req.enable))


# ---------------------------------------------------------------- gets


def get_v0(ctx: Ctx, req: s.SchedulerDevice) -> s.SchedulerInfoV0:
    device, _ = _device(ctx, req.deviceSN, 0)
    return rules.render_v0(*_stored(ctx, device.sn))


def get_v1(ctx: Ctx, req: s.SchedulerDevice) -> s.SchedulerInfo:
    device, model = _device(ctx, req.deviceSN, 1)
    return rules.render_v1(*_stored(ctx, device.sn), model)


def get_v2(ctx: Ctx, req: s.SchedulerDevice) -> s.SchedulerInfoV2:
    device, model = _device(ctx, req.deviceSN, 2)
    return rules.render_v2(*_stored(ctx, device.sn), model)


def get_v3(ctx: Ctx, req: s.SchedulerDevice) -> s.SchedulerInfoV3:
    device, model = _device(ctx, req.deviceSN, 3)
    return rules.render_v3(*_stored(ctx, device.sn), model)


# ---------------------------------------------------------------- writes


def enable_v0(ctx: Ctx, req: s.SchedulerEnable) -> None:
    device, model = _device(ctx, req.deviceSN, 0)
    _save(ctx, device.sn, rules.flat_groups(req.groups, model, 0))


def enable_v1(ctx: Ctx, req: s.SchedulerEnable) -> s.SchedulerEnableEcho:
    device, model = _device(ctx, req.deviceSN, 1)
    _save(ctx, device.sn, rules.flat_groups(req.groups, model, 1))
    return s.SchedulerEnableEcho(deviceSN=device.sn, groups=req.groups)


def enable_v2(ctx: Ctx, req: s.SchedulerEnableV2) -> s.SchedulerEnableEchoV2:
    device, model = _device(ctx, req.deviceSN, 2)
    _, current = _stored(ctx, device.sn)
    _save(ctx, device.sn, rules.nested_groups(req.groups, model, 2, req.isDefault, current))
    return s.SchedulerEnableEchoV2(deviceSN=device.sn, isDefault=req.isDefault, groups=req.groups)


def enable_v3(ctx: Ctx, req: s.SchedulerEnableV3) -> s.SchedulerEnableEchoV3:
    device, model = _device(ctx, req.deviceSN, 3)
    _, current = _stored(ctx, device.sn)
    active = [g for g in current if g["enable"]]
    _save(ctx, device.sn, rules.nested_groups(req.groups, model, 3, req.isDefault, active))
    return s.SchedulerEnableEchoV3(deviceSN=device.sn, isDefault=req.isDefault, groups=req.groups)


HANDLERS: dict[str, Handler] = {
    "scheduler.get_flag": get_flag,
    "scheduler.set_flag": set_flag,
    "scheduler.get": get_v0,
    "scheduler.enable": enable_v0,
    "scheduler.get_flag_v1": get_flag,
    "scheduler.set_flag_v1": set_flag_v1,
    "scheduler.get_v1": get_v1,
    "scheduler.enable_v1": enable_v1,
    "scheduler.get_v2": get_v2,
    "scheduler.enable_v2": enable_v2,
    "scheduler.get_v3": get_v3,
    "scheduler.enable_v3": enable_v3,
}
