"""Inverter control: what the API set (work mode, SoC bounds, export limit, current limits,
force-charge windows, scheduler groups) and what the inverter does with it in one step.

Semantics (docs/physics.md gives the source of each):
- ForceCharge charges at fdPwr (the battery's limit when 0) up to min(fdSoc, maxSoc) and then
  holds: it neither charges further nor discharges until the group ends.
- ForceDischarge discharges at fdPwr down to fdSoc and then holds.
- An export limit curtails a forced battery export first and PV last; PV always serves the
  house and the battery before anything is exported.
- MinSoc / MinSocOnGrid: the discharge floor is the higher of the two (a scheduler group's
  own minSocOnGrid replaces MinSocOnGrid while it runs); MaxSoc is the ceiling.
- MaxSetChargeCurrent / MaxSetDischargeCurrent limit the battery current, so the power by the
  pack's voltage at the time.
- Schedules and force-charge windows run on the inverter's own clock (time/set moves it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from foxden.protocol import models

F = npt.NDArray[np.float64]
IA = npt.NDArray[np.int64]

MODES = ("SelfUse", "Feedin", "Backup", "ForceCharge", "ForceDischarge", "PeakShaving")
MODE_SELF_USE, MODE_FEEDIN, MODE_BACKUP, MODE_FORCE_CHARGE, MODE_FORCE_DISCHARGE, MODE_PEAK = range(
    6
)
PEAK_SHAVING_KW = 3.0
MINUTES_A_DAY = 1440


@dataclass(slots=True)
class Controls:
    """What the API set, per device, as (D,) arrays and lists."""

    work_mode: IA
    min_soc: F
    min_soc_on_grid: F
    max_soc: F
    export_limit_kw: F
    charge_current_a: F  # NaN: no limit set
    discharge_current_a: F
    clock_offset_ms: IA  # the inverter's clock minus the real one
    charge_windows: list[list[tuple[int, int]]]  # enabled force-charge periods, minutes
    groups: list[list[dict[str, Any]]]  # enabled scheduler groups (scheduler on)
    fault: IA  # 0: none

    @classmethod
    def defaults(cls, rating_kw: F) -> Controls:
        d = len(rating_kw)
        return cls(
            work_mode=np.zeros(d, dtype=np.int64),
            min_soc=np.full(d, 10.0),
            min_soc_on_grid=np.full(d, 10.0),
            max_soc=np.full(d, 100.0),
            export_limit_kw=np.array(rating_kw, dtype=np.float64),
            charge_current_a=np.full(d, np.nan),
            discharge_current_a=np.full(d, np.nan),
            clock_offset_ms=np.zeros(d, dtype=np.int64),
            charge_windows=[[] for _ in range(d)],
            groups=[[] for _ in range(d)],
            fault=np.zeros(d, dtype=np.int64),
        )

    def set_device(self, j: int, got: dict[str, Any]) -> None:
        """Row ``j`` from ``controls_from``'s answer."""
        self.work_mode[j] = got["work_mode"]
        self.min_soc[j] = got["min_soc"]
        self.min_soc_on_grid[j] = got["min_soc_on_grid"]
        self.max_soc[j] = got["max_soc"]
        self.export_limit_kw[j] = got["export_limit_kw"]
        self.charge_current_a[j] = got["charge_current_a"]
        self.discharge_current_a[j] = got["discharge_current_a"]
        self.clock_offset_ms[j] = got["clock_offset_ms"]
        self.charge_windows[j] = got["windows"]
        self.groups[j] = got["groups"]
        self.fault[j] = got["fault"]


