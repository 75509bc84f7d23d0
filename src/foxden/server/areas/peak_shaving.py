"""Peak shaving (doc V1.1.2): the grid import limit in kW and the SoC held back for it.

Only models with peak shaving answer; the rest get 40257, which clients read as "not
available" (spec 3.5.1: foxesscloud, EnergyStats)."""

from __future__ import annotations

import math
from typing import Any

from foxden.protocol import models
from foxden.protocol import structs as s
from foxden.server.context import Ctx, Handler
from foxden.server.errors import invalid, parse_number

IMPORT_LIMIT = "peakShaving.importLimit"
SOC = "peakShaving.soc"
IMPORT_MAX_KW = 100.0
"""The same bound as the scheduler's importLimit (0-100000 W)."""
IMPORT_PRECISION = 0.001
SOC_RANGE = (10.0, 100.0)
DEFAULT_SOC = 40


def _device(ctx: Ctx, sn: str) -> tuple[str, models.InverterModel]:
    device = ctx.device(sn)
    model = ctx.model(device)
    if not model.features.peak_shaving or not model.has_battery:
        raise invalid("sn", f"{model.name} has no peak shaving")
    return device.sn, model


def _default_import_kw(model: models.InverterModel) -> float:
    return model.rated_power_w / 1000


def get(ctx: Ctx, req: s.SnBody) -> s.PeakShaving:
    sn, model = _device(ctx, req.sn)
    stored = ctx.store.settings(sn)
    limit = float(stored.get(IMPORT_LIMIT, _default_import_kw(model)))
    soc = int(stored.get(SOC, DEFAULT_SOC))
    return s.PeakShaving(
        importLimit=s.SettingValue(
            value=f"{limit:.3f}",
            unit="kW",
            precision=IMPORT_PRECISION,
            range=s.SettingRange(min=0.0, max=IMPORT_MAX_KW),
        ),
        soc=s.SettingValue(
            value=str(soc),
            unit="%",
            precision=1.0,
            range=s.SettingRange(min=SOC_RANGE[0], max=SOC_RANGE[1]),
        ),
    )


def _value(field: str, raw: Any, low: float, high: float, step: float) -> float:
    value = parse_number(raw)
    if math.isnan(value):
        raise invalid(field, "must be a number")
    if not low <= value <= high:
        raise invalid(field, f"must be from {low:g} to {high:g}")
    steps = value / step
    if abs(steps - round(steps)) > 1e-6:
        raise invalid(field, f"must be a multiple of {step:g}")
    return round(round(steps) * step, 3)


def set_(ctx: Ctx, req: s.PeakShavingSet) -> None:
    sn, _ = _device(ctx, req.sn)
    limit = _value("importLimit", req.importLimit, 0.0, IMPORT_MAX_KW, IMPORT_PRECISION)
    soc = _value("soc", req.soc, *SOC_RANGE, 1.0)
    ctx.store.put_settings(sn, {IMPORT_LIMIT: limit, SOC: int(soc)})


HANDLERS: dict[str, Handler] = {"peak_shaving.get": get, "peak_shaving.set": set_}
