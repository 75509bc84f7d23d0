"""Data loggers (modules): list."""

from __future__ import annotations

from foxden.protocol import structs as s
from foxden.server.context import Ctx, Handler


def list_(ctx: Ctx, req: s.PageRequest) -> s.PageResult[s.ModuleSummary]:
    offset = (req.currentPage - 1) * req.pageSize
    loggers, total = ctx.store.loggers(ctx.account.id, offset, req.pageSize)
    devices, _ = ctx.store.devices(ctx.account.id)
    station = {d.logger_sn: d.plant_id or "" for d in devices}
    data = [
        s.ModuleSummary(
            moduleSN=lg.sn, stationID=station.get(lg.sn, ""), status=lg.status, signal=lg.signal
        )
        for lg in loggers
    ]
    return s.PageResult(currentPage=req.currentPage, pageSize=req.pageSize, total=total, data=data)


HANDLERS: dict[str, Handler] = {"module.list": list_}