def _number(settings: dict[str, Any], key: str) -> float | None:
    value = settings.get(key)
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def controls_from(settings: dict[str, Any], model: models.InverterModel) -> dict[str, Any]:
    """One device's stored settings as simulator controls (defaults where unset)."""
    mode = str(settings.get("WorkMode", "SelfUse"))
    windows: list[tuple[int, int]] = []
    charge = settings.get("forceChargeTime")
    if isinstance(charge, dict):
        for n in (1, 2):
            if charge.get(f"enable{n}"):
                start, end = charge[f"startTime{n}"], charge[f"endTime{n}"]
                windows.append(
                    (start["hour"] * 60 + start["minute"], end["hour"] * 60 + end["minute"])
                )
    groups = []
    if int(settings.get("scheduler.enable", 0)):
        groups = [
            g
            for g in settings.get("scheduler.groups", [])
            if g.get("enable") and g.get("workMode") in MODES
        ]
    # ExportLimitPower is the newer key for the same limit; with both set the lower one holds
    limits = [
        v
        for v in (_number(settings, "ExportLimit"), _number(settings, "ExportLimitPower"))
        if v is not None
    ]
    export_w = min(limits) if limits else float(model.rated_power_w)
    charge_a = _number(settings, "MaxSetChargeCurrent")
    discharge_a = _number(settings, "MaxSetDischargeCurrent")
    return {
        "work_mode": MODES.index(mode) if mode in MODES else 0,
        "min_soc": float(settings.get("MinSoc", 10)),
        "min_soc_on_grid": float(settings.get("MinSocOnGrid", 10)),
        "max_soc": float(settings.get("MaxSoc", 100)),
        "export_limit_kw": max(export_w, 0.0) / 1000,
        "charge_current_a": np.nan if charge_a is None else max(charge_a, 0.0),
        "discharge_current_a": np.nan if discharge_a is None else max(discharge_a, 0.0),
        "clock_offset_ms": int(settings.get("clockOffsetMs", 0) or 0),
        "windows": windows,
        "groups": groups,
        "fault": int(settings.get("fault", 0)),
    }


@dataclass(slots=True)
class Targets:
    """Per (T, D): the mode in force, forced power (NaN: the battery's limit), the SoC floor
    and ceiling."""

    mode: IA
    power_kw: F
    floor: F
    ceiling: F


def device_minute(plant_minute: F, clock_offset_ms: IA) -> F:
    """Minute of the day on the inverter's own clock, from the plant's local minute."""
    shifted = plant_minute + clock_offset_ms[None, :] / 60_000
    return np.asarray(np.mod(shifted, MINUTES_A_DAY), dtype=np.float64)


def targets(controls: Controls, plant_minute: F) -> Targets:
    """What every device is asked to do at every time of ``plant_minute`` (T, D)."""
    t, d = plant_minute.shape
    minute = device_minute(plant_minute, controls.clock_offset_ms)
    mode = np.broadcast_to(controls.work_mode[None, :], (t, d)).copy()
    power = np.full((t, d), np.nan)
    floor = np.broadcast_to(
        np.maximum(controls.min_soc, controls.min_soc_on_grid)[None, :], (t, d)
    ).copy()
    ceiling = np.broadcast_to(controls.max_soc[None, :], (t, d)).copy()
    for j in range(d):
        for start, end in controls.charge_windows[j]:
            inside = (minute[:, j] >= start) & (minute[:, j] < end)
            mode[inside, j] = MODE_FORCE_CHARGE
        for g in controls.groups[j]:
            start = int(g["startHour"]) * 60 + int(g["startMinute"])
            end = int(g["endHour"]) * 60 + int(g["endMinute"]) + 1  # end minute inclusive
            inside = (minute[:, j] >= start) & (minute[:, j] < end)
            if not inside.any():
                continue
            work = MODES.index(str(g["workMode"]))
            fd_pwr = float(g.get("fdPwr", 0) or 0)
            fd_soc = float(g.get("fdSoc", 100) or 100)
            max_soc = float(g.get("maxSoc", 100) or 100)
            on_grid = float(g.get("minSocOnGrid", controls.min_soc_on_grid[j]) or 10)
            mode[inside, j] = work
            power[inside, j] = fd_pwr / 1000 if fd_pwr > 0 else np.nan
            floor[inside, j] = max(on_grid, float(controls.min_soc[j]))
            ceiling[inside, j] = max_soc
            if work == MODE_FORCE_CHARGE:
                ceiling[inside, j] = min(fd_soc, max_soc)
            elif work == MODE_FORCE_DISCHARGE:
                floor[inside, j] = max(fd_soc, float(controls.min_soc[j]))
    return Targets(mode, power, floor, ceiling)


FORCED_MAX_KW = 1e9
"""A forced power of "the battery's limit" (fdPwr 0): more than any battery takes."""


