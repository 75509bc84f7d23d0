"""Data loggers (modules): list, detail, signal strength."""

from __future__ import annotations

from foxden.protocol import structs as s
from foxden.protocol.errno import Errno
from foxden.server.context import Ctx, Handler
from foxden.server.errors import ApiError
from foxden.store import Device, Logger

LOGGER_SOFT_VERSION = "1.16"
"""The logger firmware foxden reports (``softVersion``); ``webVersion`` is ``--``, the
documented default (newer-endpoints.md section 3.6)."""


def signal_dbm(strength: int) -> int:
    """A logger's signal as module/getSignal writes it, in dBm: 0-100 % maps onto WiFi's
    usual -100 dBm (no link) to -30 dBm (excellent)."""
    return round(-100 + 0.7 * max(0, min(100, strength)))


def _summary(
    ctx: Ctx, logger: Logger, device: Device | None, names: dict[str, str]
) -> s.ModuleSummary:
    station_id = device.plant_id or "" if device else ""
    if station_id and station_id not in names:
        plant = ctx.store.plant(ctx.account.id, station_id)
        names[station_id] = plant.name if plant else ""
    return s.ModuleSummary(
        moduleSN=logger.sn,
        stationID=station_id,
        plantName=names.get(station_id, ""),
        status=logger.status,
        signal=logger.signal,
        webVersion="--",
        softVersion=LOGGER_SOFT_VERSION,
    )


def _devices_by_logger(ctx: Ctx) -> dict[str, Device]:
    devices, _ = ctx.store.devices(ctx.account.id)
    return {d.logger_sn: d for d in devices}


def list_(ctx: Ctx, req: s.PageRequest) -> s.PageResult[s.ModuleSummary]:
    offset = (req.currentPage - 1) * req.pageSize
    loggers, total = ctx.store.loggers(ctx.account.id, offset, req.pageSize)
    by_logger = _devices_by_logger(ctx)
    names: dict[str, str] = {}
    data = [_summary(ctx, lg, by_logger.get(lg.sn), names) for lg in loggers]
    return s.PageResult(currentPage=req.currentPage, pageSize=req.pageSize, total=total, data=data)


def _logger(ctx: Ctx, sn: str) -> tuple[Logger, Device | None]:
    """The account's logger; another account's behaves exactly like an unknown one."""
    loggers, _ = ctx.store.loggers(ctx.account.id, 0, 1_000_000)
    for logger in loggers:
        if logger.sn == sn:
            return logger, _devices_by_logger(ctx).get(sn)
    raise ApiError(Errno.DEVICE_UNAVAILABLE, f"sn: no data logger {sn!r}")


def detail(ctx: Ctx, req: s.SnQuery) -> s.ModuleSummary:
    logger, device = _logger(ctx, req.sn)
    return _summary(ctx, logger, device, {})


def signal(ctx: Ctx, req: s.ModuleSn) -> s.ModuleSignal:
    """When the logger last reported (its inverter's latest sample, ms) and its signal."""
    logger, device = _logger(ctx, req.sn)
    reported = ctx.now_ms()
    if device is not None:
        latest = ctx.store.latest([device.sn]).get(device.sn)
        if latest is not None:
            reported = latest.time_ms
    return s.ModuleSignal(timestamp=reported, signal=signal_dbm(logger.signal))


HANDLERS: dict[str, Handler] = {
    "module.list": list_,
    "module.detail": detail,
    "module.signal": signal,
}