@dataclass(slots=True)
class Policy:
    """What each mode asks of the battery, as weights, so a step is a few array operations:
    it wants to charge ``from_excess * excess + above_limit * (excess - limit)+ + forced_charge``
    and to discharge ``to_deficit * deficit + above_peak * (deficit - peak)+ +
    forced_discharge``, within what the battery can do. Arrays of any one shape."""

    from_excess: F
    above_limit: F
    forced_charge: F
    to_deficit: F
    above_peak: F
    forced_discharge: F

    @classmethod
    def of(cls, mode: IA, target_kw: F) -> Policy:
        forced = np.where(np.isnan(target_kw), FORCED_MAX_KW, target_kw)
        follow = ((mode == MODE_SELF_USE) | (mode == MODE_FEEDIN)).astype(np.float64)
        return cls(
            from_excess=(
                (mode == MODE_SELF_USE) | (mode == MODE_PEAK) | (mode == MODE_BACKUP)
            ).astype(np.float64),
            above_limit=(mode == MODE_FEEDIN).astype(np.float64),
            forced_charge=np.where(mode == MODE_FORCE_CHARGE, forced, 0.0),
            to_deficit=follow,
            above_peak=(mode == MODE_PEAK).astype(np.float64),
            forced_discharge=np.where(mode == MODE_FORCE_DISCHARGE, forced, 0.0),
        )

    def apply(
        self, surplus_kw: F, can_charge_kw: F, can_discharge_kw: F, export_limit_kw: F
    ) -> tuple[F, F]:
        want_charge, want_discharge = self.wants(surplus_kw, export_limit_kw)
        return np.minimum(want_charge, can_charge_kw), np.minimum(want_discharge, can_discharge_kw)

    def wants(self, surplus_kw: F, export_limit_kw: F) -> tuple[F, F]:
        """(charge, discharge) each mode asks of the battery, before what it can do."""
        excess = np.maximum(surplus_kw, 0.0)
        deficit = excess - surplus_kw
        want_charge = (
            self.from_excess * excess
            + self.above_limit * np.maximum(excess - export_limit_kw, 0.0)
            + self.forced_charge
        )
        want_discharge = (
            self.to_deficit * deficit
            + self.above_peak * np.maximum(deficit - PEAK_SHAVING_KW, 0.0)
            + self.forced_discharge
        )
        return want_charge, want_discharge


def dispatch(
    mode: IA,
    surplus_kw: F,
    can_charge_kw: F,
    can_discharge_kw: F,
    export_limit_kw: F,
    target_kw: F,
) -> tuple[F, F]:
    """Battery charge and discharge power on the AC side, kW, for one step, (D,) arrays.

    ``surplus_kw`` is PV AC minus the load the inverter follows; ``can_*`` are what the
    battery can take or give this step (rate, current, taper, temperature and the SoC floor
    or ceiling already applied); ``target_kw`` the forced power (fdPwr), NaN for the
    battery's own limit. SelfUse and Feedin follow the house; Backup, SelfUse and
    PeakShaving charge from excess PV, Feedin only from what the export limit would cut;
    PeakShaving discharges only above PEAK_SHAVING_KW; ForceCharge/ForceDischarge at their
    power."""
    policy = Policy.of(mode, target_kw)
    return policy.apply(surplus_kw, can_charge_kw, can_discharge_kw, export_limit_kw)


def grid_flows(
    load_kw: F, pv_ac_kw: F, charge_kw: F, discharge_kw: F, export_limit_kw: F
) -> tuple[F, F, F, F]:
    """(import, export, pv_ac, discharge) once the grid takes what the bus cannot balance.

    Export above the limit is curtailed from the battery's (forced) discharge first and from
    PV last: PV keeps serving the house and the battery whatever the limit."""
    net = load_kw + charge_kw - pv_ac_kw - discharge_kw
    imported = np.maximum(net, 0.0)
    exported = imported - net
    over = np.maximum(exported - np.maximum(export_limit_kw, 0.0), 0.0)
    from_battery = np.minimum(over, discharge_kw)
    from_pv = np.minimum(over - from_battery, pv_ac_kw)
    exported = exported - from_battery - from_pv
    return imported, exported, pv_ac_kw - from_pv, discharge_kw - from_battery


def export_curtailed(
    load_kw: F, pv_ac_kw: F, charge_kw: F, discharge_kw: F, export_limit_kw: F
) -> F:
    """The discharge ``grid_flows`` leaves (the same operations, so the same result): what
    the battery gives once the export limit has cut its forced export."""
    net = load_kw + charge_kw - pv_ac_kw - discharge_kw
    imported = np.maximum(net, 0.0)
    exported = imported - net
    over = np.maximum(exported - np.maximum(export_limit_kw, 0.0), 0.0)
    return np.asarray(discharge_kw - np.minimum(over, discharge_kw), dtype=np.float64)
